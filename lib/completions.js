'use strict'
// Query replies from the core arrive in batches: the core appends `[id][len][frames]` to one
// buffer per pool and wakes us once; we drain it and settle each query's promise. A long
// reply comes in parts (top bit of len set on all but the last): the promise then resolves
// with a ReplyStream at the first part, so parsing overlaps the rest arriving. A raw session
// (a Submittable's, lib/submit/) registers a feed that takes its parts as they come. While any
// query is in flight a ref'd handle keeps the process alive (the core's wake-up function is
// weak and never does).

const { parseReply, ReplyStream } = require('./result')

/** Set in a record's length word when more of the same reply follows. */
const PARTIAL = 0x80000000
/** The id of records saying which connection served a pool.query (never a query's id). */
const SERVED = 0
/**
 * The id of records carrying a queued connect()'s checkout, which JS holds from the drain
 * that takes the record on: `[connect id u32]` then the checkout's facts as `connect()`
 * writes them into `info`, `[checkoutId, connId, processId, isNew]` (f64 each). Never a
 * request's id either (see takeId).
 */
const CHECKOUT = 0xffffffff
/** The largest id a request gets. */
const MAX_ID = 0xfffffffe

const NOOP = () => {}

/**
 * What JS knows of a checkout it holds; the core keeps the checkout itself, by id. `client` is
 * the PoolClient it was handed to (set by the pool's internals when JS takes it).
 */
class CheckoutInfo {
  constructor(checkoutId, connId, processId, isNew) {
    this.checkoutId = checkoutId
    this.connId = connId
    this.processId = processId
    this.isNew = isNew
    this.client = null
  }
}

/** The connection a pool.query ran on (see Completions#takeServed). */
class ServedBy {
  constructor(connId, processId, isNew) {
    this.connId = connId
    this.processId = processId
    this.isNew = isNew
  }
}

class Completions {
  constructor() {
    this.native = null
    // Where the core writes `[checkoutId, connId, processId, isNew]` of a checkout JS takes.
    this.info = new Float64Array(4)
    this.nextId = 1
    this.waiting = new Map()
    this.busy = setInterval(NOOP, 0x7fffffff)
    this.busy.unref()
    this.drain = this.drain.bind(this)
    // The id of the last `run()`, and, once the pool watches pool.query's connections (see
    // NativePool.watchImplicit), query id -> ServedBy of replies drained and not yet claimed.
    this.lastRunId = 0
    this.served = new Map()
  }

  /**
   * A fresh id for one reply. Ids are 32-bit and wrap, skipping 0 and every id still awaiting
   * its reply: a reply is never handed to another caller, however long its request waits.
   * (At most 2^32 - 2 requests can wait at once, far beyond what memory allows.)
   */
  takeId() {
    let id = this.nextId
    while (this.waiting.has(id)) id = id === MAX_ID ? 1 : id + 1
    this.nextId = id === MAX_ID ? 1 : id + 1
    return id
  }

  /** `pool.query` on an implicit checkout; resolves with the reply frames. */
  run(sql, params, name, extended, binary) {
    const id = this.takeId()
    this.lastRunId = id
    return new Promise((resolve) => {
      this.expect(id, resolve, () => this.native.submit(id, sql, params, name, extended, binary))
    })
  }

  /** A statement on held checkout `checkoutId`; resolves with the reply frames. */
  runOn(checkoutId, sql, params, name, extended, binary) {
    const id = this.takeId()
    return new Promise((resolve) => {
      this.expect(id, resolve, () => this.native.clientSubmit(checkoutId, id, sql, params, name, extended, binary))
    })
  }

  /**
   * Registers `waiter` for reply `id`, then runs `send`. If `send` throws (the native call
   * failed: no reply will come), the registration is undone and the error rethrown, so that
   * nothing waits, or keeps the process alive, for a reply that never comes.
   */
  expect(id, waiter, send) {
    if (this.waiting.size === 0) this.busy.ref()
    this.waiting.set(id, waiter)
    try {
      send()
    } catch (err) {
      this.waiting.delete(id)
      if (this.waiting.size === 0) this.busy.unref()
      throw err
    }
  }

  /**
   * Opens a raw session on held checkout `checkoutId`, writing `first`: `feed.push(part)`
   * gets each leading part of its reply, `feed.end(part)` the last.
   */
  session(checkoutId, feed, first) {
    const id = this.takeId()
    this.expect(id, feed, () => this.native.sessionOpen(checkoutId, id, first))
  }

