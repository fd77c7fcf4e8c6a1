'use strict'
// The example service (examples/service/): /metrics parsed by a real Prometheus text parser,
// /health/db, /leaks naming the leaking function, and a self-contained /dashboard.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const parsePrometheus = require('parse-prometheus-text-format')
const { startService } = require('./helpers/service')
const { waitUntil } = require('./helpers/leak')

const WORKLOAD = path.join(__dirname, '..', 'examples', 'service', 'workload.js')
const LEAK_LINE =
  fs
    .readFileSync(WORKLOAD, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes('// LEAKS HERE')) + 1

test('/metrics is valid Prometheus text with the pool families and values', async (t) => {
  const { url } = await startService(t, { leakEveryMs: 200 })
  await waitUntil(async () => (await (await fetch(`${url}/leaks`)).json()).sites.length > 0, 5000, 'a leak')
  const res = await fetch(`${url}/metrics`)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const families = parsePrometheus(await res.text())
  const byName = new Map(families.map((f) => [f.name, f]))
  const gauge = (name) => {
    const f = byName.get(name)
    assert.ok(f, `${name} exposed`)
    assert.equal(f.type, 'GAUGE', name)
    assert.equal(f.metrics.length, 1)
    assert.deepEqual(f.metrics[0].labels, { pool: 'example-service' })
    return Number(f.metrics[0].value)
  }
  const counter = (name) => {
    const f = byName.get(name)
    assert.ok(f, `${name} exposed`)
    assert.equal(f.type, 'COUNTER', name)
    return Number(f.metrics[0].value)
  }
  assert.equal(gauge('ldp_connections_max'), 6)
  assert.equal(gauge('ldp_connections_min'), 0)
  const total = gauge('ldp_connections')
  assert.ok(total >= 1 && total <= 6, `connections ${total}`)
  assert.ok(gauge('ldp_connections_active') <= total)
  assert.ok(counter('ldp_connections_acquired_total') > 0)
  assert.ok(counter('ldp_leaks_detected_total') >= 1)
  for (const name of ['ldp_connections_acquire_seconds', 'ldp_connections_usage_seconds', 'ldp_connections_creation_seconds']) {
    const f = byName.get(name)
    assert.equal(f.type, 'SUMMARY', name)
    // This parser keeps the quantiles of a labelled summary (its _sum and _count it drops).
    assert.deepEqual(Object.keys(f.metrics[0].quantiles).sort(), ['0.5', '0.95', '0.99'])
  }
  for (const f of families) assert.ok(f.help.length > 0, `${f.name} has HELP`)
})

test('/health/db, /leaks with the leaking call site and its stack, and a self-contained /dashboard', async (t) => {
  const { url } = await startService(t, { leakEveryMs: 200 })
  const health = await fetch(`${url}/health/db`)
  assert.equal(health.status, 200)
  const h = await health.json()
  assert.equal(h.ok, true)
  assert.equal(h.max, 6)
  assert.equal(typeof h.utilization, 'number')

  const body = await waitUntil(
    async () => {
      const b = await (await fetch(`${url}/leaks`)).json()
      return b.sites.length > 0 && b.sites[0].stack ? b : null
    },
    5000,
    'a leak site with a stack'
  )
  const site = body.sites[0]
  assert.match(site.location, new RegExp(`^exportInvoices \\(examples/service/workload\\.js:${LEAK_LINE}:\\d+\\)$`))
  assert.ok(site.count >= 1)
  assert.match(site.stack, /exportInvoices/)

  const page = await fetch(`${url}/dashboard`)
  assert.equal(page.status, 200)
  assert.match(page.headers.get('content-type'), /^text\/html/)
  const html = await page.text()
  assert.doesNotMatch(
    html,
    /<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/,
    'no external script, stylesheet or URL'
  )
  assert.match(html, /fetch\('metrics'/)
  assert.match(html, /fetch\('leaks'/)
})
