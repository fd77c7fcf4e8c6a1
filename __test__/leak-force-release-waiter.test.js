'use strict'
// forceReleaseAfterMs gives the connection back for real: on a full pool (max 1) a waiting
// connect() is served once the idle leaked checkout is reclaimed, and the old backend is gone.

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, collect, waitUntil } = require('./helpers/leak')

async function stuckHolder(pool) {
  const client = await pool.connect()
  await client.query('SELECT 1')
  return client
}

test('a waiter on a full pool is unblocked by the forced release', async (t) => {
  const pool = await makePool(
    { max: 1, leakThresholdMs: 100, checkIntervalMs: 20, forceReleaseAfterMs: 300, connectionTimeoutMillis: 5000 },
    t
  )
  const forced = collect(pool, 'forceRelease')
  const stuck = await stuckHolder(pool)
  const oldPid = stuck.processID
  const t0 = Date.now()
  const waiting = pool.connect()
  assert.equal(pool.waitingCount, 1, 'the pool is full: the second connect() waits')
  const next = await waiting
  const waited = Date.now() - t0
  assert.ok(waited >= 200, `served after ${waited} ms, before the forced release could happen`)
  assert.ok(waited < 3000, `served after ${waited} ms`)
  await waitUntil(() => forced.length === 1, 1000, 'the forceRelease event')
  assert.equal(forced[0].id, stuck._checkoutId)
  assert.equal(forced[0].reason, 'idle')
  assert.match(forced[0].location, /stuckHolder/)
  assert.ok(forced[0].idleMs >= 300, `idleMs ${forced[0].idleMs}`)
  assert.equal(forced[0].age, forced[0].ageMs)
  assert.notEqual(next.processID, oldPid, 'a fresh connection, not the reclaimed one')
  const r = await next.query('SELECT 42 AS n')
  assert.equal(r.rows[0].n, 42)
  // The reclaimed connection was destroyed for real: its backend is gone.
  await waitUntil(
    async () => (await next.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [oldPid])).rows[0].n === 0,
    3000,
    'the reclaimed backend to exit'
  )
  assert.equal(pool.totalCount, 1)
  const m = pool.getMetrics()
  assert.equal(m.stats.forcedReleases, 1)
  assert.ok(pool.getAlerts().some((a) => a.type === 'force-release' && a.id === forced[0].id))
  next.release()
  stuck.release()
})
