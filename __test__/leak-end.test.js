'use strict'
// end() with leaked clients finishes within endTimeoutMs: each still-checked-out client is
// destroyed and reported through forceRelease with reason 'end' and its stack, plus an alert.

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, collect, waitUntil } = require('./helpers/leak')

async function leakBeforeShutdown(pool) {
  const c = await pool.connect()
  await c.query('SELECT 1')
  return c
}

test('end() never hangs on leaked clients', async (t) => {
  const pool = await makePool({ max: 3, leakThresholdMs: 60000, endTimeoutMs: 300 }, t)
  const forced = collect(pool, 'forceRelease')
  const a = await leakBeforeShutdown(pool)
  const b = await leakBeforeShutdown(pool)
  const honest = await pool.connect()
  honest.release()
  const t0 = Date.now()
  await pool.end()
  const took = Date.now() - t0
  assert.ok(took >= 250, `end() resolved after ${took} ms, before its grace period`)
  assert.ok(took < 2000, `end() took ${took} ms with endTimeoutMs 300`)
  assert.equal(pool.ended, true)
  assert.equal(pool.totalCount, 0)

  await waitUntil(() => forced.length === 2, 2000, 'two forceRelease events')
  assert.deepEqual(forced.map((f) => f.id).sort(), [a._checkoutId, b._checkoutId].sort())
  for (const f of forced) {
    assert.equal(f.reason, 'end')
    assert.match(f.location, /leakBeforeShutdown/)
    assert.match(f.stack, /at leakBeforeShutdown /)
    assert.ok(f.ageMs >= 250)
  }
  const alerts = pool.getAlerts().filter((x) => x.type === 'destroyed-by-end')
  assert.equal(alerts.length, 2)

  await assert.rejects(a.query('SELECT 1'), /destroyed by pool\.end\(\)/)
  assert.doesNotThrow(() => a.release(), 'release() after end destroyed it is a silent no-op')
  await assert.rejects(pool.end(), /Called end on pool more than once/)
})

test('end() waits for clients released within the grace period', async (t) => {
  const pool = await makePool({ max: 2, endTimeoutMs: 2000 }, t)
  const forced = collect(pool, 'forceRelease')
  const c = await pool.connect()
  setTimeout(() => c.release(), 150)
  const t0 = Date.now()
  await pool.end()
  const took = Date.now() - t0
  assert.ok(took >= 100 && took < 1500, `took ${took} ms`)
  assert.equal(forced.length, 0, 'a client released in time is not reported')
})
