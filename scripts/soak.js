#!/usr/bin/env node
// The soak: many checkouts with leaks, forced releases, errors and a NOTIFY flood mixed in,
// while RSS and the size of every internal collection are sampled; each must stay within a
// fixed bound. Prints its figures; exits non-zero when a bound is broken.
//
//   npm run soak                                 1,000,000 checkouts (several minutes)
//   node --expose-gc scripts/soak.js --checkouts 20000 --json
//
// Options: --checkouts N (1000000), --concurrency N (16), --max N (pool size, 8),
// --rss-growth-mb N (32: allowed RSS growth from the end of the warm-up to the end),
// --heap-growth-mb N (4: allowed growth of the JS heap, after a full GC, from the first tenth
// of the run to the end; needs --expose-gc),
// --json (print the figures as one JSON line last). The database is the tests' (DATABASE_URL,
// PG* variables, else 127.0.0.1:5432; see __test__/helpers/db.js).
//
// The mix, per 10,000 checkouts: 1 leak (the client dropped without release: reclaimed by
// forceReleaseAfterMs or as garbage-collected), 10 held idle past forceReleaseAfterMs (reclaimed, then a
// release() that must be a no-op), 100 failing statements (pool.query destroys that connection:
// connection churn), 10 release(true), and the rest split between pool.query, connect/release
// and connect/query/release. Meanwhile a LISTENing client receives a NOTIFY flood sent by a
// separate connection.
'use strict'

const path = require('node:path')
const pg = require('pg')
const { LeakDetectingPool } = require(path.join(__dirname, '..'))
const { findDatabase, uniqueAppName } = require(path.join(__dirname, '..', '__test__', 'helpers', 'db'))

