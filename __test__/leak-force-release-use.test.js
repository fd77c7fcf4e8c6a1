'use strict'
// A force-released client: queries reject with an error that says it was force-released,
// when and after how long; its release() is a silent no-op; a genuine double release of a
// normal client still throws pg's error.

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, collect, waitUntil } = require('./helpers/leak')

async function forgetful(pool) {
  return pool.connect()
}

test('use after force release rejects with what, when and how long', async (t) => {
  const pool = await makePool({ max: 2, leakThresholdMs: 100, checkIntervalMs: 20, forceReleaseAfterMs: 200 }, t)
  const forced = collect(pool, 'forceRelease')
  const client = await forgetful(pool)
  await waitUntil(() => forced.length === 1, 3000, 'the forced release')
  const before = Date.now()
  await assert.rejects(client.query('SELECT 1'), (err) => {
    assert.match(err.message, /force-released/)
    const when = err.message.match(/at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)/)
    assert.ok(when, `no timestamp in: ${err.message}`)
    const at = Date.parse(when[1])
    assert.ok(at <= before && before - at < 5000, `timestamp ${when[1]} vs now`)
    const held = err.message.match(/after being held for (\d+) ms/)
    assert.ok(held && Number(held[1]) >= 200, err.message)
    assert.match(err.message, /forgetful/, 'names where it was checked out')
    assert.equal(err.code, 'LDP_CLIENT_RECLAIMED')
    return true
  })
  // Callback form too.
  const cbErr = await new Promise((resolve) => client.query('SELECT 1', (err) => resolve(err)))
  assert.match(cbErr.message, /force-released/)

  // The holder's eventual release is harmless and changes no counts.
  const total = pool.totalCount
  assert.doesNotThrow(() => client.release())
  assert.equal(pool.totalCount, total)
  assert.equal(pool.getMetrics().stats.totalReleased, 0)
})

test("a genuine second release still throws pg's error", async (t) => {
  const pool = await makePool({ max: 2, leakThresholdMs: 100, checkIntervalMs: 20, forceReleaseAfterMs: 200 }, t)
  const c = await pool.connect()
  c.release()
  assert.throws(() => c.release(), { message: 'Release called on client which has already been released to the pool.' })
  await assert.rejects(c.query('SELECT 1'), /released/)
})

test('a query the core refuses before the reclaim event reaches JS gets the same words', async (t) => {
  const pool = await makePool({ max: 2, leakThresholdMs: 0, checkIntervalMs: 10, forceReleaseAfterMs: 30 }, t)
  const forced = collect(pool, 'forceRelease')
  const client = await forgetful(pool)
  // Keep the JS thread busy past the reclaim, so the forceRelease event is still queued when
  // the query is sent.
  const until = Date.now() + 300
  while (Date.now() < until);
  assert.equal(forced.length, 0, 'the event waits for the JS thread')
  await assert.rejects(client.query('SELECT 1'), (err) => {
    assert.equal(err.code, 'LDP_CLIENT_RECLAIMED')
    assert.match(err.message, /^Client was force-released by the pool at \d{4}-\d\d-\d\dT[\d:.]+Z after being held for \d+ ms/)
    assert.match(err.message, /checked out at /)
    assert.match(err.message, /\(idle (for \d+ ms, over|longer than) forceReleaseAfterMs\)/)
    assert.doesNotMatch(err.message, /undefined/)
    assert.equal(err.reason, undefined, 'the facts are worded, not left on the error')
    return true
  })
  await waitUntil(() => forced.length === 1, 3000, 'the forced release')
})
