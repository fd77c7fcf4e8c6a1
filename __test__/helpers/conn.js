'use strict'
/**
 * Connection configs for the test infrastructure: building, parsing and redacting URLs,
 * the config objects the tests receive, and a probe that proves a server answers.
 *
 * A config is `{ connectionString, host, port, user, database, password? }` plus a
 * non-enumerable `describe` (where it came from). Invariant: `connectionString` and the
 * separate fields name the same server, role and database, so pg.Pool, ours and the Rust
 * support (which parses the URL) all reach the same place.
 */

const os = require('node:os')

const PROBE_TIMEOUT_MS = 2000
const TAG = '[test db]'

function loadPg() {
  try {
    return require('pg')
  } catch (err) {
    throw new Error(`${TAG} the "pg" package is needed to probe servers (it is a devDependency: run \`npm install\`): ${err.message}`)
  }
}

function osUserName() {
  try {
    return os.userInfo().username
  } catch {
    return null // no passwd entry (some containers)
  }
}

function encodeHost(host) {
  if (host.startsWith('/')) return encodeURIComponent(host) // unix socket directory
  if (host.includes(':') && !host.startsWith('[')) return `[${host}]` // IPv6 literal
  return host
}

/** `postgres://user[:password]@host:port/database`, every part percent-encoded. */
function buildUrl({ host, port, user, database, password }) {
  const auth = encodeURIComponent(user) + (password != null ? `:${encodeURIComponent(password)}` : '')
  return `postgres://${auth}@${encodeHost(host)}:${port}/${encodeURIComponent(database)}`
}

function redactUrl(url) {
  return String(url).replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@')
}

/** The fields of a libpq-style URL, with pg's defaults for the missing ones (best effort). */
function parseUrl(connectionString) {
  const fields = {}
  try {
    const u = new URL(connectionString)
    const qHost = u.searchParams.get('host')
    let host = qHost || decodeURIComponent(u.hostname || '')
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
    fields.host = host || 'localhost'
    fields.port = Number(u.searchParams.get('port') || u.port || 5432)
    fields.user = decodeURIComponent(u.username || '') || process.env.PGUSER || osUserName()
    fields.database = decodeURIComponent((u.pathname || '').replace(/^\//, '')) || fields.user
    if (u.password) fields.password = decodeURIComponent(u.password)
  } catch {
    /* unparseable: leave the fields out, pg will report the problem */
  }
  return fields
}

function makeConfig(fields, describe) {
  const cfg = {
    connectionString: fields.connectionString || buildUrl(fields),
    host: fields.host,
    port: fields.port,
    user: fields.user,
    database: fields.database,
  }
  if (fields.password != null) cfg.password = fields.password
  // Non-enumerable so `{ ...config }` / strict option validation never sees it.
  Object.defineProperty(cfg, 'describe', { value: describe, enumerable: false, writable: true, configurable: true })
  return cfg
}

function copyConfig(cfg) {
  return makeConfig({ ...cfg }, cfg.describe)
}

/** Enumerable connection fields only (what a pg.Client understands). */
function clientConfig(cfg) {
  if (typeof cfg === 'string') return { connectionString: cfg }
  const out = {}
  for (const k of ['connectionString', 'host', 'port', 'user', 'database', 'password', 'ssl']) {
    if (cfg[k] != null) out[k] = cfg[k]
  }
  return out
}

async function withClient(cfg, fn, extra = {}) {
  const pg = loadPg()
  const client = new pg.Client({ ...clientConfig(cfg), ...extra })
  client.on('error', () => {}) // errors surface through the awaited calls
  try {
    await client.connect()
    return await fn(client)
  } finally {
    await client.end().catch(() => {})
  }
}

/** Returns null if `SELECT 1` works through `cfg`, else the Error. */
async function probe(cfg, timeoutMs = PROBE_TIMEOUT_MS) {
  try {
    await withClient(cfg, (c) => c.query('SELECT 1'), {
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
    })
    return null
  } catch (err) {
    return err
  }
}

function errText(err) {
  if (!err) return 'ok'
  const msg = err.message || String(err)
  return err.code && !msg.includes(err.code) ? `${msg} [${err.code}]` : msg
}

/** Nothing listens there (as opposed to a server that answered with an error). */
function isUnreachable(err) {
  const code = err && err.code
  return (
    ['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ENOENT'].includes(code) ||
    /timeout/i.test((err && err.message) || '')
  )
}

module.exports = {
  TAG,
  loadPg,
  osUserName,
  buildUrl,
  redactUrl,
  parseUrl,
  makeConfig,
  copyConfig,
  clientConfig,
  withClient,
  probe,
  errText,
  isUnreachable,
}
