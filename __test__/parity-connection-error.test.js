'use strict'
// pg's errors in pg's words for a client whose connection failed while checked out: the
// client's `error` listeners hear it, its next queries reject with "Client has encountered a
// connection error and is not queryable" (a Submittable's too), its release removes it, and
// the pool goes on working.

const test = require('node:test')
const assert = require('node:assert/strict')
const { both, terminate } = require('./helpers/parity')

test("a query on a client whose connection failed: pg's message (parity)", async () => {
  const r = await both({ max: 1 }, async (pool) => {
    const c = await pool.connect()
    const heard = []
    const failed = new Promise((resolve) => c.on('error', (e) => resolve(heard.push(e.message))))
    // Nothing of pg's or ours keeps the process alive while this client only waits.
    const keep = setTimeout(() => {}, 10000)
    let first
    try {
      await terminate(c.processID)
      await failed
      first = heard[0]
    } finally {
      clearTimeout(keep)
    }
    const later = []
    for (const q of ['SELECT 1', { text: 'SELECT $1::int AS x', values: [1] }]) {
      later.push(
        await c.query(q).then(
          () => 'ran',
          (e) => ({ message: e.message, code: e.code })
        )
      )
    }
    const viaCallback = await new Promise((resolve) => c.query('SELECT 1', (err) => resolve(err && err.message)))
    c.release()
    const counts = { total: pool.totalCount, idle: pool.idleCount }
    const x = (await pool.query('SELECT 1 AS x')).rows[0].x
    return { first, later, viaCallback, counts, x }
  })
  assert.deepStrictEqual(r.ours, r.pg)
  const message = 'Client has encountered a connection error and is not queryable'
  assert.deepEqual(r.ours.value.later, [
    { message, code: undefined },
    { message, code: undefined },
  ])
  assert.equal(r.ours.value.viaCallback, message)
  assert.deepEqual(r.ours.value.counts, { total: 0, idle: 0 })
})

test("a Submittable on a client whose connection failed: pg's message (parity)", async () => {
  const Cursor = require('pg-cursor')
  const r = await both({ max: 1 }, async (pool) => {
    const c = await pool.connect()
    const failed = new Promise((resolve) => c.on('error', resolve))
    const keep = setTimeout(() => {}, 10000)
    try {
      await terminate(c.processID)
      await failed
    } finally {
      clearTimeout(keep)
    }
    const cursor = c.query(new Cursor('SELECT 1 AS x'))
    const read = await cursor.read(1).then(
      () => 'ran',
      (e) => e.message
    )
    c.release()
    return { read }
  })
  assert.deepStrictEqual(r.ours, r.pg)
  assert.equal(r.ours.value.read, 'Client has encountered a connection error and is not queryable')
})
