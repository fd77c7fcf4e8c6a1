'use strict'

// Compares lib/types parsers with pg's own (pg-types and its postgres-*
// helpers) on the text PostgreSQL sends. Run under several TZ values.

const test = require('node:test')
const assert = require('node:assert/strict')
const pgTypes = require('pg-types')
const pg = require('pg')

const types = require('../lib/types/parsers')
const TypeOverrides = require('../lib/types/overrides')

const pgNoParse = pgTypes.getTypeParser(987654321)
const pgParse = (oid, text) => pgTypes.getTypeParser(oid, 'text')(text)
const ourParse = (oid, text) => types.getTypeParser(oid, 'text')(text)

// Plain, comparable form: Dates by time value, interval objects by their own
// enumerable fields plus method output, Buffers by bytes.
function plain (v) {
  if (v instanceof Date) return { date: v.getTime() }
  if (Buffer.isBuffer(v)) return { bytes: v.toString('hex') }
  if (Array.isArray(v)) return v.map(plain)
  if (v && typeof v === 'object') {
    const out = { ...v }
    if (typeof v.toPostgres === 'function') {
      out['toPostgres()'] = v.toPostgres()
      out['toISO()'] = v.toISO()
      out['toISOString()'] = v.toISOString()
    }
    return out
  }
  return v
}

function outcome (fn) {
  try {
    return { value: plain(fn()) }
  } catch (err) {
    return { error: err.message }
  }
}

function sameAsPg (oid, text) {
  assert.deepStrictEqual(
    outcome(() => ourParse(oid, text)),
    outcome(() => pgParse(oid, text)),
    `oid ${oid}, input ${JSON.stringify(text)}`
  )
}

// Deterministic PRNG for the generated cases.
function rng (seed) {
  return function next (n) {
    seed |= 0
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n)
  }
}

test('the same oids have parsers as in pg-types', () => {
  for (let oid = 0; oid < 20000; oid++) {
    const theirs = pgTypes.getTypeParser(oid, 'text') !== pgNoParse
    const ours = types.getTypeParser(oid, 'text') !== types.noParse
    assert.equal(ours, theirs, `oid ${oid}`)
    if (ours) assert.equal(types.textParsers.get(oid), types.getTypeParser(oid))
  }
  assert.equal(types.getTextParser(25), types.noParse)
  assert.equal(types.getTextParser(1184), types.getTypeParser(1184))
})

test('builtins match pg-types', () => {
  assert.deepStrictEqual({ ...types.builtins }, { ...pgTypes.builtins })
})

test('unregistered types stay text', () => {
  for (const oid of [25, 1043, 1042, 1083, 1266, 2950, 869, 650, 790, 1700, 142, 3614, 719, 99999]) {
    for (const text of ['', 'abc', '12:00:00+05', '1.50', '{1,2}', '$1,000.00']) {
      assert.equal(ourParse(oid, text), text)
      sameAsPg(oid, text)
    }
  }
  assert.equal(types.noParse('x'), 'x')
})

test('scalars: bool, integers, floats, int8, numeric, json', () => {
  const cases = {
    16: ['t', 'f', 'true', 'false', 'TRUE', 'y', 'yes', 'on', '1', '0', 'off', 'n', ''],
    21: ['0', '-32768', '32767', ' 12', '12abc'],
    23: ['0', '-2147483648', '2147483647', '42'],
    26: ['0', '4294967295', '16384'],
    700: ['1.5', '-0', 'NaN', 'Infinity', '-Infinity', '3.4028235e+38', '1e-45'],
    701: ['0', '3.141592653589793', '1.7976931348623157e+308', 'NaN', '-Infinity', '5e-324'],
    20: ['0', '9223372036854775807', '-9223372036854775808', '42'],
    1700: ['0', '123.4500', 'NaN', '-1e+30', '99999999999999999999.99999', 'Infinity'],
    114: ['{"a":1}', '[1,"x",null]', '"s"', '123', 'null', '{"nested":{"b":[true,false]}}'],
    3802: ['{"a": 1, "b": [1, 2]}', '[]', '"\\u00e9"', 'false']
  }
  for (const [oid, inputs] of Object.entries(cases)) {
    for (const text of inputs) sameAsPg(Number(oid), text)
  }
  assert.equal(ourParse(16, 't'), true)
  assert.equal(ourParse(16, 'f'), false)
  assert.equal(types.parseBool(null), null)
  assert.equal(ourParse(23, '42'), 42)
  assert.ok(Number.isNaN(ourParse(701, 'NaN')))
  assert.equal(ourParse(701, '-Infinity'), -Infinity)
  assert.equal(ourParse(20, '9223372036854775807'), '9223372036854775807')
  assert.equal(ourParse(1700, '123.4500'), '123.4500')
  assert.deepStrictEqual(ourParse(3802, '{"a": [1]}'), { a: [1] })
  assert.throws(() => ourParse(114, '{bad'), SyntaxError)
})

