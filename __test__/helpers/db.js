'use strict'
/**
 * The tests' view of the database: the server a run uses, throwaway clusters for tests that
 * must break one, and backend helpers. Never stop or reconfigure the shared server; start a
 * throwaway cluster instead.
 *
 * The database is found ONCE per run by `scripts/test.js` (discover.js: env, the default
 * server, else a throwaway cluster with TLS on) and handed to every child — `cargo test` and
 * `node --test` alike — through LDP_TEST_DATABASE_URL (and LDP_TEST_DATABASE_DESCRIBE). A
 * test process run without it (a bare `node --test file`) discovers one itself, once.
 *
 * Exports:
 *   findDatabase()                  -> { connectionString, host, port, user, database, password? }
 *                                      plus non-enumerable `describe` (where it came from). Cached per
 *                                      process; each call returns a fresh copy. Usable by pg.Pool and ours.
 *   findTlsDatabase()               -> like findDatabase(), but with TLS on: the run's database if its
 *                                      server has ssl = on, else a throwaway cluster with TLS on
 *   handDown(config)                -> the environment entries that hand `config` to child processes
 *   startThrowawayCluster(opts?)    -> a private cluster (cluster.js)
 *   uniqueAppName(prefix?)          -> application_name unique to this process + call (<= 63 bytes)
 *   killBackends(adminConfig, name) -> number of backends with that application_name terminated
 *   findServerBinaries()            -> { binDir, initdb, pg_ctl, postgres } or throws with install hint
 *   probe(config)                   -> null if `SELECT 1` works, else the Error
 */

const crypto = require('node:crypto')
const { parseUrl, makeConfig, copyConfig, redactUrl, withClient, probe } = require('./conn')
const { discover } = require('./discover')
const { startThrowawayCluster } = require('./cluster')
const { findServerBinaries } = require('./machine')

const HANDED_URL = 'LDP_TEST_DATABASE_URL'
const HANDED_DESCRIBE = 'LDP_TEST_DATABASE_DESCRIBE'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function handed() {
  const url = process.env[HANDED_URL]
  if (!url) return null
  const describe = process.env[HANDED_DESCRIBE] || `handed down by scripts/test.js (${redactUrl(url)})`
  return makeConfig({ ...parseUrl(url), connectionString: url }, describe)
}

let discovery = null

/** The run's database (see the top of this file). Cached per process. */
async function findDatabase() {
  if (!discovery) {
    const given = handed()
    discovery = given ? Promise.resolve(given) : discover().then((r) => r.config)
    discovery.catch(() => {
      discovery = null // do not cache failures
    })
  }
  return copyConfig(await discovery)
}

let tlsDiscovery = null

/**
 * A database with TLS on, for the TLS tests: the run's when its server has ssl = on, else a
 * throwaway cluster with TLS on (a self-signed "localhost" certificate, see cert.js), alive
 * until this process exits. Cached per process; each call returns a fresh copy.
 */
async function findTlsDatabase() {
  if (!tlsDiscovery) {
    tlsDiscovery = (async () => {
      const cfg = await findDatabase()
      const ssl = await withClient(cfg, async (c) => (await c.query("SELECT current_setting('ssl') AS s")).rows[0].s)
      if (ssl === 'on') return cfg
      const cluster = await startThrowawayCluster({ tls: true })
      const own = cluster.config()
      own.describe = `throwaway cluster with TLS on at 127.0.0.1:${cluster.port} (${cfg.describe} has ssl = ${ssl})`
      return own
    })()
    tlsDiscovery.catch(() => {
      tlsDiscovery = null
    })
  }
  return copyConfig(await tlsDiscovery)
}

/** Environment entries handing `config` to child processes (read back by findDatabase and tests/common). */
function handDown(config) {
  return { [HANDED_URL]: config.connectionString, [HANDED_DESCRIBE]: config.describe || '' }
}

// ---------------------------------------------------------------------------
// backends

let appCounter = 0

/** An application_name unique to this process and call (ASCII, <= 63 bytes so the server keeps it whole). */
function uniqueAppName(prefix = 'ldp-test') {
  const suffix = `-${process.pid}-${++appCounter}-${crypto.randomBytes(3).toString('hex')}`
  const clean = String(prefix).replace(/[^\x20-\x7e]/g, '_')
  return clean.slice(0, 63 - suffix.length) + suffix
}

/**
 * Terminate every backend whose application_name is exactly `appName` (never the admin
 * connection itself), wait until they are gone, and return how many were terminated.
 */
async function killBackends(adminCfg, appName) {
  return withClient(
    adminCfg,
    async (c) => {
      const { rows } = await c.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()', [appName])
      let killed = 0
      for (const { pid } of rows) {
        const r = await c.query('SELECT pg_terminate_backend($1) AS ok', [pid])
        if (r.rows[0].ok) killed++
      }
      const pids = rows.map((r) => r.pid)
      const deadline = Date.now() + 5000
      while (pids.length && Date.now() < deadline) {
        const r = await c.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])', [pids])
        if (r.rows[0].n === 0) break
        await sleep(20)
      }
      return killed
    },
    { application_name: 'ldp-test-killer' }
  )
}

module.exports = {
  findDatabase,
  findTlsDatabase,
  startThrowawayCluster,
  uniqueAppName,
  killBackends,
  findServerBinaries,
  probe,
  handDown,
}
