#!/usr/bin/env node
// An example service watched the way Node servers are watched: Prometheus metrics, a health
// check, the leak report as JSON and a leak dashboard, over a LeakDetectingPool.
//
// Run it:
//   node examples/service/server.js            then open http://localhost:3000/dashboard
//   node examples/service/server.js --leak     the same, with a job that leaks a client every 3 s
//   PORT=8080 node examples/service/server.js
//
// Database: wherever the pool connects by itself (DATABASE_URL as its connectionString, else
// the PG* environment variables and pg's defaults). It only runs SELECTs. Stop it with Ctrl-C:
// the pool ends (leaked clients are destroyed after endTimeoutMs) and the process exits.
'use strict'

const { LeakDetectingPool } = require('../..')
const { createApp } = require('./app')
const { startWorkload } = require('./workload')

const leak = process.argv.includes('--leak')
const pool = new LeakDetectingPool({
  connectionString: process.env.DATABASE_URL,
  max: 10,
  application_name: 'example-service',
  leakThresholdMs: 2000,
  forceReleaseAfterMs: 20000,
  metricsIntervalMs: 1000,
  endTimeoutMs: 1000,
})
pool.on('error', (err) => console.error('idle client error:', err.message))
pool.on('leaksDetected', ({ leaks }) => {
  for (const l of leaks) console.warn(`leak: client held ${l.ageMs} ms by ${l.location}`)
})

const workload = startWorkload(pool, { concurrency: 4, leakEveryMs: leak ? 3000 : 0 })
const server = createApp(pool).listen(Number(process.env.PORT) || 3000, () => {
  console.log(`listening on http://localhost:${server.address().port}/dashboard${leak ? ' (leaking on purpose)' : ''}`)
})

process.once('SIGINT', async () => {
  server.close()
  await workload.stop()
  await pool.end()
})
