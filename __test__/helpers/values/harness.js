'use strict'
// Value parity harness for the values-*.test.js files: one pg.Pool and one LeakDetectingPool
// on the shared test database, cases run on a checked-out client of each (after optional
// session SETs), outcomes compared value by value.
//
//   const pools = await openPools()
//   const r = await runBoth(pools, cases, { setup: ["SET TimeZone = 'Asia/Kolkata'"] })
//   assertSame(r, cases, 'TimeZone Asia/Kolkata')
//   await closePools(pools)
//
// A case is { sql, kind? } (run as `SELECT <sql> AS v`) or { text, values?, kind? }.
// `kind` is what pg's value must be ('boolean', 'number', 'string', 'Date', 'Buffer',
// 'interval', 'object', 'array', 'null'; 'arrayish': an array where pg-types parses the
// column's array type, else a string), so a case that stops testing what it was written for
// (both pools return null, say) fails too.
//
// Comparable form (`describe`): Dates by getTime() and exact toISOString(), Buffers by bytes,
// interval objects by their own fields plus toPostgres()/toISO()/toISOString() and constructor
// name, other objects by constructor name and own fields; numbers compared with Object.is
// (NaN equals NaN, -0 differs from 0).

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { inspect } = require('node:util')
const pg = require('pg')
const pgTypes = require('pg-types')
const { LeakDetectingPool } = require('../../..')
const { findDatabase } = require('../db')

async function dbConfig(options = {}) {
  return { ...(await findDatabase()), ...options }
}

/** { pg, ours }: a pool of each kind on the test database (same options). */
async function openPools(options = {}) {
  const cfg = await dbConfig({ max: 2, ...options })
  return { pg: new pg.Pool(cfg), ours: new LeakDetectingPool(cfg) }
}

async function closePools(pools) {
  await Promise.all([pools.pg.end(), pools.ours.end()])
}

function ctorName(v) {
  const proto = Object.getPrototypeOf(v)
  if (proto === null) return 'null-prototype'
  return proto.constructor ? proto.constructor.name : 'unknown'
}

function describe(v) {
  if (v === undefined) return { $undefined: true }
  if (v === null || typeof v !== 'object') return v
  if (v instanceof Date) {
    const t = v.getTime()
    return { $date: t, iso: Number.isNaN(t) ? 'Invalid Date' : v.toISOString() }
  }
  if (Buffer.isBuffer(v)) return { $bytes: v.toString('hex') }
  if (Array.isArray(v)) return v.map(describe)
  const out = { $ctor: ctorName(v) }
  for (const k of Object.keys(v)) out[k] = describe(v[k])
  if (typeof v.toPostgres === 'function') {
    out['toPostgres()'] = v.toPostgres()
    if (typeof v.toISO === 'function') out['toISO()'] = v.toISO()
    if (typeof v.toISOString === 'function') out['toISOString()'] = v.toISOString()
  }
  return out
}

function kindOf(v) {
  if (v === null) return 'null'
  if (v instanceof Date) return 'Date'
  if (Buffer.isBuffer(v)) return 'Buffer'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'object' && typeof v.toPostgres === 'function') return 'interval'
  return typeof v
}

function describeError(e) {
  return { $error: e instanceof Error ? e.constructor.name : typeof e, message: e && e.message, code: e && e.code }
}

const NO_PARSER = pgTypes.getTypeParser(-1, 'text')

function caseText(c) {
  return c.text || `SELECT ${c.sql} AS v`
}

function caseLabel(c) {
  return c.name || caseText(c) + (c.values ? ` ${inspect(c.values, { depth: 4, breakLength: Infinity })}` : '')
}

function fieldShape(f) {
  return [f.name, f.dataTypeID, f.dataTypeSize, f.dataTypeModifier, f.format]
}

