'use strict'
// Turns one reply (a Buffer of PostgreSQL backend frames, forwarded by the Rust core) into
// pg-shaped results: { command, rowCount, oid, rows, fields }, an array of them for a
// multi-statement simple query, or an error. Frames: T RowDescription, D DataRow,
// C CommandComplete, I EmptyQuery, E ErrorResponse, N NoticeResponse, Z ReadyForQuery,
// ! client-side error, d a DataRow whose values are all ASCII. A long reply may arrive in
// parts (a ReplyStream), each part whole frames. A column in binary format (pg's binary
// mode) hands its parser a Buffer of the value's exact bytes; the row reader is chosen once
// per RowDescription, so text-only results never look at formats per value.

const pgTypes = require('pg-types')
const { fastest, inlineKind } = require('./fast-parsers')
const { rowReader, utf8, latin1 } = require('./row-reader')
const { databaseError, clientError } = require('./errors')

const TAG = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/

class Field {
  constructor(name, tableID, columnID, dataTypeID, dataTypeSize, dataTypeModifier, format) {
    this.name = name
    this.tableID = tableID
    this.columnID = columnID
    this.dataTypeID = dataTypeID
    this.dataTypeSize = dataTypeSize
    this.dataTypeModifier = dataTypeModifier
    this.format = format
  }
}

class Result {
  constructor(rowMode, types) {
    this.command = null
    this.rowCount = null
    this.oid = null
    this.rows = []
    this.fields = []
    this._parsers = undefined
    this._types = types
    this._reader = null
    this._template = null
    this.rowAsArray = rowMode === 'array'
    // readRow, or readRowBinary once a RowDescription has a binary column (readFields).
    this._readRow = readRow
  }

  addCommandComplete(text) {
    const m = TAG.exec(text)
    if (!m) return
    this.command = m[1]
    if (m[3]) {
      this.oid = parseInt(m[2], 10)
      this.rowCount = parseInt(m[3], 10)
    } else if (m[2]) {
      this.rowCount = parseInt(m[2], 10)
    }
  }
}

function cstring(buf, pos) {
  const end = buf.indexOf(0, pos)
  return [utf8(buf, pos, end), end + 1]
}

function readFields(result, buf, pos) {
  const n = buf.readInt16BE(pos)
  pos += 2
  const fields = new Array(n)
  const parsers = new Array(n)
  const types = result._types
  let kinds = ''
  let binary = false
  for (let i = 0; i < n; i++) {
    let name
    ;[name, pos] = cstring(buf, pos)
    const tableID = buf.readUInt32BE(pos)
    const columnID = buf.readInt16BE(pos + 4)
    const dataTypeID = buf.readUInt32BE(pos + 6)
    const dataTypeSize = buf.readInt16BE(pos + 10)
    const dataTypeModifier = buf.readInt32BE(pos + 12)
    const format = buf.readInt16BE(pos + 16) === 0 ? 'text' : 'binary'
    pos += 18
    if (format === 'binary') binary = true
    fields[i] = new Field(name, tableID, columnID, dataTypeID, dataTypeSize, dataTypeModifier, format)
    const parser = (types || pgTypes).getTypeParser(dataTypeID, format)
    kinds += format === 'text' ? inlineKind(parser) : '-'
    parsers[i] = fastest(parser, format)
  }
  result.fields = fields
  result._parsers = parsers
  result._template = null
  // A binary column's value is bytes: such rows are read by readRowBinary, never compiled.
  result._reader = binary ? null : rowReader(fields, result.rowAsArray, kinds)
  result._readRow = binary ? readRowBinary : readRow
}

/**
 * One DataRow (body at `pos`, frame ends at `end`) as a row object or array, by the reader
 * compiled for the result's shape (see lib/row-reader.js). A row the core marked all-ASCII
 * (`ascii`, frame type `d`) is decoded as one Latin-1 string — for ASCII the same characters
 * UTF-8 decoding gives — and each value cut out of it: one string decode per row instead of
 * one per value.
 */
function readRow(result, buf, pos, end, ascii) {
  const reader = result._reader
  if (reader === null || buf.readInt16BE(pos) !== result.fields.length) return readRowGeneric(result, buf, pos, end, ascii)
  return reader(buf, pos, end, ascii, result._parsers)
}

