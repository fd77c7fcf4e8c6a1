'use strict'
// The benchmark's results as one SVG (no external service, no dependency): a panel per case,
// a bar per subject at its median throughput, a whisker from the slowest to the fastest round
// and a dot per round, so the spread of the rounds is visible next to the medians.
//
//   node benchmark/lib/chart.js results.json out.svg   (run.js calls chartSvg itself)

const fs = require('fs')
const { SUBJECTS } = require('../subjects')
const { CASES } = require('../cases')
const { median, primaryMetric, fmt } = require('./report')

const COLORS = {
  ldp: '#1f77b4',
  'ldp-nostacks': '#3d8fc6',
  'ldp-off': '#6baed6',
  'ldp-base': '#9467bd',
  pg: '#ff7f0e',
  postgresjs: '#2ca02c',
  'js-wrapper': '#d62728',
}
const FALLBACK = ['#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf']

const W = 760
const LABEL = 170
const RIGHT = 90
const BAR = 14
const GAP = 6
const PANEL_HEAD = 34
const PANEL_GAP = 14

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function unitOf(caseId) {
  const c = CASES.find((x) => x.id === caseId)
  return c ? c.unit : primaryMetric(caseId) === 'rowsPerSec' ? 'rows/s' : 'ops/s'
}

/**
 * Per case of `results` (run.js's JSON): its label, unit and, per subject with at least one
 * successful round, the primary metric's median, min, max and every round's value.
 */
function chartData(results) {
  const subjects = results.subjects.map((s) => s.id)
  const cases = results.cases.map((c) => c.id)
  return cases
    .map((caseId) => {
      const metric = primaryMetric(caseId)
      const rows = []
      for (const s of subjects) {
        const vals = results.runs
          .filter((r) => r.ok && r.case === caseId && r.subject === s && r.metrics && Number.isFinite(r.metrics[metric]))
          .map((r) => r.metrics[metric])
        if (!vals.length) continue
        const label = (results.subjects.find((x) => x.id === s) || SUBJECTS.find((x) => x.id === s) || { label: s }).label
        rows.push({ subject: s, label, median: median(vals), min: Math.min(...vals), max: Math.max(...vals), rounds: vals })
      }
      const c = results.cases.find((x) => x.id === caseId)
      return { caseId, label: (c && c.label) || caseId, unit: unitOf(caseId), rows }
    })
    .filter((p) => p.rows.length > 0)
}

function niceMax(v) {
  if (!(v > 0)) return 1
  const p = Math.pow(10, Math.floor(Math.log10(v)))
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (v <= m * p) return m * p
  return 10 * p
}

/** The SVG document for `results` (run.js's JSON). */
function chartSvg(results) {
  const panels = chartData(results)
  const colorOf = new Map()
  let extra = 0
  for (const p of panels)
    for (const r of p.rows) if (!colorOf.has(r.subject)) colorOf.set(r.subject, COLORS[r.subject] || FALLBACK[extra++ % FALLBACK.length])
  const out = []
  let y = 46
  const plotW = W - LABEL - RIGHT
  for (const p of panels) {
    const top = niceMax(Math.max(...p.rows.map((r) => r.max)))
    const x = (v) => LABEL + (plotW * v) / top
    const h = PANEL_HEAD + p.rows.length * (BAR + GAP)
    out.push(`<g class="panel" data-case="${esc(p.caseId)}">`)
    out.push(
      `<text x="12" y="${y + 12}" class="case">${esc(p.label)} <tspan class="unit">(${esc(p.unit)}, median; whisker: slowest–fastest round)</tspan></text>`
    )
    for (let i = 0; i <= 4; i++) {
      const gx = x((top * i) / 4).toFixed(1)
      out.push(`<line x1="${gx}" x2="${gx}" y1="${y + PANEL_HEAD - 5}" y2="${y + h}" class="grid"/>`)
      out.push(`<text x="${gx}" y="${y + PANEL_HEAD - 8}" class="tick">${esc(fmt((top * i) / 4, 0))}</text>`)
    }
    p.rows.forEach((r, i) => {
      const by = y + PANEL_HEAD + i * (BAR + GAP)
      const cy = (by + BAR / 2).toFixed(1)
      const color = colorOf.get(r.subject)
      out.push(
        `<g class="bar" data-subject="${esc(r.subject)}" data-median="${r.median}" data-min="${r.min}" data-max="${r.max}" data-rounds="${r.rounds.length}">`
      )
      out.push(`<text x="${LABEL - 8}" y="${(by + BAR - 3).toFixed(1)}" class="label">${esc(r.label)}</text>`)
      out.push(
        `<rect x="${LABEL}" y="${by}" width="${(x(r.median) - LABEL).toFixed(1)}" height="${BAR}" fill="${color}" fill-opacity="0.8"/>`
      )
      out.push(`<line x1="${x(r.min).toFixed(1)}" x2="${x(r.max).toFixed(1)}" y1="${cy}" y2="${cy}" class="whisker"/>`)
      for (const v of [r.min, r.max])
        out.push(`<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${by + 3}" y2="${by + BAR - 3}" class="whisker"/>`)
      for (const v of r.rounds) out.push(`<circle cx="${x(v).toFixed(1)}" cy="${cy}" r="2.2" class="round"/>`)
      out.push(`<text x="${(W - RIGHT + 6).toFixed(1)}" y="${(by + BAR - 3).toFixed(1)}" class="value">${esc(fmt(r.median, 0))}</text>`)
      out.push('</g>')
    })
    out.push('</g>')
    y += h + PANEL_GAP
  }
  const H = y + 8
  const rounds = results.options && results.options.rounds
  const title = `LeakDetectingPool benchmark${results.finishedAt ? ` — ${results.finishedAt.slice(0, 16).replace('T', ' ')} UTC` : ''}`
  const sub = [
    rounds ? `${rounds} round${rounds === 1 ? '' : 's'}` : null,
    results.machine
      ? `${results.machine.nproc} CPUs, Node ${results.machine.node}, PostgreSQL ${String(results.machine.postgres || '').split(' ')[0]}`
      : null,
    results.machine && results.machine.loadavgStart ? `1-min load average ${results.machine.loadavgStart[0].toFixed(1)} at start` : null,
  ]
    .filter(Boolean)
    .join(' · ')
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">`,
    '<style>',
    '.title{font-size:15px;font-weight:600;fill:#222}.sub{font-size:11px;fill:#666}.case{font-size:12px;font-weight:600;fill:#222}',
    '.unit{font-weight:400;fill:#777}.label{font-size:11px;fill:#333;text-anchor:end}.value{font-size:11px;fill:#222}',
    '.tick{font-size:9px;fill:#999;text-anchor:middle}.grid{stroke:#e4e4e4;stroke-width:1}.whisker{stroke:#222;stroke-width:1.2}',
    '.round{fill:#fff;stroke:#222;stroke-width:1}',
    '</style>',
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="12" y="20" class="title">${esc(title)}</text>`,
    `<text x="12" y="36" class="sub">${esc(sub)}</text>`,
    ...out,
    '</svg>',
    '',
  ].join('\n')
}

if (require.main === module) {
  const [input, output] = process.argv.slice(2)
  if (!input || !output) {
    process.stderr.write('usage: node benchmark/lib/chart.js results.json out.svg\n')
    process.exit(2)
  }
  fs.writeFileSync(output, chartSvg(JSON.parse(fs.readFileSync(input, 'utf8'))))
}

module.exports = { chartSvg, chartData }