/** Runs the query of each case on one checked-out client of `pool`; returns the outcomes. */
async function runOn(pool, cases, opts = {}) {
  const { setup = [], rowMode, queryMode, types } = opts
  const client = await pool.connect()
  let ok = false
  try {
    for (const s of setup) await client.query(s)
    const out = []
    for (const c of cases) {
      const q = { text: caseText(c) }
      if (c.values) q.values = c.values
      if (rowMode) q.rowMode = rowMode
      if (queryMode) q.queryMode = queryMode
      if (c.types || types) q.types = c.types || types
      try {
        const r = await client.query(q)
        out.push({
          raw: r.rows,
          rows: r.rows.map(describe),
          keys: r.rows.map((row) => Object.keys(row)),
          fields: r.fields.map(fieldShape),
          command: r.command,
          rowCount: r.rowCount,
        })
      } catch (e) {
        out.push({ error: describeError(e), rawError: e })
      }
    }
    ok = true
    return out
  } finally {
    // Session settings must not leak into the pool: destroy connections that were SET.
    client.release(setup.length > 0 || !ok ? true : undefined)
  }
}

/** Runs `cases` on both pools (pg first); { pg, ours } arrays of outcomes. */
async function runBoth(pools, cases, opts = {}) {
  const pgOut = await runOn(pools.pg, cases, opts)
  const ours = await runOn(pools.ours, cases, opts)
  return { pg: pgOut, ours }
}

function strip(o) {
  const { raw, rawError, ...rest } = o
  return rest
}

/**
 * Asserts every case came out the same on both pools, that pg did not fail on it (a case with
 * `error: true` must fail, one with `error: 'either'` may), and — with `checkKinds` — that pg's first-row value `v` (or
 * first column) has the case's `kind`. Reports up to 10 mismatches at once.
 */
function assertSame(r, cases, label, { checkKinds = false } = {}) {
  assert.equal(r.pg.length, cases.length)
  assert.equal(r.ours.length, cases.length)
  const problems = []
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]
    const a = strip(r.ours[i])
    const b = strip(r.pg[i])
    const where = `[${label}] ${caseLabel(c)}`
    if (!c.error && b.error) {
      problems.push(`${where}: pg failed: ${b.error.message}`)
      continue
    }
    if (c.error === true && !b.error) problems.push(`${where}: expected an error from pg`)
    try {
      assert.deepStrictEqual(a, b)
    } catch (err) {
      problems.push(
        `${where}:\n  ours: ${inspect(a, { depth: 8, breakLength: Infinity })}\n  pg:   ${inspect(b, { depth: 8, breakLength: Infinity })}`
      )
      continue
    }
    if (checkKinds && c.kind && !b.error) {
      const row = r.pg[i].raw[0]
      const v = Array.isArray(row) ? row[0] : row && ('v' in row ? row.v : row[Object.keys(row)[0]])
      let kind = c.kind
      // 'arrayish': an array if pg-types has a parser for the column's type, else its text.
      if (kind === 'arrayish') kind = pgTypes.getTypeParser(b.fields[0][1], 'text') === NO_PARSER ? 'string' : 'array'
      if (kindOf(v) !== kind) problems.push(`${where}: pg's value ${inspect(v)} is a ${kindOf(v)}, the case expects a ${kind}`)
    }
  }
  if (problems.length) {
    assert.fail(`${problems.length} of ${cases.length} cases differ:\n${problems.slice(0, 10).join('\n')}`)
  }
}

/**
 * Builds cases from a table: group(kind, [sql, ...]) -> [{ sql, kind }]; an entry may be
 * [sql, kind] to override the group's kind.
 */
function group(kind, list) {
  return list.map((e) => (Array.isArray(e) ? { sql: e[0], kind: e[1] } : { sql: e, kind }))
}

/** NULL of each type. */
function nulls(typeNames) {
  return typeNames.map((t) => ({ sql: `NULL::${t}`, kind: 'null' }))
}

