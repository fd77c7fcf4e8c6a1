'use strict'
// The pool's internal interface: the one object PoolClient (lib/client.js) and the event
// dispatcher (lib/events.js) talk to. They hold it, never the pool; they read `settings` and
// `observer` and call the methods below, nothing else (the client's Submittables, lib/submit/,
// through it too). It owns what JS keeps per connection and per checkout, so that each of
// those facts has one owner:
//
//   conns    connId -> Slot: the connection's one PoolClient (created once per connection;
//            pg hands out the same object again) — held strongly while not checked out,
//            weakly while checked out, so that a leaked client can be garbage-collected:
//            `collected` then hands its checkout back to the core, which reclaims it as a
//            certain leak
//   entries  checkoutId -> CheckoutEntry of every checkout JS holds
//
// Invariants: a slot leaves `conns` when its connection's removal is reported (or, for a
// connection abandoned before its client was handed out, at once); a slot's
// `checkoutId` is non-zero exactly while its client holds that checkout, and then `entries`
// has it; an entry is registered in the same synchronous step in which JS learns the
// checkout's id, so no native event can be dispatched before it; every client object is
// registered once with `collected`; `outstanding` counts connect()s whose checkout JS has not
// learnt yet.

const { PoolClient, ATTACH, DETACH } = require('./client')
const { CheckoutInfo } = require('./completions')
const { Observer } = require('./observe')
const { siteOf, reportedSite, reclaimedError } = require('./report')
const { sourceMapMemory } = require('./source-maps')
const { fromInfo } = require('./errors')
const { safeEmit } = require('./emit')
const tracing = require('./tracing')

const NOOP = () => {}

/** Where a client keeps its idle `error` listener (see PoolInternals#_watchIdle). */
const IDLE_LISTENER = Symbol('PoolClient.idleListener')

const LEAK_CHANNELS = {
  leaksDetected: tracing.channels.leaks,
  forceRelease: tracing.channels.forceRelease,
  leakResolved: tracing.channels.leakResolved,
}

/**
 * What JS keeps of a checkout it holds: its connection, the stack captured at connect()
 * (unformatted; null when none was captured), its tag (kept equal to the core's), and once it
 * was reported, that fact and the location it was reported at.
 */
class CheckoutEntry {
  constructor(connId, holder, tag) {
    this.connId = connId
    this.holder = holder
    this.tag = tag
    this.reported = false
    this.location = undefined
  }
}

/**
 * Internals' record of one client object, handed to the client at construction and given back
 * by it (the client never reads it). `idle` is the client while it is not checked out (a
 * strong reference), null while it is.
 */
class Slot {
  constructor(connId) {
    this.connId = connId
    this.checkoutId = 0
    this.ref = null
    this.idle = null
    // Whether the client's idle `error` listener is attached (see PoolInternals#_watchIdle).
    this.watching = false
  }
}

class PoolInternals {
  /**
   * `pool`: the LeakDetectingPool (events are emitted on it); `native`: its NativePool;
   * `completions`: its reply queue; `settings`: see lib/options.js.
   */
  constructor(pool, native, completions, settings) {
    /** The resolved settings (lib/options.js), frozen. */
    this.settings = settings
    /** Alerts, the leak report and recently released entries (lib/observe.js). */
    this.observer = new Observer(settings.alertBufferSize)
    this._pool = pool
    this._native = native
    this._completions = completions
    this._conns = new Map()
    this._entries = new Map()
    // Connections abandoned with their client forgotten (a failed onConnect), until their
    // removal is reported: pg-pool emits no `remove` for them.
    this._abandoned = new Set()
    this._outstanding = 0
    this._settled = NOOP
    this._clientParsers = false
    this._collected = new FinalizationRegistry((slot) => {
      if (slot.checkoutId !== 0) native.discard(slot.checkoutId)
    })
    // pg's sockets keep the process alive while a client is checked out, and while idle
    // clients exist unless allowExitOnIdle; nothing in the core does (sockets are read by
    // unref'd handles), so this handle is ref'd exactly then (see _touchKeepAlive).
    this._keepAlive = setInterval(NOOP, 0x7fffffff)
    this._keepAlive.unref()
    this._keepAliveRefed = false
    this._stopped = false
    // True from a release until the end of the synchronous code that made it (see reapDue).
    this._releasing = false
    this._released = () => {
      this._releasing = false
    }
  }

