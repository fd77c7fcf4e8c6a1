'use strict'
// Value parity, geometric types (point → {x, y}, circle → {x, y, radius}, line, lseg, box,
// path, polygon as text), ranges and multiranges (text) — decoded by pg.Pool and
// LeakDetectingPool and compared value by value, under several extra_float_digits settings.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const V = require('./helpers/values')

const MODES = [
  { label: 'object rows, simple protocol' },
  { label: "rowMode 'array'", rowMode: 'array' },
  { label: 'extended protocol', queryMode: 'extended' },
]

let pools
before(async () => {
  pools = await V.openPools()
})
after(async () => {
  if (pools) await V.closePools(pools)
})

test(`geometry: ${V.GEOMETRY.length} values decode like pg`, async () => {
  for (const m of MODES) V.assertSame(await V.runBoth(pools, V.GEOMETRY, m), V.GEOMETRY, m.label, { checkKinds: true })
  for (const digits of [0, 3, -15]) {
    const setup = [`SET extra_float_digits = ${digits}`]
    V.assertSame(await V.runBoth(pools, V.GEOMETRY, { setup }), V.GEOMETRY, `extra_float_digits ${digits}`, { checkKinds: true })
  }
})

test('point and circle become the objects pg makes', async () => {
  const cases = [{ sql: "'(1.5,-2)'::point" }, { sql: "'<(1,2),3.25>'::circle" }]
  const r = await V.runBoth(pools, cases, {})
  V.assertSame(r, cases, 'shapes')
  assert.deepStrictEqual(r.ours[0].raw[0].v, { x: 1.5, y: -2 })
  assert.deepStrictEqual(r.ours[1].raw[0].v, { x: 1, y: 2, radius: 3.25 })
})

test(`ranges and multiranges: ${V.RANGES.length} values decode like pg`, async () => {
  for (const m of MODES) V.assertSame(await V.runBoth(pools, V.RANGES, m), V.RANGES, m.label, { checkKinds: true })
  const setup = ["SET TimeZone = 'Asia/Kolkata'", "SET DateStyle = 'SQL, DMY'"]
  V.assertSame(await V.runBoth(pools, V.RANGES, { setup }), V.RANGES, 'TimeZone Asia/Kolkata, DateStyle SQL', { checkKinds: true })
})
