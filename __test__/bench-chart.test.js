'use strict'
// The benchmark chart (benchmark/lib/chart.js) drawn from a fixed results file: one panel per
// case, a bar per subject at its median, whiskers at the slowest and fastest round, a dot per
// successful round, failed rounds left out, text escaped, and a well-formed SVG document.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { chartSvg } = require('../benchmark/lib/chart')

const results = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'bench-results.json'), 'utf8'))

/** Checks that every element is closed in order (a tiny XML well-formedness check). */
function assertWellFormed(svg) {
  const stack = []
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)([^>]*?)(\/?)>/g)) {
    const [, close, name, , self] = m
    if (self) continue
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the innermost open element`)
    else stack.push(name)
  }
  assert.deepEqual(stack, [], 'every element closed')
  assert.doesNotMatch(svg.replace(/&(amp|lt|gt|quot);/g, ''), /&/, 'no unescaped &')
}

const attrs = (tag) => Object.fromEntries([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))

test('a chart of medians, round spread and every round, per case and subject', () => {
  const svg = chartSvg(results)
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+"/)
  assertWellFormed(svg)
  assert.match(svg, /LeakDetectingPool benchmark — 2026-12-05 06:36 UTC/)
  assert.match(svg, /3 rounds · 2 CPUs, Node v20\.20\.2, PostgreSQL 15\.20 · 1-min load average 1\.4 at start/)
  assert.match(svg, /postgres\.js &lt;3\.4&gt;/, 'labels escaped')

  const panels = [...svg.matchAll(/<g class="panel" data-case="([^"]+)">/g)].map((m) => m[1])
  assert.deepEqual(panels, ['query-c16', 'rows-10k'])
  const bars = [...svg.matchAll(/<g class="bar"[^>]*>/g)].map((m) => attrs(m[0]))
  // rows-10k has no successful postgres.js round: no bar for it there.
  assert.deepEqual(
    bars.map((b) => b['data-subject']),
    ['ldp', 'pg', 'postgresjs', 'ldp', 'pg']
  )
  const q16ldp = bars[0]
  assert.equal(Number(q16ldp['data-median']), 60000)
  assert.equal(Number(q16ldp['data-min']), 58000)
  assert.equal(Number(q16ldp['data-max']), 62000)
  assert.equal(Number(bars[2]['data-rounds']), 2, 'the failed round is left out')
  assert.equal(Number(bars[2]['data-median']), 20500)

  // Geometry: within a panel bar lengths are proportional to the medians, and one dot per round.
  const groups = svg.split('<g class="bar"').slice(1)
  const width = (g) => Number(attrs(/<rect [^>]*>/.exec(g)[0]).width)
  assert.ok(Math.abs(width(groups[0]) / width(groups[1]) - 60000 / 37000) < 0.01)
  assert.ok(Math.abs(width(groups[3]) / width(groups[4]) - 520000 / 320000) < 0.01)
  assert.equal((groups[0].match(/<circle /g) || []).length, 3)
  assert.equal((groups[2].match(/<circle /g) || []).length, 2)
  // The whisker spans slowest to fastest round: its length over the bar's is (max-min)/median.
  const whisker = attrs(/<line [^>]*class="whisker"\/>/.exec(groups[0])[0])
  const span = Number(whisker.x2) - Number(whisker.x1)
  assert.ok(Math.abs(span / width(groups[0]) - 4000 / 60000) < 0.01)
})

test('a results file with no successful run gives an empty but valid chart', () => {
  const svg = chartSvg({ ...results, runs: results.runs.map((r) => ({ ...r, ok: false })) })
  assertWellFormed(svg)
  assert.doesNotMatch(svg, /class="panel"/)
})