  // -- for the pool ----------------------------------------------------------------------

  /**
   * Checks out a connection and holds it: the CheckoutInfo (its `client` attached) at once
   * when an idle connection was free, else a promise of it. `holder`: the stack captured at
   * connect(), or null.
   */
  acquire(meta, holder, tag) {
    const r = this._completions.connect(meta, (info) => {
      this._outstanding--
      if (info !== null) this._hold(info, holder, tag)
      this._settled()
    })
    if (r instanceof CheckoutInfo) return this._hold(r, holder, tag)
    this._outstanding++
    return r
  }

  /**
   * Gives up a checkout whose client was never handed to the caller (its onConnect hook
   * failed): the connection is destroyed and, as in pg-pool, its client is forgotten at once
   * (no `remove` follows).
   */
  abandon(info) {
    this._forget(this._conns.get(info.connId))
    this._drop(info.connId)
    this._abandoned.add(info.connId)
    this._completions.released(this._native.release(info.checkoutId, true))
    this._touchKeepAlive()
  }

  /**
   * A pool.query that ran without a client object was served by connection `served` (the
   * core says so once someone listens, see LeakDetectingPool#on): pg's `connect` (for a new
   * connection), `acquire` and `release` (with the query's error, if any) for that
   * connection's client, as pg-pool's query() emits them.
   */
  servedImplicitly(served, err) {
    const client = this.clientOf(served.connId, served.processId)
    if (served.isNew) safeEmit(this._pool, 'connect', client)
    safeEmit(this._pool, 'acquire', client)
    safeEmit(this._pool, 'release', err, client)
    tracing.releaseOf(client, err)
  }

  /** Reported checkouts still held: each one's reported location and how long it has been held. */
  reportedRows() {
    const out = []
    for (const r of JSON.parse(this._native.activeCheckouts())) {
      const e = this._entries.get(r.id)
      if (e !== undefined && e.reported) out.push({ location: e.location, heldMs: r.heldMs })
    }
    return out
  }

  /** How long the oldest active checkout has been held (ms), 0 when none is. */
  oldestHeldMs() {
    const rows = JSON.parse(this._native.activeCheckouts())
    return rows.length ? rows[0].heldMs : 0
  }

  /**
   * The core's active checkout rows (oldest first), each with its `location` and `tag` as JS
   * presents them and whether it was `reported` as a leak.
   */
  activeRows() {
    const rows = JSON.parse(this._native.activeCheckouts())
    for (const r of rows) {
      const e = this._entries.get(r.id)
      r.location = siteOf(r.implicit, e, r.tag)
      r.tag = e && e.tag != null ? e.tag : r.tag == null ? undefined : r.tag
      r.reported = e !== undefined && e.reported
    }
    return rows
  }

  /**
   * Before the counts are read: connections idle past their timeout (or lifetime) leave them
   * now, as pg-pool's timers would have removed them by then — except in the synchronous run
   * of code that has just released a client, where no pg-pool timer could have fired yet.
   */
  reapDue() {
    if (!this._releasing) this._native.reapDue()
  }

  /** After a pool.query on the core's own checkout: the keep-alive may need turning on. */
  afterQuery() {
    if (!this._keepAliveRefed) this._touchKeepAlive()
  }

  /** Whether a client's own type parsers exist (pool.query must then run on clients). */
  get clientParsers() {
    return this._clientParsers
  }

  /** The pool ended: no handle of ours stays. */
  stop() {
    this._stopped = true
    clearInterval(this._keepAlive)
  }

  /** Sizes and capacities of what JS keeps (for getMemoryUsage()). */
  memory() {
    const max = this.settings.max
    return Object.assign(this.observer.memory(), {
      checkoutStacks: { size: this._entries.size, capacity: max },
      // Live connections (<= max) plus connections whose removal has not finished (<= max).
      clients: { size: this._conns.size, capacity: 2 * max },
      // Source maps read for reports: one cache for the whole process, bounded by a constant.
      sourceMaps: sourceMapMemory(),
    })
  }

