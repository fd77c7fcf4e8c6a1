'use strict'
// PoolClient: what pool.connect() hands out. The same object is handed out again for the same
// connection (pg does so; ORMs rely on it). Between connect() and release() it holds a
// checkout (`_native`: its CheckoutInfo; the core keeps the checkout by id); after release it
// refuses queries with an error that says why.

const EventEmitter = require('events')
const { normalize, encode } = require('./query')
const { parse } = require('./result')
const { clientError, fromInfo, noticeMessage } = require('./errors')
const { escapeLiteral, escapeIdentifier } = require('./types/prepare-value')
const TypeOverrides = require('./types/overrides')
const { safeEmit } = require('./events')

const NOOP = () => {}

class PoolClient extends EventEmitter {
  constructor(pool, connId, processID) {
    super()
    this._pool = pool
    this._connId = connId
    this.processID = processID
    this._native = null
    this.release = this._releaseImpl.bind(this)
    this._checkoutId = 0
    this._releasedReason = null
    this._releasedAt = 0
    this._types = pool._types
    this._tag = undefined
    // The pool's weak entry for this client while checked out (one per client, not per checkout).
    this._weak = new WeakRef(this)
    // The checkout this client holds, as seen by the pool's FinalizationRegistry (0: none).
    this._slot = { checkoutId: 0 }
    pool._collected.register(this, this._slot)
    const o = pool.options
    this.database = pool._conn.database
    this.user = pool._conn.user
    this.host = pool._conn.host
    this.port = pool._conn.port
  }

  _attach(native, tag) {
    this._native = native
    this._checkoutId = native.checkoutId
    this._slot.checkoutId = native.checkoutId
    this._releasedReason = null
    this._releasedAt = 0
    this._tag = tag
  }

  /** Gives the checkout up on the JS side (released, reclaimed or never handed out). */
  _detach() {
    this._native = null
    this._slot.checkoutId = 0
  }

  get tag() {
    return this._tag
  }

  set tag(v) {
    this._tag = v
    if (this._native) this._pool._native.updateCheckout(this._checkoutId, { tag: v == null ? undefined : String(v) })
  }

  /** Changes this checkout's leak threshold (0 exempts it). */
  setLeakThreshold(ms) {
    if (typeof ms !== 'number' || !(ms >= 0)) throw new RangeError(`setLeakThreshold: expected a number >= 0, received ${ms}`)
    if (this._native) this._pool._native.updateCheckout(this._checkoutId, { leakThresholdMs: ms })
  }

  query(config, values, callback) {
    const q = normalize(config, values, callback)
    const cb = q.callback
    const promise = this._run(q)
    if (cb) {
      promise.then((r) => cb(null, r), (e) => cb(e))
      return undefined
    }
    return promise
  }

  /** Why this client cannot run queries now (built lazily: releasing stays cheap). */
  _unusableError() {
    if (this._releasedReason) return this._releasedReason
    const when = this._releasedAt ? ` at ${new Date(this._releasedAt).toISOString()}` : ''
    return clientError('LDP_CLIENT_RELEASED', `Client was released to the pool${when}; a released client cannot run queries`)
  }

  async _run(q) {
    const native = this._native
    if (!native) {
      throw this._unusableError()
    }
    const [text, params, name, extended] = encode(q, this._pool._utc)
    const timeout = q.query_timeout || this._pool._queryTimeout
    const types = q.types || this._types
    const pending = this._pool._completions.runOn(native.checkoutId, text, params, name, extended)
    let parsed
    if (timeout) {
      // The timeout covers the whole reply: a long one is still arriving while it is parsed.
      parsed = await withTimeout(pending.then((reply) => parse(reply, q.rowMode, types)), timeout)
    } else {
      parsed = parse(await pending, q.rowMode, types)
      if (parsed instanceof Promise) parsed = await parsed
    }
    const { result, error, notices } = parsed
    if (notices) for (const n of notices) safeEmit(this, 'notice', noticeMessage(n))
    if (error) {
      if (error.code === 'LDP_CLIENT_RELEASED' && !this._native) throw this._unusableError()
      Error.captureStackTrace(error)
      throw error
    }
    return result
  }

  // pg-pool sets `client.release` as an own function per checkout, so code that detaches it
  // (`const done = client.release; done()`) works; ours is bound once per client object.
  _releaseImpl(err) {
    const native = this._native
    if (!native) {
      if (this._releasedReason && this._releasedReason.code === 'LDP_CLIENT_RECLAIMED') return undefined
      throw new Error('Release called on client which has already been released to the pool.')
    }
    return this._pool._release(this, native, err)
  }

  escapeLiteral(str) {
    return escapeLiteral(str)
  }

  escapeIdentifier(str) {
    return escapeIdentifier(str)
  }

  /** pg's setTypeParser on a client. */
  setTypeParser(oid, format, parseFn) {
    if (!(this._types instanceof TypeOverrides) || this._types === this._pool._types) {
      this._types = new TypeOverrides(this._pool._types)
    }
    this._types.setTypeParser(oid, format, parseFn)
    // pg's pool.query() runs on a pooled client and so uses that client's parsers: from now on
    // pool.query() must go through the clients too (see LeakDetectingPool#_fastPath).
    this._pool._clientParsers = true
  }

  getTypeParser(oid, format) {
    return this._types.getTypeParser(oid, format)
  }

  ref() {}
  unref() {}

  /** Cancels the statement running on this client's connection. */
  cancel() {
    return this._native ? this._pool._native.cancel(this._native.checkoutId) : Promise.resolve()
  }

  toJSON() {
    return { processID: this.processID, database: this.database, user: this.user, host: this.host, port: this.port }
  }
}

/** `p`, or pg's "Query read timeout" error if it has not settled within `ms`. */
function withTimeout(p, ms) {
  let timer
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(clientError('LDP_QUERY_TIMEOUT', 'Query read timeout')), ms)
  })
  return Promise.race([p, t]).finally(() => clearTimeout(timer))
}

module.exports = { PoolClient, NOOP, fromInfo }