/** Runs `fn` with process.env.TZ set to `tz` (Node re-reads it on change). */
async function withTZ(tz, fn) {
  const saved = process.env.TZ
  process.env.TZ = tz
  try {
    return await fn()
  } finally {
    if (saved === undefined) delete process.env.TZ
    else process.env.TZ = saved
  }
}

/** Deterministic PRNG (mulberry32): rng(seed)() -> [0, 1). */
function rng(seed) {
  let s = seed >>> 0
  return function next() {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// ---------------------------------------------------------------------------------------
// Fixtures: an enum, composite types and domains in a schema unique to this process, and (with
// { citext: true }, if the server has it) the citext extension. Created once, before both
// pools run, so both see the same type oids; dropped (CASCADE) afterwards.
//
// An extension exists once per database, so test processes sharing the database take turns:
// an advisory lock, held from before citext is installed until after it is dropped,
// serializes them (a citext someone installed for good is simply used).

const CITEXT_LOCK = 'ldp-values-citext'

async function createFixtures({ citext: wantCitext = false } = {}) {
  const S = `ldp_values_${process.pid}_${crypto.randomBytes(3).toString('hex')}`
  const admin = new pg.Client(await dbConfig({ application_name: 'ldp-values-fixtures' }))
  await admin.connect()
  let locked = false
  const cleanup = async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${S} CASCADE`)
    if (locked) await admin.query('SELECT pg_advisory_unlock(hashtext($1))', [CITEXT_LOCK])
  }
  try {
    await admin.query(`CREATE SCHEMA ${S}`)
    await admin.query(
      `CREATE TYPE ${S}.mood AS ENUM ('sad', 'ok', 'happy', 'with space', 'quote''s', 'comma,brace{', 'ünï 🎉', 'NULL', '')`
    )
    await admin.query(`CREATE TYPE ${S}.comp AS (a int4, b text, c timestamptz, d int4[], e ${S}.mood, f jsonb)`)
    await admin.query(`CREATE TYPE ${S}.inner_comp AS (x float8, y ${S}.comp)`)
    await admin.query(`CREATE DOMAIN ${S}.posint AS int4 CHECK (VALUE > 0)`)
    await admin.query(`CREATE DOMAIN ${S}.dtext AS text`)
    await admin.query(`CREATE DOMAIN ${S}.dint8 AS int8`)
    await admin.query(`CREATE DOMAIN ${S}.dts AS timestamptz`)
    await admin.query(`CREATE DOMAIN ${S}.dintarr AS int4[]`)
    await admin.query(`CREATE DOMAIN ${S}.djson AS jsonb`)
    await admin.query(`CREATE DOMAIN ${S}.dbytea AS bytea`)
    await admin.query(`CREATE DOMAIN ${S}.dinterval AS interval`)
    let citext = null
    if (wantCitext) {
      const a = await admin.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'citext'`)
      if (a.rows.length) {
        await admin.query('SELECT pg_advisory_lock(hashtext($1))', [CITEXT_LOCK])
        locked = true
        const installed = await admin.query(
          `SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'citext'`
        )
        if (installed.rows.length) {
          citext = `${installed.rows[0].nspname}.citext`
        } else {
          await admin.query(`CREATE EXTENSION citext WITH SCHEMA ${S}`) // dropped with the schema
          citext = `${S}.citext`
        }
      }
    }
    const oids = {}
    const t = await admin.query(
      `SELECT t.typname, t.oid::int AS oid, t.typarray::int AS arr FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1`,
      [S]
    )
    for (const row of t.rows) oids[row.typname] = { oid: row.oid, array: row.arr }
    let dropped = false
    return {
      schema: S,
      citext,
      oids,
      async drop() {
        if (dropped) return
        dropped = true
        try {
          await cleanup()
        } finally {
          await admin.end()
        }
      },
    }
  } catch (err) {
    await cleanup().catch(() => {})
    await admin.end().catch(() => {})
    throw err
  }
}

