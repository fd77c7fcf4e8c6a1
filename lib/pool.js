'use strict'
// LeakDetectingPool: pg.Pool's API and events over the Rust core. This file holds the public
// class. What clients and native events need of the pool is its internal interface
// (lib/internals.js), which owns the clients and the checkouts JS holds; options are read in
// lib/options.js, checkouts presented in lib/report.js, native events dispatched in
// lib/events.js, leak/metrics views kept in lib/observe.js.

const EventEmitter = require('events')
const binding = require('./native').load()
const { normalize, encode } = require('./query')
const { parse } = require('./result')
const { fromInfo } = require('./errors')
const { poolOptions, toJson, defaultsToJson, jsOptions, parseResolved, settingsOf } = require('./options')
const { pgDefaultsLayer } = require('./pg-defaults')
const { capture } = require('./stack')
const { holdersOf, exhaustionMessage, poolEndedError } = require('./report')
const { metricsText } = require('./observe')
const { Dispatcher } = require('./events')
const { callBack, settleTo } = require('./emit')
const { PoolInternals } = require('./internals')
const { RUN } = require('./client')
const { Completions, CheckoutInfo } = require('./completions')
const pgTypes = require('pg-types')
const { ConnectionParameters, PasswordFailures, passwordSource } = require('./connection-parameters')
const { defaultRoots } = require('./trust')
const tracing = require('./tracing')

const { NativePool } = binding

const NOOP = () => {}

function later(cb, ...args) {
  process.nextTick(() => cb(...args))
}

function hidden(obj, key, value) {
  Object.defineProperty(obj, key, { value, enumerable: false })
}

class LeakDetectingPool extends EventEmitter {
  constructor(options) {
    super()
    if (options != null && typeof options !== 'object') {
      throw new TypeError(`LeakDetectingPool options must be an object, received ${typeof options}`)
    }
    // pg's global defaults, read once, now: a layer beneath the options and the environment.
    const pgDefaults = pgDefaultsLayer()
    const js = jsOptions(options, pgDefaults)
    // The core asks for a password only when a server asks a new connection for one, on a
    // later turn, once `params` is set: the user's function (or pg.defaults', when the core
    // took the password from there), or, when nothing gave a password, the password file, as
    // pg reads it.
    let params = null
    const passwordFailures = new PasswordFailures()
    const password = (options && options.password) || pgDefaults.password
    const passwordFn = passwordSource(password, () => params, passwordFailures)
    const completions = new Completions()
    let dispatcher = null
    // Events only arrive on later turns, once `dispatcher` is set.
    const native = NativePool.open(
      toJson(options),
      (e) => dispatcher.dispatch(e),
      completions.drain,
      passwordFn,
      defaultRoots,
      defaultsToJson(pgDefaults)
    )
    if (!(native instanceof NativePool)) throw fromInfo(native)
    completions.native = native
    const resolved = parseResolved(native.resolvedOptions())
    params = new ConnectionParameters(resolved, options, pgDefaults)
    const settings = settingsOf(resolved, js, pgTypes, params)
    const internals = new PoolInternals(this, native, completions, settings)
    dispatcher = new Dispatcher(internals)
    this.options = poolOptions(options, resolved)
    this.log = js.log || function () {}
    this.Promise = js.Promise || global.Promise
    hidden(this, '_native', native)
    hidden(this, '_completions', completions)
    hidden(this, '_internals', internals)
    hidden(this, '_settings', settings)
    hidden(this, '_dispatcher', dispatcher)
    hidden(this, '_passwordFailures', passwordFailures)
    // Whether connect() without a per-checkout threshold captures a stack (see settingsOf).
    hidden(this, '_stacks', settings.captureStacks && settings.leakThresholdMs > 0)
    this.ending = false
    this.ended = false
  }

  get totalCount() {
    this._internals.reapDue()
    return this._native.totalCount
  }
  get idleCount() {
    this._internals.reapDue()
    return this._native.idleCount
  }
  get waitingCount() {
    return this._native.waitingCount
  }
  get expiredCount() {
    return this._native.expiredCount
  }

  // -- checkout -------------------------------------------------------------------------

  connect(a, b) {
    let opts
    let cb
    if (typeof a === 'function') cb = a
    else {
      opts = a
      cb = typeof b === 'function' ? b : undefined
    }
    if (this.ending) {
      const err = poolEndedError()
      if (cb) return later(cb, err, undefined, NOOP)
      return this.Promise.reject(err)
    }
    const holder = this._capturesStack(opts) ? capture(this.connect, this._settings.stackTraceLimit, this._settings.frameRules) : null
    if (tracing.channels.poolConnect.hasSubscribers) return tracing.traceConnect(this, () => this._acquire(opts, holder, false), cb)
    const p = this._acquire(opts, holder, false)
    if (cb) {
      p.then(
        (c) => callBack(cb, undefined, c, (err) => c.release(err)),
        (e) => callBack(cb, e, undefined, NOOP)
      )
      return undefined
    }
    return p
  }

