#!/usr/bin/env node
// LeakDetectingPool leak-detection demo: about 15 seconds, then it exits on its own.
//
// Run it:
//   npm run demo                       (builds the addon if needed, then runs this file)
//   node examples/leak-demo.js         (addon already built)
//
// Database: wherever the pool connects by itself — DATABASE_URL as its connectionString if set
// (e.g. DATABASE_URL=postgres://me:secret@db:5432/app), else the PG* environment variables
// (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE) and pg's defaults, exactly as in an
// application. Only when none of these is set and those defaults do not connect, it falls back
// to 127.0.0.1:5432 as user "postgres", database "test" if it exists, otherwise "postgres", and
// says so. It announces what the pool actually connected as, and only runs SELECTs: nothing is
// created or changed in the database.
//
// The story: safe code; a function that throws before release() and leaks its client; the
// leak report naming that function and line; the pool running dry and the timeout error
// naming the culprit; forced release giving the connections back so work resumes; a slow but
// honest checkout reported and then resolved; the final metrics.
'use strict'

const path = require('path')
const { LeakDetectingPool } = require('..')

const started = Date.now()
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const here = path.dirname(__dirname) + path.sep
const rel = (s) => String(s).split(here).join('')
const secs = (ms) => `${(ms / 1000).toFixed(1)}s`

function say(msg = '') {
  const t = `[${secs(Date.now() - started).padStart(5)}]`
  console.log(msg ? `${t} ${msg}` : '')
}
function detail(msg) {
  console.log(`        ${msg}`)
}
function section(title) {
  console.log(`\n── ${title} ${'─'.repeat(Math.max(0, 70 - title.length))}`)
}

// -- where to connect ------------------------------------------------------------------------
// The demo has no connection defaults of its own: the pool's are the truth, and the client's
// `user`, `host`, `port` and `database` say what they resolved to.

const PG_VARS = ['PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE', 'PGPASSWORD']

/** Connects once with `config`: `{ where }` (what the client connected as) or `{ err }`. */
async function tryConnect(config) {
  const pool = new LeakDetectingPool({ ...config, max: 1, connectionTimeoutMillis: 3000 })
  try {
    const client = await pool.connect()
    const where = `postgres://${client.user}@${client.host}:${client.port}/${client.database}`
    client.release()
    return { where }
  } catch (err) {
    return { err }
  } finally {
    await pool.end().catch(() => {})
  }
}

/** `{ config, where, how }`: the pool options to use, where they connect, and why those. */
async function chooseDatabase() {
  const env = process.env
  const config = env.DATABASE_URL ? { connectionString: env.DATABASE_URL } : {}
  const named = env.DATABASE_URL ? ['DATABASE_URL'] : PG_VARS.filter((k) => env[k])
  const own = await tryConnect(config)
  if (!own.err) return { config, where: own.where, how: named.length ? `from ${named.join(', ')}` : "the pool's defaults" }
  if (named.length) {
    own.err.message = `could not connect with ${named.join(', ')}: ${own.err.message}`
    throw own.err
  }
  const fallback = { host: '127.0.0.1', port: 5432, user: 'postgres' }
  console.log(`the pool's defaults did not connect (${own.err.message}); falling back to 127.0.0.1:5432 as "postgres"`)
  for (const database of ['test', 'postgres']) {
    const r = await tryConnect({ ...fallback, database })
    if (!r.err) return { config: { ...fallback, database }, where: r.where, how: 'fallback: nothing configured' }
    if (r.err.code !== '3D000') throw r.err // 3D000: no such database, try the next
  }
}

// -- the application code --------------------------------------------------------------------

// Safe: release() in finally, whatever happens.
async function getUser(pool, id) {
  const client = await pool.connect()
  try {
    const { rows } = await client.query('SELECT $1::int AS id, $2::text AS name', [id, `user${id}`])
    return rows[0]
  } finally {
    client.release()
  }
}

// Leaky: when the row is "malformed" it throws before release(), and the client is lost.
async function loadReport(pool, id) {
  const client = await pool.connect()
  const { rows } = await client.query('SELECT $1::int AS id', [id])
  if (rows[0].id % 2 === 1) throw new Error(`report ${id} is malformed`)
  client.release()
  return rows[0]
}

// Slow but honest: holds its client past the leak threshold (busy the whole time), then
// releases it.
async function exportCsv(pool) {
  const client = await pool.connect()
  try {
    for (let i = 0; i < 3; i++) await client.query('SELECT pg_sleep(1)')
  } finally {
    client.release()
  }
}

// -- the demo --------------------------------------------------------------------------------

