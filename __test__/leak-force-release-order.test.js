'use strict'
// forceRelease fires only after the checkout left the registry, its slot was freed and a
// waiter the slot can serve was handed it (the old socket may still be closing: it no longer
// counts): the counts seen inside the listener already reflect it.

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, waitUntil } = require('./helpers/leak')

test('inside the listener the slot is already free (no waiter)', async (t) => {
  const pool = await makePool({ max: 1, leakThresholdMs: 0, checkIntervalMs: 20, forceReleaseAfterMs: 150 }, t)
  const seen = []
  pool.on('forceRelease', (ev) => {
    seen.push({
      ev,
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      status: pool.getPoolStatus(),
      usable: client._native != null,
    })
  })
  const client = await pool.connect()
  await waitUntil(() => seen.length === 1, 3000, 'the forced release')
  const s = seen[0]
  assert.equal(s.total, 0, 'slot freed before the event')
  assert.equal(s.idle, 0, 'the destroyed connection is not idle')
  assert.equal(s.status.active, 0)
  assert.equal(s.status.activeConnections.length, 0)
  assert.equal(s.usable, false, 'the client is already unusable inside the listener')
  // And a connect() from inside the pool's next turn gets a slot at once.
  const again = await pool.connect()
  assert.equal(pool.totalCount, 1)
  again.release()
})

test('inside the listener the waiter has already been served', async (t) => {
  const pool = await makePool(
    { max: 1, leakThresholdMs: 0, checkIntervalMs: 20, forceReleaseAfterMs: 150, connectionTimeoutMillis: 5000 },
    t
  )
  const seen = []
  pool.on('forceRelease', (ev) => {
    seen.push({ ev, total: pool.totalCount, waiting: pool.waitingCount, ids: pool.getPoolStatus().activeConnections.map((r) => r.id) })
  })
  const stuck = await pool.connect()
  const waiter = pool.connect()
  assert.equal(pool.waitingCount, 1)
  await waitUntil(() => seen.length === 1, 3000, 'the forced release')
  const s = seen[0]
  assert.equal(s.ev.id, stuck._checkoutId)
  assert.equal(s.waiting, 0, 'the waiter was handed the freed slot before the event')
  assert.ok(s.total <= 1, `total ${s.total} must never exceed max`)
  assert.ok(!s.ids.includes(stuck._checkoutId), 'the reclaimed checkout is gone from the registry')
  const c = await waiter
  assert.equal((await c.query('SELECT 1 AS one')).rows[0].one, 1)
  c.release()
})
