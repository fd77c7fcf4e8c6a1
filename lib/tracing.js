'use strict'
// Tracing channels (node:diagnostics_channel), so that APM tools observe the pool without
// patching it. The pg channels carry the names and payloads of node-postgres's proposal for
// them, so an instrumentation written for pg's channels works here unchanged:
//
//   pg:query          TracingChannel  client.query() and pool.query(): { query: { text, name },
//                                     client: { database, host, port, user, processID, ssl } },
//                                     `result: { rowCount, command }` by asyncEnd
//   pg:connection     TracingChannel  a connection opened for a checkout: { connection:
//                                     { database, host, port, user, ssl } }
//   pg:pool:connect   TracingChannel  pool.connect() (and pool.query()'s checkout): { pool:
//                                     { totalCount, idleCount, waitingCount, maxSize } },
//                                     `client: { processID, reused }` by asyncEnd
//   pg:pool:release   channel         { client: { processID }, error }
//   pg:pool:remove    channel         { client: { processID } }
//
// and ours, published where the pool emits the event of the same name (payload: the event's,
// plus `pool`):
//
//   leak-detecting-pool:leaks           leaksDetected
//   leak-detecting-pool:force-release   forceRelease
//   leak-detecting-pool:leak-resolved   leakResolved
//
// Zero cost unsubscribed: every call site first reads a channel's `hasSubscribers` (a getter
// that answers false without allocating) and takes its usual path; nothing here runs then.
// Traced operations keep the caller's async context: their callbacks and promise reactions
// are registered inside `start.runStores`, in the caller's turn, so AsyncLocalStorage (and a
// store an APM binds to `start`/`asyncStart`) is the caller's in every subscriber callback.
//
// Lifecycle (TracingChannel's traceCallback, as pg uses it): start, end, then asyncStart and
// asyncEnd around the caller's callback (for a promise, around its settlement); a failure
// publishes `error` (with `context.error`) before asyncStart.

const dc = require('node:diagnostics_channel')

const query = dc.tracingChannel('pg:query')
const connection = dc.tracingChannel('pg:connection')
const poolConnect = dc.tracingChannel('pg:pool:connect')
const poolRelease = dc.channel('pg:pool:release')
const poolRemove = dc.channel('pg:pool:remove')
const leaks = dc.channel('leak-detecting-pool:leaks')
const forceRelease = dc.channel('leak-detecting-pool:force-release')
const leakResolved = dc.channel('leak-detecting-pool:leak-resolved')

// Node 20 before 20.13 has TracingChannel without the aggregated `hasSubscribers` getter.
if (typeof query.hasSubscribers !== 'boolean') {
  for (const tc of [query, connection, poolConnect]) {
    Object.defineProperty(tc, 'hasSubscribers', {
      get() {
        return (
          this.start.hasSubscribers ||
          this.end.hasSubscribers ||
          this.asyncStart.hasSubscribers ||
          this.asyncEnd.hasSubscribers ||
          this.error.hasSubscribers
        )
      },
    })
  }
}

const NOOP = () => {}

/** Whether anything observes the pool's checkouts or queries (pool.query then makes a client, as pg's does). */
function observesPool() {
  return query.hasSubscribers || poolConnect.hasSubscribers || poolRelease.hasSubscribers || connection.hasSubscribers
}

/**
 * A callback `cb(err, ...)`, or when there is none one that settles the promise returned as
 * `promise`.
 */
function settleWith(cb) {
  if (typeof cb === 'function') return { cb, promise: undefined }
  let resolve
  let reject
  const promise = new Promise((res, rej) => {
    resolve = res
    reject = rej
  })
  return { cb: (err, value) => (err ? reject(err) : resolve(value)), promise }
}

function queryContext(client, q) {
  return {
    query: { text: q.text, name: q.name },
    client: {
      database: client.database,
      host: client.host,
      port: client.port,
      user: client.user,
      processID: client.processID,
      ssl: !!client.ssl,
    },
  }
}

