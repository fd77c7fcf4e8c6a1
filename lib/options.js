'use strict'
// The options, in one place. The core parses and validates every option it uses, once, and
// hands back the resolved view (`NativePool.resolvedOptions()`: defaults applied, connection
// string and PG* environment merged, password absent); what only this layer uses (hooks,
// `types`, stack capture, the alert buffer, allowExitOnIdle) is validated here and never sent
// to the core. `settingsOf` joins the two into what the pool, its clients and its event
// dispatcher read; `poolOptions` is pg-pool's `pool.options`, a copy of what the user passed.
// pg's global defaults (lib/pg-defaults.js) go to the core as a layer of their own
// (`defaultsToJson`), never merged into the options.

const { invalidOption, invalidDefault } = require('./errors')
const { FrameRules } = require('./stack')

/** Options only this layer reads: never sent to the core (pg's `Client` and `stream` are functions). */
const JS_ONLY = new Set([
  'log',
  'verify',
  'onConnect',
  'types',
  'Promise',
  'Client',
  'stream',
  'captureStacks',
  'stackTraceLimit',
  'ignoreFrames',
  'alertBufferSize',
  'allowExitOnIdle',
  'parseInputDatesAsUTC',
  'pipeline',
])

/** Whether connection string `cs` holds a password (`user:secret@` or `password=`). */
function hasPassword(cs) {
  if (typeof cs !== 'string') return false
  try {
    const u = new URL(cs)
    if (u.password || u.searchParams.has('password')) return true
  } catch {
    // Not a URL (e.g. a socket path): look for the keyword form.
  }
  return /(^|[\s?&])password=/i.test(cs)
}

function hide(obj, key, value) {
  Object.defineProperty(obj, key, { configurable: true, enumerable: false, writable: true, value })
}

/**
 * pg-pool's `this.options`: a copy of the user's object, the password (and ssl.key)
 * non-enumerable, and pg-pool's defaults filled in where the user gave none — with the values
 * the core resolved, so that `new LeakDetectingPool(pool.options)` reproduces the pool.
 */
function poolOptions(options, resolved) {
  const o = Object.assign({}, options)
  if (options != null && 'password' in options) hide(o, 'password', options.password)
  // A connection string that carries a password is a password: kept, but not enumerable.
  if (options != null && hasPassword(options.connectionString)) hide(o, 'connectionString', options.connectionString)
  if (options != null && options.ssl && typeof options.ssl === 'object') {
    o.ssl = Object.assign({}, options.ssl)
    if ('key' in options.ssl) hide(o.ssl, 'key', options.ssl.key)
  }
  o.max = o.max || o.poolSize || resolved.max
  o.min = o.min || resolved.min
  o.maxUses = o.maxUses || resolved.maxUses
  o.allowExitOnIdle = o.allowExitOnIdle || false
  o.maxLifetimeSeconds = o.maxLifetimeSeconds || resolved.maxLifetimeSeconds
  if (typeof o.idleTimeoutMillis === 'undefined') o.idleTimeoutMillis = resolved.idleTimeoutMillis
  return o
}

function plain(v) {
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return undefined
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v)
  if (typeof v === 'bigint') return String(v)
  if (Buffer.isBuffer(v)) return v.toString('utf8')
  if (Array.isArray(v)) return v.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : plain(x)))
  return v
}

/** Options whose value is an object the core reads member by member. */
const OBJECT_VALUED = { ssl: 'a boolean, a string or an object', tagLimits: 'an object of tag: positive integer' }

/**
 * One option's value as JSON for the core, or a TypeError naming the option (through
 * `invalid`: an option's error, or a pg.defaults value's) for what JSON cannot carry: a
 * symbol, a function (other than a password function, which the core marks as such itself)
 * where an object is read member by member, or a structure with a cycle. A function elsewhere
 * goes as `{ $function: true }`, which the core refuses in its own words.
 */