/** Asserts citext is really unavailable on this server (so its cases may be left out). */
async function assertNoCitext() {
  const admin = new pg.Client(await dbConfig())
  await admin.connect()
  try {
    const r = await admin.query(`SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'citext'`)
    assert.equal(r.rows[0].n, 0, 'citext is available but its cases were not run')
  } finally {
    await admin.end()
  }
}

// ---------------------------------------------------------------------------------------
// Case catalogs (shared by the values-*.test.js files)

const ALL_BYTES = `(SELECT decode(string_agg(lpad(to_hex(g), 2, '0'), '' ORDER BY g), 'hex') FROM generate_series(0, 255) g)`

const SCALARS = {
  bool: group('boolean', ['true', 'false', "'yes'::bool", "'off'::bool", "'t'::boolean", "'0'::bool", '1 = 1', 'NOT true']),
  int2: group('number', ['0::int2', '1::int2', '-1::int2', '32767::int2', '(-32768)::int2', "'  42  '::int2"]),
  int4: group('number', ['0', '2147483647', '(-2147483647 - 1)::int4', '123456::int4', '-7::int4', "length('abc')"]),
  int8: group('string', [
    '0::int8',
    '9223372036854775807::int8',
    '(-9223372036854775807 - 1)::int8',
    '9007199254740993::int8',
    '-9007199254740993::int8',
    '1::int8',
    '(SELECT count(*) FROM generate_series(1, 3))',
    '(2::int8 ^ 62::int8)::int8',
  ]),
  oid: group('number', ['0::oid', '4294967295::oid', "'pg_class'::regclass::oid", '1::oid']),
  float4: group('number', [
    '0::float4',
    "'-0'::float4",
    "'NaN'::float4",
    "'Infinity'::float4",
    "'-Infinity'::float4",
    '3.4028235e38::float4',
    '1.4e-45::float4',
    '1.17549435e-38::float4',
    '0.1::float4',
    '123456.7::float4',
    '-1.5::float4',
    '16777217::float4',
    '1e-10::float4',
  ]),
  float8: group('number', [
    '0::float8',
    "'-0'::float8",
    "'NaN'::float8",
    "'Infinity'::float8",
    "'-Infinity'::float8",
    '1.7976931348623157e308::float8',
    '5e-324::float8',
    '2.2250738585072014e-308::float8',
    '0.1::float8',
    '(1::float8 / 3)',
    'pi()',
    '1e21::float8',
    '1e-7::float8',
    '123456789.123456789::float8',
    '-1.5::float8',
    '9007199254740993::float8',
    '0.1::float8 + 0.2::float8',
  ]),
  numeric: group('string', [
    '0::numeric',
    "'NaN'::numeric",
    "'Infinity'::numeric",
    "'-Infinity'::numeric",
    '1.50::numeric',
    "'-0'::numeric",
    '1.5::numeric(10,4)',
    '123456789012345678901234567890.123456789012345678901234567890::numeric',
    "'1e-100'::numeric",
    '(2::numeric ^ 1000)',
    '(1::numeric / 3)',
    '-0.000001::numeric',
    '1e20::numeric',
    '12.345::numeric(5,2)',
    '9999999999999999999999999999999999999999::numeric(40,0)',
    'round(2.5::numeric)',
    '(SELECT sum(x) FROM (VALUES (1.1::numeric), (2.2)) t(x))',
  ]),
  text: group('string', [
    "''::text",
    "'abc'::text",
    "'ünï©ødé 🎉 日本語'::text",
    "E'tab\\there\\nnewline\\r'::text",
    "E'back\\\\slash'::text",
    "'quote\"s and ''apostrophes'''::text",
    "repeat('x', 100000)",
    "E'\\u0001\\u007f'::text",
    "'NULL'::text",
    "' '::text",
    'chr(65533) || chr(1114111)',
    "'{1,2}'::text",
    "'2020-01-01'::text",
    "'12'::text",
  ]),
  varchar: group('string', ["'abcdefg'::varchar(5)", "'x'::varchar", "''::varchar", "'ü 🎉'::varchar(2)"]),
  bpchar: group('string', ["'ab'::char(5)", "'abcdef'::char(3)", "''::char(2)", "'x'::character", "'ü'::char(3)"]),
  name: group('string', ["'pg_catalog'::name", "repeat('n', 100)::name", 'current_user']),
  char: group('string', [`'x'::"char"`, `''::"char"`, `'é'::"char"`, `E'\\\\001'::"char"`]),
  xml: group('string', [
    '\'<a b="1">text &amp; more</a>\'::xml',
    "xmlelement(name foo, 'bar & baz')",
    '\'<?xml version="1.0"?><r/>\'::xml',
  ]),
  json: group('object', [
    `'{"a":[1,2,{"b":null}],"c":"ü\\u00e9\\n\\"q\\""}'::json`,
    [`'[]'::json`, 'array'],
    [`'null'::json`, 'null'],
    [`'123.456e10'::json`, 'number'],
    [`'1e400'::json`, 'number'],
    `'{"a":1,"a":2}'::json`,
    [`'"\\u0000 nul escape"'::json`, 'string'],
    [`'"\\ud83c\\udf89"'::json`, 'string'],
    [`(repeat('[', 100) || repeat(']', 100))::json`, 'array'],
    [`'12345678901234567890'::json`, 'number'],
    [`'true'::json`, 'boolean'],
    `'  { "spaced" : [ 1 , 2 ] }  '::json`,
    `json_build_object('k', E'v\\\\w', 'n', 1.5, 'arr', ARRAY[1, NULL])`,
  ]),
  jsonb: group('object', [
    `'{"a":[1,2,{"b":null}],"c":"ü\\u00e9\\n\\"q\\""}'::jsonb`,
    [`'[]'::jsonb`, 'array'],
    [`'null'::jsonb`, 'null'],
    [`'1e400'::jsonb`, 'number'],
    `'{"a":1,"a":2}'::jsonb`,
    [`'"\\ud83c\\udf89"'::jsonb`, 'string'],
    [`'12345678901234567890.5'::jsonb`, 'number'],
    [`'-0'::jsonb`, 'number'],
    `jsonb_build_object('deep', jsonb_build_object('deeper', jsonb_build_array('x', 1, false, NULL)))`,
    [`'"plain"'::jsonb`, 'string'],
  ]),
  bytea: group('Buffer', [
    "'\\x'::bytea",
    "'abc'::bytea",
    "'\\x00ff10'::bytea",
    "E'\\\\000'::bytea",
    "'\\\\'::bytea",
    ALL_BYTES,
    "decode(repeat('ab', 50000), 'hex')",
    "convert_to('ü 🎉', 'UTF8')",
  ]),
  uuid: group('string', [
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid",
    "'00000000-0000-0000-0000-000000000000'::uuid",
    "'{A0EEBC99-9C0B4EF8-BB6D6BB9-BD380A11}'::uuid",
  ]),
  inet: group('string', [
    "'192.168.0.1'::inet",
    "'192.168.0.1/24'::inet",
    "'::1'::inet",
    "'2001:db8::1/64'::inet",
    "'::ffff:1.2.3.4'::inet",
  ]),
  cidr: group('string', ["'10.0.0.0/8'::cidr", "'2001:db8::/32'::cidr", "'192.168.1'::cidr"]),
  macaddr: group('string', ["'08:00:2b:01:02:03'::macaddr", "'0800.2b01.0203'::macaddr"]),
  macaddr8: group('string', ["'08:00:2b:01:02:03:04:05'::macaddr8", "'08:00:2b:01:02:03'::macaddr8"]),
  money: group('string', ['12.34::money', '(-1234567.89)::money', "'92233720368547758.07'::money", '0::money']),
  bit: group('string', ["B'101'::bit(3)", "B'1'::bit", "B'0000'::bit(4)", "'1'::bit(8)"]),
  varbit: group('string', ["B'1010'::varbit", "''::varbit", "repeat('10', 100)::varbit"]),
  tsvector: group('string', [
    "'a fat cat sat'::tsvector",
    "to_tsvector('english', 'The quick brown foxes jumped')",
    "$$'a b' 'c''d':1A,2B$$::tsvector",
  ]),
  tsquery: group('string', ["'fat & (rat | cat)'::tsquery", "to_tsquery('english', 'foxes & !dogs')", "'a <-> b'::tsquery"]),
  other: group('string', [
    "'pg_class'::regclass",
    "'int4'::regtype",
    "'0/16B6C50'::pg_lsn",
    "'(0,1)'::tid",
    "'10:20:10,14,15'::txid_snapshot",
    "'10:20:10,14,15'::pg_snapshot",
    "'1'::xid",
    "'sum(int4)'::regprocedure",
    "'english'::regconfig",
    "'+(int4,int4)'::regoperator",
    "'pg_catalog'::regnamespace",
    "'x'::refcursor",
    "'$.a[*] ? (@ > 1)'::jsonpath",
    "'1 2'::int2vector",
    "'1 2'::oidvector",
    "'abc'",
    "ROW(1, 'a b', NULL, ARRAY[1,2])",
    "'now'::text::unknown::text",
    "'simple'::regdictionary",
    "'1'::cid",
    "'postgres=arwdDxt/postgres'::aclitem",
    'pg_sleep(0)',
  ]),
}

