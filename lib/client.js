'use strict'
// PoolClient: what pool.connect() hands out. The same object is handed out again for the same
// connection (pg does so; ORMs rely on it). Between connect() and release() it holds a
// checkout (`_checkout`: its CheckoutInfo; the core keeps the checkout itself, by id); after
// release it refuses queries with an error that says why.
//
// It reaches its pool only through the pool's internal interface (lib/internals.js), and is
// driven by it through three symbol-keyed methods, ATTACH, DETACH and RUN, invisible to users.

const EventEmitter = require('events')
const { normalize, encode } = require('./query')
const { parse } = require('./result')
const { clientError, noticeMessage } = require('./errors')
const { escapeLiteral, escapeIdentifier } = require('./types/prepare-value')
const TypeOverrides = require('./types/overrides')
const { safeEmit } = require('./emit')
const { releasedError } = require('./report')

/** Called by the pool when a checkout is handed to this client: `(info, tag)`. */
const ATTACH = Symbol('PoolClient.attach')
/** Called by the pool when this client no longer holds its checkout: `(reason)`, null on release. */
const DETACH = Symbol('PoolClient.detach')
/** Called by the pool to run an already normalized query (lib/query.js) on this client. */
const RUN = Symbol('PoolClient.run')

class PoolClient extends EventEmitter {
  /** `pool`: the pool's internal interface; `slot`: its record of this client (opaque here). */
  constructor(pool, slot, processID) {
    super()
    this._pool = pool
    this._slot = slot
    this.processID = processID
    this._checkout = null
    this._checkoutId = 0
    this.release = this._releaseImpl.bind(this)
    this._releasedReason = null
    this._releasedAt = 0
    this._types = pool.settings.types
    this._tag = undefined
    const s = pool.settings
    // pg's client.host/port/database/user: what the connection actually uses (options,
    // connection string, PG* environment and defaults, as the core resolved them).
    this.database = s.database
    this.user = s.user
    this.host = s.host
    this.port = s.port
    // pg's `pipeline` option. The connection sends every query at once, each with its own Sync,
    // whatever its value: that is pg's pipeline mode, and gives the same results as pg's
    // one-at-a-time mode. With it on, pg refuses queries that keep a portal open (query()).
    this.pipeline = s.pipeline
  }

  [ATTACH](checkout, tag) {
    this._checkout = checkout
    this._checkoutId = checkout.checkoutId
    this._releasedReason = null
    this._releasedAt = 0
    this._tag = tag
  }

  [DETACH](reason) {
    this._checkout = null
    this._releasedReason = reason
    this._releasedAt = reason ? 0 : Date.now()
  }

  get tag() {
    return this._tag
  }

  set tag(v) {
    this._tag = v
    if (this._checkout) this._pool.update(this._checkoutId, { tag: v == null ? undefined : String(v) })
  }

  /** Changes this checkout's leak threshold (0 exempts it). */
  setLeakThreshold(ms) {
    if (typeof ms !== 'number' || !(ms >= 0)) throw new RangeError(`setLeakThreshold: expected a number >= 0, received ${ms}`)
    if (this._checkout) this._pool.update(this._checkoutId, { leakThresholdMs: ms })
  }

  query(config, values, callback) {
    if (this.pipeline && config != null && (typeof config.submit === 'function' || config.rows)) {
      return refuseInPipeline(config, values, callback)
    }
    const q = normalize(config, values, callback)
    const cb = q.callback
    const promise = this[RUN](q)
    if (cb) {
      promise.then((r) => cb(null, r), (e) => cb(e))
      return undefined
    }
    return promise
  }

  /** Why this client cannot run queries now (built lazily: releasing stays cheap). */
  _unusableError() {
    return this._releasedReason || releasedError(this._releasedAt)
  }

  async [RUN](q) {
    const checkout = this._checkout
    if (!checkout) {
      throw this._unusableError()
    }
    const settings = this._pool.settings
    const [text, params, name, extended] = encode(q, settings.utc)
    const timeout = q.query_timeout || settings.queryTimeoutMs
    const types = q.types || this._types
    const pending = this._pool.run(checkout.checkoutId, text, params, name, extended)
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
      if ((error.code === 'LDP_CLIENT_RELEASED' || error.code === 'LDP_CLIENT_RECLAIMED') && !this._checkout) throw this._unusableError()
      Error.captureStackTrace(error)
      throw error
    }
    return result
  }

  // pg-pool sets `client.release` as an own function per checkout, so code that detaches it
  // (`const done = client.release; done()`) works; ours is bound once per client object.
  _releaseImpl(err) {
    if (!this._checkout) {
      if (this._releasedReason && this._releasedReason.code === 'LDP_CLIENT_RECLAIMED') return undefined
      throw new Error('Release called on client which has already been released to the pool.')
    }
    return this._pool.release(this._slot, err)
  }

  escapeLiteral(str) {
    return escapeLiteral(str)
  }

  escapeIdentifier(str) {
    return escapeIdentifier(str)
  }

  /** pg's setTypeParser on a client. */
  setTypeParser(oid, format, parseFn) {
    const poolTypes = this._pool.settings.types
    if (!(this._types instanceof TypeOverrides) || this._types === poolTypes) {
      this._types = new TypeOverrides(poolTypes)
    }
    this._types.setTypeParser(oid, format, parseFn)
    // pg's pool.query() runs on a pooled client and so uses that client's parsers: from now on
    // pool.query() must go through the clients too (see LeakDetectingPool#_fastPath).
    this._pool.useClientParsers()
  }

  getTypeParser(oid, format) {
    return this._types.getTypeParser(oid, format)
  }

  ref() {}
  unref() {}

  /** Cancels the statement running on this client's connection. */
  cancel() {
    return this._checkout ? this._pool.cancel(this._checkoutId) : Promise.resolve()
  }

  toJSON() {
    return { processID: this.processID, database: this.database, user: this.user, host: this.host, port: this.port }
  }
}

/**
 * pg's answer to a query that keeps a portal open across round trips in pipeline mode (the
 * queries behind it would be answered from its portal): a Submittable gets the error through
 * its handleError and is returned, as pg returns it; a query with `rows` rejects.
 */
function refuseInPipeline(config, values, callback) {
  if (typeof config.submit === 'function') {
    const err = new Error('Custom query classes such as pg-cursor and pg-query-stream are not supported in pipeline mode')
    process.nextTick(() => config.handleError(err))
    return config
  }
  const err = new Error('The `rows` option is not supported in pipeline mode')
  const cb = typeof values === 'function' ? values : typeof callback === 'function' ? callback : config.callback
  if (typeof cb === 'function') {
    process.nextTick(() => cb(err))
    return undefined
  }
  return Promise.reject(err)
}

/** `p`, or pg's "Query read timeout" error if it has not settled within `ms`. */
function withTimeout(p, ms) {
  let timer
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(clientError('LDP_QUERY_TIMEOUT', 'Query read timeout')), ms)
  })
  return Promise.race([p, t]).finally(() => clearTimeout(timer))
}

module.exports = { PoolClient, ATTACH, DETACH, RUN }
