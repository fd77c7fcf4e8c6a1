'use strict'
// Custom result parsers, side by side on pg.Pool and LeakDetectingPool: the `types` option per
// pool and per query (getTypeParser(oid, format)), client.setTypeParser, the global
// types.setTypeParser, Drizzle's "timestamps as raw strings" override, int8 → Number,
// numeric → parseFloat and an enum parser. Every parser records what it was given: both pools
// must ask for the same (oid, format) pairs, pass the same text, and return the same values.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const pg = require('pg')
const pgTypes = require('pg-types')
const ours = require('..')
const V = require('./helpers/values')

let pools
let fx
let cases
before(async () => {
  fx = await V.createFixtures()
  pools = await V.openPools()
  cases = [...V.scalarCases(fx), ...V.arrayCases(fx)].map(({ sql }) => ({ sql }))
})
after(async () => {
  if (pools) await V.closePools(pools)
  if (fx) await fx.drop()
})

/**
 * A `types` object that records getTypeParser calls and every text its parsers receive.
 * `custom(oid)` returns a parser or undefined (then `fallback.getTypeParser` is used).
 */
function recorder(custom, fallback) {
  const rec = { asked: [], inputs: [] }
  rec.types = {
    getTypeParser(oid, format) {
      rec.asked.push([oid, format])
      const inner = custom(oid) || fallback.getTypeParser(oid, format)
      return (text) => {
        rec.inputs.push([oid, text])
        return inner(text)
      }
    },
  }
  return rec
}

const B = pgTypes.builtins

function appParsers(enumOid, enumArrayOid, arrayParser) {
  return (oid) => {
    switch (oid) {
      case B.INT8:
        return Number
      case B.NUMERIC:
        return parseFloat
      case B.TIMESTAMPTZ:
        return (text) => text
      case enumOid:
        return (text) => `mood:${text}`
      case enumArrayOid:
        return (text) => arrayParser.create(text, (e) => `mood:${e}`).parse()
      default:
        return undefined
    }
  }
}

function assertSameRecords(a, b, label) {
  assert.ok(b.inputs.length > 100, `${label}: the parsers were called (${b.inputs.length})`)
  assert.deepStrictEqual(a.asked, b.asked, `${label}: getTypeParser calls`)
  assert.deepStrictEqual(a.inputs, b.inputs, `${label}: texts passed to the parsers`)
}

test('types option per pool: same getTypeParser calls, same texts, same values (pg types and ours as fallback)', async () => {
  const { oid, array } = fx.oids.mood
  for (const [fallbackName, pgFallback, ourFallback] of [
    ['pg.types', pg.types, pg.types],
    ['own types', pg.types, ours.types],
  ]) {
    const recPg = recorder(appParsers(oid, array, pgTypes.arrayParser), pgFallback)
    const recOurs = recorder(appParsers(oid, array, ours.types.arrayParser), ourFallback)
    const p = {
      pg: new pg.Pool({ ...(await V.dbConfig()), max: 1, types: recPg.types }),
      ours: new ours.LeakDetectingPool({ ...(await V.dbConfig()), max: 1, types: recOurs.types }),
    }
    try {
      for (const rowMode of [undefined, 'array']) {
        const r = await V.runBoth(p, cases, { rowMode })
        V.assertSame(r, cases, `${fallbackName}, rowMode ${rowMode}`)
      }
    } finally {
      await V.closePools(p)
    }
    assertSameRecords(recOurs, recPg, fallbackName)
    // The custom parsers did run.
    assert.ok(recOurs.inputs.some(([o, t]) => o === oid && t === 'happy'))
  }
})

test('custom parsers produce what they should: int8 → Number, numeric → parseFloat, timestamptz raw, enum and enum[]', async () => {
  const { oid, array } = fx.oids.mood
  const S = fx.schema
  const q = [
    {
      text: `SELECT 9007199254740993::int8 AS a, 1.50::numeric AS b, '2020-01-01 00:00:00+00'::timestamptz AS c, 'happy'::${S}.mood AS d, ARRAY['ok'::${S}.mood, NULL, 'with space'] AS e, 1::int4 AS f`,
    },
  ]
  const recPg = recorder(appParsers(oid, array, pgTypes.arrayParser), pg.types)
  const recOurs = recorder(appParsers(oid, array, ours.types.arrayParser), ours.types)
  const r = { pg: await V.runOn(pools.pg, q, { types: recPg.types }), ours: await V.runOn(pools.ours, q, { types: recOurs.types }) }
  V.assertSame(r, q, 'typed')
  assert.deepStrictEqual(r.ours[0].raw[0], {
    a: 9007199254740992,
    b: 1.5,
    c: '2020-01-01 00:00:00+00',
    d: 'mood:happy',
    e: ['mood:ok', null, 'mood:with space'],
    f: 1,
  })
  assert.deepStrictEqual(recOurs.inputs, recPg.inputs)
})

