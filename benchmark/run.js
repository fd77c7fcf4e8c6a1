#!/usr/bin/env node
// The benchmark against pg.Pool and postgres.js: `npm run bench` (= build if needed, then this file).
//
//   node benchmark/run.js [--quick] [--rounds N] [--seconds S] [--warmup-ms MS]
//                         [--subjects a,b] [--cases x,y] [--no-pgbench] [--out FILE]
//                         [--isolate measurement|subject] [--addon FILE.node]
//                         [--baseline DIR] [--chart FILE.svg]
//
// By default every measurement (one subject × one case × one round) runs in a fresh child
// process (benchmark/worker.js), so each subject's RSS, CPU, JIT state and GC are its own and
// one subject's garbage never lands in another's window. Within a round every case runs all
// subjects back to back, the order rotated per round and case; then pgbench runs once.
// --isolate subject (the --quick default) uses one process per subject and round instead,
// running the cases one after another (a new pool each): far fewer process start-ups.
// Results (every run plus medians, ratios and the performance targets) go to
// benchmark/results/latest.json (--quick: benchmark/results/quick.json), the Markdown
// tables to stdout, progress to stderr. Exit code 1 if any measurement failed. An SVG chart of
// the throughput per case and subject, with the spread of the rounds (lib/chart.js), goes
// beside the JSON (latest.svg, quick.svg) or to --chart FILE (`npm run bench`: the one
// BENCHMARKS.md shows, docs/benchmarks.svg).
//
// LeakDetectingPool is loaded from a copy of index.js, binding.js, lib/ and the addon taken at
// start (lib/snapshot.js), so concurrent rebuilds or edits cannot mix into a run; --addon
// benchmarks a given .node file instead of the checkout's. --baseline DIR adds the subject
// `ldp-base`: the package in DIR (its index.js, lib/ and built addon, e.g. a worktree of the
// main branch), snapshotted the same way and run interleaved with the others.
// Defaults: 3 rounds; measured window 10 s for the sustained cases (pool.query c=16, c=64)
// and 3 s for the others; 1 s warm-up per process; pgbench 10 s per round (~10 min on 2 cores).
// --seconds S sets every window (and pgbench) to S. --quick: 1 round, 0.3 s windows,
// 150 ms warm-up, --isolate subject, pgbench 1 s (a smoke run: the numbers mean nothing).

const fs = require('fs')
const os = require('os')
const path = require('path')
const { spawn, spawnSync } = require('child_process')
const { SUBJECTS } = require('./subjects')
const { CASES } = require('./cases')
const { prepare, runPgbench, machine } = require('./lib/setup')
const { snapshotPackage } = require('./lib/snapshot')
const { summarize, targets, markdown, median, primaryMetric, fmt } = require('./lib/report')
const { chartSvg } = require('./lib/chart')

const ROOT = path.join(__dirname, '..')
const MARK = 'BENCH_RESULT '

