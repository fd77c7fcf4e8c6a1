'use strict'
// Value parity, arrays: arrays of every kind of element (numbers, int8/numeric strings, text
// with quotes, backslashes, commas, braces, "NULL" and empty strings, json/jsonb, bytea,
// dates with infinity and BC, intervals, geometry, ranges, enums, composites, domains …),
// multi-dimensional, empty, with NULL elements and non-default lower bounds — decoded by
// pg.Pool and LeakDetectingPool and compared value by value.

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
  fx = await V.createFixtures()
  pools = await V.openPools()
})
after(async () => {
  if (pools) await V.closePools(pools)
  if (fx) await fx.drop()
})

test('arrays of every element type decode like pg', async () => {
  const cases = V.arrayCases(fx)
  assert.ok(cases.length > 80)
  for (const tz of ['UTC', 'America/St_Johns']) {
    await V.withTZ(tz, async () => {
      for (const m of MODES) V.assertSame(await V.runBoth(pools, cases, m), cases, `TZ=${tz}, ${m.label}`, { checkKinds: true })
    })
  }
})

test('an array of every scalar, date/time and geometry case (ARRAY[x, NULL, x]) decodes like pg', async () => {
  // Element types whose arrays cannot be built this way: void, records, unknown literals and
  // a domain over an array (no array type).
  const skip = /pg_sleep|^ROW\(|^'abc'$|^'now'::text::unknown|dintarr/
  const scalars = [...V.scalarCases(fx)].filter((c) => c.kind !== 'null' && !skip.test(c.sql))
  const cases = scalars.map((c) => ({ sql: `ARRAY[${c.sql}, NULL, ${c.sql}]`, kind: 'arrayish' }))
  assert.ok(cases.length > 250)
  for (const m of MODES) V.assertSame(await V.runBoth(pools, cases, m), cases, m.label, { checkKinds: true })
  const nested = scalars.map((c) => ({
    text: `SELECT (ARRAY[[${c.sql}, NULL], [NULL, ${c.sql}]]) AS v, array_lower(ARRAY[[${c.sql}]], 1) AS lo`,
    kind: 'arrayish',
  }))
  V.assertSame(await V.runBoth(pools, nested, {}), nested, '2-D', { checkKinds: true })
  const shifted = scalars.map((c) => ({ text: `SELECT v FROM (SELECT ARRAY[${c.sql}, NULL] AS v) t`, kind: 'arrayish' }))
  V.assertSame(await V.runBoth(pools, shifted, { rowMode: 'array' }), shifted, 'subselect')
})

test('array parsing edge cases: what pg returns, we return', async () => {
  const cases = V.group('arrayish', [
    String.raw`'{"a\\b"}'::text[]`,
    String.raw`'{"\""}'::text[]`,
    String.raw`'{a b," c "}'::text[]`,
    String.raw`'{{"{}"}}'::text[]`,
    String.raw`'{"\\x00"}'::bytea[]`,
    String.raw`'{\\x41}'::bytea[]`,
    `'[1:1][3:4]={{a,b}}'::text[]`,
    `'{NULL,"NULL",null,Null}'::text[]`,
    `'{ 1 , 2 }'::int4[]`,
    `'{" 1 "}'::int4[]`,
    `'{"2020-01-01 00:00:00+00",infinity}'::timestamptz[]`,
    String.raw`'{"{\"a\":1}"}'::json[]`,
    `ARRAY[ARRAY['x','y'],ARRAY['z',NULL]]`,
    String.raw`'{"a\,b", c\"d}'::text[]`,
    `'{{"a,b"},{"c}d"}}'::varchar[]`,
    `'{" ","  x  "}'::bpchar[]`,
    `'{}'::text[]`,
    `'{{1},{2}}'::int4[]`,
    `'{"",NULL,""}'::json[]`.replace(`""`, `"1"`).replace(`""`, `"2"`),
  ])
  for (const m of MODES) V.assertSame(await V.runBoth(pools, cases, m), cases, m.label, { checkKinds: true })
})