  /** A stack is captured exactly when this checkout can be reported by age (lib/options.js). */
  _capturesStack(opts) {
    if (!opts || opts.leakThresholdMs == null) return this._stacks
    const t = Number(opts.leakThresholdMs)
    return this._settings.captureStacks && t > 0 && t < Infinity
  }

  _meta(opts, implicit) {
    if (!opts && !implicit) return undefined
    const m = { implicit }
    if (opts) {
      if (opts.tag != null) m.tag = String(opts.tag)
      if (opts.leakThresholdMs != null) m.leakThresholdMs = Number(opts.leakThresholdMs)
      if (opts.forceReleaseAfterMs != null) m.forceReleaseAfterMs = Number(opts.forceReleaseAfterMs)
    }
    return m
  }

  async _acquire(opts, holder, implicit) {
    const tag = opts ? opts.tag : undefined
    let r = this._internals.acquire(this._meta(opts, implicit), holder, tag)
    if (r instanceof CheckoutInfo) {
      // pg hands out idle clients on a later tick: listeners attached right after connect()
      // returns still see this checkout's events.
      await null
    } else {
      try {
        r = await r
      } catch (e) {
        const err = this._acquireError(e, tag)
        // The core's error was made while its completions were drained, outside the caller's
        // async context: its stack is taken here, where it names the awaiting caller (as pg's
        // does). A password function's own error is handed on untouched.
        if (err === e && err instanceof Error) Error.captureStackTrace(err)
        this.log('client failed to connect', err)
        throw err
      }
    }
    if (r.isNew) this.log('new client connected')
    const client = r.client
    const { onConnect, verify } = this._settings
    if (r.isNew) {
      if (onConnect) {
        try {
          await onConnect(client)
        } catch (hookErr) {
          this._internals.abandon(r)
          throw hookErr
        }
      }
      this._internals.emit('connect', client)
    }
    this._internals.emit('acquire', client)
    if (r.isNew && verify) {
      await new Promise((resolve, reject) => {
        verify(client, (err) => {
          if (!err) return resolve()
          try {
            client.release(err)
          } catch {}
          reject(err)
        })
      })
    }
    return client
  }

  /**
   * An acquire timeout says who holds the pool (message and `err.holders`); one that waited
   * for its tag (`LDP_TAG_LIMIT_TIMEOUT`) says who holds that tag, and `err.tag`.
   */
  _acquireError(err, tag) {
    // A password function's failure is the function's own error, as with pg.
    err = this._passwordFailures.take(err)
    if (err == null || typeof err !== 'object') return err
    if (err.code === 'LDP_ACQUIRE_TIMEOUT') {
      const holders = holdersOf(this._internals.activeRows())
      err.holders = holders
      err.message = exhaustionMessage(holders, this._settings.max)
    } else if (err.code === 'LDP_TAG_LIMIT_TIMEOUT' && tag != null) {
      const t = String(tag)
      const row = this._tagRows().find((r) => r.tag === t)
      const holders = holdersOf(this._internals.activeRows().filter((a) => a.tag === t))
      err.tag = t
      err.holders = holders
      err.message = exhaustionMessage(holders, row && row.limit != null ? row.limit : holders.length, t)
    }
    return err
  }

  /** The core's per-tag rows: `{ tag, held, waiting, limit (null: none), timeouts }`. */
  _tagRows() {
    return JSON.parse(this._native.tagCounts())
  }

