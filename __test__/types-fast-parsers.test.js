'use strict'

// The faster equivalents lib/fast-parsers.js substitutes for pg-types' own default parsers
// give exactly the values pg-types gives (the installed copy, the one pg uses), on the text
// PostgreSQL sends and on odd inputs; and they are used only for pg-types' defaults, so a
// parser set anywhere is called as given. The date cases run under several process time
// zones (local-time dates, historical offsets with seconds).

const test = require('node:test')
const assert = require('node:assert/strict')
const pgTypes = require('pg-types')

const { fastest } = require('../lib/fast-parsers')

const pgParse = (oid, text) => pgTypes.getTypeParser(oid, 'text')(text)
const ourParse = (oid, text) => fastest(pgTypes.getTypeParser(oid, 'text'), 'text')(text)

function plain(v) {
  if (v instanceof Date) return { date: v.getTime() }
  return v
}

function outcome(fn) {
  try {
    return { value: plain(fn()) }
  } catch (err) {
    return { error: err.message }
  }
}

const ZONES = ['UTC', 'Europe/Amsterdam', 'America/St_Johns', 'Asia/Kolkata', 'Pacific/Kiritimati']

function underZones(fn) {
  const saved = process.env.TZ
  try {
    for (const tz of ZONES) {
      process.env.TZ = tz
      fn(tz)
    }
  } finally {
    if (saved === undefined) delete process.env.TZ
    else process.env.TZ = saved
  }
}

function sameAsPg(oid, text) {
  assert.deepStrictEqual(
    outcome(() => ourParse(oid, text)),
    outcome(() => pgParse(oid, text)),
    `oid ${oid}, input ${JSON.stringify(text)}`
  )
}

// Deterministic PRNG for the generated cases.
function rng(seed) {
  return function next(n) {
    seed |= 0
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n)
  }
}

test('a substitute exists for int8, date, timestamp and timestamptz, and only for them', () => {
  for (const oid of [20, 1082, 1114, 1184]) {
    assert.notEqual(fastest(pgTypes.getTypeParser(oid, 'text'), 'text'), pgTypes.getTypeParser(oid, 'text'), `oid ${oid}`)
  }
  for (let oid = 0; oid < 5000; oid++) {
    if ([20, 1082, 1114, 1184].includes(oid)) continue
    const fn = pgTypes.getTypeParser(oid, 'text')
    assert.equal(fastest(fn, 'text'), fn, `oid ${oid}`)
  }
})

test('binary columns always get the parser as given, even a text default', () => {
  for (let oid = 0; oid < 5000; oid++) {
    const fn = pgTypes.getTypeParser(oid, 'binary')
    assert.equal(fastest(fn, 'binary'), fn, `oid ${oid}`)
  }
  for (const oid of [20, 1082, 1114, 1184]) {
    const fn = pgTypes.getTypeParser(oid, 'text')
    assert.equal(fastest(fn, 'binary'), fn, `oid ${oid}`)
  }
})

test('a parser someone set is called as given', () => {
  const custom = (v) => 'custom:' + v
  const before = pgTypes.getTypeParser(1184, 'text')
  try {
    pgTypes.setTypeParser(1184, custom)
    assert.equal(fastest(pgTypes.getTypeParser(1184, 'text'), 'text'), custom)
  } finally {
    pgTypes.setTypeParser(1184, 'text', before)
  }
  assert.equal(fastest(BigInt, 'text'), BigInt)
})

test('int8', () => {
  for (const text of ['0', '9223372036854775807', '-9223372036854775808', '42', ' 1', '']) sameAsPg(20, text)
  assert.equal(ourParse(20, '9223372036854775807'), '9223372036854775807')
})

test('dates, timestamps and timestamptz', () => {
  const inputs = [
    // date
    '2024-02-29',
    '1970-01-01',
    '0001-01-01',
    '0001-01-01 BC',
    '0044-03-15 BC',
    '0099-12-31',
    '0100-01-01',
    '0000-01-01',
    '10000-01-01',
    '5874897-12-31',
    '4713-11-24 BC',
    'infinity',
    '-infinity',
    '2020-13-45',
    '2020-1-01',
    'today',
    '',
    'infinityx',
    // timestamp (local)
    '2024-03-10 02:30:00',
    '2024-11-03 01:30:00',
    '2020-06-15 12:34:56.789',
    '2020-06-15 12:34:56.123456',
    '2020-06-15 12:34:56.1',
    '2020-06-15 12:34:56.000001',
    '2020-06-15 12:34:56.999999',
    '2020-06-15 12:34:56.0009',
    '2020-06-15 12:34:56.1234567',
    '0001-01-01 00:00:00 BC',
    '0012-05-06 07:08:09',
    '0099-12-31 23:59:59.999',
    '294276-12-31 23:59:59.999999',
    '1900-01-01 00:00:00',
    '1883-11-18 12:00:00',
    '1582-10-10 00:00:00',
    '2020-06-15T12:34:56',
    '2020-06-15 12:34',
    '2020-06-15 12:34:56.',
    '2020-06-15 12:34:56 junk',
    // timestamptz
    '2020-06-15 12:34:56+00',
    '2020-06-15 12:34:56-00',
    '2020-06-15 12:34:56.789+02',
    '2020-06-15 12:34:56-05',
    '2020-06-15 12:34:56+05:30',
    '2020-06-15 12:34:56.5-09:30',
    '2020-06-15 12:34:56+05:53:28',
    '1900-01-01 00:00:00-04:56:02',
    '2020-06-15 12:34:56.123456+14',
    '0001-01-01 00:00:00+00 BC',
    '0001-01-01 00:00:00+01:02:03 BC',
    '0010-02-03 04:05:06.007+08',
    '0099-12-31 23:59:59+00',
    '0050-01-01 00:00:00-03',
    '2020-06-15 12:34:56Z',
    '2020-06-15 12:34:56+0530',
    '2020-06-15 12:34:56 +05',
    '2020-06-15 12:34:56+5',
    '2020-06-15 12:34:56+05:3',
    '2020-06-15 12:34:56.123+02 junk',
    '12345-06-15 12:34:56+02',
    '2020-06-15 12:34:56+00 BC x',
  ]
  underZones(() => {
    for (const oid of [1082, 1114, 1184]) {
      for (const text of inputs) sameAsPg(oid, text)
    }
  })
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

test('dates: generated inputs', () =>
  underZones((tz) => {
    const r = rng(1082 + tz.length)
    const pad = (n, w) => String(n).padStart(w, '0')
    for (let k = 0; k < 20000; k++) {
      let s = pad(r(k % 5 === 0 ? 100 : 12000), 1 + r(5)) + '-' + pad(1 + r(12), 2) + '-' + pad(1 + r(28), 2)
      if (r(6)) {
        s += ' ' + pad(r(24), 2) + ':' + pad(r(60), 2) + ':' + pad(r(60), 2)
        if (r(2))
          s +=
            '.' +
            String(r(1000000))
              .padStart(6, '0')
              .slice(0, 1 + r(6))
        if (r(2)) {
          s += (r(2) ? '+' : '-') + pad(r(15), 2)
          if (r(3) === 0) s += ':' + pad(r(4) * 15, 2)
          if (r(8) === 0) s += ':' + pad(r(60), 2)
        }
      }
      if (r(10) === 0) s += ' BC'
      sameAsPg([1082, 1114, 1184][k % 3], s)
    }
  }))
