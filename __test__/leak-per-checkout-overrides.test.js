'use strict'
// Per-checkout metadata: connect({ tag, leakThresholdMs, forceReleaseAfterMs }),
// client.tag and client.setLeakThreshold(ms) on a checkout already taken.

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, collect, waitUntil, sleep } = require('./helpers/leak')

test('tags and thresholds per checkout: 0 exempts, larger postpones, smaller hastens', async (t) => {
  const pool = await makePool({ max: 8, leakThresholdMs: 400, checkIntervalMs: 20, forceReleaseAfterMs: 0 }, t)
  const reports = collect(pool, 'leaksDetected')
  const forced = collect(pool, 'forceRelease')
  const migration = await pool.connect({ tag: 'migration', leakThresholdMs: 0 })
  const batch = await pool.connect({ tag: 'batch' })
  const exemptLater = await pool.connect()
  exemptLater.setLeakThreshold(0)
  const hastened = await pool.connect({ leakThresholdMs: 60000 })
  hastened.setLeakThreshold(30)
  const postponed = await pool.connect()
  postponed.setLeakThreshold(60000)
  const retagged = await pool.connect()
  retagged.tag = 'late-tag'
  const reclaimMe = await pool.connect({ leakThresholdMs: 0, forceReleaseAfterMs: 100 })

  await sleep(1000)
  const reported = new Map(reports.flatMap((r) => r.leaks).map((l) => [l.id, l]))
  assert.ok(reported.has(batch._checkoutId), 'a normal checkout is reported')
  assert.equal(reported.get(batch._checkoutId).tag, 'batch')
  assert.ok(reported.has(hastened._checkoutId), 'setLeakThreshold(30) reports it')
  assert.ok(reported.has(retagged._checkoutId))
  assert.equal(reported.get(retagged._checkoutId).tag, 'late-tag')
  assert.ok(!reported.has(migration._checkoutId), 'connect({ leakThresholdMs: 0 }) exempts')
  assert.ok(!reported.has(exemptLater._checkoutId), 'setLeakThreshold(0) exempts')
  assert.ok(!reported.has(postponed._checkoutId), 'setLeakThreshold(60000) postpones')
  assert.ok(!reported.has(reclaimMe._checkoutId))
  assert.equal(reported.size, 3, JSON.stringify([...reported.values()]))

  // forceReleaseAfterMs per checkout works while the pool's is off.
  await waitUntil(() => forced.length === 1, 2000, 'the per-checkout forced release')
  assert.equal(forced[0].id, reclaimMe._checkoutId)

  const tags = Object.fromEntries(pool.getPoolStatus().activeConnections.map((r) => [r.id, r.tag]))
  assert.equal(tags[migration._checkoutId], 'migration')
  assert.equal(tags[retagged._checkoutId], 'late-tag')
  assert.equal(migration.tag, 'migration')

  assert.throws(() => batch.setLeakThreshold(-1), RangeError)
  for (const c of [migration, batch, exemptLater, hastened, postponed, retagged, reclaimMe]) c.release()
})
