'use strict'
// Case catalog: arrays of every kind, of the fixtures' types too.

const { group, nulls } = require('./harness')
const { ALL_BYTES } = require('./scalars')

const TEXTY = `ARRAY['a"b', E'c\\\\d', 'e,f', '{g}', 'NULL', '', ' sp ', 'ü 🎉', E'tab\\t', E'nl\\n', 'semi;colon', '}', '"', E'\\\\']`

function arrayCases(fx) {
  const S = fx && fx.schema
  const list = [
    ...group('arrayish', [
      "'{}'::int4[]",
      "'{1,2,3}'::int4[]",
      "'{{1,2},{3,4}}'::int4[]",
      "'{{{1},{2}},{{3},{4}}}'::int4[]",
      "'[2:3]={1,2}'::int4[]",
      "'[0:1][1:2]={{1,2},{3,4}}'::int4[]",
      "'[-5:-4]={NULL,7}'::int4[]",
      "'{NULL}'::int4[]",
      'ARRAY[NULL, NULL]::int4[]',
      'ARRAY[1, NULL, 3]',
      "'{{NULL,NULL},{NULL,NULL}}'::int4[]",
      "'{32767,-32768}'::int2[]",
      "'{0,4294967295}'::oid[]",
      "'{1,-9223372036854775808,9223372036854775807}'::int8[]",
      "'{1.5,NaN,Infinity,-Infinity,-0}'::float4[]",
      "'{0.1,5e-324,1.7976931348623157e308,NaN,-0}'::float8[]",
      "'{1.50,NaN,123456789012345678901234567890.12}'::numeric[]",
      "'{Infinity,-Infinity,0}'::numeric[]",
      "'{t,f,NULL}'::bool[]",
      "'{{t},{f}}'::bool[]",
      `${TEXTY}::text[]`,
      `${TEXTY}::varchar[]`,
      `${TEXTY}::name[]`,
      '\'{"NULL",NULL,"null"}\'::text[]',
      '\'{"",""}\'::text[]',
      "'{{a,b},{c,d}}'::text[]",
      "'{ab,c}'::char(3)[]",
      'ARRAY[\'x\'::"char", \'y\'::"char"]',
      "ARRAY[repeat('z', 10000), 'ü']",
      "ARRAY['{\"a\":1}'::json, '[1,\"x,y\"]', NULL, 'null', E'\"str\\\\\\\\\\\\\"q\"']",
      'ARRAY[\'{"a":{"b":[1,2]}}\'::jsonb, \'"}"\', NULL]',
      '\'{{"[]","{}"},{"1","true"}}\'::jsonb[]',
      `ARRAY['\\x'::bytea, '\\x00ff'::bytea, NULL, 'abc'::bytea, ${ALL_BYTES}]`,
      '\'{{"\\\\\\\\x01"},{"\\\\\\\\x0203"}}\'::bytea[]',
      "ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, NULL]",
      "ARRAY['192.168.0.1/24'::inet, '::1', NULL]",
      "ARRAY['10.0.0.0/8'::cidr]",
      "ARRAY['08:00:2b:01:02:03'::macaddr]",
      "ARRAY['08:00:2b:01:02:03:04:05'::macaddr8]",
      'ARRAY[1.5::money, (-2)::money, NULL]',
      "ARRAY['2020-01-01'::date, 'infinity', '-infinity', '0001-01-01 BC', NULL, '10000-01-01']",
      "ARRAY['2020-01-01 12:34:56.789012'::timestamp, 'infinity', '0044-03-15 12:00:00 BC', NULL, '0050-01-01 00:00:00']",
      "ARRAY['2020-01-01 12:34:56.789012+00'::timestamptz, '-infinity', '1800-01-01 00:00:00+00', NULL, '0001-01-01 00:00:00+00 BC']",
      "'{{2020-01-01,2020-01-02},{2020-01-03,NULL}}'::date[]",
      "'[3:3]={2020-01-01}'::date[]",
      "ARRAY['12:34:56'::time, '24:00:00', NULL]",
      "ARRAY['12:34:56+05:30'::timetz, NULL]",
      "ARRAY['1 year 2 mons'::interval, '-00:00:01.5', NULL, '0']",
      "'{{1 day,2 days},{-3 hours,00:00:00.000001}}'::interval[]",
      "ARRAY['(1,2)'::point, '(NaN,-0)', NULL]",
      "ARRAY['<(1,2),3>'::circle, NULL]",
      "ARRAY['(1,1),(0,0)'::box, '(2,2),(1,1)']",
      "ARRAY['[(0,0),(1,1)]'::lseg]",
      "ARRAY['{1,2,3}'::line]",
      "ARRAY['((0,0),(1,1),(1,0))'::polygon]",
      "ARRAY['[(0,0),(1,1)]'::path]",
      "ARRAY[B'101'::bit(3), B'010']",
      "ARRAY['1010'::varbit, '']",
      "ARRAY['a fat cat'::tsvector]",
      "ARRAY['a & b'::tsquery]",
      "ARRAY['[1,10)'::int4range, 'empty', NULL]",
      "ARRAY['[1.5,2.5]'::numrange, '(,)', NULL]",
      "ARRAY['[2020-01-01,2020-02-01)'::daterange]",
      "ARRAY['[2020-01-01 00:00+00,2020-01-02 00:00+00)'::tstzrange]",
      "ARRAY['{[1,3),[5,7)}'::int4multirange, '{}']",
      "ARRAY['<a>1</a>'::xml, NULL]",
      "ARRAY['pg_class'::regclass, 'pg_type'::regclass]",
      "ARRAY['sum(int4)'::regprocedure]",
      "'{int4,text}'::regtype[]",
      "ARRAY['array_in'::regproc]",
      "ARRAY['0/16B6C50'::pg_lsn]",
      "ARRAY['(0,1)'::tid]",
      "ARRAY[ROW(1, 'a'), ROW(2, 'b,c')]",
      "ARRAY['1 2'::int2vector]",
      '(SELECT array_agg(g ORDER BY g) FROM generate_series(1, 1000) g)',
      'array_fill(7, ARRAY[2, 3], ARRAY[0, -1])',
      "array_fill('x'::text, ARRAY[2, 2, 2])",
      "'{{{{{{1}}}}}}'::int4[]",
      "ARRAY[[1.5::float8, 'NaN'::float8], [NULL, '-Infinity'::float8]]",
      'ARRAY[\'{"k":"v"}\'::json]::json[]',
    ]),
    ...nulls([
      'int4[]',
      'text[]',
      'json[]',
      'bytea[]',
      'timestamptz[]',
      'interval[]',
      'point[]',
      'numeric[]',
      'int8[]',
      'bool[]',
      'date[]',
    ]),
  ]
  if (S) {
    list.push(
      ...group('arrayish', [
        `ARRAY['happy'::${S}.mood, 'with space', 'quote''s', 'comma,brace{', 'NULL', '', NULL]`,
        `ARRAY[ROW(1, 'x', NULL, '{1,2}', 'ok', '{"a":"b,c"}')::${S}.comp, NULL]`,
        `ARRAY[1::${S}.posint, 2]`,
        `ARRAY['2020-01-01 00:00:00+00'::${S}.dts]`,
      ])
    )
  }
  return list
}

module.exports = { arrayCases }
