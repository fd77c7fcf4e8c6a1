'use strict'
// The pool's metrics as OpenTelemetry instruments, named by the database-client semantic
// conventions (db.client.connection.*), plus our leak counters. Optional: it works with any
// `Meter` of `@opentelemetry/api` (a peer dependency the package never requires by itself),
// and costs nothing until a reader collects: every instrument is asynchronous, and one batch
// callback reads the pool's metrics once per collection.
//
// Instruments (attribute `db.client.connection.pool.name` on every point):
//
//   db.client.connection.count             UpDownCounter {connection}  by db.client.connection.state: idle | used
//   db.client.connection.idle.max          UpDownCounter {connection}  max (pg keeps up to max idle)
//   db.client.connection.idle.min          UpDownCounter {connection}  min
//   db.client.connection.max               UpDownCounter {connection}  max
//   db.client.connection.pending_requests  UpDownCounter {request}     callers waiting for a connection
//   db.client.connection.timeouts          Counter {timeout}           acquires that timed out
//   db.client.connection.wait_time         Gauge s                     by quantile: 0.5 | 0.95 | 0.99 | 1
//   db.client.connection.use_time          Gauge s                     by quantile
//   db.client.connection.create_time       Gauge s                     by quantile
//   ldp.connection.leaks                   Counter {leak}              checkouts reported as leaks
//   ldp.connection.forced_releases         Counter {connection}        checkouts reclaimed by the pool
//   ldp.connection.oldest_checkout         Gauge s                     age of the oldest checkout
//
// The conventions make the three durations histograms; OpenTelemetry's API has no
// asynchronous histogram, and the pool keeps these distributions itself (the last 1024
// observations of each, in the core), so they are reported as gauges of their quantiles — the
// values `metricsText()` exposes — instead of recording every checkout in JavaScript.

const ASYNC_KINDS = {
  upDown: 'createObservableUpDownCounter',
  counter: 'createObservableCounter',
  gauge: 'createObservableGauge',
}

const QUANTILES = [
  ['0.5', 'p50'],
  ['0.95', 'p95'],
  ['0.99', 'p99'],
  ['1', 'max'],
]

/** `@opentelemetry/api`'s ValueType, when the API is installed (older SDKs ignore it). */
function valueTypes() {
  try {
    return require('@opentelemetry/api').ValueType
  } catch {
    return { INT: 0, DOUBLE: 1 }
  }
}

/**
 * Registers the pool's instruments on `meter` (an `@opentelemetry/api` Meter). `options.poolName`
 * names the pool (default: its `application_name`, else `host:port`, as the conventions ask).
 * Returns `{ shutdown() }`, which stops reporting this pool.
 */
function instrumentPool(pool, meter, options = {}) {
  if (!pool || typeof pool.getMetrics !== 'function')
    throw new TypeError('instrumentPool: expected a LeakDetectingPool as the first argument')
  if (!meter || typeof meter.addBatchObservableCallback !== 'function') {
    throw new TypeError('instrumentPool: expected an OpenTelemetry Meter (meter.addBatchObservableCallback) as the second argument')
  }
  const VT = valueTypes()
  const name = options.poolName != null ? String(options.poolName) : defaultName(pool)
  const make = (kind, n, unit, description, int) => meter[ASYNC_KINDS[kind]](n, { unit, description, valueType: int ? VT.INT : VT.DOUBLE })
  const i = {
    count: make(
      'upDown',
      'db.client.connection.count',
      '{connection}',
      'The number of connections that are currently in state described by the state attribute',
      true
    ),
    idleMax: make('upDown', 'db.client.connection.idle.max', '{connection}', 'The maximum number of idle open connections allowed', true),
    idleMin: make('upDown', 'db.client.connection.idle.min', '{connection}', 'The minimum number of idle open connections allowed', true),
    max: make('upDown', 'db.client.connection.max', '{connection}', 'The maximum number of open connections allowed', true),
    pending: make(
      'upDown',
      'db.client.connection.pending_requests',
      '{request}',
      'The number of current pending requests for an open connection',
      true
    ),
    timeouts: make(
      'counter',
      'db.client.connection.timeouts',
      '{timeout}',
      'The number of connection timeouts that have occurred trying to obtain a connection from the pool',
      true
    ),
    wait: make(
      'gauge',
      'db.client.connection.wait_time',
      's',
      'The time it took to obtain an open connection from the pool (recent quantiles)'
    ),
    use: make(
      'gauge',
      'db.client.connection.use_time',
      's',
      'The time between borrowing a connection and returning it to the pool (recent quantiles)'
    ),
    create: make('gauge', 'db.client.connection.create_time', 's', 'The time it took to create a new connection (recent quantiles)'),
    leaks: make('counter', 'ldp.connection.leaks', '{leak}', 'Checkouts reported as leaks (including garbage-collected clients)', true),
    forced: make(
      'counter',
      'ldp.connection.forced_releases',
      '{connection}',
      'Checkouts reclaimed by the pool (idle, garbage-collected or at end)',
      true
    ),
    oldest: make('gauge', 'ldp.connection.oldest_checkout', 's', 'Age of the oldest checkout'),
  }
  const attrs = { 'db.client.connection.pool.name': name }
  const withAttr = (k, v) => ({ ...attrs, [k]: v })
  const callback = (r) => {
    if (pool.ended) return
    const m = pool.getMetrics()
    r.observe(i.count, m.pool.idle, withAttr('db.client.connection.state', 'idle'))
    r.observe(i.count, m.connections.active, withAttr('db.client.connection.state', 'used'))
    r.observe(i.idleMax, m.pool.max, attrs)
    r.observe(i.idleMin, m.pool.min, attrs)
    r.observe(i.max, m.pool.max, attrs)
    r.observe(i.pending, m.pool.waiting, attrs)
    r.observe(i.timeouts, m.stats.timeouts, attrs)
    r.observe(i.leaks, m.stats.leaksDetected, attrs)
    r.observe(i.forced, m.stats.forcedReleases, attrs)
    r.observe(i.oldest, m.connections.oldest / 1000, attrs)
    for (const [inst, d] of [
      [i.wait, m.acquireWait],
      [i.use, m.holdTime],
      [i.create, m.creation],
    ]) {
      if (!d || !d.count) continue
      for (const [q, k] of QUANTILES) r.observe(inst, d[k] / 1000, withAttr('quantile', q))
    }
  }
  const observables = Object.values(i)
  meter.addBatchObservableCallback(callback, observables)
  let registered = true
  return {
    shutdown() {
      if (!registered) return
      registered = false
      meter.removeBatchObservableCallback(callback, observables)
    },
  }
}

function defaultName(pool) {
  const s = pool._settings
  if (s.applicationName) return s.applicationName
  const c = s.connection
  return `${c.host}:${c.port}`
}

module.exports = { instrumentPool }
