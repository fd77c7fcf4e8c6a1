'use strict'
// Rows are read by a reader compiled for each result shape (lib/row-reader.js): column names
// become constant keys and int2/int4/bool values are read from the bytes. Whatever the names
// and values, the rows must be pg's: same keys in the same order (duplicates: last value,
// first position; `__proto__` an own key), same values, array mode too, and a parser anyone
// set is still called.

const test = require('node:test')
const assert = require('node:assert/strict')
const pgTypes = require('pg-types')
const { assertParity } = require('./helpers/parity')
const { rowReader } = require('../lib/row-reader')

const NAMES = `SELECT 1 AS a, 2 AS a, 3 AS "__proto__", '{"x":1}'::json AS "__proto__", 4 AS "constructor",
  5 AS "x""y\\z", 6 AS "});process.exit(7);({", 7 AS "line
break", 8 AS "ünï €", 10 AS "0", 11 AS "toString"`

/** The parity run's value for pg, asserted to be a value (not an error both sides raised). */
function pgValue(r) {
  assert.ok(r.pg && 'value' in r.pg, `the case failed: ${JSON.stringify(r.pg)}`)
  return r.pg.value
}

test('column names of every kind give pg keys, order and values', async () => {
  const r = await assertParity({ max: 1 }, async (pool) => {
    // A shape's first result is read generically, the next ones by its compiled reader.
    const first = await pool.query(NAMES)
    const r = await pool.query(NAMES)
    assert.deepEqual(Object.entries(r.rows[0]), Object.entries(first.rows[0]))
    const row = r.rows[0]
    // As entries: the parity helper's copy of an object would turn a `__proto__` key into a prototype.
    return {
      fields: r.fields.map((f) => f.name),
      entries: Object.entries(row),
      own: Object.getOwnPropertyNames(row),
      proto: Object.getPrototypeOf(row) === Object.prototype,
    }
  })
  assert.equal(pgValue(r).own.length, 9)
  assert.deepEqual(
    pgValue(r).entries.find(([k]) => k === '__proto__'),
    ['__proto__', { x: 1 }]
  )
})

test('array row mode with the same names', async () => {
  const r = await assertParity({ max: 1 }, async (pool) => ({
    first: await pool.query({ text: NAMES, rowMode: 'array' }),
    r: await pool.query({ text: NAMES, rowMode: 'array' }),
  }))
  assert.equal(pgValue(r).r.rows[0].value.length, 11)
})

test('integers and booleans read from the bytes equal pg, nulls included', async () => {
  const sql = `SELECT i::int4 AS i4, (i % 32768)::int2 AS i2, -i::int4 AS neg, (i * 1000)::int4 AS big, (i::oid) AS o,
      (i % 2 = 0) AS b, CASE WHEN i % 3 = 0 THEN NULL ELSE i END AS maybe, CASE WHEN i % 5 = 0 THEN NULL ELSE i % 2 = 1 END AS mb
    FROM generate_series(-5, 2147483, 9973) AS s(i)
    UNION ALL SELECT 2147483647, 32767, -2147483648, 0, 4294967295, true, NULL, NULL
    UNION ALL SELECT -2147483648, -32768, 2147483647, -999999999, 0, false, 0, false`
  const r = await assertParity({ max: 1 }, async (pool) => ({
    first: await pool.query(sql),
    simple: await pool.query(sql),
    extended: await pool.query(sql + ' LIMIT $1', [1000]),
  }))
  assert.ok(pgValue(r).simple.rows.length > 200)
  assert.equal(pgValue(r).simple.rows.at(-1).value.neg, 2147483647)
})

test('a parser set for int4 or bool is called, not bypassed', async () => {
  const int4 = pgTypes.getTypeParser(23, 'text')
  const bool = pgTypes.getTypeParser(16, 'text')
  pgTypes.setTypeParser(23, 'text', (v) => `int4:${v}`)
  pgTypes.setTypeParser(16, 'text', (v) => `bool:${v}`)
  try {
    const r = await assertParity({ max: 1 }, async (pool) => ({ r: await pool.query('SELECT 42 AS n, true AS t, $1::int4 AS m', [-3]) }))
    assert.deepEqual(pgValue(r).r.rows[0].value, { n: 'int4:42', t: 'bool:t', m: 'int4:-3' })
  } finally {
    pgTypes.setTypeParser(23, 'text', int4)
    pgTypes.setTypeParser(16, 'text', bool)
  }
  // and after restoring them, the same shape reads numbers again
  const r = await assertParity({ max: 1 }, async (pool) => ({ r: await pool.query('SELECT 42 AS n, true AS t, $1::int4 AS m', [-3]) }))
  assert.deepEqual(pgValue(r).r.rows[0].value, { n: 42, t: true, m: -3 })
})

