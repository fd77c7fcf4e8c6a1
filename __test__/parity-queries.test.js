'use strict'
// Parity: every query form of pg, through pool.query and through a checked-out client,
// gives the same results on pg.Pool and LeakDetectingPool (rows, fields, command, rowCount,
// oid; row prototypes and key order; multi-statement arrays; the protocol choice).

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity, both } = require('./helpers/parity')

const upper = { getTypeParser: (oid, format) => (text) => `${oid}/${format}:${text}` }

// Each case gets `q`: pool.query or client.query, bound.
const CASES = {
  text: (q) => q('SELECT 1 AS one, $$a$$::text AS two'),
  'text + values': (q) => q('SELECT $1::int AS a, $2::text AS b, $3::text AS c', [42, 'x', null]),
  'config object': (q) => q({ text: 'SELECT $1::int + 1 AS n', values: [41] }),
  'config object without values': (q) => q({ text: 'SELECT 7 AS n' }),
  'config object + values argument': (q) => q({ text: 'SELECT $1::text AS v' }, ['from-arg']),
  'named (prepared), twice': async (q) => {
    const name = `ldp_parity_named`
    const a = await q({ name, text: 'SELECT $1::int * 2 AS n', values: [2] })
    const b = await q({ name, text: 'SELECT $1::int * 2 AS n', values: [5] })
    return [a, b]
  },
  "rowMode 'array'": (q) => q({ text: 'SELECT 1 AS a, $1::text AS b, NULL AS c', values: ['z'], rowMode: 'array' }),
  "rowMode 'array' without values": (q) => q({ text: 'SELECT 1 AS a, 2 AS a', rowMode: 'array' }),
  'types per query': (q) => q({ text: 'SELECT 1::int4 AS i, $1::text AS t', values: ['v'], types: upper }),
  'types per query (simple protocol)': (q) => q({ text: 'SELECT 1::int4 AS i', types: upper }),
  'duplicate column names': (q) => q('SELECT 1 AS a, 2 AS b, 3 AS a'),
  'key order is column order': (q) => q('SELECT 3 AS c, 1 AS a, 2 AS b, 4 AS "0", 5 AS "10"'),
  'multi-statement returns an array': (q) => q('SELECT 1 AS a; SELECT 2 AS b, 3 AS c; SELECT 1 WHERE false'),
  'multi-statement with [] uses the simple protocol': (q) => q('SELECT 1 AS a; SELECT $$x$$ AS b', []),
  'empty values array, one statement': (q) => q('SELECT 1 AS a', []),
  'multi-statement with values is a server error': (q) => q('SELECT $1::int; SELECT 2', [1]),
  'empty query': (q) => q(''),
  'trailing semicolon': (q) => q('SELECT 1 AS a;'),
  'zero rows': (q) => q('SELECT 1 AS a WHERE false'),
  'many rows': (q) => q('SELECT g AS n, g::text AS s FROM generate_series(1, 500) g'),
  'command tags and counts': async (q) => {
    const t = `ldp_parity_cmd_${process.pid}`
    return [
      await q(`CREATE TEMP TABLE ${t} (id int PRIMARY KEY, v text)`),
      await q(`INSERT INTO ${t} VALUES (1, 'a'), (2, 'b'), (3, 'c')`),
      await q(`INSERT INTO ${t} VALUES ($1, $2) RETURNING *`, [4, 'd']),
      await q(`UPDATE ${t} SET v = v || 'x' WHERE id > 1`),
      await q(`SELECT * FROM ${t} ORDER BY id`),
      await q(`DELETE FROM ${t} WHERE id = 1`),
      await q(`COPY (SELECT 1) TO STDOUT`).catch((e) => e),
      await q(`DROP TABLE ${t}`),
      await q('BEGIN; SELECT 1 AS x; COMMIT'),
      await q('SET application_name = $$parity$$'),
      await q('SHOW application_name'),
    ]
  },
  'values encoded like pg': (q) =>
    q(
      'SELECT $1::bool AS b, $2::int8 AS i8, $3::numeric AS n, $4::float8 AS f, $5::jsonb AS j, $6::bytea AS by, $7::timestamptz AS ts, $8::int[] AS arr, $9::text AS t, $10::text AS u',
      [
        true,
        '9007199254740993',
        '1.50',
        1.25,
        { a: [1, 'x'] },
        Buffer.from([0, 1, 255]),
        new Date(Date.UTC(2024, 1, 29, 12, 30, 15, 123)),
        [1, null, 3],
        'ünïcødé ✓',
        undefined,
      ]
    ),
  'values decoded like pg': (q) =>
    q(`SELECT true AS bool, 1::int2 AS i2, 2::int4 AS i4, 9007199254740993::int8 AS i8,
        1.5::float4 AS f4, 2.25::float8 AS f8, 123.4500::numeric AS num, 'x'::varchar AS vc,
        '{"a":1}'::json AS js, '{"b":[1,2]}'::jsonb AS jb, '\\x00ff'::bytea AS by,
        'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS id, '2024-02-29'::date AS d,
        '2024-02-29 12:34:56.789'::timestamp AS ts, '2024-02-29 12:34:56.789+02'::timestamptz AS tstz,
        ARRAY[1,NULL,3]::int[] AS ai, ARRAY['a','b c',NULL]::text[] AS at,
        ARRAY['2024-01-01 00:00:00+00']::timestamptz[] AS ats, NULL::int AS nul`),
}

