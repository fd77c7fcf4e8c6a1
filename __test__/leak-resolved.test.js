'use strict'
// leakResolved: a checkout reported as a leak was released after all.

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, collect, waitUntil, sleep } = require('./helpers/leak')

async function slowButHonest(pool, ms) {
  const c = await pool.connect()
  await c.query('SELECT 1')
  await sleep(ms)
  c.release()
  return c._checkoutId
}

test('a reported checkout that is released fires leakResolved once, with its site', async (t) => {
  const pool = await makePool({ max: 2, leakThresholdMs: 250, checkIntervalMs: 20 }, t)
  const reports = collect(pool, 'leaksDetected')
  const resolved = collect(pool, 'leakResolved')
  let siteWhileHeld
  pool.once('leaksDetected', () => {
    siteWhileHeld = pool.getLeakReport()[0]
  })
  const id = await slowButHonest(pool, 600)
  await waitUntil(() => resolved.length === 1, 2000, 'leakResolved')
  assert.equal(reports.length, 1)
  assert.equal(reports[0].leaks[0].id, id)
  const r = resolved[0]
  assert.equal(r.id, id)
  assert.ok(r.heldMs >= 600 && r.heldMs < 5000, `heldMs ${r.heldMs}`)
  assert.match(r.location, /slowButHonest/)
  assert.equal(r.location, reports[0].leaks[0].location)

  const alerts = pool.getAlerts()
  assert.deepEqual(
    alerts.map((a) => a.type),
    ['leak', 'leak-resolved']
  )
  assert.equal(alerts[1].ageMs, r.heldMs)

  assert.equal(siteWhileHeld.active, 1)
  const site = pool.getLeakReport()[0]
  assert.equal(site.location, r.location)
  assert.equal(site.count, 1)
  assert.equal(site.active, 0, 'no longer held')
  assert.ok(site.oldestAgeMs >= r.heldMs, 'the longest hold seen at this site')

  // Checkouts never reported fire no leakResolved.
  await slowButHonest(pool, 10)
  await sleep(300)
  assert.equal(resolved.length, 1)
})
