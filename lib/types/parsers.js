'use strict'

// Text-format result parsers: the same defaults as pg-types@2 (what pg uses),
// with pg-types' getTypeParser/setTypeParser contract.
//
// Row builders should look a column's parser up once (getTypeParser or
// textParsers.get) and call it per non-NULL cell; parsers only ever receive
// strings from the wire. Unregistered oids get `noParse`, which returns the
// text unchanged (String(value), like pg-types).

const builtins = require('./builtins')
const { parseArray, arrayParser } = require('./arrays')
const { parseDate } = require('./dates')
const { parseInterval, PostgresInterval } = require('./interval')
const { parseBytea } = require('./bytea')

function noParse (value) {
  return String(value)
}

// ---------------------------------------------------------------- scalars

function parseBool (value) {
  if (value === null) return null
  return value === 't' ||
    value === 'true' ||
    value === 'TRUE' ||
    value === 'y' ||
    value === 'yes' ||
    value === 'on' ||
    value === '1'
}

function parseInteger (value) {
  return parseInt(value, 10)
}

function parseFloatValue (value) {
  return parseFloat(value)
}

// int8 stays text (pg's default: it does not fit a double).
function parseInt8 (value) {
  if (typeof value === 'string') return value
  const text = String(value)
  return /^\d+$/.test(text) ? text : value
}

function parseJson (value) {
  return JSON.parse(value)
}

// '(x,y)' -> { x, y }; null unless it starts with '('.
function parsePoint (value) {
  if (value[0] !== '(') return null
  const end = value.length - 1
  if (end < 1) return { x: NaN, y: NaN }
  const c1 = value.indexOf(',', 1)
  if (c1 === -1 || c1 >= end) {
    return { x: parseFloat(value.slice(1, end)), y: NaN }
  }
  let c2 = value.indexOf(',', c1 + 1)
  if (c2 === -1 || c2 > end) c2 = end
  return {
    x: parseFloat(value.slice(1, c1)),
    y: parseFloat(value.slice(c1 + 1, c2))
  }
}

// '<(x,y),r>' -> { x, y, radius }
function parseCircle (value) {
  if (value[0] !== '<' && value[1] !== '(') return null
  const end = value.length - 1
  let close = -1
  for (let i = 2; i < end; i++) {
    if (value.charCodeAt(i) === 41 /* ) */) { close = i; break }
  }
  let result
  if (close === -1) {
    result = parsePoint('(' + (end > 2 ? value.slice(2, end) : ''))
    result.radius = NaN
    return result
  }
  result = parsePoint('(' + value.slice(2, close + 1))
  // The radius is the rest without its ',' and ')' characters.
  let radius = value.slice(close + 1, end)
  if (radius.indexOf(',') !== -1 || radius.indexOf(')') !== -1) {
    radius = radius.replace(/[,)]/g, '')
  }
  result.radius = parseFloat(radius)
  return result
}

// ----------------------------------------------------------------- arrays
// Each returns null for an empty input, like pg-types.

function trimText (value) {
  return value.trim()
}

function parseStringArray (value) {
  if (!value) return null
  return parseArray(value)
}

function parseBoolArray (value) {
  if (!value) return null
  return parseArray(value, parseBool)
}

function parseIntegerArray (value) {
  if (!value) return null
  return parseArray(value, parseInteger)
}

function parseInt8Array (value) {
  if (!value) return null
  return parseArray(value, trimText)
}

function parseFloatArray (value) {
  if (!value) return null
  return parseArray(value, parseFloatValue)
}

function parsePointArray (value) {
  if (!value) return null
  return parseArray(value, parsePoint)
}

// Not registered by default (pg-types returns circle[] as text); exported
// for applications that want it.
function parseCircleArray (value) {
  if (!value) return null
  return parseArray(value, parseCircle)
}

function parseDateArray (value) {
  if (!value) return null
  return parseArray(value, parseDate)
}

function parseIntervalArray (value) {
  if (!value) return null
  return parseArray(value, parseInterval)
}

function parseByteaArray (value) {
  if (!value) return null
  return parseArray(value, parseBytea)
}

function parseJsonArray (value) {
  if (!value) return null
  return parseArray(value, parseJson)
}