async function main() {
  console.log('LeakDetectingPool leak-detection demo')
  const { config, where, how } = await chooseDatabase()
  const options = {
    ...config,
    max: 3,
    connectionTimeoutMillis: 1500,
    leakThresholdMs: 2000,
    checkIntervalMs: 250,
    forceReleaseAfterMs: 5000,
    endTimeoutMs: 2000,
    metricsIntervalMs: 1000,
    application_name: 'leak-demo',
  }
  console.log(`database: ${where} (${how})`)
  console.log(
    `pool: max ${options.max}, connectionTimeoutMillis ${options.connectionTimeoutMillis}, leakThresholdMs ${options.leakThresholdMs}, forceReleaseAfterMs ${options.forceReleaseAfterMs}`
  )
  const pool = new LeakDetectingPool(options)

  const shown = new Set() // print each call site's stack once
  pool.on('leaksDetected', ({ count, leaks }) => {
    say(`⚠  leaksDetected: ${count} client${count === 1 ? '' : 's'} checked out for more than ${secs(options.leakThresholdMs)}`)
    for (const l of leaks) {
      detail(
        `#${l.id} held ${secs(l.ageMs)} (idle ${secs(l.idleMs)}, ${l.queryCount} quer${l.queryCount === 1 ? 'y' : 'ies'}) by ${rel(l.location)}`
      )
      if (l.stack && !shown.has(l.location)) {
        shown.add(l.location)
        const frames = rel(l.stack).split('\n').slice(1, 4)
        detail('checkout stack:')
        for (const f of frames) detail(`  ${f.trim()}`)
      }
    }
  })
  pool.on('forceRelease', (e) => {
    say(`♻  forceRelease #${e.id}: idle ${secs(e.idleMs)} (held ${secs(e.ageMs)}) by ${rel(e.location)}: connection destroyed, slot freed`)
  })
  pool.on('leakResolved', (e) => {
    say(`✓  leakResolved #${e.id}: ${rel(e.location)} released its client after ${secs(e.heldMs)}`)
  })
  const status = () => {
    const s = pool.getPoolStatus()
    return `pool: ${s.active}/${s.max} in use, ${s.idle} idle, ${s.waiting} waiting`
  }

  section('1. Safe code')
  for (let id = 1; id <= 5; id++) await getUser(pool, id)
  await pool.query('SELECT 1')
  say(`5 × getUser() and a pool.query(): all released. ${status()}`)
  await sleep(1000)

  section('2. A leak: loadReport() throws before release()')
  for (const id of [1, 3, 5]) {
    try {
      await loadReport(pool, id)
    } catch (err) {
      say(`request failed: ${err.message} (the client it took is never released)`)
    }
  }
  say(status())

  section('3. The leak report')
  say(`waiting for the checker (scans every ${options.checkIntervalMs} ms) ...`)
  while (pool.getMetrics().stats.leaksDetected < 3) await sleep(50)
  await sleep(800)

  section('4. The pool runs dry, and the error says who holds it')
  try {
    await getUser(pool, 42)
  } catch (err) {
    say(`getUser(42) failed after ${secs(options.connectionTimeoutMillis)}:`)
    detail(rel(err.message))
    detail(`err.holders = ${rel(JSON.stringify(err.holders))}`)
  }

  section('5. Forced release gives the connections back')
  say(
    `the leaked clients are idle since their last query; after ${secs(options.forceReleaseAfterMs)} idle (forceReleaseAfterMs) they are reclaimed`
  )
  const waitFrom = Date.now()
  let attempts = 0
  for (;;) {
    attempts++
    try {
      const user = await getUser(pool, 7)
      say(
        `✓  work resumes: getUser(7) -> ${JSON.stringify(user)} after ${secs(Date.now() - waitFrom)} (${attempts} attempt${attempts === 1 ? '' : 's'}). ${status()}`
      )
      break
    } catch (err) {
      if (!/timeout exceeded/.test(err.message)) throw err
      say(
        `getUser(7): timeout (${err.holders.map((h) => `${h.count} held by ${rel(h.location).replace(/ \(.*/, '')}`).join(', ')}); retrying`
      )
    }
  }
  await sleep(300)

  section('6. Slow but honest: reported, then resolved')
  say('exportCsv() keeps its client for 3 s (busy in queries, so never reclaimed) ...')
  await exportCsv(pool)
  await sleep(300)

  section('7. Final metrics')
  const m = pool.getMetrics()
  const s = m.stats
  say(
    `checkouts ${s.totalAcquired}, releases ${s.totalReleased}, leaks detected ${s.leaksDetected}, forced releases ${s.forcedReleases}, timeouts ${s.timeouts}, connections opened ${s.created} / destroyed ${s.destroyed}`
  )
  detail(
    `acquire wait p50 ${m.acquireWait.p50.toFixed(1)} ms, p99 ${m.acquireWait.p99.toFixed(1)} ms, max ${m.acquireWait.max.toFixed(0)} ms`
  )
  detail(`hold time    p50 ${m.holdTime.p50.toFixed(1)} ms, p99 ${m.holdTime.p99.toFixed(1)} ms, max ${m.holdTime.max.toFixed(0)} ms`)
  detail(
    `history: ${m.history.length} samples (one per ${secs(options.metricsIntervalMs)}), leak rate ${(m.leakRate * 100).toFixed(0)}% of checkouts`
  )
  say('getLeakReport() — who leaks:')
  for (const r of pool.getLeakReport()) {
    detail(`${String(r.count).padStart(3)} × ${rel(r.location)} (still held: ${r.active}, oldest ${secs(r.oldestAgeMs)})`)
  }
  const byType = {}
  for (const a of pool.getAlerts()) byType[a.type] = (byType[a.type] || 0) + 1
  say(
    `getAlerts(): ${Object.entries(byType)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}`
  )
  say('metricsText() (Prometheus), a few lines:')
  for (const line of pool.metricsText().split('\n')) {
    if (/^ldp_(leaks_detected|forced_releases|connections_timeout)_total|^ldp_connections_active\{/.test(line)) detail(line)
  }

  await pool.end()
  say(`pool ended; ${status()}. Bye.`)
}

main().catch((err) => {
  console.error(`\ndemo failed: ${err && err.message}`)
  if (err && /ECONNREFUSED|connect|password|authentication|does not exist/i.test(err.message)) {
    console.error('Point it at a server with DATABASE_URL=postgres://user:password@host:5432/db (or PG* variables).')
  }
  process.exitCode = 1
})