  /**
   * Sizes of what JS keeps that getMemoryUsage() does not list, for the soak and the tests:
   * replies awaited (one per query or connect() in flight), pool.query servings not yet
   * claimed, connections abandoned by a failed onConnect, connect()s not yet taken.
   */
  counts() {
    return {
      pendingReplies: this._completions.waiting.size,
      servedRecords: this._completions.served.size,
      abandoned: this._abandoned.size,
      outstandingConnects: this._outstanding,
      entries: this._entries.size,
      clients: this._conns.size,
    }
  }

  // -- for PoolClient --------------------------------------------------------------------

  /** Runs a statement on held checkout `checkoutId`; resolves with the reply frames. */
  run(checkoutId, text, params, name, extended, binary) {
    return this._completions.runOn(checkoutId, text, params, name, extended, binary)
  }

  /**
   * Opens a raw session (a Submittable's) on held checkout `checkoutId` and writes `first`;
   * `feed.push(part)` gets the backend's bytes as they arrive, `feed.end(part)` the last.
   */
  sessionOpen(checkoutId, feed, first) {
    this._completions.session(checkoutId, feed, first)
  }

  /** More frontend bytes of the session on `checkoutId`; `cb()` once the socket took them. */
  sessionWrite(checkoutId, bytes, cb) {
    this._completions.sessionWrite(checkoutId, bytes, cb)
  }

  /** The session on `checkoutId`'s consumer consumed `n` more bytes (flow control). */
  sessionAck(checkoutId, n) {
    this._native.sessionAck(checkoutId, n)
  }

  /** The text of statement `name` prepared on held checkout `checkoutId`'s connection, or null. */
  statementText(checkoutId, name) {
    return this._native.statementText(checkoutId, name)
  }

  /** Statement `name` was prepared with `text` by a Submittable on `checkoutId`'s connection. */
  noteStatement(checkoutId, name, text) {
    this._native.noteStatement(checkoutId, name, text)
  }

  /** `client.release(err)` of the checkout `slot`'s client holds; throws the core's error if any. */
  release(slot, err) {
    this._giveBack(slot, !!err, true, err)
  }

  /**
   * `client.end()` of the checkout `slot`'s client holds: its connection is closed and its slot
   * freed now, without `release` (pg-pool emits that at the release that follows).
   */
  end(slot) {
    this._giveBack(slot, true, false)
  }

  /** Hands the checkout `slot`'s client holds back to the core (`destroy`: close it). */
  _giveBack(slot, destroy, announce, err) {
    const checkoutId = slot.checkoutId
    const entry = this._entries.get(checkoutId)
    const client = this._forget(slot)
    slot.idle = client
    if (announce) {
      if (client) this._watchIdle(slot, client)
      safeEmit(this._pool, 'release', err, client)
      tracing.releaseOf(client, err)
    }
    if (!this._releasing) {
      this._releasing = true
      process.nextTick(this._released)
    }
    const r = this._completions.released(this._native.release(checkoutId, destroy))
    if (typeof r !== 'number') throw fromInfo(r)
    // pg-pool's words for a client its reuse rules retire.
    if (r & 8) this._pool.log('remove expended client')
    else if (r & 16) this._pool.log('remove expired client')
    // Only a checkout an event may still name is remembered: one the core says an event may
    // follow for (a reported leak, a release inside a transaction) or one it had already
    // reclaimed (its forceRelease is on its way). Entries kept alive for a while would be
    // promoted by V8 with their stacks, one per checkout.
    if (entry && (r & 4 || !(r & 1))) this.observer.released(checkoutId, entry)
    this._touchKeepAlive()
  }

  /** The one release pg-pool expects after `client.end()`: the client is idle again for pg-pool. */
  releasedAfterEnd(slot, client) {
    this._watchIdle(slot, client)
  }

