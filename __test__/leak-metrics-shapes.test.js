'use strict'
// getPoolStatus(), getMetrics(), getAlerts() and getLeakReport() are supersets of the shapes
// in SPEC §3.2 and §6, with values consistent with what happened.

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, collect, waitUntil, sleep } = require('./helpers/leak')

const isNum = (v) => typeof v === 'number' && Number.isFinite(v)

async function holdOne(pool) {
  const c = await pool.connect()
  await c.query('SELECT 1')
  return c
}

test('status, metrics, alerts and leak report shapes', async (t) => {
  const pool = await makePool({ max: 4, leakThresholdMs: 1000, checkIntervalMs: 20, metricsHistorySize: 5, metricsIntervalMs: 30 }, t)
  const reports = collect(pool, 'leaksDetected')
  const a = await holdOne(pool)
  const b = await holdOne(pool)
  for (let i = 0; i < 3; i++) await pool.query('SELECT 1')

  const s0 = pool.getPoolStatus()
  for (const k of ['total', 'idle', 'waiting', 'active', 'utilization']) assert.ok(isNum(s0[k]), k)
  assert.equal(s0.active, 2)
  assert.equal(s0.utilization, 0.5)
  assert.equal(s0.total, s0.idle + s0.active)
  assert.equal(s0.activeConnections.length, 2)
  for (const r of s0.activeConnections) {
    assert.ok(isNum(r.id) && isNum(r.heldMs) && isNum(r.idleMs), JSON.stringify(r))
    assert.equal(r.isPotentialLeak, false)
    assert.match(r.location, /holdOne/)
  }
  assert.deepEqual(s0.activeConnections.map((r) => r.id).sort(), [a._checkoutId, b._checkoutId].sort())

  await waitUntil(() => reports.length > 0, 5000, 'the leak report')
  await sleep(200)
  const s1 = pool.getPoolStatus()
  assert.ok(s1.activeConnections.every((r) => r.isPotentialLeak === true))
  assert.ok(s1.activeConnections[0].heldMs >= s1.activeConnections[1].heldMs, 'oldest first')

  const m = pool.getMetrics()
  for (const k of ['total', 'idle', 'waiting']) assert.ok(isNum(m.pool[k]), `pool.${k}`)
  assert.equal(m.connections.active, 2)
  assert.ok(m.connections.oldest >= 1000, `oldest ${m.connections.oldest}`)
  for (const k of ['totalAcquired', 'totalReleased', 'leaksDetected', 'forcedReleases', 'created', 'destroyed', 'errors', 'timeouts']) {
    assert.ok(isNum(m.stats[k]), `stats.${k}`)
  }
  assert.equal(m.stats.totalAcquired, 5)
  assert.equal(m.stats.totalReleased, 3)
  assert.equal(m.stats.leaksDetected, 2)
  assert.equal(m.leakRate, 2 / 5)
  for (const d of [m.acquireWait, m.holdTime]) {
    for (const k of ['p50', 'p95', 'p99', 'max']) assert.ok(isNum(d[k]), k)
    assert.ok(d.p50 <= d.p95 && d.p95 <= d.p99 && d.p99 <= d.max)
  }
  assert.equal(m.holdTime.count, 3)
  assert.ok(Array.isArray(m.history))
  assert.ok(m.history.length >= 3 && m.history.length <= 5, `history ${m.history.length}`)
  const h = m.history[m.history.length - 1]
  for (const k of ['at', 'total', 'idle', 'waiting', 'active', 'totalAcquired', 'leaksDetected']) assert.ok(isNum(h[k]), `history.${k}`)
  assert.ok(Math.abs(h.at - Date.now()) < 5000)

  const alerts = pool.getAlerts()
  assert.equal(alerts.length, 2)
  for (const al of alerts) {
    assert.equal(al.type, 'leak')
    assert.ok(isNum(al.at) && isNum(al.id) && isNum(al.ageMs))
    assert.match(al.location, /holdOne/)
  }

  const report = pool.getLeakReport()
  assert.equal(report.length, 1)
  const r = report[0]
  assert.match(r.location, /holdOne/)
  assert.equal(r.count, 2)
  assert.equal(r.active, 2)
  assert.ok(r.firstSeen <= r.lastSeen)
  assert.ok(r.oldestAgeMs >= 1150, 'the oldest age grows while held')
  a.release()
  b.release()
  assert.equal(pool.getLeakReport()[0].active, 0)
})
