'use strict'
// Each leaked checkout is reported exactly once in `leaksDetected`, however many scans see
// it, with the SPEC §3.3 payload; short checkouts are never reported.

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, collect, waitUntil, sleep } = require('./helpers/leak')

async function holdWithoutRelease(pool) {
  const client = await pool.connect()
  await client.query('SELECT 1')
  await client.query('SELECT 2')
  return client
}

test('one report per leak over many scans, with the documented payload', async (t) => {
  const pool = await makePool({ max: 4, leakThresholdMs: 1000, checkIntervalMs: 20 }, t)
  const reports = collect(pool, 'leaksDetected')
  // History on the connection the leak will take: queryCount counts this checkout's only.
  for (let i = 0; i < 3; i++) await pool.query('SELECT 1')
  assert.equal(pool.totalCount, 1)
  const taken = Date.now()
  const leaked = await holdWithoutRelease(pool)

  // Short, honest checkouts while the leak ages: never reported.
  for (let i = 0; i < 10; i++) {
    const c = await pool.connect()
    await c.query('SELECT 1')
    c.release()
  }

  await waitUntil(() => reports.length > 0, 5000, 'the leak report')
  assert.ok(Date.now() - taken >= 990, 'reported before leakThresholdMs')
  await sleep(1000) // ~50 more scans
  assert.equal(reports.length, 1, `exactly one event: ${JSON.stringify(reports)}`)
  const ev = reports[0]
  assert.equal(ev.count, 1)
  assert.equal(ev.leaks.length, 1)
  const l = ev.leaks[0]
  const status = pool.getPoolStatus()
  const row = status.activeConnections.find((a) => a.id === l.id)
  assert.ok(row, 'the reported id is an active checkout')
  assert.equal(row.isPotentialLeak, true)
  assert.ok(l.ageMs >= 1000 && l.ageMs < 4000, `ageMs ${l.ageMs}`)
  assert.ok(l.idleMs >= 0 && l.idleMs <= l.ageMs, `idleMs ${l.idleMs}`)
  assert.equal(l.queryCount, 2, "queries of this checkout, not of the connection's life")
  assert.equal(row.queryCount, 2)
  assert.equal(l.inTransaction, false)
  assert.equal(l.tag, undefined)
  assert.match(l.location, /holdWithoutRelease/)
  assert.match(l.stack, /holdWithoutRelease/)
  assert.equal(pool.getMetrics().stats.leaksDetected, 1)
  assert.equal(pool.getAlerts().filter((a) => a.type === 'leak').length, 1)
  leaked.release()
})

test('a checkout inside an open transaction is reported with inTransaction: true', async (t) => {
  const pool = await makePool({ max: 2, leakThresholdMs: 100, checkIntervalMs: 20 }, t)
  const reports = collect(pool, 'leaksDetected')
  const c = await pool.connect()
  await c.query('BEGIN')
  await waitUntil(() => reports.length > 0, 3000, 'the leak report')
  assert.equal(reports[0].leaks[0].inTransaction, true)
  assert.equal(reports[0].leaks[0].queryCount, 1)
  await c.query('ROLLBACK')
  c.release()
  await sleep(200)
  assert.equal(reports.length, 1)
})
