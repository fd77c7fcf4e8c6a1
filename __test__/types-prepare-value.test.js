'use strict'

// Compares lib/prepare-value with pg's utils.prepareValue and
// escapeLiteral/escapeIdentifier. Run under several TZ values.

const test = require('node:test')
const assert = require('node:assert/strict')
const pg = require('pg')
const { inspect } = require('node:util')

const { prepareValue, prepareValues, escapeLiteral, escapeIdentifier, dateToString } = require('../lib/prepare-value')

// pg's prepareValue returns undefined where it means NULL (e.g. a toJSON()
// returning undefined); the protocol writer sends both as NULL.
function pgPrepare(value, utc) {
  const saved = pg.defaults.parseInputDatesAsUTC
  pg.defaults.parseInputDatesAsUTC = utc
  try {
    const out = pg.utils.prepareValue(value)
    return out === undefined ? null : out
  } finally {
    pg.defaults.parseInputDatesAsUTC = saved
  }
}

// pg prints only whole minutes of a UTC offset; we also print its seconds
// where a zone's offset had them (local mean time, e.g. Amsterdam until 1937).
function offsetHasSeconds(d) {
  return d.getSeconds() !== d.getUTCSeconds()
}

function sameAsPg(value, label) {
  for (const utc of [false, true]) {
    assert.deepStrictEqual(prepareValue(value, 0, { utc }), pgPrepare(value, utc), `${label} (utc: ${utc})`)
  }
}

const dates = [
  new Date(2020, 0, 1, 2, 3, 4, 5),
  new Date(Date.UTC(2020, 6, 1, 23, 59, 59, 999)),
  new Date(Date.UTC(2024, 2, 10, 7, 30)), // around US DST change
  new Date(Date.UTC(2024, 10, 3, 5, 30)),
  new Date(0),
  new Date(-1),
  new Date('1950-06-15T12:00:00Z'),
  new Date('9999-12-31T23:59:59.999Z'),
  new Date('+012345-01-01T00:00:00Z'),
  new Date(8.64e15),
  new Date(2000, 1, 29),
]

test('scalars match pg', () => {
  const values = [
    null,
    undefined,
    0,
    -0,
    1,
    -1.5,
    0.1 + 0.2,
    1e21,
    1e-7,
    NaN,
    Infinity,
    -Infinity,
    Number.MAX_SAFE_INTEGER,
    0n,
    10n,
    -12345678901234567890123n,
    true,
    false,
    '',
    'abc',
    'a"b\\c\'d',
    'ünï©ødé 🎉',
    ' ',
    '{1,2}',
  ]
  for (const v of values) sameAsPg(v, String(v))
  assert.equal(prepareValue(null), null)
  assert.equal(prepareValue(undefined), null)
  assert.equal(prepareValue(12345678901234567890n), '12345678901234567890')
  assert.equal(prepareValue(true), 'true')
  assert.equal(prepareValue(1.5), '1.5')
})

test('buffers and typed arrays', () => {
  const buf = Buffer.from([0, 1, 2, 255])
  assert.equal(prepareValue(buf), buf)
  const u16 = new Uint16Array([1, 0x0203, 0xffff]).subarray(1)
  for (const v of [buf, new Uint8Array([4, 5, 0]), u16, new DataView(new ArrayBuffer(3), 1), new Float64Array([1.5]), new Uint8Array(0)]) {
    const ours = prepareValue(v)
    assert.ok(Buffer.isBuffer(ours))
    assert.deepStrictEqual(ours, pgPrepare(v, false))
  }
  assert.deepStrictEqual(prepareValue(u16), Buffer.from(u16.buffer, 2, 4))
  // a bare ArrayBuffer is an ordinary object to pg (JSON '{}')
  sameAsPg(new ArrayBuffer(4), 'ArrayBuffer')
})

