'use strict'
// Bad input, queries: missing or non-string text, values that are not an array, wrong
// parameter counts, more than 65,535 parameters, parameters that cannot be encoded, a 100 MB
// parameter and a million-row result. Each gets a clear error (pg's where pg defines one; the
// same case runs against pg.Pool) or its result, the pool keeps serving, and its counters are
// exact afterwards.

const test = require('node:test')
const assert = require('node:assert/strict')
const pg = require('pg')
const { LeakDetectingPool } = require('..')
const { findDatabase } = require('./helpers/db')
const { within, counts } = require('./helpers/fault')

const circular = () => {
  const o = { a: 1 }
  o.self = o
  return o
}
const placeholders = (n) => Array.from({ length: n }, (_, i) => `$${i + 1}::int`).join(',')

// [name, run(pool), check(error | null, result, impl)] — `check` sees our outcome; `pg: 'same'`
// cases must also produce pg's message.
const CASES = [
  ['query(undefined)', (p) => p.query(undefined), { message: 'Client was passed a null or undefined query', pg: 'same' }],
  ['query(null)', (p) => p.query(null), { message: 'Client was passed a null or undefined query', pg: 'same' }],
  ['query(42)', (p) => p.query(42), { message: 'A query must have either text or a name. Supplying neither is unsupported.', pg: 'same' }],
  ['query({})', (p) => p.query({}), { message: 'A query must have either text or a name. Supplying neither is unsupported.', pg: 'same' }],
  [
    'query({ text: 5 })',
    (p) => p.query({ text: 5 }),
    { message: 'A query must have either text or a name. Supplying neither is unsupported.', pg: 'same' },
  ],
  [
    "query(['SELECT 1'])",
    (p) => p.query(['SELECT 1']),
    { message: 'A query must have either text or a name. Supplying neither is unsupported.', pg: 'same' },
  ],
  ["query('SELECT $1', 'x')", (p) => p.query('SELECT $1', 'x'), { message: 'Query values must be an array', pg: 'same' }],
  ["query('SELECT $1', { a: 1 })", (p) => p.query('SELECT $1', { a: 1 }), { message: 'Query values must be an array', pg: 'same' }],
  [
    'too few parameters',
    (p) => p.query('SELECT $1::int, $2::int', [1]),
    { code: '08P01', message: /supplies 1 parameters, but prepared statement "\w*" requires 2/ },
  ],
  ['too many parameters', (p) => p.query('SELECT $1::int', [1, 2]), { code: '08P01', message: /supplies 2 parameters/ }],
  ['parameters for text without placeholders', (p) => p.query('SELECT 1', [1]), { code: '08P01', message: /requires 0/ }],
  [
    '65,535 parameters (the most there can be)',
    (p) => p.query(`SELECT cardinality(ARRAY[${placeholders(65535)}]) AS v`, Array(65535).fill(7)),
    { rows: 1, value: 65535, pg: 'same' },
  ],
  [
    '65,536 parameters',
    (p) => p.query('SELECT $1::int', Array(65536).fill(1)),
    { code: 'LDP_INVALID_QUERY', message: 'A query can have at most 65535 parameters, received 65536', type: RangeError },
  ],
  ['a cyclic object', (p) => p.query('SELECT $1::jsonb', [circular()]), { type: TypeError, message: /^Parameter \$1: .*circular/ }],
  ['a BigInt inside an object', (p) => p.query('SELECT $1::jsonb', [{ a: 1n }]), { type: TypeError, message: /^Parameter \$1: .*BigInt/ }],
  [
    'a BigInt inside an array',
    (p) => p.query('SELECT $1::int8[] AS v', [[1n, 2n ** 62n]]),
    { rows: 1, value: ['1', String(2n ** 62n)], pg: 'same' },
  ],
  ['a BigInt beyond int8', (p) => p.query('SELECT $1::numeric AS v', [2n ** 100n]), { rows: 1, value: String(2n ** 100n), pg: 'same' }],
  [
    'a symbol',
    (p) => p.query('SELECT $1::text', [Symbol('s')]),
    { type: TypeError, message: /^Parameter \$1: cannot send a value of type symbol/ },
  ],
  [
    'a function',
    (p) => p.query('SELECT $1::text', [() => 1]),
    { type: TypeError, message: /^Parameter \$1: cannot send a value of type function/ },
  ],
  [
    'toPostgres() that throws',
    (p) =>
      p.query('SELECT $1::text', [
        {
          toPostgres: () => {
            throw new Error('nope')
          },
        },
      ]),
    { message: 'nope', pg: 'same' },
  ],
  [
    'toPostgres() returning itself',
    (p) => {
      const o = { toPostgres: () => o }
      return p.query('SELECT $1::text', [o])
    },
    { message: /circular reference detected/, pg: 'same' },
  ],
  [
    'an invalid Date',
    (p) => p.query('SELECT $1::timestamptz', [new Date(NaN)]),
    { type: TypeError, message: /^Parameter \$1: cannot send an invalid Date/ },
  ],
  [
    'NUL in a text parameter',
    (p) => p.query('SELECT $1::text', ['a\u0000b']),
    { type: TypeError, message: /^Parameter \$1: PostgreSQL text cannot contain NUL/ },
  ],
  ['NUL in the query text', (p) => p.query('SELECT 1\u0000'), { code: 'LDP_INVALID_QUERY' }],
  ['an empty query', (p) => p.query(''), { rows: 0, pg: 'same' }],
  ['a syntax error', (p) => p.query('SELEC 1'), { code: '42601', pg: 'same' }],
]

