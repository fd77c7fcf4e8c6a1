'use strict'
// The example service's traffic: steady queries, and — when asked — a report job that leaks
// its client on an error path, the bug a leak detector exists for.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** One order lookup; releases its client on every path. */
async function lookupOrder(pool, id) {
  const client = await pool.connect()
  try {
    return (await client.query('SELECT $1::int AS id, now() AS at', [id])).rows[0]
  } finally {
    client.release()
  }
}

/** The bug: when the export "fails", it returns before release() and leaks its client. */
async function exportInvoices(pool, fail) {
  const client = await pool.connect() // LEAKS HERE
  await client.query('SELECT count(*) FROM generate_series(1, 100)')
  if (fail) return null
  client.release()
  return true
}

/**
 * Runs the traffic until `stop()`: `concurrency` callers doing lookups (and the odd slow
 * query), and with `leakEveryMs` an export that leaks every so often. `stop()` resolves once
 * the callers are done.
 */
function startWorkload(pool, { concurrency = 4, leakEveryMs = 0 } = {}) {
  let running = true
  const callers = []
  for (let c = 0; c < concurrency; c++) {
    callers.push(
      (async () => {
        for (let i = 0; running; i++) {
          try {
            await lookupOrder(pool, i)
            if (i % 50 === 0) await pool.query('SELECT pg_sleep(0.02)')
          } catch {
            await sleep(50) // exhausted by the leaks: the next attempt comes a little later
          }
          await sleep(5 + Math.random() * 20)
        }
      })()
    )
  }
  let leaker = null
  if (leakEveryMs > 0) {
    leaker = setInterval(() => exportInvoices(pool, true).catch(() => {}), leakEveryMs)
    exportInvoices(pool, true).catch(() => {})
  }
  return {
    async stop() {
      running = false
      if (leaker) clearInterval(leaker)
      await Promise.all(callers)
    },
  }
}

module.exports = { startWorkload, exportInvoices, lookupOrder }
