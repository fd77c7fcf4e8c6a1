'use strict'
// Medians across rounds, the performance targets, and the Markdown tables.

const { CASES } = require('../cases')
const { SUBJECTS } = require('../subjects')

function median(xs) {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b)
  if (!s.length) return null
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const NUMERIC_SKIP = new Set(['perSecond', 'types'])

/** summary[case][subject] = { n, errors, median: {metric: v}, min: {...}, max: {...} } */
function summarize(runs) {
  const summary = {}
  for (const c of CASES) {
    summary[c.id] = {}
    for (const s of SUBJECTS) {
      const mine = runs.filter((r) => r.case === c.id && r.subject === s.id)
      const ok = mine.filter((r) => r.ok)
      const entry = { n: ok.length, errors: mine.filter((r) => !r.ok).map((r) => r.error), median: {}, min: {}, max: {} }
      const keys = new Set(ok.flatMap((r) => Object.keys(r.metrics)))
      for (const k of keys) {
        if (NUMERIC_SKIP.has(k)) continue
        const vals = ok.map((r) => r.metrics[k]).filter((v) => typeof v === 'number' && Number.isFinite(v))
        if (!vals.length) continue
        entry.median[k] = median(vals)
        entry.min[k] = Math.min(...vals)
        entry.max[k] = Math.max(...vals)
      }
      if (ok.length && ok[0].metrics.types) entry.types = ok[0].metrics.types
      summary[c.id][s.id] = entry
    }
  }
  return summary
}

function primaryMetric(caseId) {
  return caseId === 'rows-10k' ? 'rowsPerSec' : 'opsPerSec'
}

/** Per-round ratios a/b of one metric (rounds where both ran), for a noise range. */
function pairedRatios(runs, caseId, a, b, metric) {
  const out = []
  const rounds = [...new Set(runs.map((r) => r.round))]
  for (const round of rounds) {
    const ra = runs.find((r) => r.round === round && r.case === caseId && r.subject === a && r.ok)
    const rb = runs.find((r) => r.round === round && r.case === caseId && r.subject === b && r.ok)
    if (ra && rb && rb.metrics[metric]) out.push(ra.metrics[metric] / rb.metrics[metric])
  }
  return out
}

function med(summary, caseId, subject, metric) {
  const e = summary[caseId] && summary[caseId][subject]
  return e && e.median[metric] != null ? e.median[metric] : null
}

/**
 * The performance targets. Each: { id, text, actual (ratio), required, cmp: '>=' | '<=', met, detail, range }
 * Ratios are of medians (robust to one noisy round); `range` is the per-round paired ratio span.
 */