const SCALAR_NULLS = nulls([
  'bool',
  'int2',
  'int4',
  'int8',
  'oid',
  'float4',
  'float8',
  'numeric',
  'text',
  'varchar',
  'bpchar',
  'name',
  '"char"',
  'xml',
  'json',
  'jsonb',
  'bytea',
  'uuid',
  'inet',
  'cidr',
  'macaddr',
  'macaddr8',
  'money',
  'bit',
  'varbit',
  'tsvector',
  'tsquery',
  'regclass',
  'pg_lsn',
  'record',
])

function fixtureCases(fx) {
  const S = fx.schema
  const list = [
    ...group('string', [
      `'happy'::${S}.mood`,
      `'with space'::${S}.mood`,
      `'quote''s'::${S}.mood`,
      `'ünï 🎉'::${S}.mood`,
      `'NULL'::${S}.mood`,
      `''::${S}.mood`,
      `'comma,brace{'::${S}.mood`,
      `(enum_range(NULL::${S}.mood))[2]`,
      `ROW(1, 'x y', '2020-01-02 03:04:05.678+00', ARRAY[1,NULL,3], 'ok', '{"k":"v"}')::${S}.comp`,
      `ROW(NULL, NULL, NULL, NULL, NULL, NULL)::${S}.comp`,
      `ROW(-1, E'quote" back\\\\ paren) comma,', 'infinity', '{}', 'quote''s', '[1,"a"]')::${S}.comp`,
      `ROW(1.5, ROW(2, 'in', NULL, NULL, 'sad', NULL))::${S}.inner_comp`,
      `'text in a domain'::${S}.dtext`,
    ]),
    ...group('number', [`5::${S}.posint`]),
    ...group('string', [`9223372036854775807::${S}.dint8`]),
    ...group('Date', [`'2020-06-01 12:00:00+02'::${S}.dts`]),
    ...group('array', [`'{1,NULL,3}'::${S}.dintarr`, `'[0:1]={4,5}'::${S}.dintarr`]),
    ...group('object', [`'{"a":[1]}'::${S}.djson`]),
    ...group('Buffer', [`'\\xdeadbeef'::${S}.dbytea`]),
    ...group('interval', [`'1 day 02:00:00'::${S}.dinterval`]),
    ...nulls([`${S}.mood`, `${S}.comp`, `${S}.posint`, `${S}.dts`, `${S}.dintarr`]),
  ]
  if (fx.citext) {
    list.push(...group('string', [`'MiXeD Case'::${fx.citext}`, `'ü'::${fx.citext}`, `''::${fx.citext}`]), ...nulls([fx.citext]))
    list.push(...group('boolean', [`'ABC'::${fx.citext} = 'abc'::${fx.citext}`]))
    list.push(...group('arrayish', [`ARRAY['A'::${fx.citext}, 'b"c', NULL]`]))
  }
  return list
}

