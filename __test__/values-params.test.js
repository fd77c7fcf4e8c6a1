'use strict'
// Parameter round trips, side by side on pg.Pool and LeakDetectingPool: values of every kind
// sent as `SELECT $1::<type>` and as untyped `SELECT $1` (the server infers text) — null and
// undefined, booleans, numbers, bigints, strings, Buffers and typed arrays, Dates under several
// process time zones, nested arrays (of Buffers, Dates, nulls, objects), objects with
// toPostgres() and plain objects (JSON) — compared value by value, with both protocols'
// results. Then where we are deliberately stricter than pg: text with NUL, invalid Dates,
// cyclic objects, symbols, functions and BigInt members throw a TypeError naming the
// parameter position (pg sends something the server rejects or misreads).

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const pg = require('pg')
const { LeakDetectingPool } = require('..')
const V = require('./helpers/values')

let pools
before(async () => {
  pools = await V.openPools()
})
after(async () => {
  if (pools) await V.closePools(pools)
})

/** Cases sending `value` cast to each of `types` (and untyped), any of which pg may reject. */
function sends(value, types, name) {
  return [...types, null].map((t) => ({
    name: `${name} as ${t || 'untyped'}`,
    text: t ? `SELECT $1::${t} AS v` : 'SELECT $1 AS v',
    values: [value],
    error: 'either',
  }))
}

/** Asserts parity, and that pg accepted at least `minOk` of the cases (the matrix is not all errors). */
async function roundTrip(cases, label, minOk) {
  for (const m of [{}, { rowMode: 'array' }]) {
    const r = await V.runBoth(pools, cases, m)
    V.assertSame(r, cases, `${label}${m.rowMode ? ', rowMode array' : ''}`)
    const ok = r.pg.filter((o) => !o.error).length
    assert.ok(ok >= minOk, `${label}: only ${ok} of ${cases.length} cases succeeded on pg`)
  }
}

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  42,
  1.5,
  -1.5,
  0.1 + 0.2,
  1e21,
  1e-7,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_VALUE,
  Number.MAX_VALUE,
  NaN,
  Infinity,
  -Infinity,
]
const BIGINTS = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n, -12345678901234567890123n]
const STRINGS = [
  '',
  'abc',
  'ünï©ødé 🎉 日本語',
  `a'b"c\\d`,
  '{1,2}',
  '  padded  ',
  'NULL',
  'true',
  '2020-01-01',
  '1.50',
  '{"a":1}',
  'x'.repeat(100000),
  '\u0001\u007f',
  '\ud83c\udf89',
  'line\nbreak\ttab',
]

test('null and undefined are NULL of any type', () =>
  roundTrip(
    [null, undefined].flatMap((v) =>
      sends(v, ['int4', 'text', 'bool', 'json', 'jsonb', 'bytea', 'timestamptz', 'int4[]', 'interval', 'point'], String(v))
    ),
    'null',
    22
  ))

test('booleans', () =>
  roundTrip(
    [true, false].flatMap((v) => sends(v, ['bool', 'text', 'int4', 'json'], String(v))),
    'booleans',
    6
  ))