  /**
   * Sets the most connections checkouts tagged `tag` may hold at once (a positive integer), or
   * removes the limit (`null`, `undefined` or `Infinity`). Raising it lets waiting callers of
   * the tag through at once; lowering it takes no connection away.
   */
  setTagLimit(tag, n) {
    if (tag == null) throw new TypeError('setTagLimit: tag must be a string, received ' + String(tag))
    if (n == null || n === Infinity) return this._native.setTagLimit(String(tag), null)
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 0xffffffff) {
      throw new RangeError(`setTagLimit: limit must be a positive integer or Infinity, received ${String(n)}`)
    }
    this._native.setTagLimit(String(tag), n)
  }

  // -- queries --------------------------------------------------------------------------

  query(text, values, cb) {
    if (typeof text === 'function') {
      const err = new Error('Passing a function as the first parameter to pool.query is not supported')
      setImmediate(() => text(err))
      return undefined
    }
    if (typeof values === 'function') {
      cb = values
      values = undefined
    }
    if (text != null && typeof text.submit === 'function') return this._submitQuery(text, values, cb)
    // pool.query({ text, tag }): the implicit checkout counts for that tag (and its limit).
    const tag = text != null && typeof text === 'object' && text.tag != null ? String(text.tag) : undefined
    let q
    try {
      q = normalize(text, values, cb)
    } catch (err) {
      if (typeof cb === 'function') return later(cb, err)
      return this.Promise.reject(err)
    }
    const callback = q.callback
    this.log('dispatching query')
    let p
    if (this.ending) {
      p = this.Promise.reject(poolEndedError())
    } else if (this._fastPath() && tag === undefined && !(q.query_timeout || this._settings.queryTimeoutMs)) {
      // A query that times out must give its connection up at once (pg-pool releases it with
      // the error, destroying it): only the client path can do that. A tagged one goes
      // through connect(), where the tag's limit applies.
      p = this._directQuery(q)
    } else {
      p = this._clientQuery(q, tag)
    }
    if (callback) {
      settleTo(p, callback, undefined)
      return undefined
    }
    return p
  }

  // pg emits `connect`, `acquire` and `release` for pool.query's client too. A listener added
  // while a pool.query runs on the fast path (which makes no client) must still hear of it:
  // from the first such listener on, the core says which connection served each pool.query
  // (NativePool.watchImplicit). Overriding the adding methods (once and prependOnceListener
  // go through them) keeps this invisible, unlike a 'newListener' listener.
  on(name, listener) {
    this._watch(name)
    return super.on(name, listener)
  }

  addListener(name, listener) {
    this._watch(name)
    return super.addListener(name, listener)
  }

  prependListener(name, listener) {
    this._watch(name)
    return super.prependListener(name, listener)
  }

  _watch(name) {
    if ((name === 'connect' || name === 'acquire' || name === 'release') && !this._watching) {
      hidden(this, '_watching', true)
      this._native.watchImplicit()
    }
  }

  /** Whether nothing could observe a client: pool.query may then skip making one. */
  _fastPath() {
    const s = this._settings
    return (
      !s.onConnect &&
      !s.verify &&
      !s.log &&
      !this._internals.clientParsers &&
      this.listenerCount('acquire') === 0 &&
      this.listenerCount('release') === 0 &&
      this.listenerCount('connect') === 0 &&
      !tracing.observesPool()
    )
  }

  /** `pool.query` on the core's implicit checkout (never with a query timeout, see query()). */
  async _directQuery(q) {
    const [text, params, name, extended, binary] = encode(q, this._settings.utc, this._settings.binary)
    const completions = this._completions
    const pending = completions.run(text, params, name, extended, binary)
    const id = completions.lastRunId
    const reply = await pending
    let parsed = parse(reply, q.rowMode, q.types || this._settings.types)
    if (parsed instanceof Promise) parsed = await parsed
    const { result, error } = parsed
    // The implicit checkout is already back (idle or handed on): the keep-alive handle can only
    // need turning on, which is all this hot path checks for.
    this._internals.afterQuery()
    // Someone started listening for pg's checkout events while this ran: they fire for it too.
    if (completions.served.size !== 0) {
      const served = completions.takeServed(id)
      if (served !== undefined) this._internals.servedImplicitly(served, error)
    }
    if (error) {
      const err = this._acquireError(error)
      if (err !== null && typeof err === 'object') Error.captureStackTrace(err)
      throw err
    }
    return result
  }

  async _clientQuery(q, tag) {
    const acquire = () => this._acquire(tag === undefined ? undefined : { tag }, null, true)
    const client = await (tracing.channels.poolConnect.hasSubscribers ? tracing.traceConnect(this, acquire) : acquire())
    let result
    let error
    try {
      result = await (tracing.channels.query.hasSubscribers ? tracing.traceQuery(client, q, () => client[RUN](q)) : client[RUN](q))
    } catch (err) {
      error = err
    }
    // pg-pool releases with the query callback's error argument: null on success.
    client.release(error === undefined ? null : error)
    if (error) throw error
    return result
  }

  /**
   * `pool.query(submittable)`, as pg-pool runs it: a client, the Submittable on it, and the
   * client released when the Submittable calls its callback (one that never does keeps it).
   */
  _submitQuery(query, values, cb) {
    let result
    if (!cb) {
      let res
      let rej
      result = new this.Promise((resolve, reject) => {
        res = resolve
        rej = reject
      }).catch((err) => {
        Error.captureStackTrace(err)
        throw err
      })
      cb = (err, r) => (err ? rej(err) : res(r))
    }
    const acquire = () => this._acquire(undefined, null, true)
    const acquired = this.ending
      ? this.Promise.reject(poolEndedError())
      : tracing.channels.poolConnect.hasSubscribers
        ? tracing.traceConnect(this, acquire)
        : acquire()
    acquired.then(
      (client) => {
        let released = false
        const onError = (err) => {
          if (released) return
          released = true
          client.release(err)
          cb(err)
        }
        client.once('error', onError)
        this.log('dispatching query')
        try {
          client.query(query, values, (err, res) => {
            this.log('query dispatched')
            client.removeListener('error', onError)
            if (released) return
            released = true
            client.release(err)
            if (err) return cb(err)
            return cb(undefined, res)
          })
        } catch (err) {
          client.release(err)
          return cb(err)
        }
      },
      (err) => cb(err)
    )
    return result
  }

  // -- end ------------------------------------------------------------------------------

  end(cb) {
    this.log('ending')
    if (this.ending) {
      const err = new Error('Called end on pool more than once')
      if (cb) return later(cb, err)
      return this.Promise.reject(err)
    }
    this.ending = true
    const p = this._native.end().then((info) => {
      if (info) throw fromInfo(info)
      this.ended = true
      this._internals.stop()
      this._completions.stop()
    })
    if (cb) {
      p.then(
        () => callBack(cb),
        (e) => callBack(cb, e)
      )
      return undefined
    }
    return p
  }

  // -- observability --------------------------------------------------------------------

  getPoolStatus() {
    const c = JSON.parse(this._native.counts())
    const max = this._settings.max
    const active = this._internals.activeRows().map((a) => ({
      id: a.id,
      heldMs: a.heldMs,
      idleMs: a.idleMs,
      isPotentialLeak: a.isPotentialLeak,
      location: a.location,
      tag: a.tag,
      implicit: a.implicit,
      queryCount: a.queryCount,
      inTransaction: a.inTransaction,
    }))
    return {
      total: c.total,
      idle: c.idle,
      waiting: c.waiting,
      active: c.active,
      expired: c.expired,
      max,
      utilization: max ? c.active / max : 0,
      activeConnections: active,
      tags: this._tagRows(),
    }
  }

  getMetrics() {
    const c = JSON.parse(this._native.counts())
    const m = JSON.parse(this._native.metrics())
    const s = m.counters
    return {
      pool: { total: c.total, idle: c.idle, waiting: c.waiting, max: this._settings.max, min: this._settings.min },
      connections: { active: c.active, oldest: this._internals.oldestHeldMs() },
      stats: s,
      leakRate: s.totalAcquired ? s.leaksDetected / s.totalAcquired : 0,
      acquireWait: m.acquireWait,
      holdTime: m.holdTime,
      creation: m.creation,
      history: m.history,
      tags: this._tagRows(),
    }
  }

  getAlerts() {
    return this._internals.observer.alerts.toArray()
  }

  getLeakReport() {
    // Reported checkouts still held, by site: how many, and how old the oldest is by now.
    const live = new Map()
    for (const { location, heldMs } of this._internals.reportedRows()) {
      const l = live.get(location) || { active: 0, oldestAgeMs: 0 }
      l.active++
      l.oldestAgeMs = Math.max(l.oldestAgeMs, heldMs)
      live.set(location, l)
    }
    return this._internals.observer.report(live)
  }

  metricsText() {
    return metricsText(this.getMetrics(), this._settings.applicationName || 'default')
  }

  getMemoryUsage() {
    const m = JSON.parse(this._native.metrics()).memory
    const out = {}
    for (const k of Object.keys(m)) out[k] = { size: m[k].size, capacity: m[k].capacity == null ? Infinity : m[k].capacity }
    return Object.assign(out, this._internals.memory())
  }

  /**
   * Not public: the sizes of the JS layer's collections beside getMemoryUsage()'s (see
   * PoolInternals#counts) and the events waiting for a connect() to settle. For the soak
   * and the tests, which check that none grows with uptime.
   */
  _internalCounts() {
    return Object.assign(this._internals.counts(), { eventsWaiting: this._dispatcher.waiting.length })
  }

  toJSON() {
    return {
      options: this.options,
      totalCount: this.totalCount,
      idleCount: this.idleCount,
      waitingCount: this.waitingCount,
      ending: this.ending,
      ended: this.ended,
    }
  }
}

module.exports = { LeakDetectingPool }
