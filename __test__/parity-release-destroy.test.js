'use strict'
// Parity: a client released with an error is destroyed at once, and end() never waits for a
// statement nobody wants any more: after a query_timeout, `release(err)` then `end()` takes
// milliseconds with pg.Pool, and with ours (which also cancels the statement, so the backend
// stops working for nobody). A client released while its statement still runs does not hold
// end() up either.

const test = require('node:test')
const assert = require('node:assert/strict')
const pg = require('pg')
const { both, rejection, sleep, dbConfig } = require('./helpers/parity')

const FAST_MS = 1500

/** Whether backend `pid` is still running a statement (from a separate admin connection). */
async function busy(pid) {
  const admin = new pg.Client(await dbConfig())
  await admin.connect()
  try {
    const r = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", [pid])
    return r.rows[0].n > 0
  } finally {
    await admin.end()
  }
}

async function stopsWithin(pid, ms) {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (!(await busy(pid))) return true
    await sleep(50)
  }
  return false
}

test('release(err) after a query_timeout destroys the client at once; end() does not wait for the statement (parity)', async () => {
  const r = await both({ query_timeout: 200 }, async (pool, { impl }) => {
    const c = await pool.connect()
    const pid = c.processID
    const err = await rejection(c.query('SELECT pg_sleep(10)'))
    c.release(err)
    const afterRelease = { total: pool.totalCount, idle: pool.idleCount }
    const t0 = Date.now()
    await pool.end()
    const endMs = Date.now() - t0
    // Ours cancels the statement; pg leaves it running on the server (not compared).
    if (impl === 'ours') assert.ok(await stopsWithin(pid, 3000), 'the statement was not cancelled')
    return { message: err.message, afterRelease, fastEnd: endMs < FAST_MS }
  })
  assert.deepStrictEqual(r.ours, r.pg)
  assert.deepStrictEqual(r.ours.value, { message: 'Query read timeout', afterRelease: { total: 0, idle: 0 }, fastEnd: true })
})

test('pool.query with query_timeout: the timed-out connection does not hold end() up (parity)', async () => {
  const r = await both({ query_timeout: 200 }, async (pool) => {
    const err = await rejection(pool.query('SELECT pg_sleep(10)'))
    const t0 = Date.now()
    await pool.end()
    return { message: err.message, fastEnd: Date.now() - t0 < FAST_MS, total: pool.totalCount }
  })
  assert.deepStrictEqual(r.ours, r.pg)
  assert.deepStrictEqual(r.ours.value, { message: 'Query read timeout', fastEnd: true, total: 0 })
})

test('a client released while its statement runs does not hold end() up (parity)', async () => {
  const r = await both({}, async (pool) => {
    const c = await pool.connect()
    const running = c.query('SELECT pg_sleep(10)').then(
      () => 'resolved',
      () => 'rejected'
    )
    await sleep(50)
    c.release()
    const t0 = Date.now()
    await pool.end()
    const fastEnd = Date.now() - t0 < FAST_MS
    return { fastEnd, running: await running, total: pool.totalCount }
  })
  assert.deepStrictEqual(r.ours, r.pg)
  assert.deepStrictEqual(r.ours.value, { fastEnd: true, running: 'rejected', total: 0 })
})