test('bytea: hex and escape formats', () => {
  const inputs = [
    '\\x', '\\x00', '\\x0102feff', '\\xDEADBEEF', '\\x0', '\\x01zz',
    '', 'abc', 'a\\\\b', '\\\\', '\\\\\\\\', '\\000', '\\377', '\\001\\002x',
    'caf\\303\\251', '\\\\\\001', 'é', '\\400', 'a\\\\\\\\\\101'
  ]
  for (const text of inputs) sameAsPg(17, text)
  assert.deepStrictEqual(ourParse(17, '\\x0102ff'), Buffer.from([1, 2, 255]))
  assert.deepStrictEqual(ourParse(17, 'a\\\\b\\000'), Buffer.from([97, 92, 98, 0]))
  // A lone backslash never comes from the server (postgres-bytea hangs on
  // it); it is kept as a byte.
  assert.deepStrictEqual(types.parseBytea('a\\b'), Buffer.from('a\\b'))
})

test('dates, timestamps and timestamptz', () => {
  const inputs = [
    // date
    '2024-02-29', '1970-01-01', '0001-01-01', '0001-01-01 BC', '0044-03-15 BC', '0099-12-31',
    '0100-01-01', '0000-01-01', '10000-01-01', '5874897-12-31', '4713-11-24 BC', 'infinity', '-infinity',
    '2020-13-45', '2020-1-01', 'today', '', 'infinityx',
    // timestamp (local)
    '2024-03-10 02:30:00', '2024-11-03 01:30:00', '2020-06-15 12:34:56.789', '2020-06-15 12:34:56.123456',
    '2020-06-15 12:34:56.1', '2020-06-15 12:34:56.000001', '2020-06-15 12:34:56.999999', '2020-06-15 12:34:56.0009',
    '2020-06-15 12:34:56.1234567', '0001-01-01 00:00:00 BC', '0012-05-06 07:08:09', '0099-12-31 23:59:59.999',
    '294276-12-31 23:59:59.999999', '1900-01-01 00:00:00', '1883-11-18 12:00:00', '1582-10-10 00:00:00',
    '2020-06-15T12:34:56', '2020-06-15 12:34', '2020-06-15 12:34:56.', '2020-06-15 12:34:56 junk',
    // timestamptz
    '2020-06-15 12:34:56+00', '2020-06-15 12:34:56-00', '2020-06-15 12:34:56.789+02', '2020-06-15 12:34:56-05',
    '2020-06-15 12:34:56+05:30', '2020-06-15 12:34:56.5-09:30', '2020-06-15 12:34:56+05:53:28',
    '1900-01-01 00:00:00-04:56:02', '2020-06-15 12:34:56.123456+14', '0001-01-01 00:00:00+00 BC',
    '0001-01-01 00:00:00+01:02:03 BC', '0010-02-03 04:05:06.007+08', '0099-12-31 23:59:59+00', '0050-01-01 00:00:00-03',
    '2020-06-15 12:34:56Z', '2020-06-15 12:34:56+0530', '2020-06-15 12:34:56 +05', '2020-06-15 12:34:56+5',
    '2020-06-15 12:34:56+05:3', '2020-06-15 12:34:56.123+02 junk', '12345-06-15 12:34:56+02', '2020-06-15 12:34:56+00 BC x'
  ]
  for (const oid of [1082, 1114, 1184]) {
    for (const text of inputs) sameAsPg(oid, text)
  }
  assert.equal(ourParse(1082, 'infinity'), Infinity)
  assert.equal(ourParse(1184, '-infinity'), -Infinity)
  assert.equal(ourParse(1082, 'garbage'), null)
  const d = ourParse(1082, '2024-02-29')
  assert.deepStrictEqual([d.getFullYear(), d.getMonth(), d.getDate(), d.getHours()], [2024, 1, 29, 0])
  assert.equal(ourParse(1184, '2020-06-15 12:34:56.789+02').toISOString(), '2020-06-15T10:34:56.789Z')
  assert.equal(ourParse(1184, '0001-01-01 00:00:00+00 BC').getUTCFullYear(), 0)
  assert.equal(ourParse(1184, '0012-01-01 00:00:00+00').getUTCFullYear(), 12)
  assert.equal(ourParse(1184, '2020-06-15 12:34:56+05:53:28').toISOString(), '2020-06-15T06:41:28.000Z')
})

