'use strict'
// Value parity under session settings: TimeZone, DateStyle, IntervalStyle,
// extra_float_digits and bytea_output, each SET on a checked-out client of pg.Pool and of
// LeakDetectingPool, then the affected cases (dates, times, intervals, floats, geometry,
// bytea, money, numeric, and arrays of them) compared value by value — with object rows and
// rowMode 'array', and for TimeZone also under several process time zones (TZ).

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const V = require('./helpers/values')

let pools
before(async () => {
  pools = await V.openPools()
})
after(async () => {
  if (pools) await V.closePools(pools)
})

const DATETIME_ARRAYS = V.group('arrayish', [
  "ARRAY['2020-01-01'::date, 'infinity', '0001-01-01 BC', NULL]",
  "ARRAY['2020-01-01 12:34:56.789012'::timestamp, '-infinity', '0044-03-15 12:00:00 BC', NULL]",
  "ARRAY['2020-01-01 12:34:56.789012+00'::timestamptz, 'infinity', '1800-01-01 00:00:00+00', '0001-01-01 00:00:00+00 BC', NULL]",
  "ARRAY['12:34:56.5'::time, NULL]",
  "ARRAY['12:34:56+05:30'::timetz, NULL]",
  "ARRAY['1 year 2 mons 3 days 04:05:06.789'::interval, '-00:00:00.5', '-1 year +2 mons -3 days', NULL]",
  "'[2020-01-01 00:00:00+00,2020-02-01 00:00:00+00)'::tstzrange",
  "ARRAY['[2020-01-01,2020-02-01)'::daterange]",
])
const DATETIME = [...V.DATES, ...V.TIMESTAMPS, ...V.TIMESTAMPTZS, ...V.TIMES, ...V.INTERVALS.slice(0, 12), ...DATETIME_ARRAYS]
const BYTEA = [
  ...V.SCALARS.bytea,
  ...V.group('arrayish', [
    "ARRAY['\\x00ff5c22'::bytea, '', NULL, 'a\"b\\\\c'::bytea]",
    `ARRAY[${V.ALL_BYTES}]`,
    '\'{{"\\\\\\\\x01"},{"\\\\\\\\x0203"}}\'::bytea[]',
  ]),
]
const NUMERIC = [
  ...V.SCALARS.numeric,
  ...V.SCALARS.money,
  ...V.group('arrayish', ["'{1.50,NaN,-0.001}'::numeric[]", 'ARRAY[1.5::money, NULL]']),
]

/** Runs `cases` after SET name = value, checking that the setting took effect on both pools. */
async function underSetting(settings, cases, { tzs = ['UTC'], modes = [{}, { rowMode: 'array' }] } = {}) {
  const setup = Object.entries(settings).map(([k, v]) => `SET ${k} = ${typeof v === 'number' ? v : `'${v}'`}`)
  const probes = Object.keys(settings).map((k) => ({ name: `current_setting('${k}')`, sql: `current_setting('${k}')`, kind: 'string' }))
  const all = [...probes, ...cases]
  for (const tz of tzs) {
    await V.withTZ(tz, async () => {
      for (const m of modes) {
        const label = `${setup.join('; ')}; TZ=${tz}${m.rowMode ? `; rowMode ${m.rowMode}` : ''}`
        const r = await V.runBoth(pools, all, { ...m, setup })
        V.assertSame(r, all, label)
        Object.entries(settings).forEach(([k, v], i) => {
          const row = r.ours[i].raw[0]
          const shown = String(Array.isArray(row) ? row[0] : row.v)
          assert.ok(shown.toLowerCase().startsWith(String(v).split(',')[0].toLowerCase()), `${k}: SET ${v} but the session shows ${shown}`)
        })
      }
    })
  }
}

for (const zone of ['UTC', 'Asia/Kolkata', 'America/St_Johns', 'America/New_York', 'Europe/Amsterdam', 'Pacific/Chatham']) {
  test(`TimeZone ${zone}`, () => underSetting({ TimeZone: zone }, DATETIME, { tzs: ['UTC', 'Asia/Kolkata', 'America/St_Johns'] }))
}

for (const style of ['ISO, DMY', 'ISO, YMD', 'SQL, MDY', 'SQL, DMY', 'German', 'Postgres', 'Postgres, DMY']) {
  test(`DateStyle ${style}`, () =>
    underSetting({ DateStyle: style, TimeZone: 'America/St_Johns' }, DATETIME, { tzs: ['UTC', 'America/St_Johns'] }))
}

for (const style of ['postgres', 'postgres_verbose', 'sql_standard', 'iso_8601']) {
  test(`IntervalStyle ${style}`, () => underSetting({ IntervalStyle: style }, [...V.INTERVALS, ...DATETIME_ARRAYS]))
}

for (const digits of [0, 1, 3, -15]) {
  test(`extra_float_digits ${digits}`, () => underSetting({ extra_float_digits: digits }, V.FLOATISH))
}

for (const output of ['escape', 'hex']) {
  test(`bytea_output ${output}`, () => underSetting({ bytea_output: output }, BYTEA))
}

test('lc_monetary and everything at once', async () => {
  await underSetting({ lc_monetary: 'C' }, NUMERIC)
  await underSetting(
    { TimeZone: 'Asia/Kolkata', DateStyle: 'SQL, DMY', IntervalStyle: 'sql_standard', extra_float_digits: -15, bytea_output: 'escape' },
    [...DATETIME, ...V.FLOATISH, ...BYTEA, ...NUMERIC],
    { tzs: ['America/St_Johns'] }
  )
})