test('dates match pg (local offset and parseInputDatesAsUTC)', () => {
  for (const d of dates) {
    if (!offsetHasSeconds(d)) sameAsPg(d, d.toISOString())
  }
  const r = (seed) => {
    seed = (seed * 16807) % 2147483647
    return seed
  }
  let seed = 42
  for (let k = 0; k < 5000; k++) {
    seed = r(seed)
    // 1910 .. 2100, whole-minute offsets everywhere we run
    const d = new Date(-1893456000000 + (seed % 6000000) * 1000003)
    if (offsetHasSeconds(d)) continue // see 'offsets with seconds are exact'
    sameAsPg(d, d.toISOString())
  }
  const d = new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 6))
  assert.equal(prepareValue(d, 0, { utc: true }), '2020-01-02T03:04:05.006+00:00')
  assert.match(prepareValue(d), /^2020-01-0[12]T\d\d:\d\d:05\.006[+-]\d\d:\d\d$/)
  assert.equal(dateToString(d, true), '2020-01-02T03:04:05.006+00:00')
})

test('BC dates and years before 1000', () => {
  const values = [
    new Date('0001-01-01T00:00:00Z'),
    new Date('0000-06-01T12:00:00Z'),
    new Date('-000044-03-15T12:00:00Z'),
    new Date('0099-12-31T23:59:59.999Z'),
    new Date('0999-01-01T00:00:00Z'),
    new Date(-8.64e15),
  ]
  for (const d of values) {
    // compare in UTC mode (no local mean time involved)
    assert.equal(prepareValue(d, 0, { utc: true }), pgPrepare(d, true), d.toISOString())
  }
  assert.equal(prepareValue(new Date('0000-06-01T12:00:00Z'), 0, { utc: true }), '0001-06-01T12:00:00.000+00:00 BC')
  assert.equal(prepareValue(new Date('-000044-03-15T12:00:00Z'), 0, { utc: true }), '0045-03-15T12:00:00.000+00:00 BC')
})

// Before standard time, zones used local mean time (e.g. +05:53:28 in
// Kolkata). pg prints only the minutes of such offsets, shifting the instant;
// we print the exact offset. Either way the text names the same wall time.
test('offsets with seconds are exact', () => {
  for (const d of [
    new Date('1800-01-01T00:00:00Z'),
    new Date('1850-06-15T12:34:56.789Z'),
    new Date('0500-01-01T00:00:00Z'),
    new Date('-000100-01-01T00:00:00Z'),
    new Date('1930-07-01T12:00:00Z'),
    new Date('1965-01-01T00:00:00Z'),
    ...dates.filter((d) => Math.abs(d.getTime()) < 8e15),
  ]) {
    const text = prepareValue(d)
    const m = /^(\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})([+-])(\d\d):(\d\d)(?::(\d\d))?( BC)?$/.exec(text)
    assert.ok(m, text)
    let year = Number(m[1])
    if (m[12]) year = 1 - year
    const t = new Date(0)
    t.setUTCFullYear(year, Number(m[2]) - 1, Number(m[3]))
    t.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]))
    const offset = (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 3600 + Number(m[10]) * 60 + Number(m[11] || 0)) * 1000
    assert.equal(t.getTime() - offset, d.getTime(), text)
    // the wall-clock part is the same as pg's
    assert.equal(text.slice(0, 23), pgPrepare(d, false).slice(0, 23))
  }
})

