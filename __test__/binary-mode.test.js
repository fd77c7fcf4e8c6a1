'use strict'
// pg's binary mode, against pg.Pool: the `binary` option reaches every client (and
// pool.options); a query config may ask for it alone; only extended-protocol queries fetch
// binary results (simple-protocol ones stay text); values parsed by pg-types' binary parsers,
// or by a `types` option's, equal pg's; one cached statement serves text and binary runs on one
// connection; pg.Query Submittables are told to ask for binary results. Where pg corrupts the
// bytes (a value that is not valid UTF-8), known-differences.test.js pins what we give instead.

const test = require('node:test')
const assert = require('node:assert/strict')
const pg = require('pg')
const { assertParity, both, dbConfig, withClient } = require('./helpers/parity')
const { LeakDetectingPool } = require('..')

const VALUES_SQL = `SELECT $1::int2 AS i2, $2::int4 AS i4, $3::int8 AS i8, $4::float8 AS f8, $5::bool AS b,
  $6::text AS t, $7::bytea AS ba, $8::timestamptz AS ts, $9::int4[] AS arr, $10::int4 AS nul`
// Values whose binary form is valid UTF-8, which pg hands its parsers intact (the timestamp is
// 0x0001020304050607 microseconds after 2000-01-01); pg-types' binary parsers read int4[]
// elements as unsigned, so the array's elements are positive.
const VALUES = [
  7,
  0x12345,
  '9007199254740993',
  2.5,
  true,
  'héllo wörld',
  Buffer.from('bytes'),
  '2008-12-27 09:55:52.306183+00',
  [1, 2, 3],
  null,
]

/** The pg-types parser for `oid` in `format`, tagged so that a test can see which was called. */
function taggingTypes(calls) {
  return {
    getTypeParser(oid, format) {
      return (value) => {
        calls.push(format)
        return { format, value: Buffer.isBuffer(value) ? value.toString('hex') : value }
      }
    },
  }
}

test('the binary option reaches every client, its connectionParameters and pool.options', async () => {
  await assertParity({ binary: true, max: 2 }, async (pool) => {
    const a = await pool.connect()
    const b = await pool.connect()
    const out = { a: a.binary, b: b.binary, params: a.connectionParameters.binary, options: pool.options.binary }
    a.release()
    b.release()
    return out
  })
  await assertParity({ max: 1 }, (pool) => withClient(pool, (c) => ({ binary: c.binary, options: pool.options.binary })))
})

test('values of an extended query on a binary client equal pg’s, through pool.query and client.query', async () => {
  await assertParity({ binary: true, max: 1 }, async (pool) => {
    const viaPool = await pool.query(VALUES_SQL, VALUES)
    const viaClient = await withClient(pool, (c) => c.query(VALUES_SQL, VALUES))
    const named = await pool.query({ name: 'binary-values', text: VALUES_SQL, values: VALUES })
    return { viaPool, viaClient, named, formats: viaPool.fields.map((f) => f.format) }
  })
  const pool = new LeakDetectingPool(await dbConfig({ binary: true, max: 1 }))
  try {
    const r = await pool.query(VALUES_SQL, VALUES)
    assert.deepEqual(
      r.fields.map((f) => f.format),
      r.fields.map(() => 'binary')
    )
    const { ts, ...row } = r.rows[0]
    assert.deepEqual(row, {
      i2: 7,
      i4: 0x12345,
      i8: '9007199254740993',
      f8: 2.5,
      b: true,
      t: 'héllo wörld',
      ba: 'bytes',
      arr: [1, 2, 3],
      nul: null,
    })
    assert.equal(ts.toISOString(), '2008-12-27T09:55:52.306Z')
  } finally {
    await pool.end()
  }
})

test('array rows get the same values as object rows (pg hands binary parsers a string there)', async () => {
  const r = await both({ binary: true, max: 1 }, async (pool) => {
    const objects = await pool.query(VALUES_SQL, VALUES)
    const arrays = await pool.query({ text: VALUES_SQL, values: VALUES, rowMode: 'array' }).catch((e) => e)
    return { objects: Object.values(objects.rows[0]), arrays: arrays instanceof Error ? arrays : arrays.rows[0] }
  })
  assert.deepEqual(r.ours.value.arrays, r.ours.value.objects)
  assert.deepEqual(r.ours.value.objects, r.pg.value.objects)
  assert.notDeepEqual(r.pg.value.arrays, r.pg.value.objects)
})