function encodeOption(key, v, invalid = invalidOption) {
  if (typeof v === 'symbol') throw invalid(TypeError, key, 'a value JSON can carry', v)
  if (typeof v === 'function') {
    if (OBJECT_VALUED[key]) throw invalid(TypeError, key, OBJECT_VALUED[key], v)
    return { $function: true }
  }
  const p = plain(v)
  if (p !== null && typeof p === 'object') {
    try {
      JSON.stringify(p)
    } catch {
      throw invalid(TypeError, key, 'a value without cycles', v)
    }
  }
  return p
}

/** The entries of `source` the core reads, encoded into `out` (see toJson). */
function encodeEntries(source, out, invalid) {
  for (const key of Object.keys(source)) {
    if (JS_ONLY.has(key)) continue
    const v = source[key]
    if (key === 'password') {
      out.password = typeof v === 'function' ? { $function: true } : encodeOption(key, v, invalid)
      continue
    }
    if (key === 'ssl' && v && typeof v === 'object') {
      const ssl = {}
      // A function (checkServerIdentity) is sent as one, so that the core can refuse it.
      for (const k of Object.keys(v)) {
        const e = encodeOption(`ssl.${k}`, v[k], invalid)
        if (e !== undefined) ssl[k] = e
      }
      out.ssl = ssl
      continue
    }
    const p = encodeOption(key, v, invalid)
    if (p !== undefined) out[key] = p
  }
  return out
}

/**
 * The JSON handed to the core: the options it reads, with what JSON cannot carry encoded as
 * the core expects (NaN/Infinity as strings, so that errors can name them; a password
 * function as `{ $function: true }`). `original` is the user's object (never modified).
 */
function toJson(original) {
  if (original == null) return '{}'
  const out = encodeEntries(original, {}, invalidOption)
  // A hidden password (pool.options from another pool) is not enumerable: copy it too.
  if (!('password' in out) && original.password !== undefined) {
    out.password = typeof original.password === 'function' ? { $function: true } : plain(original.password)
  }
  return JSON.stringify(out)
}

/**
 * The pg.defaults layer (lib/pg-defaults.js) as JSON for the core, encoded as the options are;
 * what JSON cannot carry is a TypeError naming `pg.defaults.<key>`.
 */
function defaultsToJson(layer) {
  return JSON.stringify(encodeEntries(layer, {}, invalidDefault))
}

function func(options, key) {
  const v = options[key]
  if (v != null && typeof v !== 'function') throw invalidOption(TypeError, key, 'a function', v)
  return v || undefined
}

function bool(options, key, dflt) {
  const v = options[key]
  if (v == null) return dflt
  if (typeof v !== 'boolean') throw invalidOption(TypeError, key, 'a boolean', v)
  return v
}

/** An integer >= `min` (a number, or a numeric string as from process.env). */
function integer(options, key, dflt, min) {
  const v = options[key]
  if (v == null) return dflt
  const expected = min === 0 ? 'a non-negative integer' : 'a positive integer'
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : undefined
  if (n === undefined || (Number.isNaN(n) && typeof v === 'string' && v.trim() !== 'NaN')) throw invalidOption(TypeError, key, expected, v)
  if (!Number.isSafeInteger(n) || n < min) throw invalidOption(RangeError, key, expected, v)
  return n
}

/**
 * `ignoreFrames`: the app's own helpers a report's location looks through (lib/stack.js), an
 * array of strings and RegExps; copied, so that later edits of the user's array change nothing.
 */
function framePatterns(options) {
  const v = options.ignoreFrames
  if (v == null) return []
  const ok = Array.isArray(v) && v.every((p) => (typeof p === 'string' && p !== '') || p instanceof RegExp)
  if (!ok) throw invalidOption(TypeError, 'ignoreFrames', 'an array of non-empty strings and RegExps', v)
  return v.slice()
}

/**
 * `pg.defaults.parseInputDatesAsUTC` from the layer (lib/pg-defaults.js): the default of the
 * pool option of that name. A boolean, as the option is.
 */
