'use strict'

// Keeps the benchmark harness from rotting: `node benchmark/run.js --quick` (one short
// round, every subject, every case, pgbench for 1 s) must exit 0 and produce a result for every
// subject × case. The numbers of a quick run mean nothing and are not checked. Results go to a
// temporary file so benchmark/results/latest.json (the last full run) is never overwritten.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')

const ROOT = path.join(__dirname, '..')
const SUBJECTS = ['ldp', 'ldp-nostacks', 'ldp-off', 'pg', 'postgresjs', 'js-wrapper']
const CASES = ['query-c1', 'query-c16', 'query-c64', 'cycle-c16', 'tx-c16', 'tx-c64', 'web-c16', 'rows-10k', 'batch-pipeline', 'batch']
const TIMEOUT_MS = 180000 // ~40 s on an idle 2-core machine; room for a busy one

function runQuick(out) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'benchmark', 'run.js'), '--quick', '--out', out], {
      cwd: ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

test('benchmark/run.js --quick produces a result for every subject and case', { timeout: TIMEOUT_MS + 10000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldp-bench-smoke-'))
  const out = path.join(dir, 'quick.json')
  try {
    const r = await runQuick(out)
    const why = `exit ${r.code}${r.signal ? ` (${r.signal}, timeout ${TIMEOUT_MS} ms?)` : ''}\nstderr:\n${r.stderr.slice(-4000)}\nstdout:\n${r.stdout.slice(-2000)}`
    assert.equal(r.code, 0, why)
    assert.ok(fs.existsSync(out), `no results file\n${why}`)
    const results = JSON.parse(fs.readFileSync(out, 'utf8'))
    assert.match(fs.readFileSync(path.join(dir, 'quick.svg'), 'utf8'), /^<svg /, 'the chart beside the results')

    assert.deepEqual(results.subjects.map((s) => s.id).sort(), [...SUBJECTS].sort())
    assert.deepEqual(results.cases.map((c) => c.id).sort(), [...CASES].sort())

    for (const c of CASES) {
      for (const s of SUBJECTS) {
        const runs = results.runs.filter((x) => x.case === c && x.subject === s)
        assert.equal(runs.length, 1, `${s}/${c}: expected one run, got ${runs.length}`)
        const run = runs[0]
        assert.ok(run.ok, `${s}/${c} failed: ${run.error}`)
        const m = run.metrics
        if (c === 'rows-10k') {
          assert.ok(m.rowsPerSec > 0, `${s}/${c}: rowsPerSec ${m.rowsPerSec}`)
          assert.ok(m.results >= 1, `${s}/${c}: results ${m.results}`)
          assert.ok(Number.isFinite(m.stallMs) && m.stallMs > 0, `${s}/${c}: stallMs ${m.stallMs}`)
          for (const col of ['c_int4', 'c_int8', 'c_text', 'c_float8', 'c_bool', 'c_timestamptz', 'c_jsonb', 'c_numeric']) {
            assert.ok(m.types[col], `${s}/${c}: no column ${col}`)
          }
        } else {
          assert.ok(m.ops > 0 && m.opsPerSec > 0, `${s}/${c}: ops ${m.ops}, opsPerSec ${m.opsPerSec}`)
          assert.ok(Number.isFinite(m.cpuUsPerOp) && m.cpuUsPerOp > 0, `${s}/${c}: cpuUsPerOp ${m.cpuUsPerOp}`)
        }
        assert.ok(m.rssMB > 0, `${s}/${c}: rssMB ${m.rssMB}`)
        // the medians the tables are built from
        const summary = results.summary[c][s]
        assert.equal(summary.n, 1, `${s}/${c}: summary n`)
      }
    }

    // pgbench: measured, or skipped with a stated reason (no pgbench binary on this machine)
    if (results.pgbench.skipped) {
      assert.match(String(results.pgbench.skipped), /\S/)
    } else {
      assert.ok(results.pgbench.runs.length >= 1)
      assert.ok(
        results.pgbench.runs.every((x) => x.ok),
        JSON.stringify(results.pgbench.runs)
      )
      assert.ok(results.pgbench.medianTps > 0)
    }

    // every performance target evaluated (a quick run's verdicts are not checked)
    assert.ok(results.targets.length >= 25)
    for (const t of results.targets.filter((x) => x.id !== 'query-c16-vs-pgbench' || !results.pgbench.skipped)) {
      assert.ok(Number.isFinite(t.actual), `target ${t.id}: actual ${t.actual}`)
    }

    // the Markdown table went to stdout
    assert.match(r.stdout, /\| pool\.query c=16 \(queries\/s\) \|/)
    assert.match(r.stdout, /Performance targets/)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