function targets(summary, runs, pgbenchTps) {
  const list = []
  const add = (id, text, caseId, a, b, metric, cmp, required, note) => {
    const va = med(summary, caseId, a, metric)
    const vb = med(summary, caseId, b, metric)
    const actual = va != null && vb ? va / vb : null
    const pr = pairedRatios(runs, caseId, a, b, metric)
    list.push({
      id,
      text,
      cmp,
      required,
      actual,
      a: va,
      b: vb,
      metric,
      range: pr.length ? [Math.min(...pr), Math.max(...pr)] : null,
      met: actual == null ? null : cmp === '>=' ? actual >= required : actual <= required,
      note,
    })
  }
  add('query-c16-vs-pg', 'pool.query c=16 vs pg.Pool', 'query-c16', 'ldp', 'pg', 'opsPerSec', '>=', 1.25)
  add('query-c16-vs-postgresjs', 'pool.query c=16 vs postgres.js', 'query-c16', 'ldp', 'postgresjs', 'opsPerSec', '>=', 1.25)
  add('query-c64-vs-pg', 'pool.query c=64 vs pg.Pool', 'query-c64', 'ldp', 'pg', 'opsPerSec', '>=', 1.25)
  add('query-c64-vs-postgresjs', 'pool.query c=64 vs postgres.js', 'query-c64', 'ldp', 'postgresjs', 'opsPerSec', '>=', 1.25)
  add('query-c1-vs-pg', 'pool.query c=1 vs pg.Pool', 'query-c1', 'ldp', 'pg', 'opsPerSec', '>=', 1.0)
  add('cycle-vs-pg', 'connect/query/release c=16 vs pg.Pool', 'cycle-c16', 'ldp', 'pg', 'opsPerSec', '>=', 1.2)
  add('tx-c16-vs-pg', 'transaction c=16 vs pg.Pool', 'tx-c16', 'ldp', 'pg', 'opsPerSec', '>=', 1.2)
  add('tx-c16-vs-postgresjs', 'transaction c=16 vs postgres.js', 'tx-c16', 'ldp', 'postgresjs', 'opsPerSec', '>=', 1.0)
  add('tx-c64-vs-pg', 'transaction c=64 vs pg.Pool', 'tx-c64', 'ldp', 'pg', 'opsPerSec', '>=', 1.2)
  add('tx-c64-vs-postgresjs', 'transaction c=64 vs postgres.js', 'tx-c64', 'ldp', 'postgresjs', 'opsPerSec', '>=', 1.0)
  add('rows-vs-pg', '10k-row result rows/s vs pg.Pool', 'rows-10k', 'ldp', 'pg', 'rowsPerSec', '>=', 1.5)
  add('stall-vs-pg', '10k-row longest event-loop stall vs pg.Pool', 'rows-10k', 'ldp', 'pg', 'stallMs', '<=', 0.5)
  add('cpu-vs-pg', 'client CPU per query c=16 vs pg.Pool', 'query-c16', 'ldp', 'pg', 'cpuUsPerOp', '<=', 0.7)
  add(
    'pipeline-vs-pg',
    "one client's 100 queries at once, both in pipeline mode, vs pg.Pool",
    'batch-pipeline',
    'ldp',
    'pg',
    'opsPerSec',
    '>=',
    1.0
  )
  for (const c of ['query-c1', 'query-c16', 'query-c64', 'cycle-c16']) {
    add(`detection-cost-${c}`, `detection on vs off, ${c}`, c, 'ldp', 'ldp-off', 'opsPerSec', '>=', 0.95, '≤ 5 % slower with detection on')
  }
  for (const c of ['cycle-c16', 'tx-c16', 'web-c16']) {
    add(`stacks-cost-${c}`, `stacks on vs off, ${c}`, c, 'ldp', 'ldp-nostacks', 'opsPerSec', '>=', 0.95, '≤ 5 % slower capturing stacks')
  }
  for (const c of ['query-c1', 'query-c16', 'query-c64', 'cycle-c16']) {
    add(`vs-wrapper-${c}`, `detection on vs pure-JS wrapper, ${c}`, c, 'ldp', 'js-wrapper', 'opsPerSec', '>=', 1.5)
  }
  const q16 = med(summary, 'query-c16', 'ldp', 'opsPerSec')
  const actual = q16 != null && pgbenchTps ? q16 / pgbenchTps : null
  list.push({
    id: 'query-c16-vs-pgbench',
    text: 'pool.query c=16 vs pgbench -S -c 16 (prepared)',
    cmp: '>=',
    required: 0.75,
    actual,
    a: q16,
    b: pgbenchTps,
    metric: 'opsPerSec / tps',
    range: null,
    met: actual == null ? null : actual >= 0.75,
  })
  return list
}

// ---- formatting

