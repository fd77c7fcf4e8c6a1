'use strict'
// Parity harness: runs the same async case against `new (require('pg').Pool)(cfg)` and
// `new LeakDetectingPool(cfg)` and compares what came out — results (command, rowCount, oid,
// rows, fields; Dates by time value, Buffers by bytes), errors (message, code and pg's
// DatabaseError fields) and, when asked, the pool's event sequence (connect / acquire /
// release / remove / error, each with the counts at the time it fired).
//
//   const { assertParity } = require('./helpers/parity')
//   await assertParity({ max: 1 }, async (pool, ctx) => ({ r: await pool.query('SELECT 1') }))
//
// The case returns any value; results and errors anywhere inside it are normalized before
// comparing. `ctx` is { impl: 'pg' | 'ours', rec, config }; `rec.idOf(client)` gives the id
// under which the recorder logged that client object (so a case can show that the object
// connect() returned is the one its listeners saw).

const assert = require('node:assert/strict')
const pg = require('pg')
const { LeakDetectingPool } = require('../..')
const { findDatabase } = require('./db')

const ERROR_FIELDS = [
  'message',
  'code',
  'severity',
  'detail',
  'hint',
  'position',
  'constraint',
  'table',
  'column',
  'schema',
  'routine',
  'name',
]
const EVENTS = ['connect', 'acquire', 'release', 'remove', 'error']

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function isResult(v) {
  return v != null && typeof v === 'object' && 'command' in v && 'rowCount' in v && Array.isArray(v.rows) && Array.isArray(v.fields)
}

/** Comparable form of a value: Dates by time, Buffers by bytes, results and errors reduced. */
function plain(v) {
  if (v instanceof Date) return { $date: v.getTime() }
  if (Buffer.isBuffer(v)) return { $bytes: v.toString('hex') }
  if (v instanceof Error) return errorShape(v)
  if (Array.isArray(v)) return v.map(plain)
  if (isResult(v)) return resultShape(v)
  if (v != null && typeof v === 'object') {
    const out = {}
    for (const k of Object.keys(v)) out[k] = plain(v[k])
    return out
  }
  return v
}

function resultShape(r) {
  if (Array.isArray(r)) return r.map(resultShape)
  return {
    command: r.command,
    rowCount: r.rowCount,
    oid: r.oid,
    rows: r.rows.map((row) => ({
      proto: Array.isArray(row) ? 'array' : Object.getPrototypeOf(row) === Object.prototype ? 'object' : 'other',
      keys: Object.keys(row),
      value: plain(row),
    })),
    // Table oids differ between two runs that create the same temp table: compare zero/non-zero.
    fields: r.fields.map((f) => ({ ...f, tableID: f.tableID === 0 ? 0 : typeof f.tableID })),
  }
}

function errorShape(e) {
  const out = { $error: true }
  for (const k of ERROR_FIELDS) out[k] = e[k]
  return out
}

/** Resolves to the rejection reason of `p` (fails the test if it resolves). */
async function rejection(p) {
  try {
    await p
  } catch (err) {
    return err
  }
  assert.fail('expected a rejection')
}

/** Records a pool's events with the counts at the time each fired. */
function recordEvents(pool, names = EVENTS) {
  const ids = new Map()
  const events = []
  const idOf = (client) => {
    if (client == null) return client
    if (!ids.has(client)) ids.set(client, ids.size + 1)
    return ids.get(client)
  }
  for (const name of names) {
    pool.on(name, (...args) => {
      const e = { event: name, total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }
      if (name === 'release') {
        e.err = args[0] == null ? args[0] : args[0] === true ? true : args[0].message
        e.client = idOf(args[1])
      } else if (name === 'error') {
        e.err = args[0].message
        e.errClientIsClient = args[0].client === args[1]
        e.client = idOf(args[1])
      } else {
        e.client = idOf(args[0])
      }
      events.push(e)
    })
  }
  return {
    events,
    idOf,
    count: (name) => events.filter((e) => e.event === name).length,
    /** Waits (up to `ms`) until `pred(events)` holds. */
    async until(pred, ms = 2000) {
      const deadline = Date.now() + ms
      while (!pred(events) && Date.now() < deadline) await sleep(5)
      return pred(events)
    },
  }
}

const IMPLS = {
  pg: (cfg) => new pg.Pool(cfg),
  ours: (cfg) => new LeakDetectingPool(cfg),
}

/** The shared test database's config merged with `options`. */
async function dbConfig(options = {}) {
  return { ...(await findDatabase()), ...options }
}

/**
 * Runs `run(pool, ctx)` against each implementation (one after the other, each with its own
 * pool, ended afterwards) and returns { pg, ours }, each { value } or { error }, plus
 * `events` when `opts.events` is set.
 */
async function both(options, run, opts = {}) {
  const out = {}
  for (const [impl, make] of Object.entries(IMPLS)) {
    const config = await dbConfig(typeof options === 'function' ? options(impl) : options)
    const pool = make(config)
    const rec = opts.events ? recordEvents(pool) : null
    const ctx = { impl, rec, config }
    const o = {}
    try {
      o.value = plain(await run(pool, ctx))
    } catch (err) {
      o.error = plain(err)
    }
    if (!pool.ending) await pool.end()
    if (rec) {
      // pg emits `remove` after a client's socket closed, which can be after end() resolved.
      await rec.until((ev) => ev.filter((e) => e.event === 'remove').length >= ev.filter((e) => e.event === 'connect').length)
      o.events = rec.events.slice()
    }
    out[impl] = o
  }
  return out
}

/** `both()`, then asserts the two outcomes are identical; returns them. */
async function assertParity(options, run, opts = {}) {
  const r = await both(options, run, opts)
  assert.deepStrictEqual(r.ours, r.pg)
  return r
}

/** Terminates one backend by pid (only ever pass a pid of a connection the test owns). */
async function terminate(pid) {
  const admin = new pg.Client(await dbConfig())
  await admin.connect()
  try {
    const { rows } = await admin.query('SELECT pg_terminate_backend($1) AS ok', [pid])
    assert.equal(rows[0].ok, true, `backend ${pid} was not terminated`)
    for (let i = 0; i < 200; i++) {
      const r = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [pid])
      if (r.rows[0].n === 0) break
      await sleep(5)
    }
  } finally {
    await admin.end()
  }
}

/** Runs `fn` with a client checked out of `pool` (either implementation), then releases it. */
async function withClient(pool, fn) {
  const c = await pool.connect()
  try {
    return await fn(c)
  } finally {
    c.release()
  }
}

module.exports = {
  IMPLS,
  withClient,
  both,
  assertParity,
  recordEvents,
  plain,
  resultShape,
  errorShape,
  rejection,
  terminate,
  dbConfig,
  sleep,
  ERROR_FIELDS,
}