for (const [name, run] of Object.entries(CASES)) {
  test(`pool.query: ${name}`, async () => {
    const r = await assertParity({}, (pool) => run((...a) => pool.query(...a)))
    assert.ok(r.pg.value !== undefined || r.pg.error !== undefined)
  })
  test(`client.query: ${name}`, async () => {
    await assertParity({}, async (pool) => {
      const client = await pool.connect()
      try {
        return await run((...a) => client.query(...a))
      } finally {
        client.release()
      }
    })
  })
}

test('the multi-statement result really is an array of results, rows plain objects', async () => {
  const r = await assertParity({}, (pool) => pool.query('SELECT 3 AS c, 1 AS a; SELECT 2 AS b', []))
  const v = r.ours.value
  assert.equal(v.length, 2)
  assert.deepEqual(v[0].rows[0].keys, ['c', 'a'])
  assert.equal(v[0].rows[0].proto, 'object')
  assert.deepEqual(v[1].rows[0].value, { b: 2 })
})

test('types per pool', async () => {
  const r = await assertParity({ types: upper }, async (pool) => [
    await pool.query('SELECT 1::int4 AS i, $1::text AS t', ['v']),
    await pool.query('SELECT 2::int8 AS i'),
  ])
  assert.equal(r.ours.value[0].rows[0].value.i, '23/text:1')
})

test('a per-query types override wins over the pool one', async () => {
  const other = { getTypeParser: () => (t) => `q:${t}` }
  const r = await assertParity({ types: upper }, (pool) => pool.query({ text: 'SELECT 5::int4 AS i', types: other }))
  assert.deepEqual(r.ours.value.rows[0].value, { i: 'q:5' })
})

test('statementCacheSize: 0 still runs named and parameterized statements', async () => {
  const r = await both(
    (impl) => (impl === 'ours' ? { statementCacheSize: 0 } : {}),
    async (pool) => {
      const c = await pool.connect()
      try {
        return [
          await c.query({ name: 'nc', text: 'SELECT $1::int AS n', values: [1] }),
          await c.query({ name: 'nc', text: 'SELECT $1::int AS n', values: [2] }),
          await c.query('SELECT $1::text AS t', ['x']),
        ]
      } finally {
        c.release()
      }
    }
  )
  assert.deepEqual(r.ours, r.pg)
})
