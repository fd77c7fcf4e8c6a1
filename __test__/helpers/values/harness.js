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

module.exports = {
  dbConfig,
  openPools,
  closePools,
  describe,
  kindOf,
  caseLabel,
  runOn,
  runBoth,
  assertSame,
  group,
  nulls,
  withTZ,
  rng,
}
