'use strict'
// LeakDetectingPool: pg.Pool's API and events over the Rust core. This file holds the public
// class; checkouts are handed out in lib/client.js, native events are dispatched in
// lib/events.js, leak/metrics views in lib/observe.js.

const EventEmitter = require('events')
const binding = require('../binding')
const { PoolClient, NOOP } = require('./client')
const { normalize, encode } = require('./query')
const { parse } = require('./result')
const { fromInfo } = require('./errors')
const { poolOptions, toJson, validate } = require('./options')
const { capture, locationOf } = require('./stack')
const { Observer, metricsText } = require('./observe')
const { dispatch, safeEmit } = require('./events')
const { Completions, CheckoutInfo } = require('./completions')
const defaultTypes = require('./types/parsers')

const { NativePool } = binding

function later(cb, ...args) {
  process.nextTick(() => cb(...args))
}

function num(v, dflt) {
  return typeof v === 'number' ? v : v == null ? dflt : Number(v)
}

class LeakDetectingPool extends EventEmitter {
  constructor(options) {
    super()
    if (options != null && typeof options !== 'object') {
      throw new TypeError(`LeakDetectingPool options must be an object, received ${typeof options}`)
    }
    const json = toJson(options)
    validate(json, options)
    this.options = poolOptions(options)
    this.log = this.options.log || function () {}
    this.Promise = this.options.Promise || global.Promise
    this._types = this.options.types || defaultTypes
    // pg's `defaults.parseInputDatesAsUTC`, as a pool option: Date parameters sent as UTC text.
    this._utc = this.options.parseInputDatesAsUTC === true
    this._queryTimeout = num(this.options.query_timeout, 0) || 0
    const leak = num(this.options.leakThresholdMs, 30000)
    this._capture = this.options.captureStacks !== false && leak > 0
    this._stackLimit = num(this.options.stackTraceLimit, 10)
    this._conn = {
      database: this.options.database || process.env.PGDATABASE,
      user: this.options.user || process.env.PGUSER || process.env.USER,
      host: this.options.host || process.env.PGHOST || 'localhost',
      port: Number(this.options.port || process.env.PGPORT || 5432),
    }
    const pw = options && typeof options.password === 'function' ? options.password : null
    const passwordFn = pw ? () => Promise.resolve().then(() => pw()).then((p) => (p == null ? null : String(p))) : undefined
    const completions = new Completions()
    Object.defineProperty(this, '_completions', { value: completions, enumerable: false })
    Object.defineProperty(this, '_native', { value: new NativePool(json, (e) => dispatch(this, e), completions.drain, passwordFn), enumerable: false })
    completions.native = this._native
    // Garbage-collection leak detection: a client collected while it still holds a checkout
    // (its slot's checkoutId) hands that checkout back to the core, which reclaims it as a
    // certain leak. One registration per client object, not per checkout.
    const native = this._native
    this._collected = new FinalizationRegistry((slot) => {
      if (slot.checkoutId !== 0) native.discard(slot.checkoutId)
    })
    this._known = new Map() // connId -> PoolClient not checked out (strong)
    this._out = new Map() // connId -> WeakRef<PoolClient> checked out
    this._checkouts = new Map() // checkoutId -> { holder, tag, connId, at }
    this._obs = new Observer(num(this.options.alertBufferSize, 100))
    this._keepAlive = setInterval(NOOP, 0x7fffffff)
    this._keepAlive.unref()
    this._keepAliveRefed = false
    this.ending = false
    this.ended = false
  }

