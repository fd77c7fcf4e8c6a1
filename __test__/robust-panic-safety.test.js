'use strict'
// A panic in the native code is an error for its caller, never a crash of Node and never a
// lost slot: in a binding method (the addon catches every method's unwind) and in a task the
// core spawned (cleaning a connection released inside a transaction). The panics are forced
// through the binding's test hook (`__injectPanicForTests`), which nothing in lib/ calls.

const test = require('node:test')
const assert = require('node:assert/strict')
const { LeakDetectingPool } = require('..')
const { dbConfig } = require('./helpers/parity')

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