test('numbers (large, negative, fractional, NaN, ±Infinity, -0)', () =>
  roundTrip(
    NUMBERS.flatMap((v) => sends(v, ['int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'text', 'money', 'json'], String(v))),
    'numbers',
    100
  ))

test('bigints', () =>
  roundTrip(
    BIGINTS.flatMap((v) => sends(v, ['int8', 'numeric', 'text', 'float8', 'int4'], `${v}n`)),
    'bigints',
    25
  ))

test('strings (unicode, quotes, backslashes, long)', () =>
  roundTrip(
    STRINGS.flatMap((v, i) =>
      sends(v, ['text', 'varchar', 'bpchar', 'name', 'json', 'bytea', 'int4[]', 'date', 'bool', 'numeric'], `string #${i}`)
    ),
    'strings',
    60
  ))

test('Buffers and typed arrays are bytea (binary)', () => {
  const ab = new ArrayBuffer(16)
  new Uint8Array(ab).set([0, 1, 2, 3, 0xff, 0xfe, 0x5c, 0x22, 0x27, 0, 104, 105, 255, 128, 127, 10])
  const values = {
    empty: Buffer.alloc(0),
    all: Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    utf8: Buffer.from('héllo 🎉'),
    invalidUtf8: Buffer.from([0xc3, 0x28]),
    uint8: new Uint8Array([1, 2, 3]),
    uint16: new Uint16Array([1, 0xffff]),
    float64: new Float64Array([Math.PI]),
    int32: new Int32Array([-1, 2]),
    offsetView: new Uint8Array(ab, 3, 5),
    dataView: new DataView(ab, 4, 8),
    bufferSlice: Buffer.from(ab).subarray(10, 14),
    big: Buffer.alloc(200000, 7),
  }
  return roundTrip(
    Object.entries(values).flatMap(([k, v]) => sends(v, ['bytea', 'text'], k)),
    'binary',
    20
  )
})

function offsetHasSeconds(d) {
  return d.getSeconds() !== d.getUTCSeconds()
}

function dates() {
  const utc = [
    Date.UTC(2020, 5, 15, 12, 34, 56, 789),
    0,
    -1,
    Date.UTC(1999, 11, 31, 23, 59, 59, 999),
    Date.UTC(2021, 2, 14, 7, 30),
    Date.UTC(2021, 2, 28, 1, 30),
    Date.UTC(2021, 10, 7, 5, 30),
    Date.UTC(1950, 0, 1),
    Date.UTC(10000, 0, 1),
    Date.UTC(275760, 8, 13),
    Date.UTC(-43, 2, 15, 12),
    Date.UTC(-4712, 0, 1),
    new Date(Date.UTC(2000, 0, 1)).setUTCFullYear(10),
    new Date(Date.UTC(2000, 0, 1)).setUTCFullYear(0),
    Date.UTC(1800, 0, 1),
    Date.UTC(1935, 6, 1),
    Date.UTC(2038, 0, 19, 3, 14, 8),
    -8.64e15,
  ].map((t) => new Date(t))
  const local = [
    new Date(2020, 0, 1, 2, 3, 4, 5),
    new Date(2021, 2, 14, 2, 30),
    new Date(2021, 10, 7, 1, 30),
    new Date(2000, 1, 29),
    new Date(1900, 0, 1),
  ]
  return [...utc, ...local]
}

for (const tz of ['UTC', 'Asia/Kolkata', 'America/St_Johns', 'America/New_York', 'Pacific/Chatham']) {
  test(`Dates with the local offset, TZ=${tz}`, () =>
    V.withTZ(tz, async () => {
      const all = dates()
      const exact = all.filter((d) => !offsetHasSeconds(d))
      const cases = exact.flatMap((d, i) =>
        sends(d, ['timestamptz', 'timestamp', 'date', 'text', 'timestamptz[]'], `date #${i} ${d.toISOString()}`)
      )
      await roundTrip(cases, `TZ=${tz}`, exact.length * 3)
      // timestamptz gives the instant back.
      const inRange = exact.filter((d) => d.getUTCFullYear() > -4713 && d.getUTCFullYear() < 294276)
      const r = await V.runOn(
        pools.ours,
        inRange.map((d) => ({ text: 'SELECT $1::timestamptz AS v', values: [d] }))
      )
      r.forEach((o, i) => assert.equal(o.raw[0].v.getTime(), inRange[i].getTime(), inRange[i].toISOString()))
    }))
}

test('Dates whose local offset has seconds (local mean time): ours exact, pg off by those seconds', () =>
  V.withTZ('Asia/Kolkata', async () => {
    const d = new Date(Date.UTC(1800, 0, 1)) // LMT +05:53:28
    assert.ok(offsetHasSeconds(d))
    const q = [{ text: 'SELECT $1::timestamptz AS v, $2::text AS t', values: [d, d] }]
    const r = await V.runBoth(pools, q, {})
    assert.equal(r.ours[0].raw[0].v.getTime(), d.getTime())
    assert.equal(r.ours[0].raw[0].t, '1800-01-01T05:53:28.000+05:53:28')
    assert.equal(r.pg[0].raw[0].t, '1800-01-01T05:53:28.000+05:53')
    assert.equal(r.pg[0].raw[0].v.getTime() - d.getTime(), 28000)
  }))

test("pg's UTC option: parseInputDatesAsUTC", () =>
  V.withTZ('America/St_Johns', async () => {
    const cfg = await V.dbConfig({ max: 1 })
    const p = { pg: new pg.Pool(cfg), ours: new LeakDetectingPool({ ...cfg, parseInputDatesAsUTC: true }) }
    const saved = pg.defaults.parseInputDatesAsUTC
    pg.defaults.parseInputDatesAsUTC = true
    try {
      const cases = dates().flatMap((d, i) => sends(d, ['timestamptz', 'timestamp', 'text'], `date #${i}`))
      const r = await V.runBoth(p, cases, {})
      V.assertSame(r, cases, 'UTC')
      assert.equal(r.ours[cases.findIndex((c) => c.text === 'SELECT $1::text AS v')].raw[0].v, '2020-06-15T12:34:56.789+00:00')
    } finally {
      pg.defaults.parseInputDatesAsUTC = saved
      await V.closePools(p)
    }
  }))

test('arrays: nested, with NULLs, Buffers, Dates, bigints, objects, strings needing quotes', () => {
  const d = new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 6))
  const values = {
    ints: [
      [1, 2, 3],
      ['int4[]', 'int8[]', 'text[]', 'float8[]', 'numeric[]'],
    ],
    nested: [
      [
        [1, 2],
        [3, 4],
      ],
      ['int4[]', 'text[]'],
    ],
    deep: [
      [
        [[1], [2]],
        [[3], [null]],
      ],
      ['int4[]'],
    ],
    jagged: [[[1, 2], [3]], ['int4[]']],
    nulls: [
      [null, undefined, 1],
      ['int4[]', 'text[]'],
    ],
    empty: [[], ['int4[]', 'text[]', 'bytea[]']],
    emptyNested: [[[], []], ['int4[]']],
    strings: [
      ['a"b', 'c\\d', 'e,f', '{g}', 'NULL', '', ' sp ', 'ü 🎉', 'semi;colon', null],
      ['text[]', 'varchar[]', 'json[]'],
    ],
    bools: [
      [true, false, null],
      ['bool[]', 'text[]'],
    ],
    bigints: [
      [1n, -(2n ** 63n), null],
      ['int8[]', 'numeric[]'],
    ],
    floats: [
      [0.1, -0, NaN, Infinity, 1e21],
      ['float8[]', 'numeric[]', 'text[]'],
    ],
    buffers: [[Buffer.from([0, 1, 255]), null, new Uint8Array([92, 34]), Buffer.alloc(0)], ['bytea[]']],
    nestedBuffers: [[[Buffer.from('a')], [Buffer.from('b')]], ['bytea[]']],
    dates: [
      [d, null, new Date(Date.UTC(-43, 2, 15))],
      ['timestamptz[]', 'timestamp[]', 'date[]', 'text[]'],
    ],
    objects: [
      [{ a: 1, b: 'x,"y"' }, null, [2]],
      ['json[]', 'jsonb[]', 'text[]'],
    ],
    toPostgresInside: [
      [{ toPostgres: () => '7' }, { toPostgres: () => [8] }, 9],
      ['int4[]', 'text[]'],
    ],
    intervals: [['1 day', '-00:00:01.5', null], ['interval[]']],
    points: [['(1,2)', null], ['point[]']],
    mixed: [[1, 'two', true, null, 2.5], ['text[]']],
  }
  const cases = Object.entries(values).flatMap(([k, [v, types]]) => sends(v, types, k))
  return roundTrip(cases, 'arrays', 40)
})

test('objects: toPostgres(), plain objects as JSON', () => {
  class Money {
    constructor(cents) {
      this.cents = cents
    }
    toPostgres() {
      return (this.cents / 100).toFixed(2)
    }
  }
  const values = {
    toPostgresString: { toPostgres: () => '42' },
    toPostgresNumber: { toPostgres: () => 42 },
    toPostgresNull: { toPostgres: () => null },
    toPostgresNested: { toPostgres: () => ({ toPostgres: () => 'deep' }) },
    toPostgresArray: { toPostgres: () => [1, 2, 3] },
    toPostgresBuffer: { toPostgres: () => Buffer.from('bin') },
    toPostgresDate: { toPostgres: () => new Date(Date.UTC(2020, 0, 1)) },
    toPostgresPrepare: { toPostgres: (prepare) => prepare([1, [2, 3]]) },
    classInstance: new Money(1234),
    plain: { a: 1, b: [1, 'two', null], c: { d: 'ü"\\' } },
    emptyObject: {},
    withToJSON: { toJSON: () => ({ replaced: true }) },
    withUndefined: { a: undefined, b: 1 },
    map: new Map([['a', 1]]),
    nestedDate: { when: new Date(Date.UTC(2020, 0, 1)) },
    nulInJson: { k: 'v\u0000' }, // JSON escapes it: \u0000 is fine in json (not in jsonb)
  }
  const cases = Object.entries(values).flatMap(([k, v]) => sends(v, ['text', 'json', 'jsonb', 'int4', 'numeric', 'int4[]', 'bytea'], k))
  return roundTrip(cases, 'objects', 30)
})

test('an array element whose toPostgres() returns null: NULL here, a TypeError in pg', async () => {
  const q = [{ text: 'SELECT $1::int4[] AS v', values: [[{ toPostgres: () => '7' }, { toPostgres: () => null }, 8]] }]
  const r = await V.runBoth(pools, q, {})
  assert.deepStrictEqual(r.ours[0].raw[0].v, [7, null, 8])
  assert.equal(r.pg[0].error.$error, 'TypeError') // escapeElement(null)
})

test('toPostgres() that returns itself: the same circular-reference error as pg', async () => {
  const self = {
    toPostgres() {
      return self
    },
  }
  const loop = { toPostgres: () => loop2 }
  const loop2 = { toPostgres: () => loop }
  const cases = [self, loop].flatMap((v, i) => sends(v, ['text'], `loop ${i}`)).map((c) => ({ ...c, error: true }))
  const r = await V.runBoth(pools, cases, {})
  V.assertSame(r, cases, 'circular toPostgres')
  assert.match(r.ours[0].error.message, /circular reference detected while preparing/)
})

test('many parameters of mixed kinds in one query', () => {
  const values = [
    null,
    true,
    1,
    1.5,
    2n,
    'txt',
    Buffer.from('b'),
    new Date(Date.UTC(2020, 0, 1)),
    [1, null],
    { a: 1 },
    { toPostgres: () => 'tp' },
    -0,
    '',
  ]
  const text = `SELECT ${values.map((_, i) => `$${i + 1}::text AS p${i}`).join(', ')}`
  const many = Array.from({ length: 1000 }, (_, i) => i)
  return roundTrip(
    [
      { text, values },
      { text: `SELECT ${many.map((i) => `$${i + 1}::int4`).join(' + ')} AS v`, values: many },
      { text: 'SELECT $1::text AS a, $1::int4 AS b, $2::text AS c', values: ['5', 6] },
    ],
    'mixed',
    3
  )
})

// ---------------------------------------------------------------------------------------
// Stricter than pg: a TypeError naming the parameter, nothing sent.

function cyclic() {
  const o = { a: 1 }
  o.self = o
  return o
}

const REFUSED = [
  ['text with NUL', () => 'a\u0000b', /Parameter \$3: PostgreSQL text cannot contain NUL bytes/],
  ['NUL inside an array', () => ['ok', 'x\u0000'], /Parameter \$3: PostgreSQL text cannot contain NUL bytes/],
  ['NUL from toPostgres()', () => ({ toPostgres: () => '\u0000' }), /Parameter \$3: PostgreSQL text cannot contain NUL bytes/],
  ['invalid Date', () => new Date(NaN), /Parameter \$3: cannot send an invalid Date/],
  ['invalid Date in an array', () => [new Date(NaN)], /Parameter \$3: cannot send an invalid Date/],
  ['cyclic object', cyclic, /Parameter \$3: cannot send an object with a circular reference as JSON/],
  ['cyclic object in an array', () => [cyclic()], /Parameter \$3: cannot send an object with a circular reference as JSON/],
  ['object with a BigInt member', () => ({ n: 1n }), /Parameter \$3: cannot convert the value to JSON/],
  ['symbol', () => Symbol('s'), /Parameter \$3: cannot send a value of type symbol/],
  ['symbol in an array', () => [Symbol('s')], /Parameter \$3: cannot send a value of type symbol/],
  ['function', () => function f() {}, /Parameter \$3: cannot send a value of type function/],
  ['arrow function in an array', () => [() => 1], /Parameter \$3: cannot send a value of type function/],
]

for (const [name, make, message] of REFUSED) {
  test(`refused with a TypeError naming the position: ${name}`, async () => {
    const text = 'SELECT $1::int4 AS a, $2::text AS b, $3::text AS c'
    // pool.query, client.query (both protocols' paths), and the callback form
    const errors = []
    errors.push(
      await pools.ours.query(text, [1, 'x', make()]).then(
        () => null,
        (e) => e
      )
    )
    const client = await pools.ours.connect()
    try {
      errors.push(
        await Promise.resolve()
          .then(() => client.query(text, [1, 'x', make()]))
          .then(
            () => null,
            (e) => e
          )
      )
      errors.push(await new Promise((resolve) => client.query(text, [1, 'x', make()], (e) => resolve(e))))
      // The connection is fine afterwards.
      assert.equal((await client.query('SELECT $1::int4 AS v', [7])).rows[0].v, 7)
    } finally {
      client.release()
    }
    for (const e of errors) {
      assert.ok(e instanceof TypeError, `${name}: ${e}`)
      assert.match(e.message, message)
    }
    // pg does not refuse these up front: it sends something (the server may reject it) or
    // fails with a message that does not name the parameter.
    // (Not asked for invalid Dates: pg prints a deprecation warning for them.)
    if (!/invalid Date/.test(name)) {
      const theirs = await pools.pg.query(text, [1, 'x', make()]).then(
        (r) => r.rows[0].c,
        (e) => e
      )
      assert.ok(!(theirs instanceof Error && /Parameter \$3/.test(theirs.message)), `pg: ${theirs}`)
    }
  })
}

test("what pg does with the refused values (the README's known differences)", async () => {
  const q = (v) =>
    pools.pg.query('SELECT $1::text AS v', [v]).then(
      (r) => r.rows[0].v,
      (e) => e
    )
  assert.equal((await q('a\u0000b')).code, '22021') // server: invalid byte sequence
  assert.equal(await q(Symbol('s')), 'Symbol(s)')
  assert.equal(await q(function f() {}), 'function f() {}')
  assert.ok((await q(cyclic())) instanceof TypeError)
})