  /** Changes held checkout `checkoutId`'s tag or leak threshold. */
  update(checkoutId, meta) {
    const e = this._entries.get(checkoutId)
    if (e && 'tag' in meta) e.tag = meta.tag
    this._native.updateCheckout(checkoutId, meta)
  }

  /** Asks the server to cancel the statement running on held checkout `checkoutId`. */
  cancel(checkoutId) {
    return this._native.cancel(checkoutId)
  }

  /** A client got type parsers of its own: pool.query must run on clients from now on. */
  useClientParsers() {
    this._clientParsers = true
  }

  // -- for the event dispatcher ----------------------------------------------------------

  /** Emits on the pool; a throwing listener cannot interrupt the caller (lib/emit.js). */
  emit(name, ...args) {
    safeEmit(this._pool, name, ...args)
  }

  /**
   * Emits one of the leak events (`leaksDetected`, `forceRelease`, `leakResolved`) on the pool
   * and publishes it on its tracing channel (lib/tracing.js).
   */
  announce(name, payload) {
    safeEmit(this._pool, name, payload)
    tracing.leakEvent(LEAK_CHANNELS[name], this._pool, payload)
  }

  /** Whether the pool has listeners for `name`. */
  listens(name) {
    return this._pool.listenerCount(name) > 0
  }

  /** The client object of connection `connId`, checked out or not, if JS has one. */
  clientFor(connId) {
    const slot = this._conns.get(connId)
    return slot && (slot.idle || slot.ref.deref())
  }

  /**
   * The client object of connection `connId`, made (not checked out) if JS has none yet: a
   * connection that so far served only pool.query's fast path has no client object, and pg's
   * events still name one.
   */
  clientOf(connId, processId) {
    const client = this.clientFor(connId)
    if (client) return client
    const slot = this._newSlot(connId, processId)
    slot.idle = slot.ref.deref()
    this._watchIdle(slot, slot.idle)
    return slot.idle
  }

  /** The entry of checkout `checkoutId`: held, or released a moment ago (an event was on its way). */
  entryOf(checkoutId) {
    return this._entries.get(checkoutId) || this.observer.recentEntry(checkoutId)
  }

  /**
   * Whether JS may still learn of checkout `checkoutId` from a connect() in flight: the core
   * can report a checkout it handed over before JS has taken it (the hand-off's completion is
   * still on its way).
   */
  awaits(checkoutId) {
    return this._outstanding > 0 && this.entryOf(checkoutId) === undefined
  }

  /** `fn` runs whenever a connect() in flight settles (taken or failed). */
  onSettled(fn) {
    this._settled = fn
  }

  /**
   * The error for a query the core refused because it had reclaimed checkout `checkoutId`
   * before JS heard of it: the core's facts (`reason`, `at`, `heldMs`), worded as the reclaim
   * event's error is.
   */
  reclaimError(checkoutId, facts) {
    const location = reportedSite(this.entryOf(checkoutId))
    return reclaimedError(facts.reason, { ageMs: facts.heldMs, location }, facts.at)
  }

  /** Checkout `checkoutId` was reported as a leak at `location`. */
  reported(checkoutId, location) {
    const e = this.entryOf(checkoutId)
    if (e) {
      e.reported = true
      e.location = location
    }
  }

  /**
   * The core reclaimed checkout `checkoutId`: its client (if JS holds one) is detached with
   * `err` as the reason, and JS lets go of the checkout.
   */
  reclaimed(checkoutId, err) {
    const entry = this._entries.get(checkoutId)
    const slot = entry && this._conns.get(entry.connId)
    if (slot && slot.checkoutId === checkoutId) {
      // Still the connection's client: its `remove` follows when the removal ends.
      slot.idle = this._forget(slot, err) || null
    }
    this._entries.delete(checkoutId)
    this._native.discard(checkoutId)
    this._touchKeepAlive()
  }

  /**
   * Connection `connId`'s removal finished: its client (returned, if any — made for it if
   * someone listens for `remove`) is forgotten.
   */
  removed(connId, processId) {
    if (this._abandoned.delete(connId)) return undefined
    tracing.removeOf(processId)
    const client = this.clientFor(connId) || (this.listens('remove') ? this.clientOf(connId, processId) : undefined)
    this._drop(connId)
    this._touchKeepAlive()
    return client
  }

