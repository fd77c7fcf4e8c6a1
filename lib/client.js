'use strict'
// PoolClient: what pool.connect() hands out. The same object is handed out again for the same
// connection (pg does so; ORMs rely on it). Between connect() and release() it holds a
// checkout (`_checkout`: its CheckoutInfo; the core keeps the checkout itself, by id); after
// release it refuses queries with an error that says why.
//
// It has pg's Client members that libraries read (connectionParameters, host/port/database/
// user/ssl/binary, pipeline, sslNegotiation, processID, readyForQuery, hasExecuted,
// getTransactionStatus(), connect(), end(), the `drain` event) and pg's errors for a client
// that was closed or whose connection failed, or for a portal query in pipeline mode.
//
// It reaches its pool only through the pool's internal interface (lib/internals.js), and is
// driven by it through symbol-keyed methods (ATTACH, DETACH, RUN, FAILED, CLOSED), invisible
// to users.

const EventEmitter = require('events')
const { normalize, encode } = require('./query')
const { parse } = require('./result')
const { clientError, noticeMessage, isConnectionFailure } = require('./errors')
const { escapeLiteral, escapeIdentifier } = require('./prepare-value')
const TypeOverrides = require('./type-overrides')
const { safeEmit, callBack } = require('./emit')
const { releasedError } = require('./report')
const { Submitter } = require('./submit/session')
const { ConnectionParameters } = require('./connection-parameters')
const tracing = require('./tracing')

/** Called by the pool when a checkout is handed to this client: `(info, tag)`. */
const ATTACH = Symbol('PoolClient.attach')
/** Called by the pool when this client no longer holds its checkout: `(reason)`, null on release. */
const DETACH = Symbol('PoolClient.detach')
/** Called by the pool to run an already normalized query (lib/query.js) on this client. */
const RUN = Symbol('PoolClient.run')
/** Called by the pool when this client's connection failed while checked out. */
const FAILED = Symbol('PoolClient.failed')
/** Called by the pool when this client's connection has closed (its removal finished). */
const CLOSED = Symbol('PoolClient.closed')

const NOOP = () => {}

/**
 * One connection's client. Invariants: `_checkout` is set exactly while the caller holds a
 * checkout; `_running` counts this client's queries not yet settled; once `_queryable` is
 * false (the connection failed) or `_ending` true (`end()` was called) it stays so — the
 * connection is never handed out again; `_releaseAfterEnd` is true from `end()` of a held
 * client until the one release() pg-pool expects after it, and `_removePending` while the
 * connection has closed but that release (which announces `remove`) has not come.
 */
class PoolClient extends EventEmitter {
  /** `pool`: the pool's internal interface; `slot`: its record of this client (opaque here). */
  constructor(pool, slot, processID) {
    super()
    this._pool = pool
    this._slot = slot
    this._checkout = null
    this._checkoutId = 0
    this.release = this._releaseImpl.bind(this)
    this._releasedReason = null
    this._releasedAt = 0
    this._types = pool.settings.types
    this._tag = undefined
    // Runs Submittables (lib/submit/session.js); made at the first one.
    this._subs = null
    this._running = 0
    this._txStatus = null
    this._queryable = true
    this._ending = false
    this._ended = false
    this._releaseAfterEnd = false
    this._removePending = false
    this._endWaiters = null
    this._endKeepAlive = null
    // pg's Client members, from what the core resolved (options, connection string, PG*
    // environment and defaults): the server this connection really talks to.
    const s = pool.settings
    const params = ConnectionParameters.copy(s.connection)
    this.connectionParameters = params
    this.user = params.user
    this.database = params.database
    this.port = params.port
    this.host = params.host
    this.replication = params.replication
    // pg's `pipeline` option. The connection sends every query at once, each with its own Sync,
    // whatever its value: that is pg's pipeline mode, and gives the same results as pg's
    // one-at-a-time mode. With it on, pg refuses queries that keep a portal open (query()).
    this.pipeline = s.pipeline
    this.binary = s.binary
    this.processID = processID
    this.ssl = params.ssl
    this.sslNegotiation = s.sslNegotiation
    // pg sets `hasExecuted` at a client's first query (undefined until then).
  }