test('arrays match pg', () => {
  const values = [
    [],
    [1, 2, 3],
    [null, undefined, 'a', 'b"c', 'd\\e', '', 'NULL', ' x ', '{}', 'a,b'],
    [
      [1, 2],
      [3, null],
    ],
    [[[1]], [[2]]],
    [[], []],
    [Buffer.from('hi'), new Uint8Array([255, 0]), null],
    [new Uint16Array([0x0102])],
    [true, false, 1n, -0, NaN],
    [{ a: 1, b: 'x"y' }, [{ c: '\\' }]],
    [[Buffer.from([1])], [null]],
    ['ünï', '🎉'],
    [new Date(2020, 5, 15, 1, 2, 3)],
    [[new Date(2001, 0, 1)], [null]],
    [{ toPostgres: () => 'x"y' }],
    [{ toPostgres: (prep) => prep([1, 2]) }],
    [[1, [2, [3, [4]]]]],
    new Array(3),
    [new Date(Date.UTC(2021, 2, 3, 4, 5, 6, 7)), [new Date(Date.UTC(1999, 11, 31, 23, 59, 59))]],
  ]
  for (const v of values) sameAsPg(v, inspect(v))
  assert.equal(prepareValue([1, null, 'a"b', [2, 'c\\d']]), '{"1",NULL,"a\\"b",{"2","c\\\\d"}}')
  assert.equal(prepareValue([Buffer.from([1, 255])]), '{\\\\x01ff}')
  // where pg would crash on an element (toPostgres returning null or bytes)
  assert.equal(prepareValue([{ toPostgres: () => null }]), '{NULL}')
  assert.equal(prepareValue([{ toPostgres: () => Buffer.from([1]) }]), '{\\\\x01}')
})

test('objects: JSON and toPostgres', () => {
  const values = [
    {},
    { a: 1, b: [1, 'x'], c: null, d: { e: true } },
    new Map([[1, 2]]),
    new String('s'),
    new Number(5),
    {
      toJSON() {
        return { j: 1 }
      },
    },
    {
      toJSON() {
        return undefined
      },
    },
    Object.create(null),
    { toPostgres: () => 'tp' },
    { toPostgres: () => 42 },
    { toPostgres: () => null },
    { toPostgres: () => [1, 'a'] },
    { toPostgres: (prep) => prep(new Date(Date.UTC(2020, 0, 1))) },
    { toPostgres: () => ({ toPostgres: () => ({ toPostgres: () => 'deep' }) }) },
    { toPostgres: () => Buffer.from('b') },
    { toPostgres: () => ({ x: 1 }) },
  ]
  for (const v of values) sameAsPg(v, String(Object.keys(v)))

  // toPostgres receives a prepare function
  let received
  const value = {
    toPostgres(prep) {
      received = prep
      return prep([1, null])
    },
  }
  assert.equal(prepareValue(value), '{"1",NULL}')
  assert.equal(typeof received, 'function')

  // interval objects from the parsers round-trip through toPostgres
  const parseInterval = require('pg-types').getTypeParser(1186, 'text')
  assert.equal(prepareValue(parseInterval('1 day 00:00:01.5')), '1.5 seconds 1 days')
})

test('toPostgres recursion is detected like pg', () => {
  const self = {
    toPostgres() {
      return this
    },
  }
  const a = { toPostgres: () => b }
  const b = { toPostgres: () => a }
  for (const v of [self, a]) {
    let theirs
    try {
      pgPrepare(v, false)
    } catch (err) {
      theirs = err
    }
    assert.ok(theirs)
    assert.throws(
      () => prepareValue(v),
      (err) => err.message === theirs.message && err.constructor === theirs.constructor
    )
  }
  assert.throws(() => prepareValue(self), { message: 'circular reference detected while preparing "[object Object]" for query' })
  const named = {
    toPostgres() {
      return this
    },
    toString: () => 'Named',
  }
  assert.throws(() => prepareValue(named), { message: 'circular reference detected while preparing "Named" for query' })
})

