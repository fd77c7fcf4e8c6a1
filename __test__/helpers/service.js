'use strict'
// The example service (examples/service/) for tests: its app on an ephemeral port over a pool
// with small thresholds, with the example's own workload leaking on purpose when asked.

const path = require('path')
const { createApp } = require('../../examples/service/app')
const { startWorkload } = require('../../examples/service/workload')
const { makePool } = require('./leak')

/**
 * Starts the service: `{ pool, url, workload }`; `t.after` stops the workload, the server and
 * the pool, in that order.
 */
async function startService(t, { poolOptions = {}, leakEveryMs = 0, concurrency = 3 } = {}) {
  const pool = await makePool(
    {
      max: 6,
      application_name: 'example-service',
      connectionTimeoutMillis: 500,
      leakThresholdMs: 300,
      checkIntervalMs: 50,
      forceReleaseAfterMs: 3000,
      ...poolOptions,
    },
    null
  )
  pool.on('error', () => {})
  const server = await new Promise((resolve) => {
    const s = createApp(pool, { root: path.join(__dirname, '..', '..') }).listen(0, '127.0.0.1', () => resolve(s))
  })
  const url = `http://127.0.0.1:${server.address().port}`
  const workload = startWorkload(pool, { concurrency, leakEveryMs })
  t.after(async () => {
    await workload.stop()
    // Keep-alive connections (a browser's) would hold close() open: cut them.
    const closed = new Promise((resolve) => server.close(resolve))
    server.closeAllConnections()
    await closed
    await pool.end().catch(() => {})
  })
  return { pool, url, workload }
}

module.exports = { startService }
