'use strict'
// Normalizes the argument forms of pg's query(): (text), (text, values), (text, cb),
// (text, values, cb), ({ text, values, name, rowMode, types, binary, callback }), and decides
// the protocol the way pg does (extended with values, a name, or queryMode 'extended') and
// the result format (binary when the client or the query says so, for the extended protocol
// only: the simple protocol has no format codes).
// Submittables (objects with `submit`) never come here: lib/submit/ runs them.

const { prepareValues } = require('./prepare-value')

function normalize(config, values, callback) {
  if (config == null) {
    throw new TypeError('Client was passed a null or undefined query')
  }
  let q
  if (typeof config === 'string') {
    q = {
      text: config,
      values: undefined,
      name: undefined,
      rowMode: undefined,
      types: undefined,
      binary: undefined,
      queryMode: undefined,
      callback: undefined,
      query_timeout: undefined,
    }
  } else {
    q = {
      text: config.text,
      values: config.values,
      name: config.name,
      rowMode: config.rowMode,
      types: config.types,
      binary: config.binary,
      queryMode: config.queryMode,
      callback: config.callback,
      query_timeout: config.query_timeout,
    }
  }
  if (typeof values === 'function') {
    q.callback = values
  } else {
    if (values !== undefined && values !== null) q.values = values
    if (callback) q.callback = callback
  }
  // pg's Query refuses a callback that is not a function, before anything runs.
  if (q.callback && typeof q.callback !== 'function') throw new TypeError('callback is not a function')
  return q
}

/** The most parameters a Bind message can carry (its count is an Int16 the server reads unsigned). */
const MAX_PARAMS = 65535

/** pg's Query.requiresPreparation(). */
function isExtended(q) {
  if (q.queryMode === 'extended') return true
  if (q.name) return true
  if (!q.text) return false
  if (!q.values) return false
  return q.values.length > 0
}

/**
 * Validates and encodes a normalized query: [text, params|null, name|null, extended, binary].
 * `clientBinary`: the client's binary mode, which wins over the query's (as in pg).
 */
function encode(q, utc, clientBinary) {
  if (typeof q.text !== 'string' && typeof q.name !== 'string') {
    throw new Error('A query must have either text or a name. Supplying neither is unsupported.')
  }
  if (q.values != null && !Array.isArray(q.values)) {
    throw new Error('Query values must be an array')
  }
  const extended = isExtended(q)
  if (extended && q.values && q.values.length > MAX_PARAMS) {
    // The protocol counts parameters in 16 bits: pg sends the count wrapped around and the
    // server answers about a different number.
    const err = new RangeError(`A query can have at most ${MAX_PARAMS} parameters, received ${q.values.length}`)
    err.code = 'LDP_INVALID_QUERY'
    throw err
  }
  const params = extended && q.values ? prepareValues(q.values, { utc }) : null
  const binary = extended && (clientBinary || Boolean(q.binary))
  return [q.text == null ? '' : q.text, params, q.name == null ? null : String(q.name), extended, binary]
}

module.exports = { normalize, encode, isExtended }
