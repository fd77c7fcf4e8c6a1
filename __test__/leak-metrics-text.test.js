'use strict'
// metricsText() is valid Prometheus text exposition (format 0.0.4): HELP and TYPE before each
// family's samples, valid names and labels, numeric values, counters ending in _total and
// never decreasing, HikariCP's metric set plus leaks and forced releases.

const test = require('node:test')
const assert = require('node:assert/strict')
const { metricsText } = require('../lib/observe')
const { makePool, waitUntil } = require('./helpers/leak')

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABELS = /^\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*")(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*")*\}$/

/** Parses and validates; returns { families: Map(name -> { type, help }), samples: Map(series -> value) }. */
function parse(text) {
  assert.ok(text.endsWith('\n'), 'exposition ends with a newline')
  const families = new Map()
  const samples = new Map()
  for (const line of text.slice(0, -1).split('\n')) {
    assert.notEqual(line, '', 'no blank lines')
    let m
    if ((m = line.match(/^# HELP (\S+) (.+)$/))) {
      assert.match(m[1], NAME)
      assert.ok(!families.has(m[1]) || !families.get(m[1]).help, `duplicate HELP ${m[1]}`)
      families.set(m[1], { ...(families.get(m[1]) || {}), help: m[2] })
      continue
    }
    if ((m = line.match(/^# TYPE (\S+) (counter|gauge|summary|histogram|untyped)$/))) {
      assert.ok(!(families.get(m[1]) || {}).type, `duplicate TYPE ${m[1]}`)
      families.set(m[1], { ...(families.get(m[1]) || {}), type: m[2] })
      continue
    }
    assert.ok(!line.startsWith('#'), `unexpected comment line: ${line}`)
    m = line.match(/^([^{\s]+)(\{[^}]*\})? (\S+)$/)
    assert.ok(m, `bad sample line: ${line}`)
    const [, name, labels, value] = m
    assert.match(name, NAME)
    if (labels) assert.match(labels, LABELS, line)
    assert.ok(/^[-+]?(\d+(\.\d+)?([eE][-+]?\d+)?|Inf|NaN)$/.test(value) || value === '+Inf', `bad value in: ${line}`)
    const family = families.has(name) ? name : name.replace(/_(sum|count)$/, '')
    const f = families.get(family)
    assert.ok(f && f.type && f.help, `sample ${name} without HELP/TYPE before it`)
    if (f.type === 'counter') assert.ok(name.endsWith('_total'), `counter ${name} must end in _total`)
    if (family !== name) assert.equal(f.type, 'summary', `${name} suffix only for summaries`)
    const series = name + (labels || '')
    assert.ok(!samples.has(series), `duplicate series ${series}`)
    samples.set(series, Number(value.replace('+Inf', 'Infinity')))
  }
  return { families, samples }
}

async function leaky(pool) {
  return pool.connect()
}

test('metricsText() is valid exposition with the HikariCP set, and counters increase', async (t) => {
  const pool = await makePool(
    { max: 3, leakThresholdMs: 100, checkIntervalMs: 20, forceReleaseAfterMs: 250, application_name: 'ldp-metrics-test' },
    t
  )
  await pool.query('SELECT 1')
  const first = parse(pool.metricsText())
  for (const name of [
    'ldp_connections',
    'ldp_connections_idle',
    'ldp_connections_active',
    'ldp_connections_pending',
    'ldp_connections_max',
    'ldp_connections_min',
    'ldp_connections_timeout_total',
    'ldp_connections_acquire_seconds',
    'ldp_connections_usage_seconds',
    'ldp_connections_creation_seconds',
    'ldp_leaks_detected_total',
    'ldp_forced_releases_total',
    'ldp_connections_created_total',
  ]) {
    assert.ok(first.families.has(name), `missing family ${name}`)
  }
  const l = '{pool="ldp-metrics-test"}'
  assert.equal(first.samples.get(`ldp_connections_max${l}`), 3)
  assert.equal(first.samples.get(`ldp_connections_acquired_total${l}`), 1)
  assert.equal(first.samples.get(`ldp_connections_created_total${l}`), 1)
  assert.ok(first.samples.get(`ldp_connections_creation_seconds_count${l}`) >= 1)
  assert.equal(first.samples.get(`ldp_leaks_detected_total${l}`), 0)

  const forced = []
  pool.on('forceRelease', (e) => forced.push(e))
  await leaky(pool)
  for (let i = 0; i < 5; i++) await pool.query('SELECT 1')
  await waitUntil(() => forced.length === 1, 3000, 'the forced release')
  const second = parse(pool.metricsText())
  for (const [series, v] of first.samples) {
    const name = series.replace(/\{.*$/, '')
    const family = first.families.get(name) || first.families.get(name.replace(/_(sum|count)$/, ''))
    if (family.type === 'counter' || /_(sum|count)$/.test(name)) {
      assert.ok(second.samples.get(series) >= v, `${series} decreased: ${v} -> ${second.samples.get(series)}`)
    }
  }
  assert.equal(second.samples.get(`ldp_connections_acquired_total${l}`), 7)
  assert.equal(second.samples.get(`ldp_leaks_detected_total${l}`), 1)
  assert.equal(second.samples.get(`ldp_forced_releases_total${l}`), 1)
  assert.ok(second.samples.get(`ldp_connections_usage_seconds_count${l}`) >= 6)
  const q = (k) => second.samples.get(`ldp_connections_acquire_seconds{pool="ldp-metrics-test",quantile="${k}"}`)
  assert.ok(q('0.5') <= q('0.95') && q('0.95') <= q('0.99'), 'quantiles ordered')
})

test('label values are escaped', () => {
  const d = { count: 0, p50: 0, p95: 0, p99: 0, max: 0, total: 0, sumMs: 0 }
  const m = {
    pool: { total: 1, idle: 0, waiting: 0, max: 10, min: 0 },
    connections: { active: 1, oldest: 1500 },
    stats: {
      totalAcquired: 1,
      totalReleased: 0,
      created: 1,
      destroyed: 0,
      connectErrors: 0,
      errors: 0,
      timeouts: 0,
      leaksDetected: 0,
      forcedReleases: 0,
    },
    acquireWait: d,
    holdTime: d,
    creation: d,
  }
  const { samples } = parse(metricsText(m, 'we"ird\\name\nx'))
  assert.equal(samples.get('ldp_connections_oldest_checkout_seconds{pool="we\\"ird\\\\name\\nx"}'), 1.5)
})
