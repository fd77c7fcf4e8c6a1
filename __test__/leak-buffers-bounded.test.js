'use strict'
// Every buffer has a fixed capacity: after many thousands of alerts the alert ring holds
// alertBufferSize entries (the newest), the leak report at most its site capacity.

const test = require('node:test')
const assert = require('node:assert/strict')
const { Observer, Ring, REPORT_SITES } = require('../lib/observe')
const { makePool, sleep } = require('./helpers/leak')

test('the Observer stays within capacity under 100000 alerts and 5000 sites', () => {
  const obs = new Observer(10)
  for (let i = 0; i < 100000; i++) {
    obs.alert('leak', { id: i, location: `site${i % 5000}`, ageMs: i })
    obs.leak(`site${i % 5000}`, i)
    obs.released(i, `site${i % 5000}`)
    assert.ok(obs.alerts.size <= 10)
  }
  const alerts = obs.alerts.toArray()
  assert.equal(alerts.length, 10)
  assert.deepEqual(
    alerts.map((a) => a.id),
    Array.from({ length: 10 }, (_, k) => 99990 + k),
    'newest kept, oldest first'
  )
  assert.equal(obs.alerts.evicted, 99990)
  assert.ok(obs.sites.size <= REPORT_SITES)
  assert.ok(obs.sitesEvicted > 0)
  const mem = obs.memory()
  for (const [k, v] of Object.entries(mem)) assert.ok(v.size <= v.capacity, `${k}: ${v.size} > ${v.capacity}`)
  assert.ok(obs.recent.size <= mem.recentReleases.capacity)
  assert.equal(obs.recentEntry(99999), 'site4999')
  assert.equal(obs.recentEntry(0), undefined, 'evicted long ago')
  const report = obs.report(new Map())
  assert.ok(report.length <= REPORT_SITES)
  // Most recently seen sites are the ones kept.
  assert.ok(report.some((s) => s.location === 'site4999'))

  const zero = new Ring(0)
  zero.push(1)
  assert.equal(zero.size, 0)
  assert.equal(zero.evicted, 1)
})

async function briefOverstay(pool) {
  const c = await pool.connect()
  await sleep(4)
  c.release()
}

test('a thousand real leak alerts: getAlerts() never exceeds alertBufferSize', async (t) => {
  const pool = await makePool({ max: 4, leakThresholdMs: 1, checkIntervalMs: 1, alertBufferSize: 10 }, t)
  let reported = 0
  let maxSeen = 0
  pool.on('leaksDetected', (ev) => {
    reported += ev.count
    maxSeen = Math.max(maxSeen, pool.getAlerts().length)
  })
  pool.on('leakResolved', () => {
    maxSeen = Math.max(maxSeen, pool.getAlerts().length)
  })
  const deadline = Date.now() + 20000
  const worker = async () => {
    while (reported < 500 && Date.now() < deadline) await briefOverstay(pool)
  }
  await Promise.all([worker(), worker(), worker(), worker()])
  await sleep(100)
  assert.ok(reported >= 500, `only ${reported} leak reports were provoked`)
  assert.ok(maxSeen <= 10, `the alert buffer held ${maxSeen} entries`)
  const alerts = pool.getAlerts()
  assert.equal(alerts.length, 10)
  assert.ok(
    alerts.every((a, i) => i === 0 || a.at >= alerts[i - 1].at),
    'oldest first'
  )
  assert.equal(pool.getMetrics().stats.leaksDetected, reported)
  const report = pool.getLeakReport()
  assert.equal(report.length, 1, `one acquisition site: ${JSON.stringify(report)}`)
  assert.equal(report[0].count, reported)
  assert.match(report[0].location, /briefOverstay/)
  const mem = pool.getMemoryUsage()
  assert.deepEqual(mem.alerts, { size: 10, capacity: 10 })
  assert.ok(mem.recentReleases.size <= mem.recentReleases.capacity)
})