test('dates: generated inputs', () => {
  const r = rng(1082)
  const pad = (n, w) => String(n).padStart(w, '0')
  for (let k = 0; k < 20000; k++) {
    let s = pad(r(k % 5 === 0 ? 100 : 12000), 1 + r(5)) + '-' + pad(1 + r(12), 2) + '-' + pad(1 + r(28), 2)
    if (r(6)) {
      s += ' ' + pad(r(24), 2) + ':' + pad(r(60), 2) + ':' + pad(r(60), 2)
      if (r(2)) s += '.' + String(r(1000000)).padStart(6, '0').slice(0, 1 + r(6))
      if (r(2)) {
        s += (r(2) ? '+' : '-') + pad(r(15), 2)
        if (r(3) === 0) s += ':' + pad(r(4) * 15, 2)
        if (r(8) === 0) s += ':' + pad(r(60), 2)
      }
    }
    if (r(10) === 0) s += ' BC'
    sameAsPg(1184, s)
  }
})

test('intervals', () => {
  const inputs = [
    '00:00:00', '1 year 2 mons 3 days 04:05:06.789', '-1 years -2 mons +3 days -04:05:06',
    '1 day', '2 days', '-1 days', '1 mon', '14 mons', '-00:00:00.5', '00:00:00.000001', '00:00:01.123456',
    '100:00:00', '-100:02:03.4', '1 year', '+1 year', '0 years 0 mons 0 days 00:00:00', '3 days 00:00:00.999999',
    '1 year -1 mons', '178000000 years', '-178000000 years', '2562047788:00:54.775807', '-2562047788:00:54.775808',
    '', 'P1Y2M3DT4H5M6S', '@ 1 year 2 mons', '1 years  2 mons   3 days    04:05:06', ':00:00', '1 day 1:02:03',
    '01:02:03.1234567', '01:02:03789', 'garbage', '1 yearsx'
  ]
  for (const text of inputs) sameAsPg(1186, text)

  const iv = ourParse(1186, '1 year 2 mons 3 days 04:05:06.789')
  assert.deepStrictEqual({ ...iv }, { years: 1, months: 2, days: 3, hours: 4, minutes: 5, seconds: 6, milliseconds: 789 })
  assert.deepStrictEqual(Object.keys(iv), ['years', 'months', 'days', 'hours', 'minutes', 'seconds', 'milliseconds'])
  assert.equal(iv.toPostgres(), '6.789 seconds 5 minutes 4 hours 3 days 2 months 1 years')
  assert.equal(iv.toISO(), 'P1Y2M3DT4H5M6.789S')
  assert.equal(iv.toISOString(), 'P1Y2M3DT4H5M6.789S')
  assert.deepStrictEqual({ ...ourParse(1186, '-1 years -2 mons +3 days -04:05:06') },
    { years: -1, months: -2, days: 3, hours: -4, minutes: -5, seconds: -6 })
  assert.deepStrictEqual({ ...ourParse(1186, '00:00:00') }, {})
  assert.equal(ourParse(1186, '00:00:00').toPostgres(), '0')
  assert.equal(JSON.stringify(ourParse(1186, '1 day')), '{"days":1}')
  assert.ok(types.PostgresInterval('1 day') instanceof types.PostgresInterval)

  // The methods work on modified objects as postgres-interval's do.
  const pgInterval = pgTypes.getTypeParser(1186)
  const edits = [
    (o) => { o.milliseconds = 500 }, (o) => { o.hours = 0 }, (o) => { o.seconds = 2; o.milliseconds = -250 },
    (o) => { delete o.seconds }, (o) => { o.milliseconds = 0.001 }
  ]
  for (const text of ['1 day 00:00:01', '00:10:00', '']) {
    for (const edit of edits) {
      const a = ourParse(1186, text)
      const b = pgInterval(text)
      edit(a)
      edit(b)
      assert.deepStrictEqual(plain(a), plain(b), text)
    }
  }
})

