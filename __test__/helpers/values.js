'use strict'
// The value parity harness (values/harness.js: pools, running cases on both, comparing) and the
// case catalogs the values-*.test.js files share, one file per group of types (values/*.js).

const harness = require('./values/harness')
const fixtures = require('./values/fixtures')
const scalars = require('./values/scalars')
const datetime = require('./values/datetime')
const geometryRanges = require('./values/geometry-ranges')
const arrays = require('./values/arrays')
const { group } = harness
const { SCALARS } = scalars
const { DATES, TIMESTAMPS, TIMESTAMPTZS, TIMES, INTERVALS } = datetime
const { GEOMETRY, RANGES } = geometryRanges
const { fixtureCases } = fixtures

const FLOATISH = [
  ...SCALARS.float4,
  ...SCALARS.float8,
  ...GEOMETRY.slice(0, 11),
  ...group('array', ["'{1.5,0.1,NaN,-0,3.4028235e38}'::float4[]", "'{0.1,5e-324,1e21}'::float8[]", 'ARRAY[point(0.1, 0.2)]']),
  ...group('string', [
    "'(0.1,0.2),(0.3,0.4)'::box",
    'circle(point(0.1, 0.2), 0.3)::text',
    "'[0.1,0.7)'::numrange",
    '(0.1::float8)::text',
    "'{0.1,0.2,0.3}'::line",
  ]),
]

/** Every scalar case: the built-in types, dates and times, geometry, ranges, the fixtures'. */
function scalarCases(fx) {
  return [
    ...Object.values(SCALARS).flat(),
    ...DATES,
    ...TIMESTAMPS,
    ...TIMESTAMPTZS,
    ...TIMES,
    ...INTERVALS,
    ...GEOMETRY,
    ...RANGES,
    ...fixtureCases(fx),
  ]
}

module.exports = {
  ...harness,
  ...fixtures,
  ...scalars,
  ...datetime,
  ...geometryRanges,
  ...arrays,
  FLOATISH,
  scalarCases,
}
