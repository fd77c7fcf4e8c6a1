'use strict'
// The socket a Submittable sees: `connection.stream`. pg's Connection reads and writes a
// net.Socket; libraries that drive it (pg-copy-streams) use that socket directly — they write
// CopyData to it and wait for 'drain', or take its one 'data' listener off, pause it and read
// raw backend bytes themselves. WireStream is a Duplex with those semantics over a raw session
// of the core (lib/submit/session.js): its readable side is fed the backend's bytes of the
// session exactly as they came, its writable side sends frontend bytes.
//
// Flow control: the core stops reading the socket while too much of what it handed on is
// unacknowledged (src/pg/flow.rs). Bytes count as consumed once they have left this stream's
// read buffer — at once while a 'data' listener (the message parser) takes them, only when its
// reader reads them while someone reads it in paused mode (copy-to) — and are acknowledged in
// steps of ACK_STEP, well under the core's window, so the core never waits for bytes already
// consumed.

const { Duplex } = require('stream')

/** Acknowledge consumed bytes in steps of this many (the core's window is 512 KB). */
const ACK_STEP = 64 * 1024

/** Buffered on each side before the stream says "wait" (push()/write() return false). */
const HIGH_WATER = 64 * 1024

class WireStream extends Duplex {
  /**
   * `session`: what carries the bytes — `write(buf, cb)` (cb once the socket took them) and
   * `ack(n)` (n more bytes consumed).
   */
  constructor(session) {
    super({ readableHighWaterMark: HIGH_WATER, writableHighWaterMark: HIGH_WATER, allowHalfOpen: true })
    this._session = session
    this._delivered = 0
    this._acked = 0
    this._ackLater = () => this._ack()
  }

  /** Backend bytes of the session, in order (whole or partial frames). */
  feed(bytes) {
    this._delivered += bytes.length
    if (this.push(bytes)) this._ack()
  }

  /** A session begins: what was handed on before is not the core's to count any more. */
  restartCredit() {
    this._acked = this._delivered
  }

  _read() {
    // Called by read() before it takes the bytes it returns out of the buffer: count them
    // once it has.
    queueMicrotask(this._ackLater)
  }

  _ack() {
    const n = this._delivered - this._acked - this.readableLength
    if (n >= ACK_STEP) {
      this._acked += n
      this._session.ack(n)
    }
  }

  _write(chunk, _encoding, cb) {
    this._session.write(chunk, cb)
  }

  _writev(chunks, cb) {
    this._session.write(chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)), cb)
  }

  // A socket's keep-alive switches: the pool owns the real socket's.
  ref() {}
  unref() {}
  setNoDelay() {
    return this
  }
  setKeepAlive() {
    return this
  }
}

module.exports = { WireStream, ACK_STEP }
