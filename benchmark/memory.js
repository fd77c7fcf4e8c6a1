#!/usr/bin/env node
'use strict'
// Resident memory of a process with one pool, per subject, against the same process without
// one: `node benchmark/memory.js [--subjects ldp,pg,postgresjs] [--connections 10] [--rounds 3]`.
//
// Each measurement is a fresh child process (`--expose-gc`) that loads the subject's module,
// then records RSS (after two full GCs and a short settle) at each step:
//   base      the module loaded, no pool
//   pool      one pool constructed, no connection yet
//   conn1     one connection opened and idle
//   connN     N connections opened (N callers at once) and idle
//   loaded    after a workload (20,000 queries by 16 callers, then 5 results of 10,000 rows),
//             idle again: what the process keeps once traffic stops
// and prints per subject the medians over rounds: RSS at `base`, the pool's own cost
// (pool − base), the first connection's (conn1 − pool) and each further one's
// ((connN − conn1) / (N − 1)), and the total above base with N idle connections. Also the
// main thread count (/proc/self/status Threads) at connN.

const path = require('path')
const fs = require('fs')
const { spawnSync } = require('child_process')

const ROOT = path.join(__dirname, '..')

function parseArgs(argv) {
  const o = { subjects: ['ldp', 'pg', 'postgresjs'], connections: 10, rounds: 3, child: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--subjects') o.subjects = argv[++i].split(',')
    else if (a === '--connections') o.connections = Number(argv[++i])
    else if (a === '--rounds') o.rounds = Number(argv[++i])
    else if (a === '--child') o.child = JSON.parse(argv[++i])
    else throw new Error(`unknown argument ${a}`)
  }
  return o
}

const ROWS_SQL = `SELECT i AS id, i::int8 * 1000003 AS big, 'row number ' || i AS name, now() + i * interval '1 second' AS at,
  jsonb_build_object('id', i) AS doc, round(i::numeric / 7, 6) AS amount FROM generate_series(1, 10000) AS s(i)`

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function threads() {
  try {
    return Number(/Threads:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1])
  } catch {
    return null
  }
}

async function settledRss() {
  for (let i = 0; i < 2; i++) {
    global.gc()
    await sleep(50)
  }
  await sleep(200)
  global.gc()
  return process.memoryUsage.rss() / 1048576
}

/** In the child: one subject's steps; prints `{ base, pool, conn1, connN, threads }` (MB). */
async function child({ subject, conn, connections }) {
  const out = {}
  // Load what each subject loads before measuring the base, so the base holds the module.
  if (subject === 'pg') require('pg')
  else if (subject === 'postgresjs') require('postgres')
  else require(subject === 'ldp-base' ? process.env.BENCH_BASE_DIR : ROOT)
  out.base = await settledRss()
  let pool
  let hold
  let end
  let work
  let big
  if (subject === 'postgresjs') {
    const postgres = require('postgres')
    pool = postgres({ ...conn, max: connections, onnotice: () => {}, idle_timeout: 0 })
    work = (i) => pool`SELECT ${i}::int AS x`
    big = () => pool.unsafe(ROWS_SQL)
    hold = async (n) => {
      const rs = await Promise.all(Array.from({ length: n }, () => pool.reserve()))
      await Promise.all(rs.map((r) => r`SELECT 1`))
      for (const r of rs) r.release()
    }
    end = () => pool.end({ timeout: 1 })
  } else {
    const Pool =
      subject === 'pg' ? require('pg').Pool : require(subject === 'ldp-base' ? process.env.BENCH_BASE_DIR : ROOT).LeakDetectingPool
    pool = new Pool({ ...conn, max: connections, idleTimeoutMillis: 0 })
    pool.on('error', () => {})
    work = (i) => pool.query('SELECT $1::int AS x', [i])
    big = () => pool.query(ROWS_SQL)
    hold = async (n) => {
      const cs = await Promise.all(Array.from({ length: n }, () => pool.connect()))
      for (const c of cs) c.release()
    }
    end = () => pool.end()
  }
  out.pool = await settledRss()
  await hold(1)
  out.conn1 = await settledRss()
  await hold(connections)
  out.connN = await settledRss()
  let k = 0
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (k < 20000) await work(k++)
    })
  )
  for (let i = 0; i < 5; i++) await big()
  out.loaded = await settledRss()
  const mu = process.memoryUsage()
  out.heapMB = mu.heapTotal / 1048576
  out.externalMB = mu.external / 1048576
  out.threads = threads()
  await end()
  process.stdout.write(JSON.stringify(out) + '\n')
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

async function main() {
  const o = parseArgs(process.argv.slice(2))
  if (o.child) return child(o.child)
  const { findDatabase } = require('../__test__/helpers/db')
  const db = await findDatabase()
  const conn = { host: db.host, port: Number(db.port), user: db.user, database: db.database }
  if (db.password != null) conn.password = db.password
  const runs = {}
  for (let round = 0; round < o.rounds; round++) {
    for (const subject of o.subjects) {
      const r = spawnSync(
        process.execPath,
        ['--expose-gc', __filename, '--child', JSON.stringify({ subject, conn, connections: o.connections })],
        {
          cwd: ROOT,
          encoding: 'utf8',
        }
      )
      if (r.status !== 0) throw new Error(`${subject}: exit ${r.status}\n${r.stderr}`)
      ;(runs[subject] = runs[subject] || []).push(JSON.parse(r.stdout.trim().split('\n').pop()))
    }
  }
  const n = o.connections
  const rows = o.subjects.map((s) => {
    const rs = runs[s]
    const m = (f) => median(rs.map(f))
    return {
      subject: s,
      baseMB: m((r) => r.base),
      poolMB: m((r) => r.pool - r.base),
      firstConnMB: m((r) => r.conn1 - r.pool),
      perConnMB: m((r) => (r.connN - r.conn1) / (n - 1)),
      totalMB: m((r) => r.connN - r.base),
      rssMB: m((r) => r.connN),
      loadedMB: m((r) => r.loaded - r.base),
      loadedRssMB: m((r) => r.loaded),
      heapMB: m((r) => r.heapMB),
      threads: m((r) => r.threads),
    }
  })
  const f = (x) => x.toFixed(1)
  const lines = [
    `| subject (median of ${o.rounds}) | RSS, module loaded (MB) | + pool (MB) | + 1st connection (MB) | + each further connection (MB) | above base with ${n} idle connections (MB) | RSS with ${n} (MB) | above base after a workload (MB) | RSS after a workload (MB) | of which V8 heap (MB) | threads |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.subject} | ${f(r.baseMB)} | ${f(r.poolMB)} | ${f(r.firstConnMB)} | ${f(r.perConnMB)} | ${f(r.totalMB)} | ${f(r.rssMB)} | ${f(r.loadedMB)} | ${f(r.loadedRssMB)} | ${f(r.heapMB)} | ${r.threads} |`
    ),
  ]
  process.stdout.write(lines.join('\n') + '\n')
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`)
  process.exit(1)
})