test('intervals: generated inputs', () => {
  const r = rng(1186)
  const units = ['year', 'years', 'mon', 'mons', 'day', 'days']
  for (let k = 0; k < 20000; k++) {
    const parts = []
    for (let j = r(4); j > 0; j--) parts.push(['', '-', '+'][r(3)] + r(30) + ' ' + units[r(6)])
    if (r(3)) {
      let t = ['', '-', '+'][r(3)] + String(r(200)).padStart(r(3), '0') + ':' +
        String(r(60)).padStart(2, '0') + ':' + String(r(60)).padStart(2, '0')
      if (r(2)) t += '.' + String(r(1000000)).slice(0, 1 + r(6))
      parts.push(t)
    }
    sameAsPg(1186, parts.join(' '))
  }
})

test('arrays: structure, quoting, escapes, NULL, nesting, bounds', () => {
  const inputs = [
    '{}', '{1,2,3}', '{NULL}', '{"NULL"}', '{null}', '{NULL,1,NULL}', '{"",""}', '{"a,b","c}d","e{f"}',
    '{"a\\"b","c\\\\d","\\\\"}', '{a\\,b}', '{"with space"," leading","trailing "}', '{{1,2},{3,4}}',
    '{{{1}},{{2}}}', '{{NULL,2},{3,NULL}}', '{{"a","b"},{"c","d"}}', '[2:3]={1,2}', '[0:1][1:2]={{1,2},{3,4}}',
    '[1:1]={"a=b"}', '{"\\u00e9","ünï"}', '{a b}', '{ 1 , 2 }', '{{}}', '{{},{}}', '{1,{2,3}}', '{{1,2}x}',
    '{"a"b}', '{ab"cd"}', '{1}{2}', '{1,2}x', '1,2', '{1,2', '{{1,2}', '{1,2}}', '{"abc}', '{a\\', '{a\\}',
    '{\\{1}', '{\\}}', '{,}', '{,,1,,}', '{"a\\', '[1:2]', '[1:2]\\={1}', ''
  ]
  const stringArrays = [1009, 1015, 1014, 1008, 2951, 1183, 1270, 651, 1041, 791, 1040, 3907]
  for (const text of inputs) {
    for (const oid of stringArrays) sameAsPg(oid, text)
    // (not bytea[]: postgres-bytea never returns on a lone backslash)
    for (const oid of [1000, 1005, 1007, 1028, 1016, 1021, 1022, 1231, 1182, 1115, 1185, 1187, 1017, 199]) {
      sameAsPg(oid, text)
    }
  }
  assert.deepStrictEqual(ourParse(1009, '{"a\\"b",NULL,"NULL",c}'), ['a"b', null, 'NULL', 'c'])
  assert.deepStrictEqual(ourParse(1007, '[2:3]={1,2}'), [1, 2])
  assert.deepStrictEqual(ourParse(1007, '{{1,NULL},{3,4}}'), [[1, null], [3, 4]])
  assert.equal(ourParse(1009, ''), null)
  assert.throws(() => ourParse(1009, '{1,2'), /array dimension not balanced/)
})

