'use strict'
// examples/grafana-dashboard.json queries only metrics that metricsText() exposes (a renamed
// or dropped family would leave a panel empty without anyone noticing).

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { makePool } = require('./helpers/leak')

const DASHBOARD = path.join(__dirname, '..', 'examples', 'grafana-dashboard.json')
const PROMQL_WORDS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'rate',
  'increase',
  'irate',
  'by',
  'without',
  'histogram_quantile',
  'label_values',
  'on',
  'ignoring',
])

/** Every query of the dashboard: panel targets' `expr` and query variables' `query`. */
function queries(d) {
  const out = []
  for (const p of d.panels) for (const t of p.targets || []) out.push({ where: `panel "${p.title}"`, expr: t.expr })
  for (const v of d.templating.list) if (v.type === 'query') out.push({ where: `variable ${v.name}`, expr: v.query })
  return out
}

/** The metric names in a PromQL expression (identifiers outside label matchers and ranges). */
function metricNames(expr) {
  // Grafana's label_values(metric, label): only the first argument is a metric.
  const lv = /^label_values\(([^,]+),/.exec(expr)
  if (lv) expr = lv[1]
  const bare = expr
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/"[^"]*"/g, '')
  return (bare.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) || []).filter((w) => !PROMQL_WORDS.has(w))
}

/** Sample names metricsText() exposes (a summary's family plus its _sum and _count). */
function exposedNames(text) {
  const names = new Set()
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line)
    if (m && !line.startsWith('#')) names.add(m[1])
  }
  return names
}

test('every metric the Grafana dashboard queries exists in metricsText()', async (t) => {
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'))
  const pool = await makePool({}, t)
  await pool.query('SELECT 1')
  const exposed = exposedNames(pool.metricsText())
  const qs = queries(dashboard)
  assert.ok(qs.length >= 15, `${qs.length} queries`)
  const used = new Set()
  for (const { where, expr } of qs) {
    const names = metricNames(expr)
    assert.ok(names.length > 0, `${where}: no metric in ${expr}`)
    for (const n of names) {
      assert.ok(exposed.has(n), `${where} queries ${n}, which metricsText() does not expose`)
      used.add(n)
    }
  }
  // The check itself can fail: a name the pool does not expose is caught.
  assert.ok(!exposed.has(metricNames('rate(ldp_connections_acquired{pool="x"}[1m])')[0]))
  // Every family but the per-tag ones (present only with tags) is on the dashboard.
  for (const n of exposed) {
    if (!n.startsWith('ldp_tag_') && !/_(sum|count)$/.test(n)) assert.ok(used.has(n), `${n} is not charted`)
  }
})
