'use strict'

// PostgreSQL array literal parser (text format).
//
// Behaves exactly like postgres-array@2 (the parser pg-types uses), including
// its leniencies: an optional '[lo:hi]=' dimension decoration is skipped,
// unquoted NULL becomes null (a quoted "NULL" stays a string), backslash
// escapes are honoured, the transform is called once per non-NULL element in
// document order, and unbalanced braces throw 'array dimension not balanced'.
//
// Implementation: a single char scan. Runs of ordinary characters are
// collected as slices of the source rather than char by char.

const BACKSLASH = 92
const QUOTE = 34
const COMMA = 44
const LBRACE = 123
const RBRACE = 125
const LBRACKET = 91
const EQUALS = 61

function identity (value) {
  return value
}

// Parse a PostgreSQL array literal. `transform(text)` converts each non-NULL
// element; without it elements stay strings.
function parseArray (source, transform) {
  if (typeof source !== 'string') source = String(source)
  if (!transform) transform = identity
  let start = 0
  if (source.charCodeAt(0) === LBRACKET) {
    // '[2:3]={...}': skip everything up to and including the '='.
    const len = source.length
    while (start < len) {
      let c = source.charCodeAt(start++)
      if (c === BACKSLASH) c = source.charCodeAt(start++)
      if (c === EQUALS) break
    }
  }
  const cursor = { pos: start }
  return parseLevel(source, cursor, transform, false)
}

// Parses one '{...}' level starting at cursor.pos. For a nested level
// (nested === true) it returns as soon as its closing brace is consumed and
// leaves cursor.pos just after it. The top level keeps scanning to the end of
// the input, as postgres-array does.
function parseLevel (src, cursor, transform, nested) {
  const entries = []
  const len = src.length
  let i = cursor.pos
  let depth = 0
  let quote = false
  // Recorded element text: `rec` holds finished pieces, `seg` the start of
  // the run of source characters currently being recorded (-1: none).
  let rec = ''
  let seg = -1
  let has = false

  while (i < len) {
    const at = i // where this (possibly escaped) character starts
    let c = src.charCodeAt(i++)
    let escaped = false
    if (c === BACKSLASH) {
      if (seg !== -1) { rec += src.slice(seg, at); seg = -1 }
      if (i >= len) { has = true; i++; break } // dangling backslash
      c = src.charCodeAt(i++)
      escaped = true
    }

    if (c === LBRACE && !quote) {
      if (seg !== -1) { rec += src.slice(seg, at); seg = -1 }
      depth++
      if (depth > 1) {
        cursor.pos = i - 1 // the '{' itself (an escape, if any, is behind it)
        entries.push(parseLevel(src, cursor, transform, true))
        i = cursor.pos
        depth--
      }
    } else if (c === RBRACE && !quote) {
      if (seg !== -1) { rec += src.slice(seg, at); seg = -1 }
      depth--
      if (depth === 0) {
        if (has) {
          entries.push(rec === 'NULL' ? null : transform(rec))
          rec = ''
          has = false
        }
        if (nested) {
          cursor.pos = i
          return entries
        }
      }
    } else if (c === QUOTE && !escaped) {
      if (seg !== -1) { rec += src.slice(seg, at); seg = -1 }
      if (quote) {
        // A quoted element is always an entry, even when empty or "NULL".
        entries.push(transform(rec))
        rec = ''
        has = false
      }
      quote = !quote
    } else if (c === COMMA && !quote) {
      if (seg !== -1) { rec += src.slice(seg, at); seg = -1 }
      if (has) {
        entries.push(rec === 'NULL' ? null : transform(rec))
        rec = ''
        has = false
      }
    } else {
      // Ordinary (or escaped) character: extend the current run.
      if (seg === -1) seg = i - 1
      has = true
    }
  }
  if (depth !== 0) {
    throw new Error('array dimension not balanced')
  }
  return entries
}

// pg-types' `arrayParser` shape: create(source, transform).parse()
const arrayParser = {
  create (source, transform) {
    return {
      parse () {
        return parseArray(source, transform)
      }
    }
  }
}

module.exports = { parseArray, arrayParser }
