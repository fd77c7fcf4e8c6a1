'use strict'
// Parity: counters change synchronously with the call that changes them, exactly as in
// pg-pool (totalCount right after the first query()/connect(), waitingCount right after
// extra connect() calls on a full pool, idle/total right after release()).

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity } = require('./helpers/parity')

const counts = (pool) => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount })

test('totalCount is 1 right after the first query() returns its promise', async () => {
  const r = await assertParity({}, async (pool) => {
    const before = counts(pool)
    const p = pool.query('SELECT 1 AS n')
    // total and waiting only: the core runs the query on its own threads, so under heavy load
    // it can be finished (idle 1) before the next JS statement; pg's counts only move between
    // event-loop turns.
    const during = { total: pool.totalCount, waiting: pool.waitingCount }
    await p
    return { before, during, after: counts(pool) }
  })
  assert.deepEqual(r.ours.value.during, { total: 1, waiting: 0 })
  assert.deepEqual(r.ours.value.after, { total: 1, idle: 1, waiting: 0 })
})

test('totalCount is 1 right after the first connect() returns its promise', async () => {
  const r = await assertParity({}, async (pool) => {
    const p = pool.connect()
    const during = counts(pool)
    const c = await p
    const checkedOut = counts(pool)
    c.release()
    return { during, checkedOut, released: counts(pool) }
  })
  assert.deepEqual(r.ours.value, {
    during: { total: 1, idle: 0, waiting: 0 },
    checkedOut: { total: 1, idle: 0, waiting: 0 },
    released: { total: 1, idle: 1, waiting: 0 },
  })
})

test('waitingCount rises right after extra connect() calls on a full pool, falls on release', async () => {
  const r = await assertParity({ max: 2 }, async (pool) => {
    const a = pool.connect()
    const b = pool.connect()
    const two = counts(pool)
    const c = pool.connect()
    const d = pool.connect()
    const q = pool.query('SELECT 1 AS n')
    const queued = counts(pool)
    const [ca, cb] = await Promise.all([a, b])
    const beforeRelease = counts(pool)
    ca.release()
    const afterOneRelease = counts(pool)
    cb.release()
    const afterTwoReleases = counts(pool)
    const [cc, cd] = await Promise.all([c, d])
    cc.release()
    // The release hands its connection to the queued pool.query, which the core runs at
    // once on its own threads: it can already be back in the pool (idle 1) here, so total
    // and waiting only.
    const afterThird = { total: pool.totalCount, waiting: pool.waitingCount }
    cd.release()
    await q
    return { two, queued, beforeRelease, afterOneRelease, afterTwoReleases, afterThird, end: counts(pool) }
  })
  const v = r.ours.value
  assert.deepEqual(v.two, { total: 2, idle: 0, waiting: 0 })
  assert.deepEqual(v.queued, { total: 2, idle: 0, waiting: 3 })
  assert.deepEqual(v.afterOneRelease, { total: 2, idle: 0, waiting: 2 })
  assert.deepEqual(v.end, { total: 2, idle: 2, waiting: 0 })
})

test('idle/total right after release(), release(true) and release(err)', async () => {
  const r = await assertParity({ max: 3 }, async (pool) => {
    const [a, b, c] = await Promise.all([pool.connect(), pool.connect(), pool.connect()])
    const out = { start: counts(pool) }
    a.release()
    out.afterRelease = counts(pool)
    b.release(true)
    out.afterReleaseTrue = counts(pool)
    c.release(new Error('broken'))
    out.afterReleaseErr = counts(pool)
    return out
  })
  assert.deepEqual(r.ours.value, {
    start: { total: 3, idle: 0, waiting: 0 },
    afterRelease: { total: 3, idle: 1, waiting: 0 },
    afterReleaseTrue: { total: 2, idle: 1, waiting: 0 },
    afterReleaseErr: { total: 1, idle: 1, waiting: 0 },
  })
})

test('release(true) and release(err) really destroy the connection (new backend next time)', async () => {
  const r = await assertParity({ max: 1 }, async (pool) => {
    const pidOf = async (c) => (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p
    const c1 = await pool.connect()
    const p1 = await pidOf(c1)
    c1.release()
    const c2 = await pool.connect()
    const p2 = await pidOf(c2)
    c2.release(true)
    const c3 = await pool.connect()
    const p3 = await pidOf(c3)
    c3.release(new Error('x'))
    const c4 = await pool.connect()
    const p4 = await pidOf(c4)
    c4.release()
    return { reused: p1 === p2, destroyedByTrue: p3 !== p2, destroyedByErr: p4 !== p3, processIdMatches: c4.processID === p4 }
  })
  assert.deepEqual(r.ours.value, { reused: true, destroyedByTrue: true, destroyedByErr: true, processIdMatches: true })
})

test('a queued connect() is served FIFO', async () => {
  const r = await assertParity({ max: 1 }, async (pool) => {
    const order = []
    const first = await pool.connect()
    const waiters = [1, 2, 3].map((i) =>
      pool.connect().then((c) => {
        order.push(i)
        c.release()
      })
    )
    first.release()
    await Promise.all(waiters)
    return { order, end: counts(pool) }
  })
  assert.deepEqual(r.ours.value.order, [1, 2, 3])
})
