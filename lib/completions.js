'use strict'
// Query replies from the core arrive in batches: the core appends `[id][len][frames]` to one
// buffer per pool and wakes us once; we drain it and settle each query's promise. While any
// query is in flight a ref'd handle keeps the process alive (the core's wake-up function is
// weak and never does).

const { parseReply } = require('./result')

const NOOP = () => {}

class Completions {
  constructor() {
    this.native = null
    this.nextId = 1
    this.waiting = new Map()
    this.busy = setInterval(NOOP, 0x7fffffff)
    this.busy.unref()
    this.drain = this.drain.bind(this)
  }

  /** Submits through `target.submit(id, ...args)`; resolves with the reply frames. */
  run(target, sql, params, name, extended) {
    const id = this.nextId
    this.nextId = id === 0xffffffff ? 1 : id + 1
    if (this.waiting.size === 0) this.busy.ref()
    return new Promise((resolve) => {
      this.waiting.set(id, resolve)
      target.submit(id, sql, params, name, extended)
    })
  }

  /**
   * Checks out a connection through `native.connect(id, meta)`: the NativeClient itself when
   * an idle connection was free, else a promise of it (rejected with the acquire error).
   */
  connect(native, meta) {
    const id = this.nextId
    this.nextId = id === 0xffffffff ? 1 : id + 1
    const ready = native.connect(id, meta)
    if (ready) return ready
    if (this.waiting.size === 0) this.busy.ref()
    return new Promise((resolve) => this.waiting.set(id, resolve)).then((buf) => {
      if (buf.length === 0) return native.takeCheckout(id)
      throw parseReply(buf).error
    })
  }

  /**
   * Passes through the result of `NativeClient.release()`, first draining when it says the
   * release served queued callers without a wake-up (bit 1).
   */
  released(r) {
    if (typeof r === 'number' && r & 2) this.drain()
    return r
  }

  drain() {
    const buf = this.native.takeCompletions()
    let pos = 0
    while (pos < buf.length) {
      const id = buf.readUInt32LE(pos)
      const len = buf.readUInt32LE(pos + 4)
      const resolve = this.waiting.get(id)
      this.waiting.delete(id)
      if (resolve) resolve(buf.subarray(pos + 8, pos + 8 + len))
      pos += 8 + len
    }
    if (this.waiting.size === 0) this.busy.unref()
  }

  stop() {
    clearInterval(this.busy)
  }
}

module.exports = { Completions }
