'use strict'
// Native events (JSON from the core's weak thread-safe function) turned into pg's events and
// the leak events. A listener that throws is reported as an uncaught exception in its own
// turn, like any EventEmitter listener, and never stops the dispatch or the core's checker.

const { clientError, noticeMessage } = require('./errors')
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

function leakPayload(pool, l) {
  const e = pool._checkouts.get(l.checkoutId)
  const holder = e && e.holder
  return {
    id: l.checkoutId,
    ageMs: l.ageMs,
    idleMs: l.idleMs,
    location: holder ? locationOf(holder) : l.location || (e && e.tag ? `tag:${e.tag}` : 'unknown'),
    stack: holder ? stackOf(holder) : l.stack || undefined,
    queryCount: l.queryCount,
    inTransaction: l.inTransaction,
    tag: e && e.tag != null ? e.tag : l.tag == null ? undefined : l.tag,
  }
}

function onLeaks(pool, ev) {
  const leaks = ev.leaks.map((l) => leakPayload(pool, l))
  for (const l of leaks) {
    const e = pool._checkouts.get(l.id)
    if (e) {
      e.reported = true
      e.location = l.location
    }
    pool._obs.leak(l.location, l.ageMs)
    pool._obs.alert('leak', { id: l.id, location: l.location, ageMs: l.ageMs, idleMs: l.idleMs, tag: l.tag })
  }
  safeEmit(pool, 'leaksDetected', { count: leaks.length, leaks })
}

function onForceRelease(pool, ev) {
  const l = leakPayload(pool, ev.leak)
  const entry = pool._checkouts.get(l.id)
  pool._checkouts.delete(l.id)
  const ref = pool._out.get(ev.leak.connId)
  const client = ref && ref.deref()
  if (client && client._checkoutId === l.id) {
    const native = client._native
    const info = native && native.unusable()
    client._native = null
    client._releasedReason = clientError('LDP_CLIENT_RECLAIMED', info ? info.message : 'Client was reclaimed by the pool')
    pool._out.delete(ev.leak.connId)
    pool._known.set(ev.leak.connId, client)
  }
  if (entry && entry.reported) pool._obs.leakEnded(entry.location)
  if (ev.reason === 'garbage-collected') {
    pool._obs.leak(l.location, l.ageMs)
    pool._obs.alert('garbage-collected', { id: l.id, location: l.location, ageMs: l.ageMs, stack: l.stack })
    safeEmit(pool, 'leaksDetected', { count: 1, leaks: [{ ...l, reason: 'garbage-collected' }] })
    return
  }
  pool._obs.alert(ev.reason === 'end' ? 'destroyed-by-end' : 'force-release', { id: l.id, location: l.location, ageMs: l.ageMs, idleMs: l.idleMs })
  safeEmit(pool, 'forceRelease', { id: l.id, age: l.ageMs, ageMs: l.ageMs, idleMs: l.idleMs, location: l.location, stack: l.stack, reason: ev.reason, tag: l.tag })
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
      const err = clientError(ev.error.code, ev.error.message)
      const client = pool._clientFor(ev.connId)
      err.client = client
      if (client) safeEmit(client, 'end')
      if (pool.listenerCount('error') > 0) safeEmit(pool, 'error', err, client)
      break
    }
    case 'clientError': {
      const client = pool._clientFor(ev.connId)
      if (client && client.listenerCount('error') > 0) safeEmit(client, 'error', clientError(ev.error.code, ev.error.message))
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
    case 'leakResolved': {
      const e = pool._checkouts.get(ev.checkoutId)
      const location = (e && e.location) || ev.location || 'unknown'
      pool._obs.alert('leak-resolved', { id: ev.checkoutId, location, ageMs: ev.heldMs })
      safeEmit(pool, 'leakResolved', { id: ev.checkoutId, heldMs: ev.heldMs, location })
      break
    }
    case 'releasedInTransaction': {
      pool._obs.alert('released-in-transaction', { id: ev.checkoutId, location: ev.location || 'unknown', status: ev.status })
      break
    }
  }
}

module.exports = { dispatch, safeEmit }
