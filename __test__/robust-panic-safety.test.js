'use strict'
// A panic in the native code is an error for its caller, never a crash of Node and never a
// lost slot: in a binding method (the addon catches every method's unwind) and in a task the
// core spawned (cleaning a connection released inside a transaction, a connection's writer, a
// health check, the timer that fails a queued connect()). A task's panic surfaces as pg
// surfaces what it cost: a dead connection, an idle connection that died, a timed-out
// connect(). The panics are forced through the binding's test hook (`__injectPanicForTests`),
// which nothing in lib/ calls.

const test = require('node:test')
const assert = require('node:assert/strict')
const { LeakDetectingPool } = require('..')
const { dbConfig } = require('./helpers/parity')
const { waitUntil } = require('./helpers/leak')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

test('a panic in a binding method rejects that call; the client and the pool go on', async () => {
  const pool = new LeakDetectingPool({ ...(await dbConfig()), max: 1 })
  try {
    const client = await pool.connect()
    pool._native.__injectPanicForTests('clientSubmit')
    await assert.rejects(client.query('SELECT 1'), (err) => err instanceof Error && /panic/i.test(err.message))
    const r = await client.query('SELECT 2 AS n')
    assert.equal(r.rows[0].n, 2)
    client.release()
    assert.equal(pool.totalCount, 1)
    assert.equal(pool.idleCount, 1)
    assert.equal((await pool.query('SELECT 3 AS n')).rows[0].n, 3)
  } finally {
    await pool.end()
  }
})

test('a panic in a task the core spawned gives the slot back', async () => {
  const pool = new LeakDetectingPool({ ...(await dbConfig()), max: 1 })
  try {
    const client = await pool.connect()
    await client.query('BEGIN')
    pool._native.__injectPanicForTests('clean')
    // Released inside a transaction: a task cleans it (ROLLBACK) before reuse, and panics.
    client.release()
    for (let i = 0; i < 200 && pool.totalCount !== 0; i++) await sleep(10)
    assert.equal(pool.totalCount, 0, 'the slot is given back')
    assert.equal((await pool.query('SELECT 1 AS n')).rows[0].n, 1, 'the pool still serves (max: 1)')
  } finally {
    await pool.end()
  }
})

/** `promise`, or a rejection naming `what` after `ms`: a hang fails the test instead of stalling it. */
function within(promise, ms, what) {
  let timer
  const late = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled after ${ms} ms`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

test("a panic in a connection's writer task fails that connection as a dead one; the slot comes back", async () => {
  const pool = new LeakDetectingPool({ ...(await dbConfig()), max: 1 })
  try {
    const client = await pool.connect()
    const errors = []
    client.on('error', (err) => errors.push(err))
    pool._native.__injectPanicForTests('writer')
    // More than the socket takes at once: the writer task finishes the write, and panics.
    const big = 'x'.repeat(64 * 1024 * 1024)
    await assert.rejects(within(client.query('SELECT length($1) AS n', [big]), 10000, 'the query'), /Connection terminated unexpectedly/)
    await waitUntil(() => errors.length > 0, 3000, "the client's error event")
    assert.equal(errors[0].code, 'LDP_IO')
    client.release()
    await waitUntil(() => pool.totalCount === 0, 3000, 'the slot to come back')
    assert.equal((await pool.query('SELECT 1 AS n')).rows[0].n, 1, 'the pool still serves (max: 1)')
  } finally {
    await pool.end()
  }
})

test('a panic in a health check evicts the connection as an idle connection that died', async () => {
  const pool = new LeakDetectingPool({ ...(await dbConfig()), max: 1, healthCheckIntervalMs: 50 })
  try {
    const order = []
    pool.on('error', (err, client) => order.push(['error', err, client]))
    pool.on('remove', (client) => order.push(['remove', client]))
    const client = await pool.connect()
    pool._native.__injectPanicForTests('healthCheck')
    client.release()
    await waitUntil(() => order.length === 2, 3000, 'the error and remove events')
    assert.deepEqual(
      order.map((e) => e[0]),
      ['error', 'remove'],
      "pg's order for an idle connection that died"
    )
    assert.equal(order[0][2], client)
    assert.equal(order[1][1], client)
    assert.equal(pool.totalCount, 0, 'the slot is given back')
    assert.equal(pool.getMetrics().stats.healthCheckFailures, 1)
    assert.equal((await pool.query('SELECT 1 AS n')).rows[0].n, 1, 'the pool still serves (max: 1)')
  } finally {
    await pool.end()
  }
})

test('a panic in the timer of a queued connect() still fails it with the timeout', async () => {
  const pool = new LeakDetectingPool({ ...(await dbConfig()), max: 1, connectionTimeoutMillis: 100 })
  try {
    const held = await pool.connect()
    pool._native.__injectPanicForTests('acquireTimeout')
    await assert.rejects(within(pool.connect(), 3000, 'the queued connect()'), /timeout exceeded when trying to connect/)
    assert.equal(pool.waitingCount, 0)
    held.release()
    assert.equal((await pool.query('SELECT 1 AS n')).rows[0].n, 1, 'the pool still serves (max: 1)')
  } finally {
    await pool.end()
  }
})
