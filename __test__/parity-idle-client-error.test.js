'use strict'
// Parity: pg-pool listens for `error` on every client it is not lending out. An error emitted
// on an idle client — by anyone, the application included (`client.emit('error', err)`) —
// removes that client at once (its connection closed, its slot freed, the counts exact before
// the emit returns) and the pool emits `error` with (err, client), err.client set; `remove`
// follows when the connection has closed. A checked-out client's errors stay its own.

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity, sleep } = require('./helpers/parity')

const seq = (r) => r.ours.events.map((e) => e.event)

test('an error emitted on an idle client removes it at once and reaches the pool', async () => {
  const r = await assertParity(
    {},
    async (pool, { rec }) => {
      const poolErrors = []
      pool.on('error', (err, client) =>
        poolErrors.push({ message: err.message, errClient: err.client === client, id: rec.idOf(client), total: pool.totalCount })
      )
      const c = await pool.connect()
      const pid = c.processID
      c.release()
      await new Promise((resolve) => process.nextTick(resolve))
      const clientHeard = []
      c.once('error', (err) => clientHeard.push(err.message))
      c.emit('error', new Error('expected'))
      const counts = { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }
      // A second error on the removed client throws nothing (pg-pool logs it).
      c.emit('error', new Error('again'))
      await rec.until((ev) => ev.some((e) => e.event === 'remove'))
      // The pool goes on, on a new connection.
      const next = await pool.connect()
      const fresh = next !== c && next.processID !== pid
      next.release()
      return { poolErrors, clientHeard, counts, fresh, listeners: c.listenerCount('error') }
    },
    { events: true }
  )
  assert.deepEqual(r.ours.value.poolErrors, [{ message: 'expected', errClient: true, id: 1, total: 0 }])
  assert.deepEqual(r.ours.value.clientHeard, ['expected'])
  assert.deepEqual(r.ours.value.counts, { total: 0, idle: 0, waiting: 0 })
  assert.equal(r.ours.value.fresh, true)
  assert.deepEqual(seq(r), ['connect', 'acquire', 'release', 'error', 'remove', 'connect', 'acquire', 'release', 'remove'])
})

test('the error listener is on idle clients only: a checked-out client keeps its errors', async () => {
  const r = await assertParity({}, async (pool) => {
    let poolErrors = 0
    pool.on('error', () => poolErrors++)
    const c = await pool.connect()
    const whileHeld = c.listenerCount('error')
    const heard = []
    c.once('error', (err) => heard.push(err.message))
    c.emit('error', new Error('in use'))
    const counts = { total: pool.totalCount, idle: pool.idleCount }
    c.release()
    const whileIdle = c.listenerCount('error')
    const again = await pool.connect()
    const same = again === c
    const whileHeldAgain = c.listenerCount('error')
    again.release()
    return { poolErrors, heard, counts, whileHeld, whileIdle, same, whileHeldAgain }
  })
  assert.deepEqual(r.ours.value, {
    poolErrors: 0,
    heard: ['in use'],
    counts: { total: 1, idle: 0 },
    whileHeld: 0,
    whileIdle: 1,
    same: true,
    whileHeldAgain: 0,
  })
})

test('a client released with its query still running, then sent an error: removed at once', async () => {
  const r = await assertParity({ max: 1 }, async (pool) => {
    const errors = []
    pool.on('error', (err) => errors.push(err.message))
    const c = await pool.connect()
    const running = c.query('SELECT pg_sleep(0.3)').then(
      () => 'done',
      () => 'failed'
    )
    c.release()
    c.emit('error', new Error('gone'))
    const counts = { total: pool.totalCount, idle: pool.idleCount }
    await running
    // The slot is free: the next caller gets a connection without waiting for the statement.
    const t0 = Date.now()
    const n = (await pool.query('SELECT 1 AS n')).rows[0].n
    return { errors, counts, n, quick: Date.now() - t0 < 250 }
  })
  assert.deepEqual(r.ours.value, { errors: ['gone'], counts: { total: 0, idle: 0 }, n: 1, quick: true })
})

test('an idle client that served only pool.query, named by `release`, is removed the same way', async () => {
  const r = await assertParity({}, async (pool) => {
    let released = null
    pool.on('release', (err, client) => (released = client))
    const errors = []
    pool.on('error', (err, client) => errors.push({ message: err.message, same: client === released }))
    await pool.query('SELECT 1')
    await sleep(5)
    released.emit('error', new Error('late'))
    return { errors, total: pool.totalCount, idle: pool.idleCount }
  })
  assert.deepEqual(r.ours.value, { errors: [{ message: 'late', same: true }], total: 0, idle: 0 })
})