test('a query config asks for binary results on a text client, and a binary client wins over binary: false', async () => {
  await assertParity({ max: 1 }, async (pool) => {
    const text = { text: 'SELECT CAST($1 AS INT[]) AS a, $2::int8 AS n', values: [[1, 2, 8], 5] }
    const viaClient = await withClient(pool, async (c) => ({
      off: await c.query({ ...text, binary: false }),
      on: await c.query({ ...text, binary: true }),
      again: await c.query(text),
    }))
    const viaPool = await pool.query({ ...text, binary: true })
    return { viaClient, viaPool }
  })
  await assertParity({ binary: true, max: 1 }, (pool) =>
    withClient(pool, (c) => c.query({ text: 'SELECT $1::int4 AS n', values: [3], binary: false }))
  )
})

test('simple-protocol queries on a binary client are text; queryMode extended is binary', async () => {
  await assertParity({ binary: true, max: 1 }, async (pool) => {
    const plain = await pool.query('SELECT 42::int4 AS n, now()::date IS NOT NULL AS ok')
    const multi = await withClient(pool, (c) => c.query('SELECT 1::int2 AS a; SELECT 2::int8 AS b'))
    const empty = await pool.query('SELECT 42::int4 AS n', [])
    const extended = await pool.query({ text: 'SELECT 42::int4 AS n', queryMode: 'extended' })
    return { plain, multi, empty, extended }
  })
})

test('one statement run text, binary, text on one connection: fields and values right each time', async () => {
  await assertParity({ max: 1 }, (pool) =>
    withClient(pool, async (c) => {
      const sql = 'SELECT $1::int4 AS n, $2::text AS t, $3::int8[] AS a'
      const runs = []
      for (const binary of [false, true, false, true, true, false]) {
        const r = await c.query({ text: sql, values: [runs.length, 'run', [runs.length, 7]], binary })
        runs.push({ formats: r.fields.map((f) => f.format), fields: r.fields, row: r.rows[0] })
      }
      return runs
    })
  )
  // Cached by a binary run first, and on a binary pool with a query asking for text.
  await assertParity({ binary: true, max: 1 }, (pool) =>
    withClient(pool, async (c) => {
      const sql = 'SELECT $1::float8 * 2 AS d'
      return [await c.query(sql, [1.25]), await c.query({ text: sql, values: [2], binary: false }), await c.query(sql, [3])]
    })
  )
})

test('pipelined queries on a binary pool: each with its own results', async () => {
  await assertParity({ binary: true, pipeline: true, max: 1 }, (pool) =>
    withClient(pool, (c) =>
      Promise.all([
        c.query('SELECT $1::int4 AS n', [1]),
        c.query('SELECT 2::int4 AS n'),
        c.query({ text: 'SELECT $1::int4 AS n', values: [3] }),
        c.query('SELECT $1::bool AS b', [false]),
      ])
    )
  )
})

test('a pg.Query Submittable on a binary client asks for binary results', async () => {
  await assertParity({ binary: true, max: 1 }, async (pool) => {
    const viaPool = await pool.query(new pg.Query('SELECT $1::int4 AS n, $2::text AS t', [9, 'nine']))
    const viaClient = await withClient(
      pool,
      (c) =>
        new Promise((resolve, reject) => {
          const q = c.query(new pg.Query('SELECT $1::int8 AS n', [10]))
          q.on('end', (r) => resolve({ r, binary: q.binary }))
          q.on('error', reject)
        })
    )
    const simple = await pool.query(new pg.Query('SELECT 11::int4 AS n'))
    return { viaPool, viaClient, simple }
  })
})

test('binary parsers come from the types option, per query, and client.setTypeParser', async () => {
  const seen = { pg: [], ours: [] }
  await assertParity(
    (impl) => ({ binary: true, max: 1, types: taggingTypes(seen[impl]) }),
    async (pool) => {
      const pooled = await pool.query('SELECT $1::int4 AS n, $2::text AS t, $3::bytea AS b', [7, 'seven', Buffer.from('ok')])
      const simple = await pool.query('SELECT 7::int4 AS n')
      const perQuery = await pool.query({ text: 'SELECT $1::int2 AS n', values: [1], types: taggingTypes([]) })
      const onClient = await withClient(pool, (c) => {
        c.setTypeParser(23, 'binary', (buf) => `int4:${buf.readInt32BE(0)}`)
        return c.query('SELECT $1::int4 AS n', [8])
      })
      return { pooled, simple, perQuery, onClient }
    }
  )
  assert.deepEqual(seen.ours, seen.pg)
  assert.deepEqual(seen.ours, ['binary', 'binary', 'binary', 'text'])
})
