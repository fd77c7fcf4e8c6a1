'use strict'
// Value parity, scalar types: every built-in scalar type (bool, integers, floats incl. NaN,
// ±Infinity and -0, numeric, text types, "char", xml, json/jsonb, bytea, uuid, network types,
// money, bit strings, text search, reg* and other types without a parser), enums, composite
// and domain types, citext, and NULL of each — decoded by pg.Pool and LeakDetectingPool and
// compared value by value, with object rows, rowMode 'array' and the extended protocol.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const V = require('./helpers/values')

const MODES = [
  { label: 'object rows, simple protocol' },
  { label: "rowMode 'array'", rowMode: 'array' },
  { label: 'extended protocol', queryMode: 'extended' },
]

let pools
let fx

before(async () => {
  fx = await V.createFixtures({ citext: true })
  pools = await V.openPools()
})

after(async () => {
  if (pools) await V.closePools(pools)
  if (fx) await fx.drop()
})

async function matrix(cases) {
  assert.ok(cases.length > 0)
  for (const m of MODES) V.assertSame(await V.runBoth(pools, cases, m), cases, m.label, { checkKinds: true })
}

for (const [name, cases] of Object.entries(V.SCALARS)) {
  test(`${name}: ${cases.length} values decode like pg`, () => matrix(cases))
}

test('NULL of every scalar type is null', () => matrix(V.SCALAR_NULLS))

test('enums, composite types, domains and citext decode like pg', async () => {
  if (!fx.citext) await V.assertNoCitext()
  await matrix(V.fixtureCases(fx))
})

test('bytea with bytea_output = escape decodes like pg (and to the same bytes as hex)', async () => {
  const cases = [...V.SCALARS.bytea, { sql: `'\\x5c30303101'::bytea`, kind: 'Buffer' }, { sql: `E'\\\\134'::bytea`, kind: 'Buffer' }]
  const setup = ["SET bytea_output = 'escape'"]
  const escaped = await V.runBoth(pools, cases, { setup })
  V.assertSame(escaped, cases, 'bytea_output escape', { checkKinds: true })
  V.assertSame(await V.runBoth(pools, cases, { setup, rowMode: 'array' }), cases, "bytea_output escape, rowMode 'array'")
  const hex = await V.runBoth(pools, cases, {})
  for (let i = 0; i < cases.length; i++) assert.deepStrictEqual(escaped.ours[i].rows, hex.ours[i].rows, cases[i].sql)
})

test('several columns of mixed types in one row, duplicate names', async () => {
  const all = [...Object.values(V.SCALARS).flat()]
  const cases = [
    { text: `SELECT ${all.map((c, i) => `${c.sql} AS c${i}`).join(', ')}` },
    { text: `SELECT 1::int8 AS a, 'x'::text AS a, NULL::bool AS a, '{1}'::int4[] AS b` },
    { text: `SELECT * FROM (VALUES (1, 'a'::text, 1.5::float8), (NULL, NULL, 'NaN'), (3, '', '-0')) t(i, s, f)` },
  ]
  for (const m of MODES) V.assertSame(await V.runBoth(pools, cases, m), cases, m.label)
})
