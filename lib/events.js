'use strict'
// Native events (JSON from the core's weak thread-safe function) turned into pg's events and
// the leak events. Everything here goes through the pool's internal interface
// (lib/internals.js); a listener that throws never stops the dispatch (lib/emit.js).
//
// Order: events are handled in the order the core emitted them. The core can report a
// checkout it handed to a queued connect() before JS has taken it (the hand-off's completion
// travels on another channel): such an event — and every event after it, so that, e.g., a
// connection's `removed` never overtakes the reclaim that caused it — waits until JS takes
// that checkout or no connect() is in flight any more. No timer is involved: the wait ends
// when a connect() settles, which is what the event was waiting for.

const { clientError, databaseError, noticeMessage } = require('./errors')
const { safeEmit } = require('./emit')
const { siteOf, reportedSite, leakOf, reclaimedError } = require('./report')
const { FAILED, CLOSED } = require('./client')

/** A connection's failure: pg's DatabaseError when the server said why, else our error. */
function connError(e) {
  return e.fields ? databaseError(e.fields) : clientError(e.code, e.message, e.extra)
}

function onLeaks(pool, ev) {
  const leaks = ev.leaks.map((l) => leakOf(l, pool.entryOf(l.checkoutId)))
  for (const l of leaks) {
    pool.reported(l.id, l.location)
    pool.observer.leak(l.location, l.ageMs, l.tag)
    pool.observer.alert('leak', { id: l.id, location: l.location, ageMs: l.ageMs, idleMs: l.idleMs, tag: l.tag, stack: l.stack })
  }
  pool.announce('leaksDetected', { count: leaks.length, leaks })
}

function onForceRelease(pool, ev) {
  const entry = pool.entryOf(ev.leak.checkoutId)
  const l = leakOf(ev.leak, entry)
  if (entry && entry.reported) pool.observer.leakEnded(entry.location, l.ageMs)
  pool.reclaimed(l.id, reclaimedError(ev.reason, l))
  if (ev.reason === 'garbage-collected') {
    // A certain leak: nobody can release it any more. Reported like a leak, with its stack.
    pool.observer.leak(l.location, l.ageMs, l.tag)
    pool.observer.alert('garbage-collected', {
      id: l.id,
      location: l.location,
      ageMs: l.ageMs,
      idleMs: l.idleMs,
      tag: l.tag,
      stack: l.stack,
    })
    pool.announce('leaksDetected', { count: 1, leaks: [{ ...l, reason: 'garbage-collected' }] })
    return
  }
  const type = ev.reason === 'end' ? 'destroyed-by-end' : 'force-release'
  pool.observer.alert(type, {
    id: l.id,
    location: l.location,
    ageMs: l.ageMs,
    idleMs: l.idleMs,
    tag: l.tag,
    reason: ev.reason,
    stack: l.stack,
  })
  pool.announce('forceRelease', {
    id: l.id,
    age: l.ageMs,
    ageMs: l.ageMs,
    idleMs: l.idleMs,
    location: l.location,
    stack: l.stack,
    reason: ev.reason,
    tag: l.tag,
  })
}

function onLeakResolved(pool, ev) {
  // Only a reported checkout resolves, and JS kept its entry when releasing it.
  const e = pool.entryOf(ev.checkoutId)
  const location = reportedSite(e)
  pool.observer.leakEnded(location, ev.heldMs)
  pool.observer.alert('leak-resolved', { id: ev.checkoutId, location, ageMs: ev.heldMs })
  pool.announce('leakResolved', { id: ev.checkoutId, heldMs: ev.heldMs, location })
}

function onReleasedInTransaction(pool, ev) {
  // JS keeps the entry of every checkout it released inside a transaction until this event
  // (the core said one may follow): a checkout without one is pool.query's own.
  const e = pool.entryOf(ev.checkoutId)
  pool.observer.alert('released-in-transaction', {
    id: ev.checkoutId,
    location: siteOf(ev.implicit === true || e === undefined, e),
    ageMs: ev.heldMs,
    status: ev.status === 'E' ? 'failed-transaction' : 'in-transaction',
  })
}