test('arrays of every registered type', () => {
  const cases = {
    1000: ['{t,f,NULL}', '{{t},{f}}'],
    1005: ['{1,-2,NULL}', '{{1,2},{3,4}}'],
    1007: ['{2147483647,-2147483648}'],
    1028: ['{1,4294967295}'],
    1016: ['{9223372036854775807,-1,NULL}', '{ 1 , 2 }'],
    1021: ['{1.5,NaN,Infinity,-Infinity,NULL}'],
    1022: ['{1e308,-0,NULL}'],
    1231: ['{1.10,NaN,NULL,99999999999999999999.1}'],
    1009: ['{a,"b c","d\\\\e",NULL,""}'],
    199: ['{"{\\"a\\":1}","[1,2]",3,"\\"s\\"",null,NULL,true}'],
    3807: ['{"{\\"a\\": [1, {\\"b\\": null}]}","\\"x,y\\""}', '{{1,2},{3,4}}'],
    1001: ['{"\\\\x0102",NULL,"\\\\xff"}', '{"abc\\\\\\\\000"}', '{{"\\\\x00"}}'],
    1182: ['{2020-01-01,NULL,infinity,-infinity,"0001-01-01 BC"}'],
    1115: ['{"2020-01-01 12:00:00","2020-01-01 12:00:00.123456",NULL}'],
    1185: ['{"2020-01-01 12:00:00+00","2020-01-01 12:00:00.5-05:30","0001-01-01 00:00:00+00 BC",infinity}'],
    1187: ['{"1 day","-1 years -2 mons 00:00:01.5",00:00:00,NULL}'],
    2951: ['{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}'],
    1017: ['{"(1,2)","(-1.5,3e10)",NULL}', '{{"(1,2)"},{"(3,4)"}}'],
    1183: ['{12:00:00,23:59:59.999999}'],
    1270: ['{12:00:00+05,"12:00:00-03:30"}'],
    651: ['{10.0.0.0/8,::1/128}'],
    1041: ['{127.0.0.1,::1,NULL}'],
    791: ['{"$1.00","-$2,000.50"}'],
    1040: ['{08:00:2b:01:02:03}'],
    3907: ['{"[1,2)",empty}'],
    719: ['{"<(1,2),3>"}']
  }
  for (const [oid, inputs] of Object.entries(cases)) {
    for (const text of inputs) sameAsPg(Number(oid), text)
  }
  assert.deepStrictEqual(plain(ourParse(1001, '{"\\\\x0102",NULL}')), [{ bytes: '0102' }, null])
  assert.deepStrictEqual(ourParse(1017, '{"(1,2)",NULL}'), [{ x: 1, y: 2 }, null])
  assert.deepStrictEqual(ourParse(199, '{"{\\"a\\":1}",null,NULL}'), [{ a: 1 }, null, null])
  assert.equal(ourParse(719, '{"<(1,2),3>"}'), '{"<(1,2),3>"}') // pg leaves circle[] as text
  assert.deepStrictEqual(types.parseCircleArray('{"<(1,2),3>"}'), [{ x: 1, y: 2, radius: 3 }])
})

test('arrays: generated inputs, transform called in the same order', () => {
  const r = rng(1009)
  const pieces = ['{', '}', ',', '"', '\\', 'a', 'b', '1', 'NULL', ' ', '[1:2]=', '=', '[', ']']
  for (let k = 0; k < 30000; k++) {
    let s = ''
    for (let j = r(20); j > 0; j--) s += pieces[r(pieces.length)]
    if (r(2)) s = '{' + s + '}'
    const run = (parse) => {
      const calls = []
      const result = outcome(() => parse(s, (x) => { calls.push(x); return '<' + x + '>' }))
      return { result, calls }
    }
    assert.deepStrictEqual(
      run(types.parseArray),
      run((src, fn) => pgTypes.arrayParser.create(src, fn).parse()),
      JSON.stringify(s)
    )
  }
  assert.deepStrictEqual(types.arrayParser.create('{1,2}').parse(), ['1', '2'])
})