function parseArgs(argv) {
  const o = { checkouts: 1000000, concurrency: 16, max: 8, rssGrowthMb: 32, heapGrowthMb: 4, json: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--json') o.json = true
    else if (a === '--checkouts') o.checkouts = Number(argv[++i])
    else if (a === '--concurrency') o.concurrency = Number(argv[++i])
    else if (a === '--max') o.max = Number(argv[++i])
    else if (a === '--rss-growth-mb') o.rssGrowthMb = Number(argv[++i])
    else if (a === '--heap-growth-mb') o.heapGrowthMb = Number(argv[++i])
    else throw new Error(`unknown argument ${a}`)
  }
  return o
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const mb = (n) => Math.round((n / 1048576) * 10) / 10

/** Upper bounds for the JS layer's collections beside getMemoryUsage()'s. */
function internalBounds(o) {
  return {
    // a query or connect() in flight per worker, plus the LISTENing client's and a margin
    pendingReplies: o.concurrency + 4,
    servedRecords: o.concurrency + 4,
    abandoned: 0,
    outstandingConnects: o.concurrency + 2,
    entries: o.max,
    clients: 2 * o.max,
    // events that wait for a connect() in flight to settle
    eventsWaiting: 10000,
  }
}

async function soak(o) {
  const db = await findDatabase()
  const appName = uniqueAppName('ldp-soak')
  const pool = new LeakDetectingPool({
    ...db,
    application_name: appName,
    max: o.max,
    connectionTimeoutMillis: 10000,
    leakThresholdMs: 300,
    forceReleaseAfterMs: 600,
    checkIntervalMs: 25,
    endTimeoutMs: 1000,
    metricsIntervalMs: 50,
    metricsHistorySize: 50,
    alertBufferSize: 50,
  })
  const tally = {
    reclaimedUnderLoad: 0,
    leaks: 0,
    leaksDetected: 0,
    forceReleases: 0,
    reclaimedThenReleased: 0,
    errors: 0,
    destroyed: 0,
    notifications: 0,
    notifySent: 0,
  }
  pool.on('error', () => {})
  pool.on('leaksDetected', (e) => (tally.leaksDetected += e.count))
  pool.on('forceRelease', () => tally.forceReleases++)

  // The NOTIFY flood: one client LISTENs for the whole run (exempt from leak reports and
  // reclaim), a separate pg.Client sends bursts.
  const listener = await pool.connect({ leakThresholdMs: 0, forceReleaseAfterMs: 0, tag: 'listener' })
  listener.on('notification', () => tally.notifications++)
  const channel = `ldp_soak_${process.pid}` // other runs on the same server have their own
  await listener.query(`LISTEN ${channel}`)
  const notifier = new pg.Client({ connectionString: db.connectionString })
  notifier.on('error', () => {})
  await notifier.connect()
  let flooding = true
  const flood = (async () => {
    while (flooding) {
      await notifier.query('SELECT pg_notify($1, g::text) FROM generate_series(1, 500) g', [channel])
      tally.notifySent += 500
      await sleep(20)
    }
  })()

  // Sampling.
  const bounds = internalBounds(o)
  const max = { rss: 0, heapUsed: 0, memory: {}, internal: {} }
  const violations = []
  let baseline = null
  const sample = () => {
    const m = process.memoryUsage()
    max.rss = Math.max(max.rss, m.rss)
    max.heapUsed = Math.max(max.heapUsed, m.heapUsed)
    for (const [k, v] of Object.entries(pool.getMemoryUsage())) {
      max.memory[k] = Math.max(max.memory[k] || 0, v.size)
      if (v.size > v.capacity) violations.push(`${k}: size ${v.size} > capacity ${v.capacity}`)
    }
    for (const [k, v] of Object.entries(pool._internalCounts())) {
      max.internal[k] = Math.max(max.internal[k] || 0, v)
      if (v > bounds[k]) violations.push(`${k}: ${v} > ${bounds[k]}`)
    }
    const c = { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }
    if (c.total > o.max || c.idle > c.total || c.waiting > o.concurrency) violations.push(`counts ${JSON.stringify(c)}`)
  }
  const sampler = setInterval(sample, 100)

  // The workers.
  let next = 0
  let done = 0
  const warmAt = Math.min(Math.floor(o.checkouts / 10), 100000)
  const t0 = Date.now()
  let warmT = t0
  const one = async (i) => {
    const k = i % 10000
    if (k === 0) {
      // a leak: checked out, used, dropped without release (reported, then reclaimed)
      const c = await pool.connect()
      await c.query('SELECT 1')
      tally.leaks++
      return
    }
    if (k % 1000 === 1) {
      // held idle past forceReleaseAfterMs: reclaimed; the late release() is a no-op
      const c = await pool.connect()
      await sleep(800)
      const e = await c.query('SELECT 1').then(
        () => null,
        (err) => err
      )
      if (e && e.code === 'LDP_CLIENT_RECLAIMED') tally.reclaimedThenReleased++
      c.release()
      return
    }
    if (k % 100 === 2) {
      await pool.query('SELECT 1/0').catch(() => tally.errors++)
      return
    }
    if (k % 1000 === 3) {
      const c = await pool.connect()
      c.release(true)
      tally.destroyed++
      return
    }
    switch (k % 3) {
      case 0: {
        const r = await pool.query('SELECT $1::int AS n', [i])
        if (r.rows[0].n !== i) throw new Error(`query ${i} got ${r.rows[0].n}`)
        return
      }
      case 1: {
        const c = await pool.connect()
        c.release()
        return
      }
      default: {
        const c = await pool.connect()
        const r = await c.query('SELECT $1::int AS n', [i])
        c.release()
        if (r.rows[0].n !== i) throw new Error(`query ${i} got ${r.rows[0].n}`)
      }
    }
  }
  // RSS and heap after a full GC at every tenth of the run: the slope says whether anything
  // grows with uptime (the maxima alone cannot tell growth from a larger steady state).
  const series = []
  const tenth = Math.max(1, Math.floor(o.checkouts / 10))
  const mark = () => {
    if (global.gc) global.gc()
    const m = process.memoryUsage()
    series.push({ checkouts: done, rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), externalMb: mb(m.external) })
  }
  const worker = async () => {
    while (next < o.checkouts) {
      const i = next++
      await one(i).catch((err) => {
        // A checkout that sat idle past forceReleaseAfterMs on a starved event loop is
        // reclaimed, as it should be: counted, not fatal. Anything else is.
        if (err.code !== 'LDP_CLIENT_RECLAIMED') throw err
        tally.reclaimedUnderLoad++
      })
      done++
      if (done % tenth === 0) mark()
      if (done === warmAt) {
        if (global.gc) global.gc()
        baseline = process.memoryUsage().rss
        warmT = Date.now()
      }
    }
  }
  await Promise.all(Array.from({ length: o.concurrency }, worker))
  const elapsed = (Date.now() - t0) / 1000
  flooding = false
  await flood
  // Let the checker reclaim the last leaks and the flood drain, then measure.
  await sleep(500)
  if (global.gc) global.gc()
  await sleep(100)
  sample()
  clearInterval(sampler)
  const endRss = process.memoryUsage().rss
  const metrics = pool.getMetrics()
  const alerts = pool.getAlerts().length
  listener.release()
  await notifier.end()
  await pool.end()
  const growth = baseline == null ? 0 : endRss - baseline
  if (growth > o.rssGrowthMb * 1048576) violations.push(`RSS grew ${mb(growth)} MB after the warm-up (bound ${o.rssGrowthMb} MB)`)
  if (series.length >= 2) {
    const heapGrowth = series[series.length - 1].heapUsedMb - series[0].heapUsedMb
    if (heapGrowth > o.heapGrowthMb)
      violations.push(`the heap after GC grew ${heapGrowth.toFixed(1)} MB from the first tenth (bound ${o.heapGrowthMb} MB)`)
  }
  // A notification is delivered, or dropped and counted (maxQueuedEvents): never lost unseen.
  tally.notificationsDropped = metrics.stats.notificationsDropped || 0
  if (tally.notifications + tally.notificationsDropped !== tally.notifySent) {
    violations.push(`${tally.notifications} delivered + ${tally.notificationsDropped} dropped of ${tally.notifySent} notifications`)
  }
  if (tally.leaksDetected < tally.leaks) violations.push(`${tally.leaks} leaks, ${tally.leaksDetected} reported`)
  return {
    checkouts: done,
    seconds: Math.round(elapsed * 10) / 10,
    checkoutsPerSecond: Math.round(done / elapsed),
    afterWarmupSeconds: Math.round(((Date.now() - warmT) / 1000) * 10) / 10,
    tally,
    stats: metrics.stats,
    alerts,
    rssMb: { baseline: baseline == null ? null : mb(baseline), max: mb(max.rss), end: mb(endRss), growth: mb(growth) },
    heapUsedMaxMb: mb(max.heapUsed),
    maxSizes: { ...max.memory, ...max.internal },
    series,
    capacities: Object.fromEntries(Object.entries(pool.getMemoryUsage()).map(([k, v]) => [k, v.capacity])),
    internalBounds: bounds,
    violations: [...new Set(violations)],
    ok: violations.length === 0,
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2))
  const r = await soak(o)
  const lines = [
    `soak: ${r.checkouts} checkouts in ${r.seconds}s (${r.checkoutsPerSecond}/s), concurrency ${o.concurrency}, max ${o.max}`,
    `  leaks ${r.tally.leaks} (reported ${r.tally.leaksDetected}), forced releases ${r.tally.forceReleases} (late release no-op ${r.tally.reclaimedThenReleased}), failing statements ${r.tally.errors}, release(true) ${r.tally.destroyed}`,
    `  checkouts reclaimed because the event loop left them idle too long: ${r.tally.reclaimedUnderLoad}`,
    `  notifications received ${r.tally.notifications} of ${r.tally.notifySent} sent (${r.tally.notificationsDropped} dropped by maxQueuedEvents); connections created ${r.stats.created}, destroyed ${r.stats.destroyed}`,
    `  RSS MB: after warm-up ${r.rssMb.baseline}, max ${r.rssMb.max}, end ${r.rssMb.end} (growth ${r.rssMb.growth}); heap used max ${r.heapUsedMaxMb} MB`,
    `  after GC, per tenth (checkouts: RSS MB / heap used MB): ${r.series.map((p) => `${p.checkouts}: ${p.rssMb}/${p.heapUsedMb}`).join(', ')}`,
    `  max sizes: ${Object.entries(r.maxSizes)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    r.ok ? '  all bounds held' : `  BOUNDS BROKEN: ${r.violations.join('; ')}`,
  ]
  process.stdout.write(lines.join('\n') + '\n')
  if (o.json) process.stdout.write(JSON.stringify(r) + '\n')
  process.exitCode = r.ok ? 0 : 1
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${err && err.stack ? err.stack : err}\n`)
    process.exitCode = 1
  })
}

module.exports = { soak }