function handle(pool, ev) {
  switch (ev.type) {
    case 'removed': {
      const client = pool.removed(ev.connId, ev.processId)
      // As pg's client does when its connection ends: end() settles, then `end`.
      if (client && client[CLOSED]()) pool.emit('remove', client)
      break
    }
    case 'idleError': {
      const err = connError(ev.error)
      // A connection that served only pool.query has no client object yet: pg's error names one.
      const client = pool.listens('error') ? pool.clientOf(ev.connId, ev.processId) : pool.clientFor(ev.connId)
      err.client = client
      if (client) client[CLOSED]()
      if (pool.listens('error')) pool.emit('error', err, client)
      break
    }
    case 'clientError': {
      const client = pool.clientFor(ev.connId)
      if (client) client[FAILED]()
      if (client && client.listenerCount('error') > 0) {
        safeEmit(client, 'error', connError(ev.error))
        // pg emits the server's error (e.g. FATAL 57P01), then "Connection terminated unexpectedly".
        if (ev.error.fields) safeEmit(client, 'error', clientError('LDP_CONNECTION_TERMINATED', 'Connection terminated unexpectedly'))
      }
      break
    }
    case 'notification': {
      const client = pool.clientFor(ev.connId)
      if (client)
        safeEmit(client, 'notification', {
          length: undefined,
          processId: ev.processId,
          channel: ev.channel,
          payload: ev.payload,
          name: 'notification',
        })
      break
    }
    case 'notice': {
      const client = pool.clientFor(ev.connId)
      if (client) safeEmit(client, 'notice', noticeMessage(ev.fields))
      break
    }
    case 'leaksDetected':
      onLeaks(pool, ev)
      break
    case 'forceRelease':
      onForceRelease(pool, ev)
      break
    case 'leakResolved':
      onLeakResolved(pool, ev)
      break
    case 'releasedInTransaction':
      onReleasedInTransaction(pool, ev)
      break
    case 'eventsDropped':
      // Once per pool; every drop is counted in getMetrics().stats.
      process.emitWarning(
        `LeakDetectingPool dropped a ${ev.kind}: ${ev.limit} notifications and notices were already waiting for the JS thread, or one query had collected that many notices (maxQueuedEvents). Further drops are counted in getMetrics().stats.notificationsDropped and noticesDropped.`,
        { code: 'LDP_EVENTS_DROPPED' }
      )
      break
  }
}

/** Whether `ev` names a checkout JS may still take (see the header). */
function mustWait(pool, ev) {
  if (ev.type === 'leaksDetected') return ev.leaks.some((l) => pool.awaits(l.checkoutId))
  if (ev.type === 'forceRelease') return pool.awaits(ev.leak.checkoutId)
  return false
}

/**
 * Dispatches one pool's native events. Invariant: `waiting` is empty or starts with an event
 * that must wait (see the header); it only holds events that arrived while a connect() was in
 * flight, and it is drained whenever one settles.
 */
class Dispatcher {
  constructor(pool) {
    this.pool = pool
    this.waiting = []
    this.dispatch = this.dispatch.bind(this)
    pool.onSettled(() => this.resume())
  }

  /** One event from the core, as JSON. */
  dispatch(json) {
    let ev
    try {
      ev = JSON.parse(json)
    } catch {
      return
    }
    if (this.waiting.length > 0 || mustWait(this.pool, ev)) {
      this.waiting.push(ev)
      return
    }
    handle(this.pool, ev)
  }

  resume() {
    while (this.waiting.length > 0 && !mustWait(this.pool, this.waiting[0])) {
      handle(this.pool, this.waiting.shift())
    }
  }
}

module.exports = { Dispatcher }