test('values pg would send but PostgreSQL cannot take throw TypeErrors naming the parameter', () => {
  assert.throws(() => prepareValue(Symbol('s'), 1), { name: 'TypeError', message: 'Parameter $2: cannot send a value of type symbol' })
  assert.throws(() => prepareValue(() => 1, 0), { name: 'TypeError', message: 'Parameter $1: cannot send a value of type function' })
  assert.throws(() => prepareValue([1, [Symbol('x')]], 2), {
    name: 'TypeError',
    message: 'Parameter $3: cannot send a value of type symbol',
  })

  const cyclic = { a: 1 }
  cyclic.self = cyclic
  assert.throws(
    () => prepareValue(cyclic, 0),
    (err) => err instanceof TypeError && /^Parameter \$1: .*circular/.test(err.message) && err.cause instanceof TypeError
  )
  assert.throws(() => prepareValue([cyclic], 4), /^TypeError: Parameter \$5: .*circular/)
  assert.throws(
    () => prepareValue({ n: 1n }, 0),
    (err) => err instanceof TypeError && /^Parameter \$1: cannot convert the value to JSON/.test(err.message)
  )
  // errors thrown by a user's toJSON are not wrapped
  const boom = new RangeError('boom')
  assert.throws(
    () =>
      prepareValue({
        toJSON() {
          throw boom
        },
      }),
    (err) => err === boom
  )

  assert.throws(() => prepareValue('a\u0000b', 1), {
    name: 'TypeError',
    message: /^Parameter \$2: PostgreSQL text cannot contain NUL bytes/,
  })
  assert.throws(() => prepareValue(['ok', 'a\u0000'], 0), /Parameter \$1: PostgreSQL text cannot contain NUL bytes/)
  assert.throws(() => prepareValue({ toPostgres: () => '\u0000' }, 0), /NUL bytes/)
  assert.deepStrictEqual(prepareValue(Buffer.from([0, 0])), Buffer.from([0, 0])) // bytes may contain NUL
  assert.equal(prepareValue({ s: 'a\u0000b' }), '{"s":"a\\u0000b"}') // JSON escapes it

  assert.throws(() => prepareValue(new Date(NaN), 0), { name: 'TypeError', message: 'Parameter $1: cannot send an invalid Date' })
  assert.throws(() => prepareValue(Symbol('s')), { message: 'Parameter: cannot send a value of type symbol' })
})

test('prepareValues', () => {
  const buf = Buffer.from('x')
  const d = new Date(Date.UTC(2020, 0, 1))
  assert.deepStrictEqual(prepareValues([1, 'a', null, undefined, buf, [1, 2], { a: 1 }, true, 2n, d], { utc: true }), [
    '1',
    'a',
    null,
    null,
    buf,
    '{"1","2"}',
    '{"a":1}',
    'true',
    '2',
    '2020-01-01T00:00:00.000+00:00',
  ])
  assert.deepStrictEqual(prepareValues([d]), [pgPrepare(d, false)])
  assert.deepStrictEqual(prepareValues([]), [])
  assert.deepStrictEqual(prepareValues(undefined), [])
  assert.throws(() => prepareValues('abc'), { name: 'TypeError', message: 'Query values must be an array' })
  assert.throws(() => prepareValues([1, Symbol('x')]), { name: 'TypeError', message: 'Parameter $2: cannot send a value of type symbol' })
  assert.throws(() => prepareValues([1, 2, 'nul\u0000']), /^TypeError: Parameter \$3: PostgreSQL text cannot contain NUL bytes/)
  // extra map() arguments do not leak in
  assert.deepStrictEqual(
    [1, 2].map((v, i) => prepareValue(v, i)),
    ['1', '2']
  )
})

test('escapeLiteral and escapeIdentifier match pg', () => {
  const strings = ['', 'abc', "it's", "''", 'back\\slash', "both ' and \\", '"quoted"', 'ünï 🎉', '\\', "'", 'a"b"c']
  for (const s of strings) {
    assert.equal(escapeLiteral(s), pg.escapeLiteral(s), s)
    assert.equal(escapeIdentifier(s), pg.escapeIdentifier(s), s)
  }
  for (const v of [null, undefined, 1, {}, []]) assert.equal(escapeLiteral(v), pg.escapeLiteral(v))
  assert.equal(escapeLiteral("a'b\\c"), " E'a''b\\\\c'")
  assert.equal(escapeIdentifier('a"b'), '"a""b"')
  assert.throws(() => escapeIdentifier(null), TypeError)
})