  /** Writes more of a session's frontend bytes; `cb()` once the socket took them. */
  sessionWrite(checkoutId, bytes, cb) {
    const id = this.takeId()
    if (this.native.sessionWrite(checkoutId, bytes, id)) return cb()
    if (this.waiting.size === 0) this.busy.ref()
    this.waiting.set(id, () => cb())
  }

  /**
   * Checks out a connection: a CheckoutInfo at once when an idle connection was free, else a
   * promise of one (rejected with the acquire error). For a queued connect, `settled(info)`
   * runs in the same step that settles the promise, with the CheckoutInfo JS takes, or null
   * when the connect failed: the caller's bookkeeping needs no promise of its own (one
   * promise and one microtask less per queued connect()).
   */
  connect(meta, settled) {
    const native = this.native
    const id = this.takeId()
    const f = this.info
    if (native.connect(id, meta, f)) return new CheckoutInfo(f[0], f[1], f[2], f[3] === 1)
    if (this.waiting.size === 0) this.busy.ref()
    return new Promise((resolve, reject) => {
      // Runs inside drain(), which hands every record on: it must not throw. `r` is the
      // CheckoutInfo JS now holds, or the error reply's frames.
      this.waiting.set(id, (r) => {
        try {
          let info = null
          try {
            if (!(r instanceof CheckoutInfo)) throw parseReply(r).error
            info = r
          } finally {
            settled(info)
          }
          resolve(info)
        } catch (e) {
          reject(e)
        }
      })
    })
  }

  /**
   * The result of the core's `release()`: its bits, or its error as data. When the release
   * served queued callers without a wake-up, the core handed their completions back with the
   * bits as the last 4 bytes: they are drained here, before the bits are returned.
   */
  released(r) {
    if (typeof r === 'number' || !(r instanceof Uint8Array)) return r
    const end = r.length - 4
    const bits = r.readUInt32LE(end)
    this.handle(r, end)
    return bits
  }

  drain() {
    const buf = this.native.takeCompletions()
    this.handle(buf, buf.length)
  }

  /** Hands on the records in `buf` before `end`. */
  handle(buf, end) {
    let pos = 0
    while (pos < end) {
      const id = buf.readUInt32LE(pos)
      const word = buf.readUInt32LE(pos + 4)
      if (id === SERVED) {
        // Which connection the next reply of query `qid` ran on: `[qid][connId][pid][isNew]`.
        const at = pos + 8
        this.served.set(buf.readUInt32LE(at), new ServedBy(buf.readUInt32LE(at + 4), buf.readInt32LE(at + 8), buf[at + 12] === 1))
        pos += 8 + word
        continue
      }
      if (id === CHECKOUT) {
        const at = pos + 8
        const connectId = buf.readUInt32LE(at)
        const info = new CheckoutInfo(
          buf.readDoubleLE(at + 4),
          buf.readDoubleLE(at + 12),
          buf.readDoubleLE(at + 20),
          buf.readDoubleLE(at + 28) === 1
        )
        const waiter = this.waiting.get(connectId)
        this.waiting.delete(connectId)
        // Held by JS now; a checkout nobody waits for any more goes straight back.
        if (typeof waiter === 'function') waiter(info)
        else this.released(this.native.release(info.checkoutId, false))
        pos += 8 + word
        continue
      }
      if (word >= PARTIAL) {
        const len = word - PARTIAL
        this.partial(id, buf.subarray(pos + 8, pos + 8 + len))
        pos += 8 + len
        continue
      }
      const waiter = this.waiting.get(id)
      this.waiting.delete(id)
      const reply = buf.subarray(pos + 8, pos + 8 + word)
      // A resolver, or a reply arriving in parts (a ReplyStream, a session's feed).
      if (typeof waiter === 'function') waiter(reply)
      else if (waiter) waiter.end(reply)
      pos += 8 + word
    }
    if (this.waiting.size === 0) this.busy.unref()
  }

  /** The connection query `id` (a `run()`) was served by, if the core said so; forgotten here. */
  takeServed(id) {
    const s = this.served.get(id)
    if (s !== undefined) this.served.delete(id)
    return s
  }

  /**
   * A leading part of a long reply: the first turns the query's promise into a ReplyStream
   * (resolved at once, so parsing starts while the rest is on its way); later ones feed it.
   */
  partial(id, part) {
    const waiter = this.waiting.get(id)
    if (waiter === undefined) return
    if (typeof waiter !== 'function') {
      waiter.push(part)
    } else {
      const stream = new ReplyStream()
      stream.push(part)
      this.waiting.set(id, stream)
      waiter(stream)
    }
  }

  stop() {
    clearInterval(this.busy)
  }
}

module.exports = { Completions, CheckoutInfo }
