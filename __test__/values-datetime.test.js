'use strict'
// Value parity, date/time types: date, timestamp, timestamptz (infinity, BC, microseconds,
// years 0-99 and 10000+, beyond the JS Date range, DST gaps and overlaps, local mean time
// offsets with seconds), time, timetz and interval (mixed signs, extremes) — decoded by pg.Pool
// and LeakDetectingPool under several process time zones (TZ) and compared value by value
// (Dates by getTime() and toISOString(), intervals by fields and toPostgres()/toISO()).
// Server-side TimeZone / DateStyle / IntervalStyle variations are in values-session.test.js.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const V = require('./helpers/values')

const MODES = [
  { label: 'object rows, simple protocol' },
  { label: "rowMode 'array'", rowMode: 'array' },
  { label: 'extended protocol', queryMode: 'extended' },
]
const PROCESS_TZS = ['UTC', 'America/St_Johns', 'Asia/Kolkata', 'Europe/Amsterdam', 'America/New_York', 'Pacific/Kiritimati']

let pools
before(async () => {
  pools = await V.openPools()
})
after(async () => {
  if (pools) await V.closePools(pools)
})

async function matrix(cases, tzs = PROCESS_TZS) {
  assert.ok(cases.length > 0)
  for (const tz of tzs) {
    await V.withTZ(tz, async () => {
      for (const m of MODES) V.assertSame(await V.runBoth(pools, cases, m), cases, `TZ=${tz}, ${m.label}`, { checkKinds: true })
    })
  }
}

test(`date: ${V.DATES.length} values`, () => matrix(V.DATES))
test(`timestamp: ${V.TIMESTAMPS.length} values`, () => matrix(V.TIMESTAMPS))
test(`timestamptz: ${V.TIMESTAMPTZS.length} values`, () => matrix(V.TIMESTAMPTZS))
test(`time and timetz: ${V.TIMES.length} values`, () => matrix(V.TIMES, ['UTC']))
test(`interval: ${V.INTERVALS.length} values`, () => matrix(V.INTERVALS, ['UTC']))
test('NULL of every date/time type is null', () => matrix(V.DATETIME_NULLS, ['UTC']))

test('the decoded Dates are the right instants (not only the same on both pools)', async () => {
  const cases = [
    { sql: "'2020-01-01 12:34:56.789012+00'::timestamptz", iso: '2020-01-01T12:34:56.789Z' },
    { sql: "'0044-03-15 12:00:00+00 BC'::timestamptz", iso: '-000043-03-15T12:00:00.000Z' },
    { sql: "'0010-03-04 05:06:07+00'::timestamptz", iso: '0010-03-04T05:06:07.000Z' },
    { sql: "'10000-01-01 00:00:00+00'::timestamptz", iso: '+010000-01-01T00:00:00.000Z' },
    { sql: "'2020-06-01 12:00:00+05:30'::timestamptz", iso: '2020-06-01T06:30:00.000Z' },
  ]
  await V.withTZ('Asia/Kolkata', async () => {
    const r = await V.runBoth(pools, cases, {})
    V.assertSame(r, cases, 'instants')
    cases.forEach((c, i) => assert.equal(r.ours[i].raw[0].v.toISOString(), c.iso, c.sql))
    // A timestamp without zone is local time.
    const local = await V.runBoth(pools, [{ sql: "'2020-01-01 00:00:00'::timestamp" }], {})
    assert.equal(local.ours[0].raw[0].v.toISOString(), '2019-12-31T18:30:00.000Z')
  })
})
