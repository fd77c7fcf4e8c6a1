'use strict'
// DataRow readers compiled per result shape. A generic reader stores every value through one
// keyed store (`row[name] = value`) and calls every column's parser from one call site; V8
// sees both as megamorphic. A reader compiled for a shape has one call site per column (each
// stays monomorphic, so its parser can be inlined) and builds the row as an object literal
// with the column names as constant keys (one hidden class, no copying of a template).
//
// Invariants: a shape is the row mode, the column names in order and each column's inline
// kind; a compiled reader is shared by every result of that shape (parsers are passed per
// call, never captured) and takes a DataRow whose column count equals the shape's (the
// caller checks). Names are embedded as JSON string literals, so no name can inject code;
// `__proto__` is a computed key, which defines an own property as pg's row (copied from a
// template that has it) holds one. Duplicate names behave as pg's: the last value wins, the
// key keeps the first one's position. Compiling costs ~60 µs, so a shape is compiled the
// second time it is seen (a one-off shape is read generically, as pg reads it); the cache
// holds at most MAX_SHAPES shapes, the oldest forgotten first.

const utf8 =
  typeof Buffer.prototype.utf8Slice === 'function'
    ? (buf, start, end) => buf.utf8Slice(start, end)
    : (buf, start, end) => buf.toString('utf8', start, end)
const latin1 =
  typeof Buffer.prototype.latin1Slice === 'function'
    ? (buf, start, end) => buf.latin1Slice(start, end)
    : (buf, start, end) => buf.toString('latin1', start, end)

const MAX_SHAPES = 512
const readers = new Map()

// The last compiled reader handed out and its shape: results of a hot statement find it by
// comparing names, without building and hashing the shape's key per result.
let lastReader = null
let lastAsArray = false
let lastKinds = ''
let lastNames = []

function isLastShape(fields, asArray, kinds) {
  if (lastReader === null || asArray !== lastAsArray || kinds !== lastKinds || fields.length !== lastNames.length) return false
  for (let i = 0; i < fields.length; i++) if (fields[i].name !== lastNames[i]) return false
  return true
}

function remember(reader, fields, asArray, kinds) {
  lastReader = reader
  lastAsArray = asArray
  lastKinds = kinds
  lastNames = fields.map((f) => f.name)
  return reader
}

/**
 * The reader for rows of `fields` (pg Field objects), as objects or (`asArray`) arrays, or
 * null the first time the shape is seen (read those rows generically).
 * `kinds` has one character per column (lib/fast-parsers.js inlineKind): 'i' an integer and
 * 'b' a boolean read from the bytes when they have PostgreSQL's form, '-' the parser called.
 */
function rowReader(fields, asArray, kinds) {
  if (isLastShape(fields, asArray, kinds)) return lastReader
  let key = (asArray ? 'a' : 'o') + kinds
  for (let i = 0; i < fields.length; i++) key += '\0' + fields[i].name
  const reader = readers.get(key)
  if (reader) return remember(reader, fields, asArray, kinds)
  if (reader === null) {
    const compiled = compile(fields, asArray, kinds)
    readers.set(key, compiled)
    return remember(compiled, fields, asArray, kinds)
  }
  if (readers.size >= MAX_SHAPES) readers.delete(readers.keys().next().value)
  readers.set(key, null)
  return null
}

const CALL = (i) => `p[${i}](text === null ? utf8(buf, at, at + len) : text.substring(at - pos, at - pos + len))`

/** The statements that read column `i` into `v${i}`, `len` holding its length (not -1). */
function readValue(i, kind) {
  if (kind === 'i') return `v${i} = len > 0 && len < 10 ? int(buf, at, at + len) : NaN\n  if (v${i} !== v${i}) v${i} = ${CALL(i)}\n`
  if (kind === 'b') return `v${i} = len === 1 && buf[at] === 116 ? true : len === 1 && buf[at] === 102 ? false : ${CALL(i)}\n`
  return `v${i} = ${CALL(i)}\n`
}

/** The integer PostgreSQL printed in buf[start, end) (an optional '-' and 1-8 digits); NaN otherwise. */
function int(buf, start, end) {
  let k = start
  const neg = buf[k] === 45
  if (neg) k++
  if (k === end) return NaN
  let x = 0
  for (; k < end; k++) {
    const d = buf[k] - 48
    if (d < 0 || d > 9) return NaN
    x = x * 10 + d
  }
  return neg ? -x : x
}

function compile(fields, asArray, kinds) {
  const n = fields.length
  let body = 'const text = ascii ? latin1(buf, pos, end) : null\nlet at = pos + 2\nlet len\n'
  for (let i = 0; i < n; i++) {
    body += `len = buf.readInt32BE(at)\nat += 4\nlet v${i} = null\nif (len !== -1) {\n  ${readValue(i, kinds[i])}  at += len\n}\n`
  }
  if (asArray) {
    body += `return [${fields.map((_, i) => `v${i}`).join(', ')}]\n`
  } else {
    const props = []
    const index = new Map()
    fields.forEach((f, i) => index.set(f.name, i))
    const seen = new Set()
    for (const f of fields) {
      if (seen.has(f.name)) continue
      seen.add(f.name)
      const k = JSON.stringify(f.name)
      props.push(`${f.name === '__proto__' ? `[${k}]` : k}: v${index.get(f.name)}`)
    }
    body += `return { ${props.join(', ')} }\n`
  }
  // eslint-disable-next-line no-new-func
  return new Function('utf8', 'latin1', 'int', `return function readRow(buf, pos, end, ascii, p) {\n${body}}`)(utf8, latin1, int)
}

module.exports = { rowReader, utf8, latin1 }
