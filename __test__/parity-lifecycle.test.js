'use strict'
// Parity: connection lifetimes — maxUses, idleTimeoutMillis, min, maxLifetimeSeconds and
// expiredCount — behave as in pg-pool (same backends reused, same removals, same counts).

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity, sleep } = require('./helpers/parity')

const pidOf = async (q) => (await q('SELECT pg_backend_pid() AS p')).rows[0].p

test('maxUses: a connection is destroyed after its last use', async () => {
  const r = await assertParity(
    { max: 1, maxUses: 2 },
    async (pool, { rec }) => {
      const q = (t) => pool.query(t)
      // a removal and the next connection race on the network (in pg too): one at a time
      const removed = (n) => rec.until((ev) => ev.filter((e) => e.event === 'remove').length >= n)
      const pids = [await pidOf(q), await pidOf(q)]
      await removed(1)
      pids.push(await pidOf(q), await pidOf(q))
      await removed(2)
      pids.push(await pidOf(q))
      const c = await pool.connect()
      const viaConnect = c.processID
      c.release()
      return { pattern: pids.map((p) => pids.indexOf(p)), lastReused: viaConnect === pids[4], total: pool.totalCount }
    },
    { events: true }
  )
  assert.deepEqual(r.ours.value.pattern, [0, 0, 2, 2, 4])
  assert.equal(r.ours.value.lastReused, true)
  assert.equal(r.ours.events.filter((e) => e.event === 'remove').length, 3)
})

test('idleTimeoutMillis: an idle connection is closed after the timeout, not before', async () => {
  const r = await assertParity(
    { idleTimeoutMillis: 100 },
    async (pool, { rec }) => {
      await pool.query('SELECT 1')
      const t0 = Date.now()
      const early = pool.totalCount
      await rec.until((ev) => ev.some((e) => e.event === 'remove'), 2000)
      const ms = Date.now() - t0
      return { early, total: pool.totalCount, idle: pool.idleCount, inWindow: ms >= 80 && ms < 1000 }
    },
    { events: true }
  )
  assert.deepEqual(r.ours.value, { early: 1, total: 0, idle: 0, inWindow: true })
})

test('idleTimeoutMillis: 0 disables the idle timeout', async () => {
  const r = await assertParity({ idleTimeoutMillis: 0 }, async (pool) => {
    await pool.query('SELECT 1')
    await sleep(200)
    return { total: pool.totalCount, idle: pool.idleCount }
  })
  assert.deepEqual(r.ours.value, { total: 1, idle: 1 })
})

test('min: idle connections are closed down to min, not below', async () => {
  const r = await assertParity({ min: 1, max: 3, idleTimeoutMillis: 80 }, async (pool) => {
    const cs = await Promise.all([pool.connect(), pool.connect(), pool.connect()])
    for (const c of cs) c.release()
    const full = pool.totalCount
    await sleep(400)
    const settled = { total: pool.totalCount, idle: pool.idleCount }
    const n = (await pool.query('SELECT 1 AS n')).rows[0].n
    return { full, settled, n }
  })
  assert.deepEqual(r.ours.value, { full: 3, settled: { total: 1, idle: 1 }, n: 1 })
})

test('maxLifetimeSeconds: idle connections expire, held ones count in expiredCount and go on release', async () => {
  const r = await assertParity({ max: 2, maxLifetimeSeconds: 1 }, async (pool) => {
    const held = await pool.connect()
    const idle = await pool.connect()
    const idlePid = idle.processID
    idle.release()
    const before = { total: pool.totalCount, expired: pool.expiredCount }
    await sleep(1250)
    const during = { total: pool.totalCount, idle: pool.idleCount, expired: pool.expiredCount }
    const stillWorks = (await held.query('SELECT 1 AS n')).rows[0].n
    held.release()
    const after = { total: pool.totalCount, idle: pool.idleCount }
    const fresh = await pool.connect()
    const isNew = fresh.processID !== idlePid && fresh !== held
    fresh.release()
    return { before, during, stillWorks, after, isNew }
  })
  assert.deepEqual(r.ours.value, {
    before: { total: 2, expired: 0 },
    during: { total: 1, idle: 0, expired: 1 },
    stillWorks: 1,
    after: { total: 0, idle: 0 },
    isNew: true,
  })
})