function utcDefault(layer) {
  const v = layer.parseInputDatesAsUTC
  if (v == null) return false
  if (typeof v !== 'boolean') throw invalidDefault(TypeError, 'parseInputDatesAsUTC', 'a boolean', v)
  return v
}

/**
 * Validates the options only this layer reads and returns their values (defaults applied,
 * `pgDefaults` the pg.defaults layer); throws pg-style TypeError/RangeError naming the option
 * and the value received.
 */
function jsOptions(options, pgDefaults = {}) {
  const o = options == null ? {} : options
  const types = o.types
  if (types != null && (typeof types !== 'object' || typeof types.getTypeParser !== 'function')) {
    throw invalidOption(TypeError, 'types', 'an object with a getTypeParser(oid, format) function', types)
  }
  return {
    log: func(o, 'log'),
    verify: func(o, 'verify'),
    onConnect: func(o, 'onConnect'),
    Promise: func(o, 'Promise'),
    types: types || undefined,
    captureStacks: bool(o, 'captureStacks', true),
    stackTraceLimit: integer(o, 'stackTraceLimit', 10, 0),
    ignoreFrames: framePatterns(o),
    alertBufferSize: integer(o, 'alertBufferSize', 100, 1),
    allowExitOnIdle: bool(o, 'allowExitOnIdle', false),
    pipeline: bool(o, 'pipeline', false),
    // pg's `defaults.parseInputDatesAsUTC`, as a pool option (default: pg.defaults', read
    // once, here): Date parameters sent as UTC text.
    utc: bool(o, 'parseInputDatesAsUTC', utcDefault(pgDefaults)),
  }
}

/** The core's resolved view, parsed: Infinity where the JSON says null. */
function parseResolved(json) {
  const r = JSON.parse(json)
  if (r.maxUses === null) r.maxUses = Infinity
  if (r.maxWaiting === null) r.maxWaiting = Infinity
  return r
}

/**
 * What the pool, its clients and its event dispatcher read (frozen): the core's resolved view
 * `resolved` for everything the core decides, `js` (from jsOptions) for the rest, and
 * `defaultTypes` (pg-types, the registry pg reads) when the user gave no `types`, and
 * `connection`, the pool's ConnectionParameters (lib/connection-parameters.js): where clients
 * read host, port, user, database, replication and ssl from.
 *
 * Stack capture: a stack is captured at connect() exactly when a leak report by age is
 * possible for that checkout — captureStacks is on and its threshold (per-checkout override,
 * else leakThresholdMs) is finite and positive. leakThresholdMs 0 and Infinity both mean
 * "never reported by age" (the view says 0); reports that need no threshold (forceRelease,
 * a garbage-collected client, end()) then carry no stack and name the site by tag or
 * 'unknown'.
 */
function settingsOf(resolved, js, defaultTypes, connection) {
  return Object.freeze({
    connection,
    applicationName: resolved.applicationName,
    max: resolved.max,
    min: resolved.min,
    queryTimeoutMs: resolved.query_timeout,
    leakThresholdMs: resolved.leakThresholdMs,
    captureStacks: js.captureStacks,
    stackTraceLimit: js.stackTraceLimit,
    // Which frames a report's location looks through; travels with each captured stack.
    frameRules: new FrameRules(js.ignoreFrames),
    alertBufferSize: js.alertBufferSize,
    allowExitOnIdle: js.allowExitOnIdle,
    pipeline: js.pipeline,
    // pg's binary mode (the option, else pg.defaults.binary): extended-protocol results
    // fetched in binary format (client.binary).
    binary: resolved.binary,
    // How TLS starts ('postgres' or 'direct', also 'postgres' without TLS): pg's client.sslNegotiation.
    sslNegotiation: resolved.sslnegotiation,
    utc: js.utc,
    types: js.types || defaultTypes,
    log: js.log,
    verify: js.verify,
    onConnect: js.onConnect,
  })
}

module.exports = { poolOptions, toJson, defaultsToJson, jsOptions, parseResolved, settingsOf }
