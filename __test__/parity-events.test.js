'use strict'
// Parity: pg.Pool's events (connect, acquire, release(err, client), remove, error(err,
// client)) fire in the same order, with the same arguments and the same counts at the time of
// each event; the client passed to listeners is the object connect() returned, and the same
// object comes back for the same connection. Errors of idle clients go to the pool (with
// err.client, counts already updated, then `remove`); errors of checked-out clients go to the
// client, never to the pool.

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity, terminate, sleep } = require('./helpers/parity')
const { uniqueAppName, killBackends } = require('./helpers/db')

const seq = (r) => r.ours.events.map((e) => e.event)

test('connect, acquire, release, remove: order, arguments, counts, same client object', async () => {
  const r = await assertParity(
    {},
    async (pool, { rec }) => {
      const c1 = await pool.connect()
      const id1 = rec.idOf(c1)
      await c1.query('SELECT 1')
      c1.release()
      const c2 = await pool.connect()
      const id2 = rec.idOf(c2)
      c2.release()
      return { id1, id2, sameObject: c1 === c2, pid: typeof c1.processID }
    },
    { events: true }
  )
  assert.deepEqual(seq(r), ['connect', 'acquire', 'release', 'acquire', 'release', 'remove'])
  assert.deepEqual(r.ours.value, { id1: 1, id2: 1, sameObject: true, pid: 'number' })
  assert.deepEqual(r.ours.events[0], { event: 'connect', total: 1, idle: 0, waiting: 0, client: 1 })
  assert.deepEqual(r.ours.events[2], { event: 'release', total: 1, idle: 0, waiting: 0, err: undefined, client: 1 })
  assert.deepEqual(r.ours.events[5], { event: 'remove', total: 0, idle: 0, waiting: 0, client: 1 })
})

