'use strict'
// The public API: a drop-in for pg.Pool. `LeakDetectingPool` is also exported as `Pool`.

const { LeakDetectingPool } = require('./lib/pool')
const { DatabaseError } = require('./lib/errors')
// The result parsers are pg-types itself: one registry shared with pg (see the README).
const types = require('pg-types')
const { escapeLiteral, escapeIdentifier } = require('./lib/prepare-value')

module.exports = {
  LeakDetectingPool,
  Pool: LeakDetectingPool,
  DatabaseError,
  types,
  escapeLiteral,
  escapeIdentifier,
}
module.exports.default = LeakDetectingPool
// TypeScript's CommonJS interop reads `default` only from modules marked as ES modules.
Object.defineProperty(module.exports, '__esModule', { value: true })
