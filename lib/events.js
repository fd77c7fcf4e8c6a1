'use strict'
// Native events (JSON from the core's weak thread-safe function) turned into pg's events and
// the leak events. A listener that throws is reported as an uncaught exception in its own
// turn, like any EventEmitter listener, and never stops the dispatch or the core's checker.

const { clientError, databaseError, noticeMessage } = require('./errors')
const { stackOf, locationOf } = require('./stack')

function safeEmit(target, name, ...args) {
  try {
    target.emit(name, ...args)
  } catch (err) {
    process.nextTick(() => {
      throw err
    })
  }
}

/** The JS entry of a checkout: active, or released a moment ago (its event was on its way). */
function entryOf(pool, checkoutId) {
  return pool._checkouts.get(checkoutId) || pool._obs.recentEntry(checkoutId)
}

function leakPayload(pool, l) {
  const e = entryOf(pool, l.checkoutId)
  const holder = e && e.holder
  const tag = e && e.tag != null ? e.tag : l.tag == null ? undefined : l.tag
  return {
    id: l.checkoutId,
    ageMs: l.ageMs,
    idleMs: l.idleMs,
    location: holder ? locationOf(holder) : l.location || (tag != null ? `tag:${tag}` : 'unknown'),
    stack: holder ? stackOf(holder) : l.stack || undefined,
    queryCount: l.queryCount,
    inTransaction: l.inTransaction,
    tag,
  }
}

function onLeaks(pool, ev, retries = 0) {
  // With thresholds of a few ms, a report can overtake the JS side of its own checkout (the
  // connect() promise's continuation registers the entry): give it up to ~100 ms.
  if (retries < 20 && ev.leaks.some((l) => !entryOf(pool, l.checkoutId))) {
    setTimeout(() => onLeaks(pool, ev, retries + 1), 5)
    return
  }
  const leaks = ev.leaks.map((l) => leakPayload(pool, l))
  for (const l of leaks) {
    const e = entryOf(pool, l.id)
    if (e) {
      e.reported = true
      e.location = l.location
    }
    pool._obs.leak(l.location, l.ageMs)
    pool._obs.alert('leak', { id: l.id, location: l.location, ageMs: l.ageMs, idleMs: l.idleMs, tag: l.tag, stack: l.stack })
  }
  safeEmit(pool, 'leaksDetected', { count: leaks.length, leaks })
}

/** What a reclaimed client's later queries reject with: which reclaim, when, after how long. */
function reclaimedError(reason, l) {
  const what =
    reason === 'end' ? 'was destroyed by pool.end()' : reason === 'garbage-collected' ? 'was reclaimed after being garbage-collected' : 'was force-released by the pool'
  const why = reason === 'idle' ? ` (idle for ${l.idleMs} ms, over forceReleaseAfterMs)` : reason === 'end' ? ' (still checked out when endTimeoutMs ran out)' : ''
  return clientError(
    'LDP_CLIENT_RECLAIMED',
    `Client ${what} at ${new Date().toISOString()} after being held for ${l.ageMs} ms${why}; its connection was closed. It was checked out at ${l.location}`
  )
}

function onForceRelease(pool, ev) {
  const l = leakPayload(pool, ev.leak)
  const entry = pool._checkouts.get(l.id)
  if (entry && entry.reported) pool._obs.leakEnded(entry.location, l.ageMs)
  pool._checkouts.delete(l.id)
  const ref = pool._out.get(ev.leak.connId)
  const client = ref && ref.deref()
  if (client && client._checkoutId === l.id) {
    client._detach()
    client._releasedReason = reclaimedError(ev.reason, l)
    pool._out.delete(ev.leak.connId)
    pool._known.set(ev.leak.connId, client)
  }
  // The core reclaimed it: the binding can let go of it too (whether or not a client is found).
  pool._native.discard(l.id)
  if (ev.reason === 'garbage-collected') {
    // A certain leak: nobody can release it any more. Reported like a leak, with its stack.
    pool._obs.leak(l.location, l.ageMs)
    pool._obs.alert('garbage-collected', { id: l.id, location: l.location, ageMs: l.ageMs, idleMs: l.idleMs, tag: l.tag, stack: l.stack })
    safeEmit(pool, 'leaksDetected', { count: 1, leaks: [{ ...l, reason: 'garbage-collected' }] })
    return
  }
  const type = ev.reason === 'end' ? 'destroyed-by-end' : 'force-release'
  pool._obs.alert(type, { id: l.id, location: l.location, ageMs: l.ageMs, idleMs: l.idleMs, tag: l.tag, reason: ev.reason, stack: l.stack })
  safeEmit(pool, 'forceRelease', { id: l.id, age: l.ageMs, ageMs: l.ageMs, idleMs: l.idleMs, location: l.location, stack: l.stack, reason: ev.reason, tag: l.tag })
}

function onLeakResolved(pool, ev) {
  const e = entryOf(pool, ev.checkoutId)
  const location = (e && (e.location || (e.holder && locationOf(e.holder)))) || ev.location || 'unknown'
  pool._obs.leakEnded(location, ev.heldMs)
  pool._obs.alert('leak-resolved', { id: ev.checkoutId, location, ageMs: ev.heldMs })
  safeEmit(pool, 'leakResolved', { id: ev.checkoutId, heldMs: ev.heldMs, location })
}

function onReleasedInTransaction(pool, ev) {
  // Released a moment ago: its entry (and stack) is among the recent releases.
  const e = entryOf(pool, ev.checkoutId)
  let location = ev.implicit ? 'pool.query' : ev.location || 'unknown'
  if (e && e.holder) location = locationOf(e.holder)
  else if (e && e.tag != null) location = `tag:${e.tag}`
  pool._obs.alert('released-in-transaction', {
    id: ev.checkoutId,
    location,
    ageMs: ev.heldMs,
    status: ev.status === 'E' ? 'failed-transaction' : 'in-transaction',
  })
}

/** A connection's failure: pg's DatabaseError when the server said why, else our error. */
function connError(e) {
  return e.fields ? databaseError(e.fields) : clientError(e.code, e.message)
}

function dispatch(pool, json) {
  let ev
  try {
    ev = JSON.parse(json)
  } catch {
    return
  }
  switch (ev.type) {
    case 'removed': {
      const client = pool._clientFor(ev.connId)
      pool._known.delete(ev.connId)
      pool._out.delete(ev.connId)
      if (client) safeEmit(pool, 'remove', client)
      pool._touchKeepAlive()
      break
    }
    case 'idleError': {
      const err = connError(ev.error)
      const client = pool._clientFor(ev.connId)
      err.client = client
      if (client) safeEmit(client, 'end')
      if (pool.listenerCount('error') > 0) safeEmit(pool, 'error', err, client)
      break
    }
    case 'clientError': {
      const client = pool._clientFor(ev.connId)
      if (client && client.listenerCount('error') > 0) {
        safeEmit(client, 'error', connError(ev.error))
        // pg emits the server's error (e.g. FATAL 57P01), then "Connection terminated unexpectedly".
        if (ev.error.fields) safeEmit(client, 'error', clientError('LDP_CONNECTION_TERMINATED', 'Connection terminated unexpectedly'))
      }
      break
    }
    case 'notification': {
      const client = pool._clientFor(ev.connId)
      if (client) safeEmit(client, 'notification', { length: undefined, processId: ev.processId, channel: ev.channel, payload: ev.payload, name: 'notification' })
      break
    }
    case 'notice': {
      const client = pool._clientFor(ev.connId)
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
  }
}

module.exports = { dispatch, safeEmit }