  // -- internal --------------------------------------------------------------------------

  /** JS learnt checkout `info` (synchronously with this call): attach its client, register it. */
  _hold(info, holder, tag) {
    const connId = info.connId
    let slot = this._conns.get(connId)
    let client = slot && (slot.idle || slot.ref.deref())
    if (!client) {
      slot = this._newSlot(connId, info.processId)
      client = slot.ref.deref()
    }
    slot.idle = null
    slot.checkoutId = info.checkoutId
    if (slot.watching) {
      slot.watching = false
      client.removeListener('error', client[IDLE_LISTENER])
    }
    this._entries.set(info.checkoutId, new CheckoutEntry(connId, holder, tag))
    client[ATTACH](info, tag)
    info.client = client
    if (!this._keepAliveRefed) this._touchKeepAlive()
    return info
  }

  /**
   * pg-pool listens for `error` on every client it is not lending out: an error emitted on
   * such a client (by anyone, the user included) removes it from the pool — its connection
   * closed and its slot freed before the emit returns — and the pool emits `error` with
   * `(err, client)`. The listener is the client's own (`IDLE_LISTENER`), added when the
   * client becomes idle and removed when it is handed out, as pg-pool does; it refers to the
   * slot, never to the client, so a leaked client can still be collected.
   */
  _watchIdle(slot, client) {
    let listener = client[IDLE_LISTENER]
    if (listener === undefined) {
      const internals = this
      listener = function idleListener(err) {
        internals._idleError(slot, this, err, idleListener)
      }
      client[IDLE_LISTENER] = listener
    }
    if (!slot.watching) {
      slot.watching = true
      client.on('error', listener)
    }
  }

  /** An `error` emitted on idle `client` (see _watchIdle). */
  _idleError(slot, client, err, listener) {
    if (err !== null && typeof err === 'object') err.client = client
    slot.watching = false
    client.removeListener('error', listener)
    client.on('error', () => this._pool.log('additional client error after disconnection due to error', err))
    if (this._native.evict(slot.connId)) this._touchKeepAlive()
    if (this.listens('error')) this.emit('error', err, client)
  }

  /** A slot and client object for connection `connId` (the caller keeps the client alive). */
  _newSlot(connId, processId) {
    const slot = new Slot(connId)
    const client = new PoolClient(this, slot, processId)
    slot.ref = new WeakRef(client)
    // The slot is also the unregister token: _drop() removes the record, which would
    // otherwise keep the slot, and through `slot.idle` the client, alive for good.
    this._collected.register(client, slot, slot)
    this._conns.set(connId, slot)
    return slot
  }

  /** Connection `connId` is gone: JS keeps nothing of its slot or client. */
  _drop(connId) {
    const slot = this._conns.get(connId)
    if (!slot) return
    this._conns.delete(connId)
    slot.idle = null
    this._collected.unregister(slot)
  }

  /** JS no longer holds `slot`'s checkout; its client (if still alive) is detached with `reason`. */
  _forget(slot, reason = null) {
    this._entries.delete(slot.checkoutId)
    slot.checkoutId = 0
    const client = slot.ref.deref()
    if (client) client[DETACH](reason)
    return client
  }

  /**
   * pg's rule for keeping the process alive: a checked-out client always does (its socket is
   * ref'd); idle clients do unless allowExitOnIdle (or the pool is ending). Toggles the handle
   * only when the answer changes, so a checkout costs a ref only when none was held.
   */
  _touchKeepAlive() {
    if (this._stopped) return
    const need = this._entries.size > 0 || (!this.settings.allowExitOnIdle && !this._pool.ending && this._native.idleCount > 0)
    if (need && !this._keepAliveRefed) {
      this._keepAlive.ref()
      this._keepAliveRefed = true
    } else if (!need && this._keepAliveRefed) {
      this._keepAlive.unref()
      this._keepAliveRefed = false
    }
  }
}

module.exports = { PoolInternals }