/**
 * The shape-independent reader, as pg reads a row: a copy of the result's template of
 * null-valued columns, each value assigned by name. Used for a shape's first result (see
 * lib/row-reader.js) and for a DataRow whose column count differs from its RowDescription's
 * (a server breaking the protocol: values past the described columns are dropped).
 */
function readRowGeneric(result, buf, pos, end, ascii) {
  const n = buf.readInt16BE(pos)
  const text = ascii ? latin1(buf, pos, end) : null
  const parsers = result._parsers
  const fields = result.rowAsArray ? null : result.fields
  const row = fields === null ? new Array(n) : { ...template(result) }
  let at = pos + 2
  for (let i = 0; i < n; i++) {
    const len = buf.readInt32BE(at)
    at += 4
    let value = null
    if (len !== -1) {
      const parse = parsers[i] || String
      value = parse(text === null ? utf8(buf, at, at + len) : text.substring(at - pos, at - pos + len))
      at += len
    }
    if (fields === null) row[i] = value
    else if (i < fields.length) row[fields[i].name] = value
  }
  return row
}

/** The result's row template: each column name an own key holding null, in pg's order. */
function template(result) {
  if (result._template === null) {
    const empty = Object.create(null)
    for (const f of result.fields) empty[f.name] = null
    result._template = { ...empty }
  }
  return result._template
}

/**
 * Like readRow, for a RowDescription with binary columns: a binary value's parser gets a
 * Buffer holding a copy of its exact bytes (pg gives the bytes after a UTF-8 round trip,
 * which changes any that are not valid UTF-8); a text value its string. The all-ASCII
 * marking (`ascii`) is not used: binary values are bytes, not characters.
 */
function readRowBinary(result, buf, pos) {
  const n = buf.readInt16BE(pos)
  const parsers = result._parsers
  const fields = result.fields
  const asArray = result.rowAsArray
  const row = asArray ? new Array(n) : { ...template(result) }
  let at = pos + 2
  for (let i = 0; i < n; i++) {
    const len = buf.readInt32BE(at)
    at += 4
    let value = null
    if (len !== -1) {
      const raw = fields[i].format === 'binary' ? Buffer.from(buf.subarray(at, at + len)) : utf8(buf, at, at + len)
      value = parsers[i](raw)
      at += len
    }
    if (asArray) row[i] = value
    else row[fields[i].name] = value
  }
  return row
}

function errorFields(buf, pos, end) {
  const fields = {}
  while (pos < end && buf[pos] !== 0) {
    const key = String.fromCharCode(buf[pos])
    let value
    ;[value, pos] = cstring(buf, pos + 1)
    fields[key] = value
  }
  return fields
}

/**
 * Parser state of one reply; `step` may be called repeatedly to parse it in slices, and `buf`
 * replaced by the next part of a streamed reply once `step` has consumed it.
 */
class ReplyState {
  constructor(buf, rowMode, types) {
    this.buf = buf
    this.rowMode = rowMode
    this.result = new Result(rowMode, types)
    this.results = null
    this.error = null
    this.status = null
    this.notices = null
    this.pos = 0
  }

  next() {
    const r = new Result(this.rowMode, this.result._types)
    if (!this.results) this.results = [this.result]
    this.results.push(r)
    this.result = r
  }

