'use strict'
// Long results arrive from the core in parts while the server is still sending, and rows
// whose values are all ASCII are decoded one string per row. Neither may change what pg
// returns: rows, fields, multi-statement arrays and errors after streamed rows match pg.Pool;
// the event loop keeps turning while a long result is parsed.

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity } = require('./helpers/parity')
const { LeakDetectingPool } = require('..')
const { findDatabase } = require('./helpers/db')

// ~3 MB: well past the core's 128 KB parts. Every 7th row has non-ASCII text (decoded per
// value), the rest are ASCII rows; NULLs, jsonb, timestamps, arrays and long values mixed in.
const LONG = `SELECT i,
    CASE WHEN i % 7 = 0 THEN 'ünï ✓ ' || i ELSE 'row ' || i END AS t,
    CASE WHEN i % 5 = 0 THEN NULL ELSE i::int8 * 1000003 END AS big,
    ('{"id":' || i || ',"tags":["a","b"]}')::jsonb AS j,
    timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' AS ts,
    ARRAY[i, i + 1] AS arr,
    (i % 2 = 0) AS even,
    i / 7.0 AS num,
    repeat('x', i % 200) AS pad
  FROM generate_series(1, 20000) i`

const CASES = {
  'a long result': (q) => q(LONG),
  'a long result, extended protocol': (q) => q(`${LONG} WHERE i > $1`, [0]),
  "a long result, rowMode 'array'": (q) => q({ text: LONG, rowMode: 'array' }),
  'two long results in one simple query': (q) => q(`${LONG}; SELECT 1 AS one; ${LONG}`),
  'an error after thousands of rows': (q) =>
    q('SELECT i, repeat($$x$$, 100) AS pad, 1 / (15000 - i) AS boom FROM generate_series(1, 20000) i'),
  'per-query types on a long result': (q) =>
    q({ text: 'SELECT i, i::text AS s FROM generate_series(1, 30000) i', types: { getTypeParser: () => (v) => `<${v}>` } }),
}

for (const [name, run] of Object.entries(CASES)) {
  test(`pool.query: ${name}`, async () => {
    const r = await assertParity({ max: 2 }, async (pool) => {
      const res = await run((...a) => pool.query(...a)).catch((e) => e)
      // The pool stays usable after the long reply, whatever it was.
      return [res, await pool.query('SELECT 2 AS two')]
    })
    assert.ok(r.ours.value !== undefined)
  })
  test(`client.query: ${name}`, async () => {
    await assertParity({ max: 2 }, async (pool) => {
      const client = await pool.connect()
      try {
        const res = await run((...a) => client.query(...a)).catch((e) => e)
        return [res, await client.query('SELECT 2 AS two')]
      } finally {
        client.release()
      }
    })
  })
}

test("the error after streamed rows is pg's error and no rows leak out", async () => {
  const pool = new LeakDetectingPool({ ...(await findDatabase()), max: 1 })
  try {
    await assert.rejects(
      pool.query('SELECT i, repeat($$x$$, 100), 1 / (15000 - i) FROM generate_series(1, 20000) i'),
      (err) => err.code === '22012' && err.message === 'division by zero'
    )
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM generate_series(1, 3)')
    assert.deepEqual(rows, [{ n: 3 }])
  } finally {
    await pool.end()
  }
})

test('the event loop turns while a long result is parsed', async () => {
  const pool = new LeakDetectingPool({ ...(await findDatabase()), max: 1 })
  try {
    await pool.query('SELECT 1')
    let ticks = 0
    let running = true
    const tick = () => {
      ticks++
      if (running) setImmediate(tick)
    }
    setImmediate(tick)
    const r = await pool.query(`SELECT i, repeat('y', 200) AS pad, ('{"i":' || i || '}')::json AS j FROM generate_series(1, 100000) i`)
    running = false
    assert.equal(r.rows.length, 100000)
    assert.deepEqual(r.rows[99999].j, { i: 100000 })
    // ~25 MB arrives in ~200 parts; a loop blocked for the whole reply would tick once or twice.
    assert.ok(ticks >= 10, `the loop turned ${ticks} times`)
  } finally {
    await pool.end()
  }
})

test('query_timeout covers the whole of a long result, not just its first part', async () => {
  const pool = new LeakDetectingPool({ ...(await findDatabase()), max: 1, application_name: 'ldp_long_timeout' })
  const client = await pool.connect()
  try {
    // Rows flow at once, then the server stalls in the middle of the result.
    const started = Date.now()
    await assert.rejects(
      client.query({
        text: `SELECT i, repeat('x', 100), CASE WHEN i = 10000 THEN pg_sleep(5) END FROM generate_series(1, 20000) i`,
        query_timeout: 300,
      }),
      (err) => err.message === 'Query read timeout'
    )
    assert.ok(Date.now() - started < 3000, 'the timeout fired while rows were still due')
  } finally {
    client.release(true)
    await pool.end()
  }
})