  get totalCount() {
    return this._native.totalCount
  }
  get idleCount() {
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
      const err = new Error('Cannot use a pool after calling end on the pool')
      if (cb) return later(cb, err, undefined, NOOP)
      return this.Promise.reject(err)
    }
    const holder = this._capture && !(opts && opts.leakThresholdMs === 0) ? capture(this.connect, this._stackLimit) : null
    const p = this._acquire(opts, holder, false)
    if (cb) {
      p.then((c) => cb(undefined, c, (err) => c.release(err)), (e) => cb(e, undefined, NOOP))
      return undefined
    }
    return p
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
    let r = this._completions.connect(this._meta(opts, implicit))
    if (r instanceof CheckoutInfo) {
      // pg hands out idle clients on a later tick: listeners attached right after connect()
      // returns still see this checkout's events.
      await null
    } else {
      try {
        r = await r
      } catch (e) {
        const err = this._acquireError(e)
        this.log('client failed to connect', err)
        throw err
      }
    }
    if (r.isNew) this.log('new client connected')
    const connId = r.connId
    let client = this._known.get(connId)
    if (client) this._known.delete(connId)
    else client = new PoolClient(this, connId, r.processId)
    this._out.set(connId, client._weak)
    client._attach(r, opts && opts.tag)
    this._checkouts.set(r.checkoutId, { holder, tag: opts && opts.tag, connId, at: Date.now() })
    if (r.isNew) {
      if (this.options.onConnect) {
        try {
          await this.options.onConnect(client)
        } catch (hookErr) {
          this._forget(client, r)
          this._completions.released(this._native.release(r.checkoutId, true))
          throw hookErr
        }
      }
      safeEmit(this, 'connect', client)
    }
    safeEmit(this, 'acquire', client)
    if (r.isNew && this.options.verify) {
      await new Promise((resolve, reject) => {
        this.options.verify(client, (err) => {
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

  _acquireError(err) {
    if (err.code === 'LDP_ACQUIRE_TIMEOUT') {
      const holders = this._holders()
      err.holders = holders
      const used = holders.reduce((n, h) => n + h.count, 0)
      if (used > 0) {
        const parts = holders.map((h, i) => `${h.count} ${i === 0 ? 'held by ' : 'by '}${h.location} for up to ${(h.oldestMs / 1000).toFixed(1)}s`)
        err.message = `timeout exceeded when trying to connect (${used}/${this.options.max} in use: ${parts.join('; ')})`
      }
    }
    return err
  }

  /** The acquisition site of an active checkout row (from the core) and its JS entry. */
  _siteOf(a, e) {
    if (a.implicit) return 'pool.query'
    if (e && e.holder) return locationOf(e.holder)
    const tag = e && e.tag != null ? e.tag : a.tag
    return tag != null ? `tag:${tag}` : 'unknown'
  }

  /** Active checkouts grouped by acquisition site, most first. */
  _holders() {
    const groups = new Map()
    for (const a of JSON.parse(this._native.activeCheckouts())) {
      const loc = this._siteOf(a, this._checkouts.get(a.id))
      const g = groups.get(loc) || { location: loc, count: 0, oldestMs: 0 }
      g.count++
      g.oldestMs = Math.max(g.oldestMs, a.heldMs)
      groups.set(loc, g)
    }
    return [...groups.values()].sort((x, y) => y.count - x.count || y.oldestMs - x.oldestMs)
  }

  _forget(client, native) {
    this._checkouts.delete(native.checkoutId)
    this._out.delete(client._connId)
    client._detach()
  }

  _release(client, native, err) {
    const checkoutId = native.checkoutId
    const entry = this._checkouts.get(checkoutId)
    this._checkouts.delete(checkoutId)
    this._out.delete(client._connId)
    this._known.set(client._connId, client)
    client._detach()
    client._releasedReason = null
    client._releasedAt = Date.now()
    safeEmit(this, 'release', err, client)
    const r = this._completions.released(this._native.release(checkoutId, !!err))
    if (typeof r === 'number') {
      // Only a checkout an event may still describe is remembered: keeping every released
      // entry (and its captured stack) alive for a while made V8 promote them all.
      if (entry && r & 4) this._obs.released(checkoutId, entry)
      this._touchKeepAlive()
      return undefined
    }
    throw fromInfo(r)
  }

  _clientFor(connId) {
    const out = this._out.get(connId)
    return (out && out.deref()) || this._known.get(connId)
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
      p = this.Promise.reject(new Error('Cannot use a pool after calling end on the pool'))
    } else if (this._fastPath() && !(q.query_timeout || this._queryTimeout)) {
      // A query that times out must give its connection up at once (pg-pool releases it with
      // the error, destroying it): only the client path can do that.
      p = this._directQuery(q)
    } else {
      p = this._clientQuery(q)
    }
    if (callback) {
      p.then((r) => callback(undefined, r), (e) => callback(e))
      return undefined
    }
    return p
  }

  _fastPath() {
    return (
      !this.options.onConnect &&
      !this.options.verify &&
      !this.options.log &&
      !this._clientParsers &&
      this.listenerCount('acquire') === 0 &&
      this.listenerCount('release') === 0 &&
      this.listenerCount('connect') === 0
    )
  }

  /** `pool.query` on the core's implicit checkout (never with a query timeout, see query()). */
  async _directQuery(q) {
    const [text, params, name, extended] = encode(q, this._utc)
    const reply = await this._completions.run(text, params, name, extended)
    let parsed = parse(reply, q.rowMode, q.types || this._types)
    if (parsed instanceof Promise) parsed = await parsed
    const { result, error } = parsed
    // The implicit checkout is already back (idle or handed on): the keep-alive handle can only
    // need turning on, which is all this hot path checks for.
    if (!this._keepAliveRefed) this._touchKeepAlive()
    if (error) {
      Error.captureStackTrace(this._acquireError(error))
      throw error
    }
    return result
  }

  async _clientQuery(q) {
    const client = await this._acquire(undefined, null, true)
    let result
    let error
    try {
      result = await client._run(q)
    } catch (err) {
      error = err
    }
    // pg-pool releases with the query callback's error argument: null on success.
    client.release(error === undefined ? null : error)
    if (error) throw error
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
      clearInterval(this._keepAlive)
      this._completions.stop()
    })
    if (cb) {
      p.then(() => cb(), (e) => cb(e))
      return undefined
    }
    return p
  }

  _touchKeepAlive() {
    if (this.options.allowExitOnIdle || this.ending) return
    const idle = this._native.idleCount > 0
    if (idle && !this._keepAliveRefed) {
      this._keepAlive.ref()
      this._keepAliveRefed = true
    } else if (!idle && this._keepAliveRefed) {
      this._keepAlive.unref()
      this._keepAliveRefed = false
    }
  }

  // -- observability --------------------------------------------------------------------

  getPoolStatus() {
    const c = JSON.parse(this._native.counts())
    const active = JSON.parse(this._native.activeCheckouts()).map((a) => {
      const e = this._checkouts.get(a.id)
      return {
        id: a.id,
        heldMs: a.heldMs,
        idleMs: a.idleMs,
        isPotentialLeak: a.isPotentialLeak,
        location: this._siteOf(a, e),
        tag: e && e.tag != null ? e.tag : a.tag == null ? undefined : a.tag,
        implicit: a.implicit,
        queryCount: a.queryCount,
        inTransaction: a.inTransaction,
      }
    })
    return {
      total: c.total,
      idle: c.idle,
      waiting: c.waiting,
      active: c.active,
      expired: c.expired,
      max: this.options.max,
      utilization: this.options.max ? c.active / this.options.max : 0,
      activeConnections: active,
    }
  }

  getMetrics() {
    const c = JSON.parse(this._native.counts())
    const m = JSON.parse(this._native.metrics())
    const active = JSON.parse(this._native.activeCheckouts())
    const s = m.counters
    return {
      pool: { total: c.total, idle: c.idle, waiting: c.waiting, max: this.options.max, min: this.options.min },
      connections: { active: c.active, oldest: active.length ? active[0].heldMs : 0 },
      stats: s,
      leakRate: s.totalAcquired ? s.leaksDetected / s.totalAcquired : 0,
      acquireWait: m.acquireWait,
      holdTime: m.holdTime,
      creation: m.creation,
      history: m.history,
    }
  }

  getAlerts() {
    return this._obs.alerts.toArray()
  }

  getLeakReport() {
    // Reported checkouts still held, by site: how many, and how old the oldest is by now.
    const live = new Map()
    for (const a of JSON.parse(this._native.activeCheckouts())) {
      const e = this._checkouts.get(a.id)
      if (!e || !e.reported) continue
      const l = live.get(e.location) || { active: 0, oldestAgeMs: 0 }
      l.active++
      l.oldestAgeMs = Math.max(l.oldestAgeMs, a.heldMs)
      live.set(e.location, l)
    }
    return this._obs.report(live)
  }

  metricsText() {
    return metricsText(this.getMetrics(), this.options.application_name || 'default')
  }

  getMemoryUsage() {
    const m = JSON.parse(this._native.metrics()).memory
    const out = {}
    for (const k of Object.keys(m)) out[k] = { size: m[k].size, capacity: m[k].capacity == null ? Infinity : m[k].capacity }
    return Object.assign(out, this._obs.memory(), {
      checkoutStacks: { size: this._checkouts.size, capacity: this.options.max },
      // Live connections (<= max) plus connections whose removal has not finished (<= max).
      clients: { size: this._known.size + this._out.size, capacity: 2 * this.options.max },
    })
  }

  toJSON() {
    return { options: this.options, totalCount: this.totalCount, idleCount: this.idleCount, waitingCount: this.waitingCount, ending: this.ending, ended: this.ended }
  }
}

module.exports = { LeakDetectingPool }
