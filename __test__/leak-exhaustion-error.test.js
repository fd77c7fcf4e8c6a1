'use strict'
// Exhaustion explains itself: pg's "timeout exceeded when trying to connect" plus who holds
// the pool (per acquisition site: how many, for how long), the same data on err.holders.

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, siteOf } = require('./helpers/leak')

async function hogTheConnection(pool) {
  const client = await pool.connect() // MARKER-hog
  await client.query('SELECT 1')
  return client
}

test('the timeout error names the function holding the clients', async (t) => {
  const pool = await makePool({ max: 2, connectionTimeoutMillis: 500, leakThresholdMs: 60000 }, t)
  const a = await hogTheConnection(pool)
  const b = await hogTheConnection(pool)
  const site = siteOf(__filename, 'MARKER-hog', 'connect(')
  const location = `hogTheConnection (${__filename}:${site.line}:${site.column})`

  const t0 = Date.now()
  const err = await pool.connect().then(
    () => assert.fail('connect() must time out'),
    (e) => e
  )
  assert.ok(Date.now() - t0 >= 480, 'not before connectionTimeoutMillis')
  assert.ok(err instanceof Error)
  assert.ok(err.message.startsWith('timeout exceeded when trying to connect'), err.message)
  assert.ok(err.message.includes(`(2/2 in use: 2 held by ${location} for up to `), err.message)
  assert.match(err.message, /for up to \d+\.\ds\)$/)
  assert.equal(err.holders.length, 1)
  assert.equal(err.holders[0].location, location)
  assert.equal(err.holders[0].count, 2)
  assert.ok(err.holders[0].oldestMs >= 480)

  // pool.query() exhausts the same way (its implicit checkout waits like connect()).
  await assert.rejects(pool.query('SELECT 1'), (e) => {
    assert.match(e.message, /^timeout exceeded when trying to connect \(2\/2 in use: 2 held by hogTheConnection/)
    assert.equal(e.holders[0].count, 2)
    return true
  })
  assert.equal(pool.getMetrics().stats.timeouts, 2)

  // Callback form: same error, client undefined, done a function.
  const [cbErr, client, done] = await new Promise((resolve) => pool.connect((...args) => resolve(args)))
  assert.match(cbErr.message, /hogTheConnection/)
  assert.equal(client, undefined)
  assert.equal(typeof done, 'function')
  a.release()
  b.release()
})

test('pool.query holders are counted as pool.query', async (t) => {
  const pool = await makePool({ max: 2, connectionTimeoutMillis: 500 }, t)
  const held = await hogTheConnection(pool)
  const slow = pool.query('SELECT pg_sleep(1.5)')
  const err = await pool.connect().then(
    () => assert.fail('must time out'),
    (e) => e
  )
  assert.match(err.message, /\(2\/2 in use: 1 held by hogTheConnection .*; 1 by pool\.query for up to \d+\.\ds\)$/)
  assert.deepEqual(
    err.holders.map((h) => h.count),
    [1, 1]
  )
  await slow
  held.release()
})