test('point and circle', () => {
  const inputs = [
    '(1,2)', '(-1.5,2.25)', '(1e+20,-3e-05)', '(NaN,Infinity)', '(0,0)', '()', '(', '(1)', '(1,2,3)', 'x',
    '1,2', '(1, 2)', '<(1,2),3>', '<(1.5,-2.5),0.5>', '<(0,0),0>', '<(1,2),3,4>', '<(1,2)3)>', '<(1,2>', '<>', '<',
    '((1,2),3>', '<x1,2),3>'
  ]
  for (const text of inputs) {
    sameAsPg(600, text)
    sameAsPg(718, text)
  }
  assert.deepStrictEqual(ourParse(600, '(1,2)'), { x: 1, y: 2 })
  assert.deepStrictEqual(ourParse(718, '<(1,2),3>'), { x: 1, y: 2, radius: 3 })
  assert.equal(ourParse(600, 'x'), null)
})

test('getTypeParser / setTypeParser contract', () => {
  // default format is text; unknown formats never parse
  assert.equal(types.getTypeParser(23), types.getTypeParser(23, 'text'))
  assert.equal(types.getTypeParser(23, 'something'), types.noParse)
  // binary: nothing registered by default, so the value becomes a string
  const bin = types.getTypeParser(23, 'binary')
  assert.equal(bin(Buffer.from('abc')), 'abc')
  assert.equal(bin(Buffer.from('abc')), pgNoParse(Buffer.from('abc')))

  const custom = (v) => 'custom:' + v
  const before = types.getTypeParser(1700)
  try {
    types.setTypeParser(1700, custom)
    assert.equal(types.getTypeParser(1700), custom)
    assert.equal(types.textParsers.get(1700), custom)
    types.setTypeParser('1700', 'text', parseFloat)
    assert.equal(types.getTypeParser(1700), parseFloat)
    assert.equal(types.getTypeParser('1700'), parseFloat)
    types.setTypeParser(1700, 'binary', custom)
    assert.equal(types.getTypeParser(1700, 'binary'), custom)
    assert.equal(types.getTypeParser(1700, 'text'), parseFloat)
  } finally {
    types.textParsers.delete(1700)
    types.setTypeParser(1700, 'binary', undefined)
  }
  assert.equal(types.getTypeParser(1700), before)
  assert.equal(types.getTypeParser(1700, 'binary'), types.noParse)
  assert.throws(() => types.setTypeParser(1, 'hex', custom), TypeError)
})

test('TypeOverrides behaves like pg.TypeOverrides', () => {
  const custom = (v) => 'custom:' + v
  const ours = new TypeOverrides()
  const theirs = new pg.TypeOverrides()
  for (const o of [ours, theirs]) {
    o.setTypeParser(20, BigInt)
    o.setTypeParser(1700, 'binary', custom)
  }
  for (const [oid, format, text] of [
    [20, undefined, '42'], [20, 'text', '42'], [23, 'text', '42'], [1700, 'binary', 'x'], [1700, 'text', '1.5'],
    [25, 'text', 'abc'], [1184, undefined, '2020-01-01 00:00:00+00'], [1186, 'text', '1 day']
  ]) {
    assert.deepStrictEqual(plain(ours.getTypeParser(oid, format)(text)), plain(theirs.getTypeParser(oid, format)(text)))
  }
  assert.equal(ours.getTypeParser(20), BigInt)
  assert.deepStrictEqual(ours.getOverrides('text'), { 20: BigInt })
  assert.deepStrictEqual(ours.getOverrides('nope'), {})

  // falls back to a given types object
  const given = { getTypeParser: (oid, format) => () => `given ${oid} ${format}` }
  const o = new TypeOverrides(given)
  assert.equal(o.getTypeParser(23)('1'), 'given 23 text')
  o.setTypeParser(23, custom)
  assert.equal(o.getTypeParser(23)('1'), 'custom:1')
  // the global parsers are untouched
  assert.equal(types.getTypeParser(20)('42'), '42')
})