const DATES = group('Date', [
  "'2020-01-01'::date",
  "'1970-01-01'::date",
  "'2000-02-29'::date",
  "'0001-01-01'::date",
  "'0001-01-01 BC'::date",
  "'0001-12-31 BC'::date",
  "'4713-01-01 BC'::date",
  "'0099-06-15'::date",
  "'0050-01-01 BC'::date",
  "'10000-01-01'::date",
  "'275760-09-13'::date",
  "'275760-09-14'::date",
  "'5874897-12-31'::date",
  "'1900-01-01'::date",
  "'1883-11-18'::date",
  "'2021-03-14'::date",
  ["'infinity'::date", 'number'],
  ["'-infinity'::date", 'number'],
])

const TIMESTAMPS = group('Date', [
  "'2020-01-01 12:34:56.789012'::timestamp",
  "'2020-01-01 00:00:00.000001'::timestamp",
  "'2020-01-01 23:59:59.999999'::timestamp",
  "'1999-12-31 23:59:59.9995'::timestamp",
  "'1999-12-31 23:59:59.99949'::timestamp",
  "'1970-01-01 00:00:00'::timestamp",
  "'epoch'::timestamp",
  "'0001-01-01 00:00:00 BC'::timestamp",
  "'4713-01-01 00:00:00 BC'::timestamp",
  "'0010-03-04 05:06:07.5 BC'::timestamp",
  "'294276-12-31 23:59:59.999999'::timestamp",
  "'10000-01-01 00:00:00'::timestamp",
  "'0010-03-04 05:06:07'::timestamp",
  "'0099-12-31 23:59:59'::timestamp",
  "'0100-01-01 00:00:00'::timestamp",
  "'1900-01-01 00:00:00'::timestamp",
  "'1883-11-18 12:00:00'::timestamp",
  "'2021-03-14 02:30:00'::timestamp",
  "'2021-11-07 01:30:00'::timestamp",
  "'2021-03-28 02:30:00'::timestamp",
  "'2021-10-31 02:30:00'::timestamp",
  "'1800-06-15 10:20:30.123'::timestamp",
  "'2038-01-19 03:14:08'::timestamp",
  "'2020-02-29 12:00:00'::timestamp(0)",
  "'2020-01-01 12:34:56.789'::timestamp(2)",
  "'275760-09-13 00:00:00'::timestamp",
  ["'infinity'::timestamp", 'number'],
  ["'-infinity'::timestamp", 'number'],
])