/**
 * `pg:query` around `run()` (the query's promise) on `client`. `cb`: the caller's callback
 * (called between asyncStart and asyncEnd; returns undefined), else returns a promise.
 */
function traceQuery(client, q, run, cb) {
  const context = queryContext(client, q)
  const out = settleWith(cb)
  const enriched = (err, res) => {
    if (res) context.result = { rowCount: res.rowCount, command: res.command }
    return out.cb(err, res)
  }
  query.traceCallback(
    (traced) => {
      run().then(
        (res) => traced(null, res),
        (err) => traced(err)
      )
    },
    0,
    context,
    null,
    enriched
  )
  return out.promise
}

/**
 * `pg:query` around a Submittable with a callback (pg traces exactly those; cursors and
 * streams have none): its callback is replaced by the traced one before `submit()`.
 */
function traceSubmittable(client, sub, values, callback, submit) {
  if (typeof sub.callback !== 'function') {
    if (typeof values === 'function') sub.callback = values
    else if (typeof callback === 'function') sub.callback = callback
  }
  const original = sub.callback
  if (typeof original !== 'function') return submit()
  const context = queryContext(client, sub)
  const enriched = function (err, res) {
    if (res) context.result = { rowCount: res.rowCount, command: res.command }
    return original.apply(this, arguments)
  }
  return query.traceCallback(
    (traced) => {
      sub.callback = traced
      return submit()
    },
    0,
    context,
    null,
    enriched
  )
}

/**
 * `pg:pool:connect` around `acquire()` (the checkout's promise of a PoolClient), with
 * `pg:connection` inside it when this checkout made the pool open a connection. `cb`: the
 * caller's `(err, client, done)`, else returns a promise.
 */
function traceConnect(pool, acquire, cb) {
  const context = {
    pool: {
      totalCount: pool.totalCount,
      idleCount: pool.idleCount,
      waitingCount: pool.waitingCount,
      maxSize: pool.options.max,
    },
  }
  const out = settleWith(cb)
  const enriched = (err, client, done) => {
    if (client) context.client = { processID: client.processID, reused: !(client._checkout && client._checkout.isNew) }
    return out.cb(err, client, done)
  }
  poolConnect.traceCallback(
    (traced) => {
      const before = pool.totalCount
      const p = acquire()
      // The pool's count rises synchronously when it starts opening a connection for a caller.
      if (pool.totalCount > before && connection.hasSubscribers) traceOpen(pool, p)
      p.then(
        (client) => traced(undefined, client, (err) => client.release(err)),
        (err) => traced(err, undefined, NOOP)
      )
    },
    0,
    context,
    null,
    enriched
  )
  return out.promise
}

/** `pg:connection` for the connection opened for checkout `p`, settled with it. */
function traceOpen(pool, p) {
  const c = pool._settings.connection
  const context = { connection: { database: c.database, host: c.host, port: c.port, user: c.user, ssl: !!c.ssl } }
  connection.traceCallback(
    (traced) => {
      p.then(
        () => traced(null),
        (err) => traced(err)
      )
    },
    0,
    context,
    null,
    NOOP
  )
}

/** `pg:pool:release` for `client` released with `err`. */
function releaseOf(client, err) {
  if (poolRelease.hasSubscribers) poolRelease.publish({ client: { processID: client && client.processID }, error: err || undefined })
}

/** `pg:pool:remove` for the connection of backend `processID`. */
function removeOf(processID) {
  if (poolRemove.hasSubscribers) poolRemove.publish({ client: { processID } })
}

/** Our channels: `payload` is the pool event's; `pool` is added. */
function leakEvent(channel, pool, payload) {
  if (channel.hasSubscribers) channel.publish(Object.assign({ pool }, payload))
}

module.exports = {
  channels: { query, connection, poolConnect, poolRelease, poolRemove, leaks, forceRelease, leakResolved },
  observesPool,
  traceQuery,
  traceSubmittable,
  traceConnect,
  releaseOf,
  removeOf,
  leakEvent,
}
