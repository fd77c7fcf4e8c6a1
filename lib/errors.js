'use strict'
// Error shaping: server errors are pg's own DatabaseError class (pg-protocol's, which pg
// re-exports, so `err instanceof pg.DatabaseError` holds), with its fields in the order pg's
// parser assigns them; the pool's own errors carry stable `code`s (LDP_*), documented in the
// README.

const { DatabaseError } = require('pg-protocol')

// ErrorResponse/NoticeResponse field codes → pg's property names, in pg's assignment order.
const FIELDS = [
  ['severity', 'S'],
  ['code', 'C'],
  ['detail', 'D'],
  ['hint', 'H'],
  ['position', 'P'],
  ['internalPosition', 'p'],
  ['internalQuery', 'q'],
  ['where', 'W'],
  ['schema', 's'],
  ['table', 't'],
  ['column', 'c'],
  ['dataType', 'd'],
  ['constraint', 'n'],
  ['file', 'F'],
  ['line', 'L'],
  ['routine', 'R'],
]

function assignFields(target, f) {
  for (const [name, key] of FIELDS) target[name] = f[key]
  return target
}

/** Builds a pg-shaped DatabaseError from ErrorResponse fields keyed by one-letter codes. */
function databaseError(f) {
  return assignFields(new DatabaseError(f.M, undefined, 'error'), f)
}

/** A notice, shaped like pg's NoticeMessage. */
function noticeMessage(f) {
  return assignFields({ length: undefined, message: f.M, name: 'notice' }, f)
}

const ERRNO_NAMES = new Map(Object.entries(require('os').constants.errno).map(([name, n]) => [n, name]))
const IO_MESSAGE = /^connect (.+?): (.*?)(?: \(os error (\d+)\))?$/
// libuv's getaddrinfo codes, as Node reports them.
const DNS = [
  [/failed to lookup address information: (Name or service not known|nodename nor servname|No address associated)/i, 'ENOTFOUND', -3008],
  [/failed to lookup address information: Temporary failure/i, 'EAI_AGAIN', -3001],
]

/**
 * A socket error while connecting, shaped like the Node net error pg passes on
 * (`connect ECONNREFUSED 127.0.0.1:5432`, code, errno, syscall, address, port), so that code
 * checking `err.code === 'ECONNREFUSED'` keeps working. Null if the message is not one.
 */
function netError(message) {
  const m = IO_MESSAGE.exec(message)
  if (!m) return null
  const [, target, text, num] = m
  const unix = target.startsWith('/')
  const colon = target.lastIndexOf(':')
  const host = unix || colon < 0 ? target : target.slice(0, colon).replace(/^\[(.*)\]$/, '$1')
  const port = unix || colon < 0 ? undefined : Number(target.slice(colon + 1))
  let e
  if (num && ERRNO_NAMES.has(Number(num))) {
    const code = ERRNO_NAMES.get(Number(num))
    e = new Error(`connect ${code} ${target}`)
    Object.assign(e, { errno: -Number(num), code, syscall: 'connect', address: host })
    if (port !== undefined) e.port = port
    return e
  }
  for (const [re, code, errno] of DNS) {
    if (re.test(text)) {
      e = new Error(`getaddrinfo ${code} ${host}`)
      return Object.assign(e, { errno, code, syscall: 'getaddrinfo', hostname: host })
    }
  }
  return null
}

/** One of our own errors: pg's message where pg has one, and a stable code. */
function clientError(code, message, extra) {
  if (code === 'LDP_IO') {
    const net = netError(message)
    if (net) return net
  }
  const e = new Error(message)
  e.code = code
  if (extra) Object.assign(e, extra)
  return e
}

/**
 * Whether `err`, a query's error, means the connection itself failed (pg then marks the client
 * not queryable): the socket ended or broke, or the server ended the session (FATAL, PANIC).
 */
function isConnectionFailure(err) {
  if (err instanceof DatabaseError) return err.severity === 'FATAL' || err.severity === 'PANIC'
  return err.code === 'LDP_CONNECTION_TERMINATED' || err.code === 'LDP_IO' || typeof err.syscall === 'string'
}

/**
 * Renders a received option value the way the core does in its messages: strings quoted,
 * numbers as JavaScript prints them, containers and functions by kind.
 */
function describe(v) {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? v.slice(0, 80) + '…' : v)
  if (typeof v === 'function') return 'a function'
  if (v === null || typeof v !== 'object') return String(v)
  return Array.isArray(v) ? 'an array' : 'an object'
}

/**
 * An invalid option, shaped as the core's: `Ctor` is TypeError (wrong type) or RangeError. A
 * value of pg's global defaults is named `pg.defaults.<key>` and worded as the core words it.
 */
function invalidOption(Ctor, option, expected, received) {
  const what = option.startsWith('pg.defaults.') ? option : `option "${option}"`
  const e = new Ctor(`Invalid ${what}: expected ${expected}, received ${describe(received)}`)
  e.code = 'LDP_INVALID_OPTION'
  e.option = option
  return e
}

/** invalidOption for `key` of pg's global defaults (`pg.defaults.<key>`). */
function invalidDefault(Ctor, key, expected, received) {
  return invalidOption(Ctor, `pg.defaults.${key}`, expected, received)
}

/** Turns a JsErrorInfo from the binding into an Error. */
function fromInfo(info) {
  if (/^[0-9A-Z]{5}$/.test(info.code) && info.extra) {
    return databaseError(JSON.parse(info.extra))
  }
  if (info.code === 'LDP_INVALID_OPTION') {
    // The core names the option and which of pg's error classes applies.
    const { kind, option } = info.extra ? JSON.parse(info.extra) : {}
    const e = new (kind === 'RangeError' ? RangeError : TypeError)(info.message)
    e.code = info.code
    e.option = option
    return e
  }
  let extra
  if (info.extra) {
    try {
      extra = JSON.parse(info.extra)
    } catch {
      extra = undefined
    }
  }
  return clientError(info.code, info.message, extra)
}

module.exports = { DatabaseError, databaseError, noticeMessage, clientError, fromInfo, invalidOption, invalidDefault, isConnectionFailure }
