#!/usr/bin/env node
'use strict'
// Where a checkout's time goes: CPU per connect → `SELECT $1::int` → release cycle, for one
// subject, measured in this process (no child processes, no rounds; pair it with `perf stat`
// or `--cpu-prof` for a breakdown).
//
//   node benchmark/cycle-cost.js [subject] [--concurrency 16] [--cycles 200000] [--gc]
//                                [--body cycle|tx|query|rows|handoff] [--max N]
//
// --body rows fetches the rows case's 10,000-row mixed-type result (generated inline) per
// cycle; use it with --concurrency 1 and a few hundred cycles. --body handoff is connect() +
// release() with no query; with more callers than connections (e.g. --max 4, the default
// concurrency 16) nearly every checkout is a queued caller served by a release: the waiter
// hand-off alone. --max sets the pool's size (default 10; postgres.js keeps its 10).
//
// subject: ldp (defaults), ldp-nostacks (captureStacks: false), ldp-off (detection off), pg,
// postgresjs, ldp-base (BENCH_BASE_DIR) — see benchmark/subjects.js. Prints one JSON line:
// cycles/s, process CPU µs per cycle (all threads), main-thread CPU µs per cycle, the
// server backends' CPU µs per cycle (their /proc stat, when the server runs on this machine
// and this user may read it), and with --gc the count and time of GCs per 1000 cycles.
//
// Instruction counts, less sensitive to a loaded machine than time:
//   perf stat -e instructions:u -- node benchmark/cycle-cost.js ldp --cycles 100000
// (subtract a run with --cycles 0 for the start-up). CPU profile:
//   node --cpu-prof --cpu-prof-dir=/tmp/prof benchmark/cycle-cost.js ldp

const fs = require('fs')
const { subject } = require('./subjects')
const { findDatabase } = require('../__test__/helpers/db')
const { snapshot, diff } = require('./lib/probe')

function parseArgs(argv) {
  const o = { subject: 'ldp', concurrency: 16, cycles: 200000, warmup: 20000, gc: false, body: 'cycle', max: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--concurrency') o.concurrency = Number(argv[++i])
    else if (a === '--cycles') o.cycles = Number(argv[++i])
    else if (a === '--warmup') o.warmup = Number(argv[++i])
    else if (a === '--gc') o.gc = true
    else if (a === '--body') o.body = argv[++i]
    else if (a === '--max') o.max = Number(argv[++i])
    else if (!a.startsWith('--')) o.subject = a
    else throw new Error(`unknown argument ${a}`)
  }
  return o
}

/** CPU µs (utime + stime) of the given server pids, from /proc; null when unreadable. */
function serverCpuUs(pids) {
  let ticks = 0
  try {
    for (const pid of pids) {
      const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
      ticks += Number(f[11]) + Number(f[12])
    }
  } catch {
    return null
  }
  return (ticks * 1e6) / (Number(process.env.BENCH_CLK_TCK) || 100)
}

async function main() {
  const o = parseArgs(process.argv.slice(2))
  const db = await findDatabase()
  const conn = { host: db.host, port: Number(db.port), user: db.user, database: db.database }
  if (db.password != null) conn.password = db.password
  const s = subject(o.subject).create(conn, o.max ? { max: o.max } : undefined)
  let op = s[o.body]
  if (typeof op !== 'function') throw new Error(`subject ${o.subject} has no ${o.body}`)
  if (o.body === 'rows') {
    const { GENERATE, ROWS } = require('./lib/setup')
    op = async (k) => {
      const rows = await s.rows(GENERATE)
      if (rows.length !== ROWS) throw new Error(`expected ${ROWS} rows, got ${rows.length}`)
      return k
    }
  }

  let i = 0
  const run = async (n) => {
    let left = n
    const caller = async () => {
      while (left-- > 0) {
        const k = (i = (i + 1) & 0x3fffffff)
        const x = await op(k)
        if (x !== k) throw new Error(`wrong result ${x} for ${k}`)
      }
    }
    await Promise.all(Array.from({ length: o.concurrency }, caller))
  }
  await run(o.warmup)

  // The backends serving this process (same machine): their CPU share per cycle.
  let pids = []
  if (s.pool || s.sql) {
    const pg = require('pg')
    const c = new pg.Client(conn)
    await c.connect()
    const r = await c.query('SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = $1 AND client_port IS NOT NULL', [
      conn.database,
    ])
    await c.end()
    pids = r.rows.map((x) => x.pid)
  }

  let gcs = null
  if (o.gc) {
    const { PerformanceObserver } = require('perf_hooks')
    gcs = { count: 0, ms: 0, kinds: {} }
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        gcs.count++
        gcs.ms += e.duration
        const k = e.detail ? e.detail.kind : e.kind
        gcs.kinds[k] = (gcs.kinds[k] || 0) + 1
      }
    }).observe({ entryTypes: ['gc'] })
  }

  const server0 = serverCpuUs(pids)
  const s0 = snapshot()
  await run(o.cycles)
  const s1 = snapshot()
  const server1 = serverCpuUs(pids)
  const d = diff(s0, s1)
  await new Promise((r) => setImmediate(r))
  const out = {
    subject: o.subject,
    body: o.body,
    concurrency: o.concurrency,
    cycles: o.cycles,
    perSec: Math.round(o.cycles / d.elapsedS),
    cpuUs: +(d.cpuUs / o.cycles).toFixed(2),
    mainUs: d.mainUs == null ? null : +(d.mainUs / o.cycles).toFixed(2),
    serverUs: server0 == null || server1 == null || !pids.length ? null : +((server1 - server0) / o.cycles).toFixed(2),
    rssMB: +(process.memoryUsage.rss() / 1048576).toFixed(1),
  }
  if (gcs) {
    out.gcPer1000 = +((gcs.count * 1000) / o.cycles).toFixed(2)
    out.gcUsPerCycle = +((gcs.ms * 1000) / o.cycles).toFixed(2)
    out.gcKinds = gcs.kinds
  }
  await s.end()
  process.stdout.write(JSON.stringify(out) + '\n')
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`)
  process.exit(1)
})