function check(name, spec, outcome) {
  const { error, value } = outcome
  if (spec.rows !== undefined) {
    assert.equal(error, undefined, `${name}: ${error && error.message}`)
    assert.equal(value.rows.length, spec.rows, name)
    if (spec.value !== undefined) assert.deepEqual(value.rows[0].v, spec.value, name)
    return
  }
  assert.ok(error instanceof Error, `${name}: resolved`)
  if (spec.type) assert.ok(error instanceof spec.type, `${name}: ${error.constructor.name}`)
  if (spec.code) assert.equal(error.code, spec.code, `${name}: ${error.message}`)
  if (typeof spec.message === 'string') assert.equal(error.message, spec.message, name)
  else if (spec.message) assert.match(error.message, spec.message, name)
}

// One pool of each for every case: the same pool must keep serving after all of them.
let ours
let theirs
test.before(async () => {
  const db = await findDatabase()
  ours = new LeakDetectingPool({ ...db, max: 2 })
  theirs = new pg.Pool({ ...db, max: 2 })
})
test.after(() => Promise.all([ours.end(), theirs.end()]))

async function outcome(pool, run, name) {
  return within(
    Promise.resolve().then(() => run(pool)),
    20000,
    name
  ).then(
    (value) => ({ value }),
    (error) => ({ error })
  )
}

for (const [name, run, spec] of CASES) {
  test(`query with ${name}: ${spec.rows !== undefined ? 'its result' : 'a clear error'}; the pool keeps serving`, async () => {
    const mine = await outcome(ours, run, name)
    check(name, spec, mine)
    const after = await within(ours.query('SELECT $1::text AS who', [name]), 5000, 'the next query')
    assert.equal(after.rows[0].who, name)
    const c = counts(ours)
    assert.equal(c.waiting, 0)
    assert.equal(c.total, c.idle)
    if (spec.pg === 'same') {
      const pgs = await outcome(theirs, run, name)
      if (mine.error) assert.equal(mine.error.message, pgs.error && pgs.error.message, `${name}: pg says otherwise`)
      else assert.deepEqual(mine.value.rows, pgs.value.rows, name)
    }
  })
}

test('a 100 MB parameter goes through whole, and the pool keeps serving', async (t) => {
  const pool = new LeakDetectingPool({ ...(await findDatabase()), max: 2 })
  t.after(() => pool.end())
  const big = 'x'.repeat(100 * 1024 * 1024 - 3) + 'end'
  const r = await within(pool.query('SELECT length($1::text) AS n, right($1::text, 4) AS tail', [big]), 60000, 'the 100 MB query')
  assert.equal(r.rows[0].n, big.length)
  assert.equal(r.rows[0].tail, 'xend')
  assert.equal((await pool.query('SELECT 1 AS n')).rows[0].n, 1)
  assert.deepEqual(counts(pool), { total: pool.totalCount, idle: pool.totalCount, waiting: 0 })
})

test('a million-row result arrives whole, and the pool keeps serving', async (t) => {
  const pool = new LeakDetectingPool({ ...(await findDatabase()), max: 2 })
  t.after(() => pool.end())
  const r = await within(pool.query('SELECT g, g::text AS s FROM generate_series(1, 1000000) g'), 60000, 'a million rows')
  assert.equal(r.rows.length, 1000000)
  assert.equal(r.rowCount, 1000000)
  assert.deepEqual(r.rows[999999], { g: 1000000, s: '1000000' })
  assert.equal((await pool.query('SELECT 1 AS n')).rows[0].n, 1)
})