test('the same client object (same processID) is handed out again for the same connection', async () => {
  const r = await assertParity({ max: 2 }, async (pool) => {
    const a = await pool.connect()
    const b = await pool.connect()
    const pids = [a.processID, b.processID]
    a.release()
    b.release()
    const [c, d] = await Promise.all([pool.connect(), pool.connect()])
    const ok = [c, d].every((x) => (x === a && x.processID === pids[0]) || (x === b && x.processID === pids[1]))
    const real = (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p === c.processID
    c.release()
    d.release()
    return { ok, real, distinct: pids[0] !== pids[1] }
  })
  assert.deepEqual(r.ours.value, { ok: true, real: true, distinct: true })
})

test('pool.query fires connect/acquire/release like a checkout; a failed one then remove', async () => {
  const r = await assertParity(
    { max: 1 },
    async (pool, { rec }) => {
      await pool.query('SELECT 1')
      await pool.query('SELECT 1/0').catch(() => {})
      // a removal and the next connection race on the network (in pg too): one at a time
      await rec.until((ev) => ev.some((e) => e.event === 'remove'))
      await pool.query('SELECT 2')
    },
    { events: true }
  )
  assert.deepEqual(seq(r), ['connect', 'acquire', 'release', 'acquire', 'release', 'remove', 'connect', 'acquire', 'release', 'remove'])
  assert.equal(r.ours.events[2].err, null)
  assert.equal(r.ours.events[4].err, 'division by zero')
})

test('release(true) and release(err) pass the argument to `release`, then `remove`', async () => {
  const r = await assertParity(
    { max: 2 },
    async (pool, { rec }) => {
      const a = await pool.connect()
      const b = await pool.connect()
      a.release(true)
      // one at a time: the order of two socket closes is up to the network
      await rec.until((ev) => ev.some((e) => e.event === 'remove'))
      b.release(new Error('client broke'))
    },
    { events: true }
  )
  const rel = r.ours.events.filter((e) => e.event === 'release')
  assert.deepEqual(
    rel.map((e) => [e.err, e.total]),
    [
      [true, 2],
      ['client broke', 1],
    ]
  )
  assert.equal(r.ours.events.filter((e) => e.event === 'remove').length, 2)
})

test('an idle client that dies: pool `error`(err, client) with err.client, counts updated, then `remove`', async () => {
  const r = await assertParity(
    { max: 2 },
    async (pool, { rec }) => {
      const errors = []
      pool.on('error', (err, client) =>
        errors.push({ sameClient: err.client === client, id: rec.idOf(client), total: pool.totalCount, idle: pool.idleCount })
      )
      const a = await pool.connect()
      const b = await pool.connect()
      const ida = rec.idOf(a)
      const pid = a.processID
      a.release()
      b.release()
      await terminate(pid)
      await rec.until((ev) => ev.some((e) => e.event === 'remove'))
      const countsAfter = { total: pool.totalCount, idle: pool.idleCount }
      // the pool still works, on the other connection or a new one
      const n = (await pool.query('SELECT 1 AS n')).rows[0].n
      return { errors, ida, countsAfter, n }
    },
    { events: true }
  )
  const v = r.ours.value
  assert.deepEqual(v.errors, [{ sameClient: true, id: v.ida, total: 1, idle: 1 }])
  const errEv = r.ours.events.find((e) => e.event === 'error')
  assert.equal(errEv.errClientIsClient, true)
  assert.match(errEv.err, /terminat/)
  const i = r.ours.events.indexOf(errEv)
  assert.deepEqual(r.ours.events[i + 1], { event: 'remove', total: 1, idle: 1, waiting: 0, client: v.ida })
  assert.deepEqual(v.countsAfter, { total: 1, idle: 1 })
})

test('an error on a checked-out client goes to the client, never to the pool', async () => {
  const r = await assertParity(
    {},
    async (pool) => {
      let poolErrors = 0
      pool.on('error', () => poolErrors++)
      const c = await pool.connect()
      const clientErrors = []
      c.on('error', (err) => clientErrors.push(err.message))
      await terminate(c.processID)
      for (let i = 0; i < 200 && clientErrors.length < 2; i++) await sleep(5)
      const queryFailed = await c.query('SELECT 1').then(
        () => false,
        () => true
      )
      const totalBeforeRelease = pool.totalCount
      c.release()
      await sleep(20)
      return { poolErrors, clientErrors, queryFailed, totalBeforeRelease, totalAfterRelease: pool.totalCount }
    },
    { events: true }
  )
  assert.deepEqual(r.ours.value, {
    poolErrors: 0,
    clientErrors: ['terminating connection due to administrator command', 'Connection terminated unexpectedly'],
    queryFailed: true,
    totalBeforeRelease: 1,
    totalAfterRelease: 0,
  })
  assert.deepEqual(seq(r), ['connect', 'acquire', 'release', 'remove'])
})

test('events of a waiter served by a release', async () => {
  const r = await assertParity(
    { max: 1 },
    async (pool, { rec }) => {
      const a = await pool.connect()
      const pb = pool.connect()
      a.release()
      const b = await pb
      const same = rec.idOf(a) === rec.idOf(b)
      b.release()
      return same
    },
    { events: true }
  )
  assert.equal(r.ours.value, true)
  assert.deepEqual(
    r.ours.events.map((e) => [e.event, e.waiting]),
    [
      ['connect', 0],
      ['acquire', 0],
      ['release', 1],
      ['acquire', 0],
      ['release', 0],
      ['remove', 0],
    ]
  )
})

test('a backend killed during a query: the query fails with the server error, the slot is freed', async () => {
  const r = await assertParity(
    { max: 1 },
    async (pool) => {
      let poolErrors = 0
      pool.on('error', () => poolErrors++)
      const c = await pool.connect()
      const clientErrors = []
      c.on('error', (err) => clientErrors.push(err.message))
      const q = c.query('SELECT pg_sleep(5)').catch((e) => e)
      await sleep(50)
      await terminate(c.processID)
      const err = await q
      for (let i = 0; i < 200 && clientErrors.length < 1; i++) await sleep(5)
      c.release()
      return { err, clientErrors, poolErrors, total: pool.totalCount }
    },
    { events: true }
  )
  assert.equal(r.ours.value.err.code, '57P01')
  assert.deepEqual(r.ours.value.clientErrors, ['Connection terminated unexpectedly'])
})

test('a backend killed during pool.query: the promise rejects with the server error, totalCount exact', async () => {
  const apps = { pg: uniqueAppName('parity-kill'), ours: uniqueAppName('parity-kill') }
  const r = await assertParity(
    (impl) => ({ max: 2, application_name: apps[impl] }),
    async (pool, { impl, config, rec }) => {
      let poolErrors = 0
      pool.on('error', () => poolErrors++)
      const q = pool.query('SELECT pg_sleep(5)').catch((e) => e)
      await sleep(100)
      const killed = await killBackends(config, apps[impl])
      const err = await q
      const total = pool.totalCount
      await rec.until((ev) => ev.some((e) => e.event === 'remove'))
      const n = (await pool.query('SELECT 1 AS n')).rows[0].n
      return { killed, err, poolErrors, total, n }
    },
    { events: true }
  )
  assert.deepEqual([r.ours.value.killed, r.ours.value.err.code, r.ours.value.total, r.ours.value.n], [1, '57P01', 0, 1])
})
