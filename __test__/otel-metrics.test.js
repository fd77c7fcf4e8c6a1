'use strict'
// The OpenTelemetry adapter (leak-detecting-pool/otel), read through the SDK's own metric
// reader: db.client.connection.* under the semantic conventions' names, units and
// attributes, and the leak counters, with the pool's values at the time of collection.

const test = require('node:test')
const assert = require('node:assert/strict')
const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics')
const { instrumentPool } = require('../otel')
const { makePool, waitUntil } = require('./helpers/leak')

/** A reader collected on demand (the SDK's MetricReader.collect()). */
class OnDemandReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

/** name -> [{ attributes, value }] of one collection. */
async function collect(reader) {
  const { resourceMetrics, errors } = await reader.collect()
  assert.deepEqual(errors, [])
  const out = {}
  for (const sm of resourceMetrics.scopeMetrics) {
    for (const m of sm.metrics) {
      out[m.descriptor.name] = {
        unit: m.descriptor.unit,
        type: m.descriptor.type,
        points: m.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })),
      }
    }
  }
  return out
}

const one = (metrics, name, attrs = {}) => {
  const m = metrics[name]
  assert.ok(m, `${name} reported`)
  const p = m.points.filter((x) => Object.entries(attrs).every(([k, v]) => x.attributes[k] === v))
  assert.equal(p.length, 1, `${name} ${JSON.stringify(attrs)}: one point`)
  return p[0].value
}

test('db.client.connection.* and the leak counters carry the pool state at collection', async (t) => {
  const pool = await makePool(
    { max: 3, min: 0, connectionTimeoutMillis: 150, leakThresholdMs: 50, checkIntervalMs: 20, forceReleaseAfterMs: 0 },
    t
  )
  const reader = new OnDemandReader()
  const provider = new MeterProvider({ readers: [reader] })
  t.after(() => provider.shutdown())
  const handle = instrumentPool(pool, provider.getMeter('app'), { poolName: 'orders' })

  // Two checkouts held, one idle connection, one caller timing out while all three are held.
  const a = await pool.connect()
  const b = await pool.connect()
  const c = await pool.connect()
  c.release()
  const c2 = await pool.connect()
  await assert.rejects(pool.connect(), /timeout exceeded/)
  await waitUntil(() => pool.getMetrics().stats.leaksDetected >= 3, 3000, 'leaks reported')
  c2.release()

  const m = await collect(reader)
  const pool_ = { 'db.client.connection.pool.name': 'orders' }
  assert.equal(one(m, 'db.client.connection.count', { ...pool_, 'db.client.connection.state': 'used' }), 2)
  assert.equal(one(m, 'db.client.connection.count', { ...pool_, 'db.client.connection.state': 'idle' }), 1)
  assert.equal(m['db.client.connection.count'].unit, '{connection}')
  assert.equal(m['db.client.connection.count'].type, 'OBSERVABLE_UP_DOWN_COUNTER')
  assert.equal(one(m, 'db.client.connection.max', pool_), 3)
  assert.equal(one(m, 'db.client.connection.idle.max', pool_), 3)
  assert.equal(one(m, 'db.client.connection.idle.min', pool_), 0)
  assert.equal(one(m, 'db.client.connection.pending_requests', pool_), 0)
  assert.equal(m['db.client.connection.pending_requests'].unit, '{request}')
  assert.equal(one(m, 'db.client.connection.timeouts', pool_), 1)
  assert.equal(m['db.client.connection.timeouts'].type, 'OBSERVABLE_COUNTER')
  const metrics = pool.getMetrics()
  assert.equal(one(m, 'ldp.connection.leaks', pool_), metrics.stats.leaksDetected)
  assert.ok(metrics.stats.leaksDetected >= 3)
  assert.equal(one(m, 'ldp.connection.forced_releases', pool_), 0)
  assert.ok(one(m, 'ldp.connection.oldest_checkout', pool_) >= 0.05)

  // Durations in seconds, by quantile, equal to the pool's own distribution.
  assert.equal(m['db.client.connection.wait_time'].unit, 's')
  const waits = m['db.client.connection.wait_time'].points
  assert.deepEqual(waits.map((p) => p.attributes.quantile).sort(), ['0.5', '0.95', '0.99', '1'])
  assert.equal(one(m, 'db.client.connection.wait_time', { quantile: '1' }), metrics.acquireWait.max / 1000)
  assert.equal(one(m, 'db.client.connection.use_time', { quantile: '0.5' }), metrics.holdTime.p50 / 1000)
  assert.equal(one(m, 'db.client.connection.create_time', { quantile: '0.99' }), metrics.creation.p99 / 1000)
  assert.ok(one(m, 'db.client.connection.create_time', { quantile: '1' }) > 0)

  // Values follow the pool: after the releases, every connection is idle.
  a.release()
  b.release()
  const later = await collect(reader)
  assert.equal(one(later, 'db.client.connection.count', { ...pool_, 'db.client.connection.state': 'used' }), 0)
  assert.equal(one(later, 'db.client.connection.count', { ...pool_, 'db.client.connection.state': 'idle' }), 3)

  // One read of the pool per collection; none after shutdown().
  let reads = 0
  const getMetrics = pool.getMetrics
  pool.getMetrics = function () {
    reads++
    return getMetrics.call(this)
  }
  await collect(reader)
  assert.equal(reads, 1)
  handle.shutdown()
  await collect(reader)
  assert.equal(reads, 1)
})

test('the pool name defaults to application_name, else host:port; bad arguments throw', async (t) => {
  const reader = new OnDemandReader()
  const provider = new MeterProvider({ readers: [reader] })
  t.after(() => provider.shutdown())
  const named = await makePool({ application_name: 'billing' }, t)
  const plain = await makePool({}, t)
  instrumentPool(named, provider.getMeter('x'))
  instrumentPool(plain, provider.getMeter('x'))
  const m = await collect(reader)
  const names = m['db.client.connection.max'].points.map((p) => p.attributes['db.client.connection.pool.name']).sort()
  const c = plain._settings.connection
  assert.deepEqual(names, ['billing', `${c.host}:${c.port}`].sort())
  assert.throws(() => instrumentPool({}, provider.getMeter('x')), /expected a LeakDetectingPool/)
  assert.throws(() => instrumentPool(named, {}), /expected an OpenTelemetry Meter/)
})