test('a query-level types override is honoured by the compiled reader', async () => {
  const types = { getTypeParser: (oid, format) => (oid === 23 ? (v) => Number(v) * 2 : pgTypes.getTypeParser(oid, format)) }
  const r = await assertParity({ max: 1 }, async (pool) => ({ r: await pool.query({ text: 'SELECT 21 AS n, false AS f', types }) }))
  assert.deepEqual(pgValue(r).r.rows[0].value, { n: 42, f: false })
})

/** A DataRow body: the column count, then each value as length + bytes (null: -1). */
function dataRow(values) {
  const parts = [Buffer.from([values.length >> 8, values.length & 255])]
  for (const v of values) {
    const len = Buffer.alloc(4)
    if (v === null) {
      len.writeInt32BE(-1)
      parts.push(len)
    } else {
      const b = Buffer.from(v)
      len.writeInt32BE(b.length)
      parts.push(len, b)
    }
  }
  return Buffer.concat(parts)
}

test('the reader cache is bounded and evicted shapes are compiled again', () => {
  const id = (v) => v
  const readers = []
  for (let i = 0; i < 600; i++) {
    assert.equal(rowReader([{ name: `c${i}` }], false, '-'), null, 'a shape seen once is read generically')
    readers.push(rowReader([{ name: `c${i}` }], false, '-'))
  }
  assert.equal(rowReader([{ name: 'c0' }], false, '-'), null, 'the oldest shape was forgotten')
  const again = rowReader([{ name: 'c0' }], false, '-')
  assert.notEqual(again, readers[0], 'the oldest shape was evicted and compiled anew')
  assert.equal(rowReader([{ name: 'c599' }], false, '-'), readers[599], 'a recent shape is served from the cache')
  const buf = dataRow(['v'])
  assert.deepEqual(again(buf, 0, buf.length, false, [id]), { c0: 'v' })
})

test('text that is not PostgreSQL integer or boolean form goes to the parser', () => {
  const seen = []
  const p = (v) => (seen.push(v), 'parsed')
  rowReader([{ name: 'i' }, { name: 'b' }, { name: 'j' }], false, 'ibi')
  const read = rowReader([{ name: 'i' }, { name: 'b' }, { name: 'j' }], false, 'ibi')
  const odd = dataRow(['12a', 'true', '-'])
  assert.deepEqual(read(odd, 0, odd.length, true, [p, p, p]), { i: 'parsed', b: 'parsed', j: 'parsed' })
  assert.deepEqual(seen, ['12a', 'true', '-'])
  const ok = dataRow(['-17', 'f', null])
  assert.deepEqual(read(ok, 0, ok.length, false, [p, p, p]), { i: -17, b: false, j: null })
})

test('the last shape is served again without its key, and only for the same shape', () => {
  const a = [{ name: 'p' }, { name: 'q' }]
  assert.equal(rowReader(a, false, '--'), null)
  const reader = rowReader(a, false, '--')
  assert.equal(typeof reader, 'function')
  // Same names in new objects (a new result of the same statement): the same reader.
  assert.equal(rowReader([{ name: 'p' }, { name: 'q' }], false, '--'), reader)
  // Any difference in names, order, kinds or row mode is another shape.
  assert.equal(rowReader([{ name: 'q' }, { name: 'p' }], false, '--'), null)
  assert.equal(rowReader([{ name: 'p' }, { name: 'q' }], false, 'i-'), null)
  assert.equal(rowReader([{ name: 'p' }, { name: 'q' }], true, '--'), null)
  assert.equal(rowReader([{ name: 'p' }], false, '-'), null)
  assert.equal(rowReader(a, false, '--'), reader, 'and the first shape is still found by its key')
  const buf = dataRow(['1', '2'])
  const id = (v) => v
  assert.deepEqual(reader(buf, 0, buf.length, false, [id, id]), { p: '1', q: '2' })
})
