'use strict'

// Query parameter encoding with pg's utils.prepareValue semantics:
//   null / undefined        -> null (SQL NULL)
//   Buffer                  -> the Buffer (sent as binary bytea)
//   TypedArray / DataView   -> a Buffer over the same bytes
//   Date                    -> 'YYYY-MM-DDTHH:MM:SS.mmm+HH:MM' (local offset,
//                              or +00:00 with { utc: true }), ' BC' for year < 1
//   Array                   -> array literal '{1,NULL,"a\"b",{2,3}}'
//   { toPostgres(prepare) } -> its result, prepared again (cycles throw)
//   other objects           -> JSON.stringify
//   number / bigint / bool  -> their decimal / 'true' / 'false' text
//   string                  -> itself
// Stricter than pg, with the 1-based parameter number in the message:
//   symbols and functions, objects that JSON cannot represent (cycles,
//   BigInt members), invalid Dates and text containing NUL (\u0000) throw a
//   TypeError instead of sending something PostgreSQL rejects or misreads.
// Dates in zones whose offset has a seconds part (pre-1900 local mean time)
// get an exact '+HH:MM:SS' offset where pg would print a truncated one.

const { isDate } = require('node:util/types')

function label(position) {
  return typeof position === 'number' ? 'Parameter $' + (position + 1) : 'Parameter'
}

// prepareValue(value, position?, { utc }?) -> string | Buffer | null
// `position` is the 0-based index of the parameter (used in error messages).
function prepareValue(value, position, options) {
  const utc = options != null && options.utc === true
  return finish(prepare(value, position, utc, undefined), position)
}

// prepareValues(values, { utc }?) -> Array<string | Buffer | null>
function prepareValues(values, options) {
  if (values == null) return []
  if (!Array.isArray(values)) throw new TypeError('Query values must be an array')
  const utc = options != null && options.utc === true
  const n = values.length
  const out = new Array(n)
  for (let i = 0; i < n; i++) {
    out[i] = finish(prepare(values[i], i, utc, undefined), i)
  }
  return out
}

function finish(result, position) {
  if (typeof result === 'string') {
    if (result.indexOf('\u0000') !== -1) {
      throw new TypeError(label(position) + ': PostgreSQL text cannot contain NUL bytes (\\u0000); send binary data as a Buffer')
    }
    return result
  }
  if (result == null) return null
  return result // Buffer
}

function prepare(val, position, utc, seen) {
  if (val == null) return null
  switch (typeof val) {
    case 'string':
      return val
    case 'number':
    case 'bigint':
      return String(val)
    case 'boolean':
      return val ? 'true' : 'false'
    case 'object':
      return prepareObject(val, position, utc, seen)
    default: // symbol, function
      throw new TypeError(label(position) + ': cannot send a value of type ' + typeof val)
  }
}

function prepareObject(val, position, utc, seen) {
  if (val instanceof Buffer) return val
  if (ArrayBuffer.isView(val)) return Buffer.from(val.buffer, val.byteOffset, val.byteLength)
  if (isDate(val)) return dateToString(val, utc, position)
  if (Array.isArray(val)) return arrayString(val, position, utc)
  if (typeof val.toPostgres === 'function') {
    if (seen === undefined) seen = []
    else if (seen.indexOf(val) !== -1) {
      throw new Error('circular reference detected while preparing "' + val + '" for query')
    }
    seen.push(val)
    const prepareNested = (v) => prepare(v, position, utc, undefined)
    return prepare(val.toPostgres(prepareNested), position, utc, seen)
  }
  try {
    return JSON.stringify(val)
  } catch (err) {
    if (!(err instanceof TypeError)) throw err
    const what = /circular/i.test(err.message)
      ? ': cannot send an object with a circular reference as JSON ('
      : ': cannot convert the value to JSON ('
    throw new TypeError(label(position) + what + err.message + ')', { cause: err })
  }
}

// ------------------------------------------------------------------ arrays

function arrayString(val, position, utc) {
  let out = '{'
  for (let i = 0; i < val.length; i++) {
    if (i > 0) out += ','
    const item = val[i]
    if (item == null) {
      out += 'NULL'
    } else if (Array.isArray(item)) {
      out += arrayString(item, position, utc)
    } else if (ArrayBuffer.isView(item)) {
      out += byteaElement(item)
    } else {
      const text = prepare(item, position, utc, undefined)
      if (text == null)
        out += 'NULL' // a toPostgres() that returned null
      else if (typeof text === 'string') out += quoteElement(text)
      else out += byteaElement(text) // a toPostgres() that returned bytes
    }
  }
  return out + '}'
}