function parseArgs(argv) {
  const o = {
    quick: false,
    rounds: null,
    seconds: null,
    warmupMs: null,
    subjects: null,
    cases: null,
    pgbench: true,
    out: null,
    isolate: null,
    addon: null,
    baseline: null,
    chart: null,
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => {
      const eq = a.indexOf('=')
      if (eq >= 0) return a.slice(eq + 1)
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`)
      return argv[++i]
    }
    const name = a.split('=')[0]
    if (name === '--quick') o.quick = true
    else if (name === '--rounds') o.rounds = positive(val(), a, true)
    else if (name === '--seconds') o.seconds = positive(val(), a)
    else if (name === '--warmup-ms') o.warmupMs = nonNegative(val(), a)
    else if (name === '--subjects') o.subjects = val().split(',')
    else if (name === '--cases') o.cases = val().split(',')
    else if (name === '--no-pgbench') o.pgbench = false
    else if (name === '--out') o.out = val()
    else if (name === '--addon') o.addon = val()
    else if (name === '--baseline') o.baseline = path.resolve(val())
    else if (name === '--chart') o.chart = path.resolve(val())
    else if (name === '--isolate') {
      o.isolate = val()
      if (!['measurement', 'subject'].includes(o.isolate)) throw new Error('--isolate takes measurement or subject')
    } else if (name === '--help' || name === '-h') {
      process.stdout.write(
        fs
          .readFileSync(__filename, 'utf8')
          .split('\n')
          .slice(1)
          .filter((l, i, a) => a.slice(0, i + 1).every((x) => x.startsWith('//')))
          .map((l) => l.replace(/^\/\/ ?/, ''))
          .join('\n') + '\n'
      )
      process.exit(0)
    } else throw new Error(`unknown argument ${a}`)
  }
  if (o.quick) {
    o.rounds = o.rounds || 1
    o.warmupMs = o.warmupMs == null ? 150 : o.warmupMs
    o.seconds = o.seconds || 0.3
    o.isolate = o.isolate || 'subject'
  }
  o.isolate = o.isolate || 'measurement'
  o.rounds = o.rounds || 3
  o.warmupMs = o.warmupMs == null ? 1000 : o.warmupMs
  for (const s of o.subjects || []) if (!SUBJECTS.some((x) => x.id === s)) throw new Error(`unknown subject ${s}`)
  for (const c of o.cases || []) if (!CASES.some((x) => x.id === c)) throw new Error(`unknown case ${c}`)
  return o
}

function positive(v, a, integer) {
  const n = Number(v)
  if (!(n > 0) || (integer && !Number.isInteger(n)))
    throw new Error(`${a}: expected a positive ${integer ? 'integer' : 'number'}, got ${v}`)
  return n
}
function nonNegative(v, a) {
  const n = Number(v)
  if (!(n >= 0)) throw new Error(`${a}: expected a number >= 0, got ${v}`)
  return n
}

function windowSeconds(opts, c) {
  if (opts.seconds) return opts.seconds
  return c.sustained ? 10 : 3
}

function clkTck() {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })
  const n = Number((r.stdout || '').trim())
  return n > 0 ? n : 100
}

/** Runs one worker process; resolves to one { case, ok, metrics | error } per spec.cases item. */
function runWorker(spec, env) {
  const timeoutMs = spec.cases.reduce((t, c) => t + spec.warmupMs + c.seconds * 1000 + 10000, 50000)
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'worker.js'), JSON.stringify(spec)], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => {
      err += `\n(killed after ${timeoutMs} ms)`
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const lines = out
        .split('\n')
        .filter((l) => l.startsWith(MARK))
        .map((l) => JSON.parse(l.slice(MARK.length)))
      const tail = (err.trim() || out.trim()).split('\n').slice(-8).join('\n')
      resolve(
        spec.cases.map((c) => {
          const r = lines.find((l) => l.case === c.case)
          if (r && r.ok) return { ok: true, metrics: r.metrics, wallS: r.wallS }
          return { ok: false, error: `${r ? r.error : 'no result'} (worker exit ${code}${signal ? `, ${signal}` : ''}): ${tail}` }
        })
      )
    })
  })
}

function rotate(list, k) {
  const n = list.length
  return list.map((_, i) => list[(i + k) % n])
}

function progress(msg) {
  process.stderr.write(`${msg}\n`)
}

function headline(caseId, m) {
  if (caseId === 'rows-10k') {
    return `${fmt(m.rowsPerSec)} rows/s, stall ${fmt(m.stallMs, 1)} ms (max ${fmt(m.stallMaxMs, 1)}), ${m.results} results`
  }
  return `${fmt(m.opsPerSec)} /s, cpu ${fmt(m.cpuUsPerOp, 1)} µs/op (main ${fmt(m.mainCpuUsPerOp, 1)}), rss ${fmt(m.rssMB, 0)} MB${m.decayPct != null ? `, decay ${fmt(m.decayPct, 1)}%` : ''}`
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const started = new Date()
  const command = ['node', 'benchmark/run.js', ...process.argv.slice(2)].join(' ')
  const available = SUBJECTS.filter((s) => !s.optional || (s.id === 'ldp-base' && opts.baseline))
  const subjects = opts.subjects ? available.filter((s) => opts.subjects.includes(s.id)) : available
  const cases = opts.cases ? CASES.filter((c) => opts.cases.includes(c.id)) : CASES

  progress(`bench: ${command}`)
  const snap = snapshotPackage(ROOT, opts.addon)
  process.on('exit', snap.cleanup)
  const addon = snap.addon
  progress(
    `bench: LeakDetectingPool from a snapshot of lib/ + ${addon.source} (sha256 ${addon.sha256}, ${addon.sizeMB} MB${addon.debugInfo ? ', DEBUG BUILD' : ''})`
  )
  const setup = await prepare({ log: progress })
  const notes = [...setup.notes]
  if (addon.debugInfo)
    notes.push(
      `**the benchmarked addon ${addon.source} is a debug build** (it has .debug_info): LeakDetectingPool's numbers are not representative; run \`node scripts/build.js --force\` first`
    )
  if (addon.olderThanSrc) notes.push(`src/ has changed since ${addon.source} was built (${addon.mtime}): the numbers are for that build`)
  progress(`bench: server PostgreSQL ${setup.server} (${setup.describe}), database ${setup.database}, rows from ${setup.rowsSource}`)

  const env = { ...process.env, BENCH_CLK_TCK: String(clkTck()), BENCH_LDP_DIR: snap.dir }
  if (opts.baseline) {
    const base = snapshotPackage(opts.baseline)
    process.on('exit', base.cleanup)
    env.BENCH_BASE_DIR = base.dir
    progress(`bench: baseline LeakDetectingPool from a snapshot of ${opts.baseline} (sha256 ${base.addon.sha256})`)
  }
  const runs = []
  const pgbenchRuns = []
  const loadStart = os.loadavg()
  let failures = 0

  const record = (round, c, s, load1, r) => {
    runs.push({ round, case: c.id, subject: s.id, load1, ...r })
    if (r.ok) progress(`[round ${round}/${opts.rounds}] ${c.id.padEnd(9)} ${s.id.padEnd(10)} ${headline(c.id, r.metrics)}`)
    else {
      failures++
      progress(`[round ${round}/${opts.rounds}] ${c.id.padEnd(9)} ${s.id.padEnd(10)} FAILED ${r.error}`)
    }
  }
  const specFor = (s, list) => ({
    subject: s.id,
    conn: setup.conn,
    sql: setup.rowsSql,
    expectRows: setup.expectRows,
    warmupMs: opts.warmupMs,
    cases: list.map((c) => ({ case: c.id, concurrency: c.concurrency, seconds: windowSeconds(opts, c) })),
  })

  for (let round = 1; round <= opts.rounds; round++) {
    if (opts.isolate === 'measurement') {
      for (const [ci, c] of cases.entries()) {
        for (const s of rotate(subjects, round - 1 + ci)) {
          const load1 = os.loadavg()[0]
          const [r] = await runWorker(specFor(s, [c]), env)
          record(round, c, s, load1, r)
        }
      }
    } else {
      for (const s of rotate(subjects, round - 1)) {
        const load1 = os.loadavg()[0]
        const rs = await runWorker(specFor(s, cases), env)
        cases.forEach((c, i) => record(round, c, s, load1, rs[i]))
      }
    }
    if (opts.pgbench && setup.pgbench) {
      const seconds = opts.seconds ? Math.max(1, Math.round(opts.seconds)) : 10
      const r = runPgbench(setup, { clients: 16, seconds })
      pgbenchRuns.push({ round, ...r })
      progress(`[round ${round}/${opts.rounds}] pgbench   ${r.ok ? `${fmt(r.tps)} tps` : `FAILED ${r.error}`}`)
    }
  }

  const summary = summarize(runs)
  const okPgbench = pgbenchRuns.filter((r) => r.ok)
  const pgbench = {
    command: okPgbench.length ? okPgbench[0].command : pgbenchRuns.length ? pgbenchRuns[0].command : null,
    runs: pgbenchRuns,
    medianTps: median(okPgbench.map((r) => r.tps)),
    skipped: !opts.pgbench ? '--no-pgbench' : !setup.pgbench ? notes.find((n) => /pgbench/.test(n)) || 'pgbench unavailable' : undefined,
    version: setup.pgbench ? setup.pgbench.version : null,
  }

  // Every subject should hand back the same JS types for the 10k-row result as pg.Pool.
  const rowTypes = summary['rows-10k'] || {}
  const ref = rowTypes.pg && rowTypes.pg.types
  for (const s of subjects) {
    const t = rowTypes[s.id] && rowTypes[s.id].types
    if (ref && t && JSON.stringify(t) !== JSON.stringify(ref)) {
      notes.push(`10k-row result: ${s.label} returns ${JSON.stringify(t)} where pg.Pool returns ${JSON.stringify(ref)}`)
    }
  }

  const nproc = machine().nproc
  const loads = runs.map((r) => r.load1)
  const loadMed = median(loads)
  if (loads.length) {
    notes.push(
      `1-minute load average when each measurement started: median ${loadMed.toFixed(1)} (${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}) on ${nproc} CPUs` +
        (loadMed > nproc * 0.75
          ? ' — the machine was busy with other work: throughput and wall-clock stalls are unreliable; compare CPU per query and the CPU-based stall first'
          : '')
    )
  }

  const results = {
    version: 1,
    command,
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    durationS: (Date.now() - started.getTime()) / 1000,
    options: {
      rounds: opts.rounds,
      quick: opts.quick,
      warmupMs: opts.warmupMs,
      secondsPerCase: Object.fromEntries(cases.map((c) => [c.id, windowSeconds(opts, c)])),
      isolation:
        opts.isolate === 'measurement'
          ? 'one child process per subject × case × round'
          : 'one child process per subject × round (cases run one after another, a new pool each)',
    },
    machine: {
      ...machine(),
      postgres: setup.server,
      serverSettings: setup.serverSettings,
      pgbench: pgbench.version,
      loadavgStart: loadStart,
      loadavgEnd: os.loadavg(),
    },
    addon,
    database: { describe: setup.describe, database: setup.database, rowsSource: setup.rowsSource, rowsSql: setup.rowsSql },
    subjects: subjects.map((s) => ({ id: s.id, label: s.label, description: s.description })),
    cases: cases.map((c) => ({ ...c, seconds: windowSeconds(opts, c), primaryMetric: primaryMetric(c.id) })),
    notes,
    runs,
    pgbench,
    summary,
    targets: null,
  }
  results.targets = targets(summary, runs, pgbench.medianTps)

  const out = opts.out ? path.resolve(opts.out) : path.join(__dirname, 'results', opts.quick ? 'quick.json' : 'latest.json')
  fs.mkdirSync(path.dirname(out), { recursive: true })
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n')
  const chart = opts.chart || out.replace(/\.json$/, '') + '.svg'
  fs.mkdirSync(path.dirname(chart), { recursive: true })
  fs.writeFileSync(chart, chartSvg(results))

  const m = results.machine
  const md = [
    `## LeakDetectingPool benchmark — ${results.finishedAt}`,
    '',
    `Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memGB} GB, ${m.os}; Node ${m.node}; PostgreSQL ${m.postgres}; ${m.pgbench || 'no pgbench'}; load average at start ${loadStart.map((x) => x.toFixed(2)).join(' ')}, at end ${m.loadavgEnd.map((x) => x.toFixed(2)).join(' ')}.`,
    `Command: \`${command}\` — ${opts.rounds} round(s), windows ${[...new Set(cases.map((c) => `${c.id} ${windowSeconds(opts, c)} s`))].join(', ')}, ${opts.warmupMs} ms warm-up, ${opts.isolate === 'measurement' ? 'one process per measurement' : 'one process per subject and round'}; took ${fmt(results.durationS, 0)} s.`,
    '',
    markdown(results),
  ]
  if (notes.length) md.push('', 'Notes:', ...notes.map((n) => `- ${n}`))
  if (failures) md.push('', `**${failures} measurement(s) failed**: see \`runs[].error\` in ${path.relative(process.cwd(), out)}.`)
  md.push('', `Results: ${path.relative(process.cwd(), out)}; chart: ${path.relative(process.cwd(), chart)}`)
  process.stdout.write(md.join('\n') + '\n')
  process.exitCode = failures ? 1 : 0
}

main().catch((err) => {
  process.stderr.write(`bench: ${err && err.stack ? err.stack : err}\n`)
  process.exitCode = 1
})
