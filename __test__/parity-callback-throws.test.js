'use strict'
// Parity: an exception thrown by a user's callback — pool.query(text, cb), client.query(text,
// cb), pool.connect(cb), pool.end(cb) — surfaces as an uncaught exception, as with pg.Pool,
// never as an unhandled promise rejection. Each case runs in a child process (an uncaught
// exception ends it) against pg.Pool and this pool, and both must report the same.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { dbConfig } = require('./helpers/parity')

const ROOT = path.join(__dirname, '..')

/** Runs `body` (with `pool` made) in a child; resolves to what the child saw first. */
async function outcome(impl, body) {
  const cfg = await dbConfig()
  const script = `
    'use strict'
    const fs = require('fs')
    const say = (what) => { fs.writeSync(1, what + '\\n'); process.exit(0) }
    process.on('uncaughtException', (err) => say('uncaughtException: ' + err.message))
    process.on('unhandledRejection', (err) => say('unhandledRejection: ' + (err && err.message)))
    const Pool = ${impl === 'pg' ? "require('pg').Pool" : `require(${JSON.stringify(ROOT)}).LeakDetectingPool`}
    const pool = new Pool(JSON.parse(process.env.LDP_CHILD_CFG))
    const boom = () => { throw new Error('boom from the callback') }
    ${body}
    setTimeout(() => say('nothing'), 3000)
  `
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      cwd: ROOT,
      env: { ...process.env, LDP_CHILD_CFG: JSON.stringify(cfg) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', () => resolve({ said: stdout.trim(), stderr }))
  })
}

for (const [label, body] of [
  ['pool.query(text, cb)', "pool.query('SELECT 1', boom)"],
  ['pool.query(bad text, cb)', "pool.query('SELEC 1', boom)"],
  ['pool.query(text, values, cb)', "pool.query('SELECT $1::int', [1], boom)"],
  ['client.query(text, cb)', "pool.connect().then((c) => c.query('SELECT 1', boom))"],
  ['client.query(bad text, cb)', "pool.connect().then((c) => c.query('SELEC 1', boom))"],
  ['pool.connect(cb)', 'pool.connect(boom)'],
  ['pool.end(cb)', 'pool.end(boom)'],
]) {
  test(`a throwing ${label} callback is an uncaught exception, as with pg.Pool`, async () => {
    const [pg, ours] = await Promise.all([outcome('pg', body), outcome('ours', body)])
    assert.equal(pg.said, 'uncaughtException: boom from the callback', `pg: ${pg.said} ${pg.stderr}`)
    assert.equal(ours.said, pg.said, ours.stderr)
  })
}
