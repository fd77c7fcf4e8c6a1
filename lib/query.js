'use strict'
// Normalizes the argument forms of pg's query(): (text), (text, values), (text, cb),
// (text, values, cb), ({ text, values, name, rowMode, types, callback }), and decides the
// protocol the way pg does (extended with values, a name, or queryMode 'extended').
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

/** pg's Query.requiresPreparation(). */
function isExtended(q) {
  if (q.queryMode === 'extended') return true
  if (q.name) return true
  if (!q.text) return false
  if (!q.values) return false
  return q.values.length > 0
}

/** Validates and encodes a normalized query: [text, params|null, name|null, extended]. */
function encode(q, utc) {
  if (typeof q.text !== 'string' && typeof q.name !== 'string') {
    throw new Error('A query must have either text or a name. Supplying neither is unsupported.')
  }
  if (q.values != null && !Array.isArray(q.values)) {
    throw new Error('Query values must be an array')
  }
  const extended = isExtended(q)
  const params = extended && q.values ? prepareValues(q.values, { utc }) : null
  return [q.text == null ? '' : q.text, params, q.name == null ? null : String(q.name), extended]
}

module.exports = { normalize, encode, isExtended }
