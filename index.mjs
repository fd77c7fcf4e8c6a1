// ESM entry: the same objects as the CommonJS entry.
import cjs from './index.js'

export const { LeakDetectingPool, Pool, DatabaseError, types, escapeLiteral, escapeIdentifier } = cjs
export default LeakDetectingPool
