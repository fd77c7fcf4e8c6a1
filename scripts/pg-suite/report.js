'use strict'
// Turns the outcomes of a run into the printed report and a JSON summary. A pool's count is
// tests passed / tests planned; a test that never ran (its process died or hung first) counts
// as not passed. A file-level problem (the process did not exit, crashed outside a test) is
// listed with the file and fails the run for that pool.

const { privateReason } = require('./plan')

const LABEL = { pg: 'pg.Pool', ours: 'LeakDetectingPool' }

function count(outcome) {
  if (!outcome) return null
  const passed = outcome.tests.filter((t) => t.status === 'pass' || t.status === 'skip').length
  return { passed, total: outcome.tests.length }
}

function cell(outcome) {
  const c = count(outcome)
  if (!c) return '-'
  return `${c.passed}/${c.total}${outcome.problems.length ? ' !' : ''}`
}

function firstLine(text) {
  return String(text || '').split('\n')[0]
}

/** `results`: [{ file, runs: { pg?, ours? } }]. Returns { text, summary, ok }. */
function buildReport(results, pools, header) {
  const lines = [...header, '']
  const width = Math.max(...results.map((r) => r.file.length), 4) + 2
  lines.push('file'.padEnd(width) + pools.map((p) => LABEL[p].padEnd(20)).join(''))
  for (const r of results) lines.push(r.file.padEnd(width) + pools.map((p) => cell(r.runs[p]).padEnd(20)).join(''))
  lines.push('("!" = a problem with the file\'s process, listed below)')

  const summary = { pools: {}, private: [] }
  for (const pool of pools) {
    let passed = 0
    let total = 0
    let mustPassed = 0
    let mustTotal = 0
    const failing = []
    const problems = []
    for (const r of results) {
      const o = r.runs[pool]
      if (!o) continue
      for (const t of o.tests) {
        const ok = t.status === 'pass' || t.status === 'skip'
        const priv = privateReason(r.file, t.name)
        total++
        if (ok) passed++
        if (!priv) {
          mustTotal++
          if (ok) mustPassed++
          else failing.push({ file: r.file, name: t.name, status: t.status, error: t.error })
        }
      }
      for (const p of o.problems) problems.push({ file: r.file, problem: p })
    }
    summary.pools[pool] = { passed, total, mustPassed, mustTotal, failing, problems }
  }
  for (const r of results) {
    for (const pool of pools) {
      for (const t of (r.runs[pool] || { tests: [] }).tests) {
        const reason = privateReason(r.file, t.name)
        if (!reason) continue
        let entry = summary.private.find((e) => e.file === r.file && e.name === t.name)
        if (!entry) summary.private.push((entry = { file: r.file, name: t.name, reason, status: {} }))
        entry.status[pool] = t.status
      }
    }
  }

  for (const pool of pools) {
    const s = summary.pools[pool]
    if (!s.failing.length && !s.problems.length) continue
    lines.push('', `${LABEL[pool]}: failing tests that must pass (${s.failing.length})`)
    let last = null
    for (const f of s.failing) {
      if (f.file !== last) lines.push(`  ${f.file}`)
      last = f.file
      lines.push(`    ✗ ${f.name}${f.status === 'notrun' ? ' (never ran)' : ''}`)
      if (f.error) lines.push(`        ${firstLine(f.error)}`)
    }
    if (s.problems.length) {
      lines.push(`  problems with test processes (${s.problems.length}):`)
      for (const p of s.problems) lines.push(`    ${p.file}: ${p.problem}`)
    }
  }
  if (summary.private.length) {
    lines.push('', 'Excluded from "must pass": tests that reach into pg\'s private internals')
    for (const e of summary.private) {
      const st = pools.map((p) => `${LABEL[p]} ${e.status[p] || '-'}`).join(', ')
      lines.push(`  ${e.file}: ${e.name}`, `      ${e.reason} [${st}]`)
    }
  }
  const parts = pools.map((p) => {
    const s = summary.pools[p]
    return `${LABEL[p]} ${s.passed}/${s.total} passed (must pass: ${s.mustPassed}/${s.mustTotal}${s.problems.length ? `, ${s.problems.length} process problems` : ''})`
  })
  lines.push('', `Summary: ${parts.join('; ')}; ${summary.private.length} private-internals tests excluded`)
  const ours = summary.pools.ours || summary.pools.pg
  const ok = ours.mustPassed === ours.mustTotal && ours.problems.length === 0
  return { text: lines.join('\n'), summary, ok }
}

module.exports = { buildReport, LABEL }