// --------------------------------------------------------------- registry

// oid -> parser. Keys are normalised so that '1184' and 1184 are the same
// entry (pg-types stores parsers on plain objects).
const textParsers = new Map()
const binaryParsers = new Map()

function oidKey (oid) {
  if (typeof oid === 'number') return oid
  const text = String(oid)
  const n = +text
  return text !== '' && String(n) === text ? n : text
}

function tableFor (format) {
  if (format === 'text') return textParsers
  if (format === 'binary') return binaryParsers
  return undefined
}

// getTypeParser(oid, format = 'text') -> (text) => value
function getTypeParser (oid, format) {
  const table = tableFor(format || 'text')
  if (table === undefined) return noParse
  return table.get(typeof oid === 'number' ? oid : oidKey(oid)) || noParse
}

// Fast path for row builders: the text parser of an oid.
function getTextParser (oid) {
  return textParsers.get(oid) || noParse
}

// setTypeParser(oid, fn) or setTypeParser(oid, format, fn)
function setTypeParser (oid, format, parseFn) {
  if (typeof format === 'function') {
    parseFn = format
    format = 'text'
  }
  const table = tableFor(format)
  if (table === undefined) {
    throw new TypeError('setTypeParser: format must be "text" or "binary", received ' + String(format))
  }
  table.set(oidKey(oid), parseFn)
}

const DEFAULTS = [
  [16, parseBool], // bool
  [17, parseBytea], // bytea
  [20, parseInt8], // int8
  [21, parseInteger], // int2
  [23, parseInteger], // int4
  [26, parseInteger], // oid
  [114, parseJson], // json
  [199, parseJsonArray], // json[]
  [600, parsePoint], // point
  [651, parseStringArray], // cidr[]
  [700, parseFloatValue], // float4
  [701, parseFloatValue], // float8
  [718, parseCircle], // circle
  [791, parseStringArray], // money[]
  [1000, parseBoolArray], // bool[]
  [1001, parseByteaArray], // bytea[]
  [1005, parseIntegerArray], // int2[]
  [1007, parseIntegerArray], // int4[]
  [1008, parseStringArray], // regproc[]
  [1009, parseStringArray], // text[]
  [1014, parseStringArray], // bpchar[]
  [1015, parseStringArray], // varchar[]
  [1016, parseInt8Array], // int8[]
  [1017, parsePointArray], // point[]
  [1021, parseFloatArray], // float4[]
  [1022, parseFloatArray], // float8[]
  [1028, parseIntegerArray], // oid[]
  [1040, parseStringArray], // macaddr[]
  [1041, parseStringArray], // inet[]
  [1082, parseDate], // date
  [1114, parseDate], // timestamp
  [1115, parseDateArray], // timestamp[]
  [1182, parseDateArray], // date[]
  [1183, parseStringArray], // time[]
  [1184, parseDate], // timestamptz
  [1185, parseDateArray], // timestamptz[]
  [1186, parseInterval], // interval
  [1187, parseIntervalArray], // interval[]
  [1231, parseFloatArray], // numeric[] (numbers, as pg-types does)
  [1270, parseStringArray], // timetz[]
  [2951, parseStringArray], // uuid[]
  [3802, parseJson], // jsonb
  [3807, parseJsonArray], // jsonb[]
  [3907, parseStringArray] // numrange[]
]
for (const [oid, fn] of DEFAULTS) textParsers.set(oid, fn)

module.exports = {
  getTypeParser,
  setTypeParser,
  getTextParser,
  builtins,
  arrayParser,
  textParsers,
  noParse,
  // individual parsers
  parseArray,
  parseBool,
  parseInteger,
  parseFloat: parseFloatValue,
  parseInt8,
  parseJson,
  parseBytea,
  parseDate,
  parseInterval,
  PostgresInterval,
  parsePoint,
  parseCircle,
  parseStringArray,
  parseBoolArray,
  parseIntegerArray,
  parseInt8Array,
  parseFloatArray,
  parsePointArray,
  parseCircleArray,
  parseDateArray,
  parseIntervalArray,
  parseByteaArray,
  parseJsonArray
}
