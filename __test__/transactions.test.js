'use strict'
// Transactions: committed and rolled-back work behaves as with pg.Pool (parity); a client
// released inside an open or failed transaction is rolled back before the next caller gets
// the connection, with an alert (ours only: pg.Pool hands the connection on as it is).

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity } = require('./helpers/parity')
const { LeakDetectingPool } = require('..')
const { findDatabase } = require('./helpers/db')

test('BEGIN / COMMIT / ROLLBACK on a client: same results as pg', async () => {
  const r = await assertParity({ max: 1 }, async (pool) => {
    const c = await pool.connect()
    try {
      await c.query('CREATE TEMP TABLE tx_t (v int)')
      await c.query('BEGIN')
      await c.query('INSERT INTO tx_t VALUES (1)')
      await c.query('COMMIT')
      await c.query('BEGIN')
      await c.query('INSERT INTO tx_t VALUES (2)')
      await c.query('ROLLBACK')
      await c.query('BEGIN')
      const failed = await c.query('SELECT 1/0').catch((e) => e)
      const aborted = await c.query('SELECT 1').catch((e) => e)
      await c.query('ROLLBACK')
      const rows = await c.query('SELECT v FROM tx_t ORDER BY v')
      await c.query('DROP TABLE tx_t')
      return { failed, aborted, rows }
    } finally {
      c.release()
    }
  })
  assert.equal(r.ours.value.aborted.code, '25P02')
  assert.deepEqual(
    r.ours.value.rows.rows.map((x) => x.value),
    [{ v: 1 }]
  )
})

async function withPool(opts, fn) {
  const pool = new LeakDetectingPool({ ...(await findDatabase()), ...opts })
  try {
    return await fn(pool)
  } finally {
    await pool.end()
  }
}

const status = async (c) =>
  (await c.query("SELECT pg_backend_pid() AS pid, current_setting('statement_timeout') AS st, now() = statement_timestamp() AS fresh"))
    .rows[0]

test('released inside an open transaction: rolled back before the next caller, alert recorded', async () => {
  await withPool({ max: 1 }, async (pool) => {
    const a = await pool.connect()
    await a.query('BEGIN')
    await a.query("SET LOCAL statement_timeout = '1234ms'")
    await a.query('CREATE TEMP TABLE tx_open (v int)')
    const before = await status(a)
    assert.equal(before.st, '1234ms')
    const waiter = pool.connect() // queued: must get the connection clean
    a.release()
    const b = await waiter
    try {
      const after = await status(b)
      assert.equal(after.pid, before.pid, 'the same connection is reused after the rollback')
      assert.notEqual(after.st, '1234ms')
      assert.equal(after.fresh, true, 'not inside the old transaction')
      const gone = await b.query('SELECT * FROM tx_open').catch((e) => e)
      assert.equal(gone.code, '42P01', 'the table created in the transaction was rolled back')
    } finally {
      b.release()
    }
    // The alert travels on the event channel, which is not ordered with query replies: it
    // may land a moment after the next caller's queries.
    const inTxn = () => pool.getAlerts().filter((x) => x.type === 'released-in-transaction')
    for (let i = 0; i < 200 && inTxn().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5))
    assert.equal(inTxn().length, 1)
    assert.equal(pool.totalCount, 1)
  })
})

test('released inside a failed transaction: the next caller is not "in a failed transaction"', async () => {
  await withPool({ max: 1 }, async (pool) => {
    const a = await pool.connect()
    await a.query('BEGIN')
    await a.query('SELECT 1/0').catch(() => {})
    a.release()
    const r = await pool.query('SELECT 42 AS n')
    assert.equal(r.rows[0].n, 42)
    const b = await pool.connect()
    try {
      assert.equal((await status(b)).fresh, true)
    } finally {
      b.release()
    }
    assert.ok(pool.getAlerts().some((x) => x.type === 'released-in-transaction'))
  })
})

test('released with a query still running inside a transaction: cleaned up before reuse', async () => {
  await withPool({ max: 1 }, async (pool) => {
    const a = await pool.connect()
    await a.query('BEGIN')
    const running = a.query('SELECT pg_sleep(0.1)').catch((e) => e)
    a.release()
    const b = await pool.connect()
    try {
      assert.equal((await status(b)).fresh, true)
    } finally {
      b.release()
    }
    await running
  })
})

test('a transaction in pool.query text (BEGIN; ...; COMMIT) and safe use record no alert', async () => {
  await withPool({ max: 1 }, async (pool) => {
    const r = await pool.query('BEGIN; SELECT 1 AS n; COMMIT')
    assert.equal(r.length, 3)
    const c = await pool.connect()
    await c.query('BEGIN')
    await c.query('COMMIT')
    c.release()
    assert.deepEqual(pool.getAlerts(), [])
  })
})
