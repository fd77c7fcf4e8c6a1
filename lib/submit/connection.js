'use strict'
// The `connection` a Submittable is handed: the part of pg's Connection that Submittables
// (pg's Query, pg-cursor, pg-query-stream, pg-copy-streams) use, over a WireStream instead of
// a socket. Frontend messages are serialized by pg-protocol, the serializer pg's Connection
// uses; the backend's bytes are parsed by pg-protocol's parser, attached as the stream's one
// 'data' listener (pg-copy-streams' copy-to takes it off and puts it back), and each message
// is emitted under pg's event name ('rowDescription', 'dataRow', 'errorMessage', ...), so the
// Submittable and the session driver see exactly what pg's Client would.
//
// One per connection (the PoolClient's). `parsedStatements` is the connection's one record of
// its named statements, kept by the core and shared with plain `query({ name })` calls, as
// pg's is: a name prepared either way is not prepared again the other way.

const EventEmitter = require('events')
const { parse, serialize } = require('pg-protocol')
const { WireStream } = require('./wire')

const FLUSH = serialize.flush()
const SYNC = serialize.sync()

class SubmitConnection extends EventEmitter {
  /**
   * `session`: see WireStream; also `end()` (ends the connection) and the named-statement
   * record, `statementText(name)` and `noteStatement(name, text)`.
   */
  constructor(session) {
    super()
    this._session = session
    this.stream = new WireStream(session)
    this.parsedStatements = new Proxy(
      {},
      {
        get: (_t, name) => (typeof name === 'string' ? session.statementText(name) : undefined),
        set: (_t, name, text) => {
          if (typeof name === 'string') session.noteStatement(name, String(text))
          return true
        },
      }
    )
    this.submittedNamedStatements = {}
    this._emitMessage = false
    this.on('newListener', (name) => {
      if (name === 'message') this._emitMessage = true
    })
    parse(this.stream, (msg) => {
      if (this._emitMessage) this.emit('message', msg)
      this.emit(msg.name === 'error' ? 'errorMessage' : msg.name, msg)
    })
  }

  _send(buffer) {
    return this.stream.write(buffer)
  }

  query(text) {
    this._send(serialize.query(text))
  }

  parse(query) {
    this._send(serialize.parse(query))
  }

  bind(config) {
    this._send(serialize.bind(config))
  }

  execute(config) {
    this._send(serialize.execute(config))
  }

  describe(msg) {
    this._send(serialize.describe(msg))
  }

  close(msg) {
    this._send(serialize.close(msg))
  }

  flush() {
    this._send(FLUSH)
  }

  sync() {
    this._send(SYNC)
  }

  sendCopyFromChunk(chunk) {
    this._send(serialize.copyData(chunk))
  }

  endCopyFrom() {
    this._send(serialize.copyDone())
  }

  sendCopyFail(msg) {
    this._send(serialize.copyFail(msg))
  }

  /** Ends the connection (pg-cursor's deprecated `end()`); 'end' follows. */
  end() {
    this._session.end()
  }

  ref() {}
  unref() {}
}

module.exports = { SubmitConnection }
