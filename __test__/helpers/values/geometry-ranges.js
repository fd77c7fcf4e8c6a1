'use strict'
// Case catalog: the geometric types, ranges and multiranges.

const { group, nulls } = require('./harness')

const GEOMETRY = [
  ...group('object', [
    "'(1,2)'::point",
    "'(-1.5e10, 3.25)'::point",
    "'(NaN, Infinity)'::point",
    'point(0.1, -0.0)',
    "'(1e-300,1e300)'::point",
    'point(1.0/3, 2.0/3)',
  ]),
  ...group('object', [
    "'<(1,2),3>'::circle",
    "'<(0,0),0>'::circle",
    "'<(1e300,-1e-300),1.5>'::circle",
    'circle(point(0.1, 0.2), 0.3)',
    "'((1,2),3)'::circle",
  ]),
  ...group('string', [
    "'{1,2,3}'::line",
    "'[(0,0),(1,1)]'::line",
    "'[(0,0),(1,1)]'::lseg",
    "'((0.1,0.2),(0.3,0.4))'::lseg",
    "'(1,1),(0,0)'::box",
    "'((2.5,-1),(0,3))'::box",
    "'[(0,0),(1,1),(2,0)]'::path",
    "'((0,0),(1,1))'::path",
    "'((0,0),(1,1),(1,0))'::polygon",
    "polygon(4, circle('<(0,0),1>'))",
  ]),
  ...nulls(['point', 'circle', 'line', 'lseg', 'box', 'path', 'polygon']),
]

const RANGES = [
  ...group('string', [
    "'[1,10)'::int4range",
    "'empty'::int4range",
    "'(,)'::int4range",
    "'[1,)'::int4range",
    "'(,5]'::int4range",
    'int8range(-9223372036854775807, 9223372036854775807)',
    "'[1.5,2.5]'::numrange",
    'numrange(NULL, 1e30)',
    "'[2020-01-01 00:00:00+00,2020-02-01 00:00:00+00)'::tstzrange",
    "'[-infinity,infinity]'::tstzrange",
    "'[2020-01-01,2020-02-01)'::daterange",
    "'(2020-01-01,2020-02-01]'::daterange",
    "'[2020-01-01 12:00,2020-01-01 13:00)'::tsrange",
    "'{[1,3),[5,7)}'::int4multirange",
    "'{}'::int4multirange",
    "'{[1.5,2), (3,4]}'::nummultirange",
    "'{[2020-01-01,2020-02-01)}'::datemultirange",
    "'{[2020-01-01 00:00+00,2020-01-02 00:00+00)}'::tstzmultirange",
    "'{(,5), [10,)}'::int8multirange",
    'int4multirange()',
  ]),
  ...nulls(['int4range', 'numrange', 'tstzrange', 'daterange', 'int4multirange', 'datemultirange']),
]

module.exports = { GEOMETRY, RANGES }
