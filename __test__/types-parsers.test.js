'use strict'

// The result parsers are pg's own registry, not a copy: the package's `types` export is the
// pg-types module pg reads, and a client's setTypeParser layers over it exactly as pg's
// TypeOverrides does. (How the parsers apply to query results, pool-wide and per query, is
// tested through real pools in values-*.test.js and parity-types-*.test.js.)

const test = require('node:test')
const assert = require('node:assert/strict')
const pgTypes = require('pg-types')
const pg = require('pg')

const { types } = require('..')
const TypeOverrides = require('../lib/type-overrides')

function plain(v) {
  if (v instanceof Date) return { date: v.getTime() }
  if (v && typeof v === 'object') return { ...v }
  return v
}

test('the types export is the pg-types module, the same object as pg.types', () => {
  assert.equal(types, pgTypes)
  assert.equal(types, pg.types)
  assert.equal(typeof types.arrayParser.create, 'function')
  assert.equal(types.builtins.INT8, 20)
})

test('one copy of pg-types and pg-protocol is loaded (npm deduped them with pg)', () => {
  const ours = require.resolve('pg-types')
  const pgs = require.resolve('pg-types', { paths: [require.resolve('pg')] })
  assert.equal(ours, pgs)
  const protoOurs = require.resolve('pg-protocol')
  const protoPg = require.resolve('pg-protocol', { paths: [require.resolve('pg')] })
  assert.equal(protoOurs, protoPg)
  assert.equal(require('..').DatabaseError, pg.DatabaseError)
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
    [20, undefined, '42'],
    [20, 'text', '42'],
    [23, 'text', '42'],
    [1700, 'binary', 'x'],
    [1700, 'text', '1.5'],
    [25, 'text', 'abc'],
    [1184, undefined, '2020-01-01 00:00:00+00'],
    [1186, 'text', '1 day'],
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

test('TypeOverrides sees later changes of the global registry', () => {
  const o = new TypeOverrides()
  const before = pgTypes.getTypeParser(1700, 'text')
  try {
    pgTypes.setTypeParser(1700, parseFloat)
    assert.equal(o.getTypeParser(1700), parseFloat)
  } finally {
    pgTypes.setTypeParser(1700, 'text', before)
  }
  assert.equal(o.getTypeParser(1700), before)
})