const TIMESTAMPTZS = group('Date', [
  "'2020-01-01 12:34:56.789012+00'::timestamptz",
  "'2020-06-01 12:00:00+05:30'::timestamptz",
  "'2020-06-01 12:00:00-03:30'::timestamptz",
  "'1970-01-01 00:00:00+00'::timestamptz",
  "'epoch'::timestamptz",
  "'0001-01-01 00:00:00+00 BC'::timestamptz",
  "'4713-01-01 00:00:00+00 BC'::timestamptz",
  "'0044-03-15 12:00:00+00 BC'::timestamptz",
  "'294276-12-31 23:59:59.999999+00'::timestamptz",
  "'10000-01-01 00:00:00+00'::timestamptz",
  "'0010-03-04 05:06:07+00'::timestamptz",
  "'0099-12-31 23:59:59.5+00'::timestamptz",
  "'1883-11-18 12:00:00 America/New_York'::timestamptz",
  "'1800-01-01 00:00:00+00'::timestamptz",
  "'1900-01-01 00:00:00+00'::timestamptz",
  "'1930-01-01 00:00:00+00'::timestamptz",
  "'1890-06-15 00:00:00+00'::timestamptz",
  "'1999-12-31 23:59:59.999999+00'::timestamptz",
  "'2021-03-14 07:30:00+00'::timestamptz",
  "'2021-11-07 05:30:00+00'::timestamptz",
  "'2000-01-01 00:00:00.5+14'::timestamptz",
  "'2000-01-01 00:00:00-12'::timestamptz",
  "'275760-09-13 00:00:00+00'::timestamptz",
  "'275760-09-13 00:00:00.001+00'::timestamptz",
  "'2020-01-01 12:00:00.4'::timestamptz(0)",
  "'1901-12-13 20:45:52+00'::timestamptz",
  "'1847-12-01 00:00:00+00'::timestamptz",
  ["'infinity'::timestamptz", 'number'],
  ["'-infinity'::timestamptz", 'number'],
])