function fmt(v, digits) {
  if (v == null || !Number.isFinite(v)) return '–'
  if (digits == null) digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function spread(e, metric) {
  if (!e || e.n < 2 || !e.median[metric]) return ''
  const half = ((e.max[metric] - e.min[metric]) / 2 / Math.abs(e.median[metric])) * 100
  return ` ±${half < 10 ? half.toFixed(1) : half.toFixed(0)}%`
}

const ROWS_SPEC = [
  { label: 'pool.query c=1 (queries/s)', caseId: 'query-c1', metric: 'opsPerSec' },
  { label: 'pool.query c=16 (queries/s)', caseId: 'query-c16', metric: 'opsPerSec' },
  { label: 'pool.query c=64 (queries/s)', caseId: 'query-c64', metric: 'opsPerSec' },
  { label: 'connect+query+release c=16 (cycles/s)', caseId: 'cycle-c16', metric: 'opsPerSec' },
  { label: 'transaction c=16 (transactions/s)', caseId: 'tx-c16', metric: 'opsPerSec' },
  { label: 'transaction c=64 (transactions/s)', caseId: 'tx-c64', metric: 'opsPerSec' },
  { label: 'web request mix c=16 (requests/s)', caseId: 'web-c16', metric: 'opsPerSec' },
  { label: '10k-row result (rows/s)', caseId: 'rows-10k', metric: 'rowsPerSec' },
  { label: '10k-row: longest stall per result (ms, median)', caseId: 'rows-10k', metric: 'stallMs', digits: 1 },
  { label: '10k-row: longest stall in window (ms)', caseId: 'rows-10k', metric: 'stallMaxMs', digits: 1 },
  { label: '10k-row: main-thread CPU in longest stall (ms, median)', caseId: 'rows-10k', metric: 'stallCpuMs', digits: 1 },
  { label: '10k-row: main-thread CPU per result (ms)', caseId: 'rows-10k', metric: 'mainCpuMsPerResult', digits: 1 },
  { label: 'one client, 100 queries at once, pipeline: true (queries/s)', caseId: 'batch-pipeline', metric: 'opsPerSec' },
  { label: 'one client, 100 queries at once (queries/s)', caseId: 'batch', metric: 'opsPerSec' },
  { label: 'CPU per query c=16 (µs, whole process)', caseId: 'query-c16', metric: 'cpuUsPerOp', digits: 1 },
  { label: 'CPU per query c=16 (µs, main thread)', caseId: 'query-c16', metric: 'mainCpuUsPerOp', digits: 1 },
  { label: 'CPU per cycle c=16 (µs, whole process)', caseId: 'cycle-c16', metric: 'cpuUsPerOp', digits: 1 },
  { label: 'CPU per cycle c=16 (µs, main thread)', caseId: 'cycle-c16', metric: 'mainCpuUsPerOp', digits: 1 },
  { label: 'CPU per transaction c=16 (µs, whole process)', caseId: 'tx-c16', metric: 'cpuUsPerOp', digits: 1 },
  { label: 'CPU per web request c=16 (µs, whole process)', caseId: 'web-c16', metric: 'cpuUsPerOp', digits: 1 },
  { label: 'RSS after c=16 run (MB)', caseId: 'query-c16', metric: 'rssMB', digits: 0 },
  { label: 'RSS after 10k-row run (MB)', caseId: 'rows-10k', metric: 'rssMB', digits: 0 },
  { label: 'decay c=16, first→last second (%)', caseId: 'query-c16', metric: 'decayPct', digits: 1, signed: true },
  { label: 'decay c=64, first→last second (%)', caseId: 'query-c64', metric: 'decayPct', digits: 1, signed: true },
  { label: 'decay cycles c=16, first→last second (%)', caseId: 'cycle-c16', metric: 'decayPct', digits: 1, signed: true },
]

function markdown(results) {
  const { summary, targets: tg, pgbench } = results
  const lines = []
  const subjects = SUBJECTS.filter((s) =>
    Object.values(summary).some((bySubject) => bySubject[s.id] && (bySubject[s.id].n || bySubject[s.id].errors.length))
  )
  lines.push(
    `| metric (median of ${results.options.rounds} round${results.options.rounds === 1 ? '' : 's'}, ±half-range) | ${subjects.map((s) => s.label).join(' | ')} |`
  )
  lines.push(`|---|${subjects.map(() => '---:').join('|')}|`)
  for (const r of ROWS_SPEC) {
    const cells = subjects.map((s) => {
      const e = summary[r.caseId] && summary[r.caseId][s.id]
      if (!e || !e.n) return e && e.errors.length ? 'error' : '–'
      const v = e.median[r.metric]
      if (v == null) return '–'
      const text = (r.signed && v > 0 ? '+' : '') + fmt(v, r.digits)
      return r.signed ? text : text + spread(e, r.metric)
    })
    lines.push(`| ${r.label} | ${cells.join(' | ')} |`)
  }
  if (pgbench) {
    const tps = pgbench.medianTps
    lines.push('')
    lines.push(
      pgbench.skipped
        ? `pgbench ceiling: skipped (${pgbench.skipped})`
        : `pgbench ceiling (\`${pgbench.command}\`): **${fmt(tps)} tps** (median of ${pgbench.runs.filter((r) => r.ok).length}${pgbench.runs.length > 1 ? `, runs: ${pgbench.runs.map((r) => (r.ok ? fmt(r.tps) : 'error')).join(', ')}` : ''})`
    )
  }
  lines.push('')
  lines.push('Ratios of medians (LeakDetectingPool with detection on ÷ other):')
  lines.push('')
  const others = ['pg', 'postgresjs', 'ldp-nostacks', 'ldp-off', 'js-wrapper', 'ldp-base'].filter((b) => subjects.some((s) => s.id === b))
  lines.push(`| metric | ${others.map((b) => `÷ ${SUBJECTS.find((s) => s.id === b).label}`).join(' | ')} |`)
  lines.push(`|---|${others.map(() => '---:').join('|')}|`)
  for (const r of ROWS_SPEC) {
    if (r.signed || r.metric === 'rssMB' || r.metric === 'stallMaxMs') continue
    const a = med(summary, r.caseId, 'ldp', r.metric)
    const cells = others.map((b) => {
      const vb = med(summary, r.caseId, b, r.metric)
      return a != null && vb ? `${fmt(a / vb, 2)}×` : '–'
    })
    lines.push(`| ${r.label} | ${cells.join(' | ')} |`)
  }
  lines.push('')
  lines.push('Performance targets:')
  lines.push('')
  lines.push('| target | required | actual (per-round range) | met |')
  lines.push('|---|---:|---:|:---:|')
  for (const t of tg) {
    const range = t.range && t.range.length ? ` (${fmt(t.range[0], 2)}–${fmt(t.range[1], 2)})` : ''
    lines.push(
      `| ${t.text} | ${t.cmp} ${fmt(t.required, 2)}× | ${t.actual == null ? '–' : `${fmt(t.actual, 2)}×${range}`} | ${t.met == null ? 'n/a' : t.met ? 'yes' : '**no**'} |`
    )
  }
  return lines.join('\n')
}

module.exports = { summarize, targets, markdown, median, primaryMetric, fmt }