  [ATTACH](checkout, tag) {
    this._checkout = checkout
    this._checkoutId = checkout.checkoutId
    this._releasedReason = null
    this._releasedAt = 0
    this._tag = tag
    // The pool hands out only connections outside any transaction.
    this._txStatus = 'I'
  }

  [FAILED]() {
    this._queryable = false
  }

  /**
   * Returns whether the pool may announce the removal (`remove`) now: after end(), pg-pool
   * announces it at the release that follows, and so does this client.
   */
  [CLOSED]() {
    if (this._releaseAfterEnd) this._removePending = true
    if (this._ended) return !this._removePending
    this._ended = true
    const waiters = this._endWaiters
    this._endWaiters = null
    if (waiters) {
      clearInterval(this._endKeepAlive)
      for (const w of waiters) w()
    }
    // pg: end()'s callback runs as the connection ends, the client's `end` on the next tick.
    process.nextTick(() => safeEmit(this, 'end'))
    return !this._removePending
  }

  [DETACH](reason) {
    this._checkout = null
    this._releasedReason = reason
    this._releasedAt = reason ? 0 : Date.now()
    if (this._subs !== null) this._subs.detached(reason)
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

  /** pg's: whether no query of this client is running (pg keeps it true after a failure or end()). */
  get readyForQuery() {
    return this._running === 0
  }

  /** pg's: the transaction status of the last ReadyForQuery ('I', 'T' or 'E'). */
  getTransactionStatus() {
    return this._txStatus
  }

  /** A pooled client is connected already: pg's error for connecting a client twice. */
  connect(callback) {
    const err = new Error('Client has already been connected. You cannot reuse a client.')
    if (typeof callback === 'function') {
      process.nextTick(() => callback(err))
      return undefined
    }
    return Promise.reject(err)
  }

  /**
   * Closes this client's connection and frees its slot in the pool (`remove` follows); resolves
   * (or calls back) once the connection has closed. As with pg-pool, the client is still to be
   * released once, which then only emits `release`; its queries reject with pg's "Client was
   * closed and is not queryable". On a client not checked out it only resolves.
   */
  end(callback) {
    if (typeof callback === 'function') {
      this._whenClosed(() => callback())
      return undefined
    }
    return new Promise((resolve) => this._whenClosed(() => resolve()))
  }

  /** Closes the connection if this client holds it; `fn` runs once it has closed. */
  _whenClosed(fn) {
    if (this._ended || (!this._checkout && !this._ending)) return process.nextTick(fn)
    if (!this._endWaiters) {
      this._endWaiters = []
      // pg's socket keeps the process alive until it has closed; the core's events do not.
      this._endKeepAlive = setInterval(NOOP, 0x7fffffff)
    }
    this._endWaiters.push(fn)
    if (!this._ending) {
      this._ending = true
      this._releaseAfterEnd = true
      this._pool.end(this._slot)
    }
  }

  query(config, values, callback) {
    // pg refuses Submittables and `rows` in pipeline mode, before anything else.
    if (this.pipeline && config != null && (typeof config.submit === 'function' || config.rows)) {
      return refuseInPipeline(config, values, callback)
    }
    // A Submittable (pg's Query, pg-cursor, pg-query-stream, pg-copy-streams): pg returns it.
    if (config != null && typeof config.submit === 'function') {
      const submit = () => this._submitter().submit(config, values, callback)
      return tracing.channels.query.hasSubscribers ? tracing.traceSubmittable(this, config, values, callback, submit) : submit()
    }
    const q = normalize(config, values, callback)
    if (tracing.channels.query.hasSubscribers) return tracing.traceQuery(this, q, () => this[RUN](q), q.callback)
    const cb = q.callback
    const promise = this[RUN](q, cb !== undefined)
    if (cb) {
      // pg emits `drain` after the callback of the last query (which may queue another).
      promise.then(
        (r) => {
          callBack(cb, null, r)
          this._drained()
        },
        (e) => {
          callBack(cb, e)
          this._drained()
        }
      )
      return undefined
    }
    return promise
  }

  /** pg's `drain`, if no query of this client is running any more. */
  _drained() {
    if (this._running === 0) safeEmit(this, 'drain')
  }

  /** The runner of this client's Submittables, made at the first one, and what it may ask of us. */
  _submitter() {
    if (this._subs === null) {
      this._subs = new Submitter(
        {
          checkoutId: () => (this._checkout && this._queryable && !this._ending ? this._checkoutId : 0),
          types: () => this._types,
          binary: () => this.binary,
          unusable: () => this._unusableError(),
          end: () => this.end(),
          emit: (name, ...args) => safeEmit(this, name, ...args),
          // A Submittable counts among the client's running queries; pg emits `drain` when
          // the last one is answered (`drain`: false when the connection was lost instead).
          started: () => {
            this._running++
            this.hasExecuted = true
          },
          finished: (drain) => {
            if (--this._running === 0 && drain) safeEmit(this, 'drain')
          },
        },
        this._pool
      )
    }
    return this._subs
  }

  /**
   * Why this client cannot run queries now, in pg's order: a failed connection, then a closed
   * client, then no checkout (built lazily: releasing stays cheap).
   */
  _unusableError() {
    if (!this._queryable) return new Error('Client has encountered a connection error and is not queryable')
    if (this._ending) return new Error('Client was closed and is not queryable')
    return this._releasedReason || releasedError(this._releasedAt)
  }

  /**
   * Runs normalized query `q`; `drainLater`: the caller emits `drain` itself once it has
   * delivered the result (a callback's), as pg emits it after the callback.
   */
  async [RUN](q, drainLater = false) {
    const checkout = this._checkout
    if (!this._queryable || this._ending || !checkout) throw this._unusableError()
    const settings = this._pool.settings
    const [text, params, name, extended, binary] = encode(q, settings.utc, this.binary)
    const timeout = q.query_timeout || settings.queryTimeoutMs
    const types = q.types || this._types
    this._running++
    this.hasExecuted = true
    let parsed
    try {
      // While a Submittable runs, its session owns the connection: the query waits its turn.
      const run = () => this._pool.run(checkout.checkoutId, text, params, name, extended, binary)
      const pending = this._subs !== null && this._subs.busy ? this._subs.later(run) : run()
      if (timeout) {
        // The timeout covers the whole reply: a long one is still arriving while it is parsed.
        parsed = await withTimeout(
          pending.then((reply) => parse(reply, q.rowMode, types)),
          timeout
        )
      } else {
        parsed = parse(await pending, q.rowMode, types)
        if (parsed instanceof Promise) parsed = await parsed
      }
    } finally {
      // pg emits `drain` whenever the client's last queued query has been answered.
      if (--this._running === 0 && !drainLater) safeEmit(this, 'drain')
    }
    const { result, error, notices, status } = parsed
    if (status !== null) this._txStatus = status
    if (notices) for (const n of notices) safeEmit(this, 'notice', noticeMessage(n))
    if (error) {
      if ((error.code === 'LDP_CLIENT_RELEASED' || error.code === 'LDP_CLIENT_RECLAIMED') && !this._checkout) throw this._unusableError()
      // Reclaimed by the core before its event reached JS: the same words as after the event.
      if (error.code === 'LDP_CLIENT_RECLAIMED' && error.reason) throw this._pool.reclaimError(checkout.checkoutId, error)
      // As in pg, the query the failure reached gets that error; later ones get pg's message.
      if (isConnectionFailure(error)) this._queryable = false
      Error.captureStackTrace(error)
      throw error
    }
    return result
  }

  // pg-pool sets `client.release` as an own function per checkout, so code that detaches it
  // (`const done = client.release; done()`) works; ours is bound once per client object.
  _releaseImpl(err) {
    if (this._releaseAfterEnd) {
      // end() already gave the connection up; pg-pool's release after end() removes the
      // client, so this release only announces it.
      this._releaseAfterEnd = false
      this._pool.releasedAfterEnd(this._slot, this)
      this._pool.emit('release', err, this)
      tracing.releaseOf(this, err)
      if (this._removePending) {
        this._removePending = false
        this._pool.emit('remove', this)
      }
      return undefined
    }
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

module.exports = { PoolClient, ATTACH, DETACH, RUN, FAILED, CLOSED }