// Unquoted element '\\x0102' (the array parser turns it into \x0102).
function byteaElement(view) {
  const buf = view instanceof Buffer ? view : Buffer.from(view.buffer, view.byteOffset, view.byteLength)
  return '\\\\x' + buf.toString('hex')
}

// Double-quoted element with backslashes and double quotes escaped.
function quoteElement(text) {
  if (text.indexOf('\\') === -1 && text.indexOf('"') === -1) return '"' + text + '"'
  let out = '"'
  let from = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 92 || c === 34) {
      out += text.slice(from, i) + '\\'
      from = i
    }
  }
  return out + text.slice(from) + '"'
}

// ------------------------------------------------------------------- dates

function pad2(n) {
  return n < 10 ? '0' + n : String(n)
}

function pad3(n) {
  return n < 10 ? '00' + n : n < 100 ? '0' + n : String(n)
}

// dateToString(date, utc = false) -> 'YYYY-MM-DDTHH:MM:SS.mmm+HH:MM[ BC]'
function dateToString(date, utc, position) {
  const time = date.getTime()
  if (time !== time) {
    throw new TypeError(label(position) + ': cannot send an invalid Date')
  }
  let year, month, day, hours, minutes, seconds, ms
  if (utc) {
    year = date.getUTCFullYear()
    month = date.getUTCMonth()
    day = date.getUTCDate()
    hours = date.getUTCHours()
    minutes = date.getUTCMinutes()
    seconds = date.getUTCSeconds()
    ms = date.getUTCMilliseconds()
  } else {
    year = date.getFullYear()
    month = date.getMonth()
    day = date.getDate()
    hours = date.getHours()
    minutes = date.getMinutes()
    seconds = date.getSeconds()
    ms = date.getMilliseconds()
  }

  let offset = 0 // seconds east of UTC
  if (!utc) {
    // The local wall time read as UTC, minus the instant: exact, including
    // offsets with seconds (local mean time before standard zones).
    const wall =
      year >= 100 || year < 0
        ? Date.UTC(year, month, day, hours, minutes, seconds, ms)
        : new Date(0).setUTCFullYear(year, month, day) + ((hours * 60 + minutes) * 60 + seconds) * 1000 + ms
    offset = (wall - time) / 1000
    if (offset !== offset) offset = -date.getTimezoneOffset() * 60 // beyond the Date range
  }

  const bc = year < 1
  if (bc) year = 1 - year
  let text =
    (year < 1000 ? String(year).padStart(4, '0') : String(year)) +
    '-' +
    pad2(month + 1) +
    '-' +
    pad2(day) +
    'T' +
    pad2(hours) +
    ':' +
    pad2(minutes) +
    ':' +
    pad2(seconds) +
    '.' +
    pad3(ms)

  if (utc) {
    text += '+00:00'
  } else {
    let sign = '+'
    if (offset < 0) {
      sign = '-'
      offset = -offset
    }
    const secs = offset % 60
    const mins = (offset - secs) / 60
    text += sign + pad2(Math.floor(mins / 60)) + ':' + pad2(mins % 60)
    if (secs !== 0) text += ':' + pad2(secs)
  }
  if (bc) text += ' BC'
  return text
}

// ------------------------------------------------------------ SQL escaping

// "identifier" with embedded double quotes doubled (pg's escapeIdentifier).
function escapeIdentifier(str) {
  if (typeof str !== 'string') {
    throw new TypeError('escapeIdentifier expects a string, received ' + typeof str)
  }
  if (str.indexOf('"') === -1) return '"' + str + '"'
  return '"' + str.replace(/"/g, '""') + '"'
}

// 'literal' with quotes doubled; backslashes doubled and an E prefix when
// present (pg's escapeLiteral, including its ' E' leading space). Non-strings
// give "''".
function escapeLiteral(str) {
  if (typeof str !== 'string') return "''"
  let hasBackslash = false
  let out = "'"
  let from = 0
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i)
    if (c === 39 || c === 92) {
      if (c === 92) hasBackslash = true
      out += str.slice(from, i + 1) + str[i]
      from = i + 1
    }
  }
  out += str.slice(from) + "'"
  return hasBackslash ? ' E' + out : out
}

module.exports = {
  prepareValue,
  prepareValues,
  escapeLiteral,
  escapeIdentifier,
  dateToString,
}
