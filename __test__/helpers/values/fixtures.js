'use strict'
// Fixtures: an enum, composite types and domains in a schema unique to this process, and (with
// { citext: true }, if the server has it) the citext extension. Created once, before both
// pools run, so both see the same type oids; dropped (CASCADE) afterwards.
//
// An extension exists once per database, so test processes sharing the database take turns:
// an advisory lock, held from before citext is installed until after it is dropped,
// serializes them (a citext someone installed for good is simply used).

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const pg = require('pg')
const { dbConfig, group, nulls } = require('./harness')

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

module.exports = { createFixtures, assertNoCitext, fixtureCases }