const TIMES = group('string', [
  "'00:00'::time",
  "'23:59:59.999999'::time",
  "'24:00:00'::time",
  "'12:34:56.5'::time",
  "'12:34:56.789'::time(1)",
  "'12:34:56+05:30'::timetz",
  "'00:00:00-15:59'::timetz",
  "'23:59:59.999999+15:59'::timetz",
  "'12:00:00 PST'::timetz",
  "'10:00:00'::timetz",
])

const INTERVALS = group('interval', [
  "'0'::interval",
  "'1 year 2 mons 3 days 04:05:06.789'::interval",
  "'-1 year -2 mons +3 days -04:05:06'::interval",
  "'1 day -00:00:01'::interval",
  "'-00:00:00.5'::interval",
  "'178000000 years'::interval",
  "'-178000000 years'::interval",
  "'2147483647 days'::interval",
  "'-2147483648 days'::interval",
  "'2562047788:00:54.775807'::interval",
  "'-2562047788:00:54.775807'::interval",
  "'1.5 years'::interval",
  "'0.000001 seconds'::interval",
  "'-0.000001 seconds'::interval",
  "'100:00:00'::interval",
  "'1 mon -1 day'::interval",
  "'P1Y2M3DT4H5M6.5S'::interval",
  "'1 week'::interval",
  "'36 hours'::interval",
  "justify_hours('36 hours'::interval)",
  "'1 millisecond'::interval",
  "'1.234567 seconds'::interval",
  "'-1 years'::interval",
  "'+2 mons -3 days'::interval",
  "'12:34'::interval",
  "'1 day 00:00:00.000001'::interval",
  "'00:00:59.999999'::interval",
  "'1 year -1 seconds'::interval",
  "('2020-03-01'::timestamp - '2020-02-01'::timestamp)",
  "age('2020-01-01'::timestamp, '1990-06-15'::timestamp)",
  'make_interval(years => 1, months => -13, days => 40, hours => -50, mins => 70, secs => -80.25)',
  "'1 year 1 mon 1 day 1 hour 1 minute 1.7 second'::interval(0)",
  "'5 days'::interval hour to second",
  "'3 years 4 months'::interval year to month",
])

const DATETIME_NULLS = nulls(['date', 'timestamp', 'timestamptz', 'time', 'timetz', 'interval'])

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
  openPools,
  scalarCases,
  closePools,
  dbConfig,
  describe,
  kindOf,
  runOn,
  runBoth,
  assertSame,
  group,
  nulls,
  withTZ,
  rng,
  createFixtures,
  assertNoCitext,
  caseLabel,
  SCALARS,
  SCALAR_NULLS,
  fixtureCases,
  DATES,
  TIMESTAMPS,
  TIMESTAMPTZS,
  TIMES,
  INTERVALS,
  DATETIME_NULLS,
  GEOMETRY,
  RANGES,
  arrayCases,
  FLOATISH,
  ALL_BYTES,
}