  /** Parses whole frames until `pos` reaches `until` (or the end). */
  step(until) {
    const buf = this.buf
    const stop = Math.min(until, buf.length)
    let pos = this.pos
    while (pos < stop) {
      const type = buf[pos]
      const frameEnd = pos + 1 + buf.readInt32BE(pos + 1)
      const body = pos + 5
      switch (type) {
        case 0x44: // D
        case 0x64: // d: a DataRow whose values are all ASCII (marked by the core)
          if (!this.error) {
            try {
              const result = this.result
              result.rows.push(result._readRow(result, buf, body, frameEnd, type === 0x64))
            } catch (err) {
              this.error = err
            }
          }
          break
        case 0x54: // T
          if (this.result.command) this.next()
          readFields(this.result, buf, body)
          break
        case 0x43: // C
          if (this.result.command) this.next()
          this.result.addCommandComplete(cstring(buf, body)[0])
          break
        case 0x45: // E
          if (!this.error) this.error = databaseError(errorFields(buf, body, frameEnd))
          break
        case 0x21: {
          // ! code, message, and optionally the error's other members as JSON
          if (!this.error) {
            const [code, next] = cstring(buf, body)
            const [message, rest] = cstring(buf, next)
            // A third string, when present, holds the error's facts as JSON.
            this.error = clientError(code, message, rest < frameEnd ? JSON.parse(cstring(buf, rest)[0]) : undefined)
          }
          break
        }
        case 0x5a: // Z
          this.status = String.fromCharCode(buf[body])
          break
        case 0x4e: // N: a notice raised by this request (emitted by the client before it resolves)
          ;(this.notices || (this.notices = [])).push(errorFields(buf, body, frameEnd))
          break
        default: // I (empty query) and anything else: nothing to add
          break
      }
      pos = frameEnd
    }
    this.pos = pos
    return pos >= buf.length
  }

  done() {
    return { result: this.results || this.result, error: this.error, status: this.status, notices: this.notices }
  }
}

/**
 * Parses a reply. Returns { result, error, status, notices } where result is a Result or an
 * array of them (multi-statement simple query), error the first error (rows after it are not
 * parsed: pg reports only the error), status the transaction status of the final
 * ReadyForQuery, and notices the fields of the notices the request raised (null if none).
 */
function parseReply(buf, rowMode, types) {
  const st = new ReplyState(buf, rowMode, types)
  st.step(buf.length)
  return st.done()
}

/** Replies larger than this are parsed asynchronously (parseReplyAsync). */
const SLICE = 256 * 1024
/** Bytes parsed between looks at the clock. */
const STEP = 64 * 1024
/**
 * A long parse yields to the event loop after this long. Not much shorter: each yield lets
 * V8 run a pending scavenge while the half-built result is alive (measured: 3 ms yields cost
 * ~25 % of 10k-row throughput, 5 ms ~2 %).
 */
const YIELD_MS = 5

const yieldTurn = () => new Promise((resolve) => setImmediate(resolve))

/**
 * A reply arriving in parts (the core streams long results): the completions hand each part
 * over as it comes, `end` with the last. Invariant: parts are whole frames, in reply order.
 */
class ReplyStream {
  constructor() {
    this.parts = []
    this.ended = false
    this.wake = null
  }

  push(part) {
    this.parts.push(part)
    const wake = this.wake
    if (wake !== null) {
      this.wake = null
      wake()
    }
  }

  end(part) {
    this.ended = true
    this.push(part)
  }
}

/**
 * Parses a streamed reply part by part as the parts arrive, so parsing overlaps the server
 * still sending; the event loop is let in while waiting for a part and every YIELD_MS.
 * Resolves like parseReply.
 */
async function parseStream(stream, rowMode, types) {
  const st = new ReplyState(null, rowMode, types)
  let since = performance.now()
  for (;;) {
    while (stream.parts.length !== 0) {
      st.buf = stream.parts.shift()
      st.pos = 0
      for (;;) {
        const end = st.step(st.pos + STEP)
        if (performance.now() - since >= YIELD_MS) {
          await yieldTurn()
          since = performance.now()
        }
        if (end) break
      }
    }
    if (stream.ended) return st.done()
    await new Promise((resolve) => {
      stream.wake = resolve
    })
    since = performance.now()
  }
}

/**
 * Like parseReply, but a large reply is parsed with the event loop let in every YIELD_MS, so
 * a big result never stalls other work for long.
 */
function parseReplyAsync(buf, rowMode, types) {
  const stream = new ReplyStream()
  stream.end(buf)
  return parseStream(stream, rowMode, types)
}

/** The parser to await for a reply: synchronous for small ones. */
function parse(reply, rowMode, types) {
  if (reply instanceof ReplyStream) return parseStream(reply, rowMode, types)
  return reply.length > SLICE ? parseReplyAsync(reply, rowMode, types) : parseReply(reply, rowMode, types)
}

module.exports = { parseReply, parseReplyAsync, parse, ReplyStream, Result, Field, errorFields }
