'use strict'
// Timeouts on the shared server: statement_timeout (the server's) and query_timeout (the
// client's own; max_connections is in fault-cluster.test.js, which owns a server). Callers get clear
// errors (never a hang), no result reaches the wrong caller, the counters are exact, and the
// pool serves again.

const test = require('node:test')
const assert = require('node:assert/strict')
const { LeakDetectingPool } = require('..')
const { findDatabase, uniqueAppName } = require('./helpers/db')
const { within, counts, settled, tagged, assertClean, serves, viaPg, sleep } = require('./helpers/fault')

function makePool(t, cfg, opts = {}) {
  const pool = new LeakDetectingPool({ ...cfg, connectionTimeoutMillis: 3000, endTimeoutMs: 500, ...opts })
  const poolErrors = []
  pool.on('error', (err) => poolErrors.push(err))
  t.after(() => (pool.ending ? null : within(pool.end(), 5000, 'pool.end()').catch(() => {})))
  return { pool, poolErrors }
}

test('statement_timeout: 57014 for the slow statement; a checked-out client keeps its connection', async (t) => {
  const db = await findDatabase()
  const { pool, poolErrors } = makePool(t, db, { max: 2, statement_timeout: 100, application_name: uniqueAppName('fault-stmt') })
  const r = await tagged(pool, 6, 'slow', 5000, 'SELECT $1::text AS who, pg_sleep(0.5)')
  assertClean(r, 'statement_timeout')
  assert.equal(r.failed.length, 6)
  for (const o of r.failed) assert.equal(o.err.code, '57014', o.err.message)
  // pool.query releases with the error, which destroys the connection, as pg-pool does.
  assert.deepEqual(await settled(pool), { total: 0, idle: 0, waiting: 0 })
  const c = await within(pool.connect(), 3000, 'connect')
  const e = await within(c.query('SELECT pg_sleep(0.5)'), 3000, 'slow statement').catch((err) => err)
  assert.equal(e.code, '57014')
  assert.equal((await within(c.query('SELECT $1::text AS who', ['same']), 3000, 'next query')).rows[0].who, 'same')
  c.release()
  assert.deepEqual(counts(pool), { total: 1, idle: 1, waiting: 0 })
  assert.equal(poolErrors.length, 0)
  await serves(pool, 2)
})

test('query_timeout: "Query read timeout" on time, the connection given up and its statement cancelled, the rest served', async (t) => {
  const db = await findDatabase()
  const appName = uniqueAppName('fault-qt')
  const { pool } = makePool(t, db, { max: 2, query_timeout: 150, application_name: appName })
  const t0 = Date.now()
  const slow = tagged(pool, 2, 'slow', 5000, 'SELECT $1::text AS who, pg_sleep(3)')
  const fast = tagged(pool, 4, 'fast', 5000)
  const [s, f] = await Promise.all([slow, fast])
  const ms = Date.now() - t0
  assertClean(s, 'query_timeout slow')
  assertClean(f, 'query_timeout fast')
  assert.equal(s.failed.length, 2)
  for (const o of s.failed) assert.equal(o.err.message, 'Query read timeout')
  assert.equal(f.ok, 4, 'queued callers were not served after the timeouts')
  assert.ok(ms < 2500, `took ${ms} ms`)
  await settled(pool)
  // No backend of this pool is still sleeping: the timed-out statements were cancelled.
  const deadline = Date.now() + 3000
  let sleeping
  do {
    const { rows } = await viaPg(
      db,
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE '%pg_sleep(3)%' AND state = 'active'",
      [appName]
    )
    sleeping = rows[0].n
    if (sleeping) await sleep(50)
  } while (sleeping && Date.now() < deadline)
  assert.equal(sleeping, 0, 'a timed-out statement is still running on the server')
  await serves(pool, 2)
  assert.ok(counts(pool).total <= 2)
})
