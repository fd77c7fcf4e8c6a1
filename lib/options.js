'use strict'
// The options object: pg-pool's copy with its defaults and a hidden password, and its JSON
// form for the Rust core (functions and Buffers removed or converted; NaN/Infinity kept as
// strings so the core can name them in errors).

const binding = require('../binding')

const FUNCTION_KEYS = new Set(['log', 'verify', 'onConnect', 'types', 'Promise', 'Client', 'stream'])

function hide(obj, key, value) {
  Object.defineProperty(obj, key, { configurable: true, enumerable: false, writable: true, value })
}

/** pg-pool's `this.options`: a copy with defaults, the password non-enumerable. */
function poolOptions(options) {
  const o = Object.assign({}, options)
  if (options != null && 'password' in options) hide(o, 'password', options.password)
  if (options != null && options.ssl && typeof options.ssl === 'object') {
    o.ssl = Object.assign({}, options.ssl)
    if ('key' in options.ssl) hide(o.ssl, 'key', options.ssl.key)
  }
  o.max = o.max || o.poolSize || 10
  o.min = o.min || 0
  o.maxUses = o.maxUses || Infinity
  o.allowExitOnIdle = o.allowExitOnIdle || false
  o.maxLifetimeSeconds = o.maxLifetimeSeconds || 0
  if (typeof o.idleTimeoutMillis === 'undefined') o.idleTimeoutMillis = 10000
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

/** The JSON handed to the core. `original` is the user's object (never modified). */
function toJson(original) {
  const out = {}
  if (original == null) return '{}'
  for (const key of Object.keys(original)) {
    if (FUNCTION_KEYS.has(key)) continue
    const v = original[key]
    if (key === 'password') {
      out.password = typeof v === 'function' ? { $function: true } : plain(v)
      continue
    }
    if (key === 'ssl' && v && typeof v === 'object') {
      const ssl = {}
      for (const k of Object.keys(v)) ssl[k] = plain(v[k])
      out.ssl = ssl
      continue
    }
    const p = plain(v)
    if (p !== undefined) out[key] = p
  }
  // A hidden password (pool.options from another pool) is not enumerable: copy it too.
  if (!('password' in out) && original.password !== undefined) {
    out.password = typeof original.password === 'function' ? { $function: true } : plain(original.password)
  }
  return JSON.stringify(out)
}

function describe(v) {
  if (typeof v === 'string') return JSON.stringify(v)
  if (v === null || typeof v !== 'object') return String(v)
  return Array.isArray(v) ? 'an array' : 'an object'
}

/** The options the core never sees (hooks, `types`, `Promise`): a TypeError naming the option. */
function validateJsOptions(options) {
  if (options == null) return
  const bad = (option, expected) => {
    const e = new TypeError(`Invalid option "${option}": expected ${expected}, received ${describe(options[option])}`)
    e.code = 'LDP_INVALID_OPTION'
    e.option = option
    throw e
  }
  for (const key of ['log', 'verify', 'onConnect', 'Promise']) {
    if (options[key] != null && typeof options[key] !== 'function') bad(key, 'a function')
  }
  const t = options.types
  if (t != null && (typeof t !== 'object' || typeof t.getTypeParser !== 'function')) bad('types', 'an object with a getTypeParser(oid, format) function')
}

/** Throws pg-style TypeError/RangeError for invalid options. */
function validate(json, options) {
  validateJsOptions(options)
  const info = binding.validateOptions(json)
  if (!info) return
  const extra = info.extra ? JSON.parse(info.extra) : {}
  const Ctor = extra.kind === 'RangeError' ? RangeError : TypeError
  const e = new Ctor(info.message)
  e.code = info.code
  e.option = extra.option
  throw e
}

module.exports = { poolOptions, toJson, validate }
