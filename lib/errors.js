'use strict'
// Error shaping: server errors look exactly like pg's DatabaseError (same fields, in the same
// order); the pool's own errors carry stable `code`s (LDP_*), documented in the README.

class DatabaseError extends Error {
  constructor(message, length, name) {
    super(message)
    this.length = length
    this.name = name
  }
}

/** Builds a pg-shaped DatabaseError from ErrorResponse fields keyed by one-letter codes. */
function databaseError(f) {
  const e = new DatabaseError(f.M, undefined, 'error')
  e.severity = f.S
  e.code = f.C
  e.detail = f.D
  e.hint = f.H
  e.position = f.P
  e.internalPosition = f.p
  e.internalQuery = f.q
  e.where = f.W
  e.schema = f.s
  e.table = f.t
  e.column = f.c
  e.dataType = f.d
  e.constraint = f.n
  e.file = f.F
  e.line = f.L
  e.routine = f.R
  return e
}

/** A notice, shaped like pg's NoticeMessage. */
function noticeMessage(f) {
  const n = { length: undefined, message: f.M, name: 'notice' }
  n.severity = f.S
  n.code = f.C
  n.detail = f.D
  n.hint = f.H
  n.position = f.P
  n.internalPosition = f.p
  n.internalQuery = f.q
  n.where = f.W
  n.schema = f.s
  n.table = f.t
  n.column = f.c
  n.dataType = f.d
  n.constraint = f.n
  n.file = f.F
  n.line = f.L
  n.routine = f.R
  return n
}

/** One of our own errors: pg's message where pg has one, and a stable code. */
function clientError(code, message, extra) {
  const e = new Error(message)
  e.code = code
  if (extra) Object.assign(e, extra)
  return e
}

/** Turns a JsErrorInfo from the binding into an Error. */
function fromInfo(info) {
  if (/^[0-9A-Z]{5}$/.test(info.code) && info.extra) {
    return databaseError(JSON.parse(info.extra))
  }
  let extra
  if (info.extra) {
    try {
      extra = JSON.parse(info.extra)
    } catch {
      extra = undefined
    }
  }
  if (info.code === 'LDP_ACQUIRE_TIMEOUT' && Array.isArray(extra)) extra = { holders: extra }
  return clientError(info.code, info.message, extra)
}

module.exports = { DatabaseError, databaseError, noticeMessage, clientError, fromInfo }
