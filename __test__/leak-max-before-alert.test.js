'use strict'
// maxLeaksBeforeAlert: new leaks are held back until at least N unreported ones exist, then
// reported together in one event (count = N); each checkout is still reported only once.

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, collect, waitUntil, sleep } = require('./helpers/leak')

async function leakOne(pool) {
  return pool.connect()
}

test('leaks are held back until maxLeaksBeforeAlert, then reported together once', async (t) => {
  const pool = await makePool({ max: 5, leakThresholdMs: 100, checkIntervalMs: 20, maxLeaksBeforeAlert: 3 }, t)
  const reports = collect(pool, 'leaksDetected')
  const a = await leakOne(pool)
  await sleep(300)
  const b = await leakOne(pool)
  await sleep(300)
  assert.equal(reports.length, 0, 'two leaks over threshold must be held back')
  assert.equal(pool.getMetrics().stats.leaksDetected, 0)
  // Both are already flagged in the status view even though not reported yet.
  assert.deepEqual(
    pool.getPoolStatus().activeConnections.map((r) => r.isPotentialLeak),
    [true, true]
  )

  const c = await leakOne(pool)
  await waitUntil(() => reports.length > 0, 3000, 'the batched report')
  assert.equal(reports[0].count, 3)
  assert.deepEqual(reports[0].leaks.map((l) => l.id).sort(), [a, b, c].map((x) => x._checkoutId).sort())
  assert.ok(reports[0].leaks.every((l) => /leakOne/.test(l.location)))
  assert.ok(reports[0].leaks[0].ageMs >= reports[0].leaks[2].ageMs, 'oldest first')

  // A fourth leak alone is held back again; nothing is reported twice.
  const d = await leakOne(pool)
  await sleep(400)
  assert.equal(reports.length, 1, JSON.stringify(reports))
  assert.equal(pool.getMetrics().stats.leaksDetected, 3)
  assert.equal(pool.getAlerts().filter((x) => x.type === 'leak').length, 3)
  for (const x of [a, b, c, d]) x.release()
})
