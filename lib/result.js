'use strict'
// Turns one reply (a Buffer of PostgreSQL backend frames, forwarded by the Rust core) into
// pg-shaped results: { command, rowCount, oid, rows, fields }, an array of them for a
// multi-statement simple query, or an error. Frames: T RowDescription, D DataRow,
// C CommandComplete, I EmptyQuery, E ErrorResponse, N NoticeResponse, Z ReadyForQuery,
// ! client-side error.

const defaultTypes = require('./types/parsers')
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
    this.RowCtor = null
    this.rowAsArray = rowMode === 'array'
    this._prebuilt = null
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


const utf8 = typeof Buffer.prototype.utf8Slice === 'function'
  ? (buf, start, end) => buf.utf8Slice(start, end)
  : (buf, start, end) => buf.toString('utf8', start, end)

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
  const empty = {}
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
    fields[i] = new Field(name, tableID, columnID, dataTypeID, dataTypeSize, dataTypeModifier, format)
    parsers[i] = types ? types.getTypeParser(dataTypeID, format) : defaultTypes.getTypeParser(dataTypeID, format)
    empty[name] = null
  }
  result.fields = fields
  result._parsers = parsers
  result._prebuilt = empty
}

function readRow(result, buf, pos) {
  const n = buf.readInt16BE(pos)
  pos += 2
  const parsers = result._parsers
  if (result.rowAsArray) {
    const row = new Array(n)
    for (let i = 0; i < n; i++) {
      const len = buf.readInt32BE(pos)
      pos += 4
      if (len === -1) {
        row[i] = null
      } else {
        row[i] = parsers[i](utf8(buf, pos, pos + len))
        pos += len
      }
    }
    return row
  }
  const fields = result.fields
  const row = { ...result._prebuilt }
  for (let i = 0; i < n; i++) {
    const len = buf.readInt32BE(pos)
    pos += 4
    if (len === -1) {
      row[fields[i].name] = null
    } else {
      row[fields[i].name] = parsers[i](utf8(buf, pos, pos + len))
      pos += len
    }
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
 * Parses a reply. Returns { result, error, status, notices } where result is a Result or an
 * array of them (multi-statement simple query), error the first error (parsing stops there, as
 * pg reports only the error), status the transaction status of the final ReadyForQuery, and
 * notices the fields of the notices the request raised (null if none).
 */
/** Parser state of one reply; `step` may be called repeatedly to parse it in slices. */
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
          if (!this.error) {
            try {
              this.result.rows.push(readRow(this.result, buf, body))
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
        case 0x21: { // !
          if (!this.error) {
            const [code, next] = cstring(buf, body)
            this.error = clientError(code, cstring(buf, next)[0])
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
 * array of them (multi-statement simple query), error the first error (pg reports only the
 * error), status the transaction status of the final ReadyForQuery.
 */
function parseReply(buf, rowMode, types) {
  const st = new ReplyState(buf, rowMode, types)
  st.step(buf.length)
  return st.done()
}

/** Replies larger than this are parsed in slices of this size, yielding to the event loop. */
const SLICE = 256 * 1024

const yieldTurn = () => new Promise((resolve) => setImmediate(resolve))

/**
 * Like parseReply, but a large reply is parsed a slice at a time with the event loop free in
 * between, so a big result never stalls other work for long. Small replies parse at once.
 */
async function parseReplyAsync(buf, rowMode, types) {
  const st = new ReplyState(buf, rowMode, types)
  while (!st.step(st.pos + SLICE)) await yieldTurn()
  return st.done()
}

/** The parser to await for `buf`: synchronous for small replies. */
function parse(buf, rowMode, types) {
  return buf.length > SLICE ? parseReplyAsync(buf, rowMode, types) : parseReply(buf, rowMode, types)
}

module.exports = { parseReply, parseReplyAsync, parse, Result, Field, errorFields }
