'use strict'
// pipeline: true (pg 8.23): a pool's clients send queries without waiting for the previous
// reply — this pool's connections always do, each query with its own Sync, which gives pg's
// pipeline rules: every query settles on its own, a failing one does not affect the others.
// `client.pipeline` says whether the option is on, and queries that keep a portal open across
// round trips (a Submittable such as pg-cursor, the `rows` option) are refused in pipeline mode
// with pg's messages.

const test = require('node:test')
const assert = require('node:assert/strict')
const Cursor = require('pg-cursor')
const { assertParity, withClient } = require('./helpers/parity')
const { LeakDetectingPool } = require('..')

test('client.pipeline is true with pipeline: true and false by default (parity)', async () => {
  for (const options of [{ pipeline: true }, {}, { pipeline: false }]) {
    const r = await assertParity(options, (pool) => withClient(pool, (c) => ({ pipeline: c.pipeline })))
    assert.deepEqual(r.ours.value, { pipeline: options.pipeline === true })
  }
})

test('pipelined queries settle one by one; an error affects only its own query (parity)', async () => {
  const r = await assertParity({ pipeline: true, max: 1 }, (pool) =>
    withClient(pool, async (c) => {
      const settled = await Promise.allSettled([
        c.query('SELECT 1 AS num'),
        c.query('SELECT $1::int AS num', [2]),
        c.query('SELECT INVALID SYNTAX'),
        c.query({ text: 'SELECT $1::int AS num', values: [4], rowMode: 'array' }),
        c.query({ name: 'ldp-pipe', text: 'SELECT $1::int + 1 AS num', values: [4] }),
        c.query({ name: 'ldp-pipe', text: 'SELECT $1::int + 1 AS num', values: [5] }),
      ])
      return settled.map((s) => (s.status === 'fulfilled' ? s.value.rows : { code: s.reason.code }))
    })
  )
  assert.deepEqual(r.ours.value, [[{ num: 1 }], [{ num: 2 }], { code: '42703' }, [[4]], [{ num: 5 }], [{ num: 6 }]])
})

test('a transaction pipelined on one client commits as in pg (parity)', async () => {
  const r = await assertParity({ pipeline: true, max: 1 }, (pool) =>
    withClient(pool, async (c) => {
      const [, , , , check] = await Promise.all([
        c.query('BEGIN'),
        c.query('CREATE TEMP TABLE ldp_pipe (n int)'),
        c.query('INSERT INTO ldp_pipe SELECT generate_series(1, 3)'),
        c.query('COMMIT'),
        c.query('SELECT sum(n)::int AS s FROM ldp_pipe'),
      ])
      return check.rows
    })
  )
  assert.deepEqual(r.ours.value, [{ s: 6 }])
})

test("the rows option and Submittables are refused in pipeline mode with pg's messages (parity)", async () => {
  const r = await assertParity({ pipeline: true }, (pool) =>
    withClient(pool, async (c) => {
      const rows = await c.query({ text: 'SELECT 1', rows: 1 }).then(
        () => 'resolved',
        (e) => e.message
      )
      const cursor = c.query(new Cursor('SELECT 1 AS one'))
      const read = await cursor.read(1).then(
        () => 'read',
        (e) => e.message
      )
      const after = (await c.query('SELECT 2 AS two')).rows
      return { rows, read, after }
    })
  )
  assert.deepEqual(r.ours.value, {
    rows: 'The `rows` option is not supported in pipeline mode',
    read: 'Custom query classes such as pg-cursor and pg-query-stream are not supported in pipeline mode',
    after: [{ two: 2 }],
  })
})

test('pipeline must be a boolean', () => {
  assert.throws(() => new LeakDetectingPool({ pipeline: 'yes' }), { code: 'LDP_INVALID_OPTION', option: 'pipeline' })
})

test('known difference: a query_timeout in pipeline mode fails only that query (pg destroys the connection)', async () => {
  const pool = new LeakDetectingPool({ pipeline: true, max: 1 })
  try {
    const r = await withClient(pool, async (c) => {
      const settled = await Promise.allSettled([c.query({ text: 'SELECT pg_sleep(0.3)', query_timeout: 50 }), c.query('SELECT 2 AS two')])
      return settled.map((s) => (s.status === 'fulfilled' ? s.value.rows : s.reason.message))
    })
    assert.deepEqual(r, ['Query read timeout', [{ two: 2 }]])
  } finally {
    await pool.end()
  }
})