test('types per query (pool.query and client.query), Drizzle style', async () => {
  // drizzle-orm/node-postgres: date/time types (and their arrays) come back as the raw text.
  const drizzleTypes = (types) => ({
    getTypeParser: (typeId, format) => {
      if (typeId === types.builtins.TIMESTAMPTZ) return (val) => val
      if (typeId === types.builtins.TIMESTAMP) return (val) => val
      if (typeId === types.builtins.DATE) return (val) => val
      if (typeId === types.builtins.INTERVAL) return (val) => val
      if (typeId === 1231) return (val) => val // numeric[]
      if (typeId === 1115) return (val) => val // timestamp[]
      if (typeId === 1185) return (val) => val // timestamptz[]
      if (typeId === 1187) return (val) => val // interval[]
      if (typeId === 1182) return (val) => val // date[]
      return types.getTypeParser(typeId, format)
    },
  })
  const recPg = recorder(() => undefined, drizzleTypes(pg.types))
  const recOurs = recorder(() => undefined, drizzleTypes(ours.types))
  const viaPool = (pool, rec) =>
    Promise.all(
      cases.slice(0, 400).map(async (c) => V.describe((await pool.query({ text: `SELECT ${c.sql} AS v`, types: rec.types })).rows))
    )
  const a = await viaPool(pools.pg, recPg)
  const b = await viaPool(pools.ours, recOurs)
  assert.deepStrictEqual(b, a)
  assert.deepStrictEqual(recOurs.inputs.slice().sort(cmp), recPg.inputs.slice().sort(cmp))
  // through a checked-out client, in order
  const rp = recorder(() => undefined, drizzleTypes(pg.types))
  const ro = recorder(() => undefined, drizzleTypes(ours.types))
  const r = {
    pg: await V.runOn(pools.pg, cases, { types: rp.types, rowMode: 'array' }),
    ours: await V.runOn(pools.ours, cases, { types: ro.types, rowMode: 'array' }),
  }
  V.assertSame(r, cases, 'drizzle types on client.query')
  assertSameRecords(ro, rp, 'drizzle')
  const ts = r.ours[cases.findIndex((c) => c.sql === "'2020-06-01 12:00:00+05:30'::timestamptz")].raw[0][0]
  assert.equal(ts, '2020-06-01 06:30:00+00')
})

function cmp(x, y) {
  const a = JSON.stringify(x)
  const b = JSON.stringify(y)
  return a < b ? -1 : a > b ? 1 : 0
}

test('client.setTypeParser: per client, kept by the connection across checkouts like pg', async () => {
  const p = await V.openPools({ max: 1 })
  try {
    const out = {}
    for (const impl of ['pg', 'ours']) {
      const seen = []
      const c1 = await p[impl].connect()
      c1.setTypeParser(20, (t) => {
        seen.push(t)
        return BigInt(t)
      })
      c1.setTypeParser(1700, 'text', (t) => `n=${t}`)
      const a = await c1.query({ text: "SELECT 9223372036854775807::int8 AS a, 1.5::numeric AS b, '{1,2}'::int8[] AS c", rowMode: 'array' })
      const getter = [
        typeof c1.getTypeParser(20),
        c1.getTypeParser(20)('5'),
        c1.getTypeParser(23)('7'),
        c1.getTypeParser(1184, 'text')('2020-01-01 00:00:00+00').getTime(),
      ]
      c1.release()
      const c2 = await p[impl].connect()
      const b = await c2.query('SELECT 1::int8 AS a, 2.5::numeric AS b')
      c2.release()
      const viaPool = await p[impl].query('SELECT 3::int8 AS a')
      out[impl] = { a: a.rows, getter, b: b.rows, viaPool: viaPool.rows, seen, same: c1 === c2 }
    }
    assert.deepStrictEqual(out.ours, out.pg)
    assert.deepStrictEqual(out.ours.a, [[9223372036854775807n, 'n=1.5', ['1', '2']]])
  } finally {
    await V.closePools(p)
  }
})

test('global setTypeParser on pg.types changes both pools the same way (one registry)', async () => {
  assert.equal(ours.types, pg.types)
  const saved = { p20: pgTypes.getTypeParser(20), p1082: pgTypes.getTypeParser(1082) }
  const seen = []
  pg.types.setTypeParser(20, (t) => parseInt(t, 10))
  pg.types.setTypeParser(1082, 'text', (t) => (seen.push(t), t))
  try {
    const dateCases = [...V.DATES, ...V.SCALARS.int8].map(({ sql }) => ({ sql }))
    V.assertSame(await V.runBoth(pools, dateCases, {}), dateCases, 'global parsers')
    // Each date went through the one parser once per pool.
    const counts = new Map()
    for (const t of seen) counts.set(t, (counts.get(t) || 0) + 1)
    assert.ok(counts.get('0001-01-01 BC') >= 2)
    for (const [t, n] of counts) assert.equal(n % 2, 0, t)
    const r = await pools.ours.query('SELECT 42::int8 AS v')
    assert.equal(r.rows[0].v, 42)
  } finally {
    pg.types.setTypeParser(20, saved.p20)
    pg.types.setTypeParser(1082, saved.p1082)
  }
  assert.equal((await pools.ours.query('SELECT 42::int8 AS v')).rows[0].v, '42')
})

test('a parser that throws fails the query the same way on both pools', async () => {
  const boom = {
    getTypeParser: (oid, format) =>
      oid === 23
        ? () => {
            throw new RangeError('bad int4')
          }
        : pg.types.getTypeParser(oid, format),
  }
  const q = [
    { text: 'SELECT 1::int4 AS v', types: boom },
    { text: "SELECT 'x'::text AS v", types: boom },
  ]
  const r = await V.runBoth(pools, q, {})
  assert.deepStrictEqual(
    r.ours.map((o) => o.error),
    r.pg.map((o) => o.error)
  )
  assert.equal(r.ours[0].error.message, 'bad int4')
  assert.equal(r.ours[1].raw[0].v, 'x')
})
