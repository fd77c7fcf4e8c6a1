'use strict'
// TLS against the shared server (ssl=on, self-signed "localhost" certificate): encryption
// without verification works, verification is on whenever TLS is asked for and fails with a
// clear error for an untrusted certificate, a trusted CA plus the right server name verifies.
// Parity with pg.Pool where pg behaves the same.

const test = require('node:test')
const assert = require('node:assert/strict')
const pg = require('pg')
const { assertParity, both, rejection, withClient } = require('./helpers/parity')
const { findTlsDatabase } = require('./helpers/db')
const { LeakDetectingPool } = require('..')

const SSL_SQL = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'

let serverCert = null // PEM of the server's certificate, when we can read it
let tlsAvailable = false

test.before(async () => {
  const cfg = await findTlsDatabase()
  const c = new pg.Client(cfg)
  await c.connect()
  try {
    tlsAvailable = (await c.query("SELECT current_setting('ssl') AS s")).rows[0].s === 'on'
    if (tlsAvailable) {
      const file = (await c.query("SELECT current_setting('ssl_cert_file') AS f")).rows[0].f
      serverCert = (await c.query('SELECT pg_read_file($1) AS p', [file]).catch(() => ({ rows: [{ p: null }] }))).rows[0].p
    }
  } finally {
    await c.end()
  }
})

/** The shared server over TCP at 127.0.0.1 (TLS is not used over unix sockets). */
async function tcpConfig(extra) {
  const cfg = await findTlsDatabase()
  return {
    connectionString: undefined,
    host: '127.0.0.1',
    port: cfg.port,
    user: cfg.user,
    database: cfg.database,
    password: cfg.password,
    ...extra,
  }
}

test('the shared server has TLS on (this suite needs it)', () => {
  assert.equal(tlsAvailable, true, 'the test server at 127.0.0.1 must run with ssl=on')
})

test('ssl: { rejectUnauthorized: false } encrypts (pg_stat_ssl.ssl is true)', async () => {
  const cfg = await tcpConfig({ ssl: { rejectUnauthorized: false } })
  const r = await assertParity(cfg, async (pool) => (await pool.query(SSL_SQL)).rows[0])
  assert.deepEqual(r.ours.value, { ssl: true })
})

test("ssl: 'no-verify' and sslmode=no-verify encrypt without verification", async () => {
  const base = await tcpConfig()
  for (const cfg of [
    { ...base, ssl: 'no-verify' },
    { connectionString: `postgres://${encodeURIComponent(base.user)}@127.0.0.1:${base.port}/${base.database}?sslmode=no-verify` },
  ]) {
    const r = await assertParity(cfg, async (pool) => (await pool.query(SSL_SQL)).rows[0])
    assert.deepEqual(r.ours.value, { ssl: true })
  }
})

test('without ssl (and with sslmode=disable) the connection is not encrypted', async () => {
  const base = await tcpConfig()
  for (const cfg of [
    base,
    { connectionString: `postgres://${encodeURIComponent(base.user)}@127.0.0.1:${base.port}/${base.database}?sslmode=disable` },
  ]) {
    const r = await assertParity(cfg, async (pool) => (await pool.query(SSL_SQL)).rows[0])
    assert.deepEqual(r.ours.value, { ssl: false })
  }
})

test('ssl: true verifies the certificate: a self-signed one fails with a clear error, slot freed', async () => {
  const r = await both(await tcpConfig({ ssl: true }), async (pool) => {
    const e = await rejection(pool.query('SELECT 1'))
    const e2 = await rejection(pool.connect())
    return { message: e.message, code: e.code, again: e2.message === e.message, total: pool.totalCount }
  })
  assert.match(r.pg.value.message, /self-signed certificate/)
  const v = r.ours.value
  assert.match(v.message, /certificate/i, v.message)
  assert.match(v.message, /self-signed|not trusted|unknown issuer|UnknownIssuer/i, v.message)
  assert.equal(v.again, true)
  assert.equal(v.total, 0)
})

test('sslmode=require in the connection string verifies too (as pg does), so it fails here', async () => {
  const base = await tcpConfig()
  const pool = new LeakDetectingPool({
    connectionString: `postgres://${encodeURIComponent(base.user)}@127.0.0.1:${base.port}/${base.database}?sslmode=require`,
  })
  try {
    const e = await rejection(pool.query('SELECT 1'))
    assert.match(e.message, /certificate/i)
    assert.equal(pool.totalCount, 0)
  } finally {
    await pool.end()
  }
})

test('ssl: { ca } trusts the server certificate; the host name must match (servername)', async () => {
  assert.ok(serverCert, 'could not read the server certificate (needs a superuser test role)')
  const ok = await assertParity(
    await tcpConfig({ ssl: { ca: serverCert, servername: 'localhost' } }),
    async (pool) => (await pool.query(SSL_SQL)).rows[0]
  )
  assert.deepEqual(ok.ours.value, { ssl: true })
  // the certificate names "localhost", not 127.0.0.1: verification by IP fails on both
  const bad = await both(await tcpConfig({ ssl: { ca: serverCert } }), async (pool) => {
    const e = await rejection(pool.query('SELECT 1'))
    return { failed: e instanceof Error, total: pool.totalCount }
  })
  assert.deepStrictEqual(bad.ours, bad.pg)
  assert.deepEqual(bad.ours.value, { failed: true, total: 0 })
})

test("client.ssl is pg's: 'no-verify', a connection string's SSL parameters, PGSSLMODE=no-verify (parity)", async () => {
  const base = await tcpConfig()
  const cs = (q) => ({ connectionString: `postgres://${encodeURIComponent(base.user)}@127.0.0.1:${base.port}/${base.database}?${q}` })
  const seen = (pool) => withClient(pool, async (c) => ({ ssl: c.ssl, params: c.connectionParameters.ssl }))
  const noVerify = { rejectUnauthorized: false }
  const cases = [
    [{ ...base, ssl: 'no-verify' }, noVerify],
    [cs('sslmode=no-verify'), noVerify],
    [cs('sslmode=require&uselibpqcompat=true'), noVerify],
    // The connection string's SSL parameters win over the option, as in pg.
    [{ ...cs('sslmode=no-verify'), ssl: true }, noVerify],
    [
      { ...base, ssl: { rejectUnauthorized: false, servername: 'localhost' } },
      { rejectUnauthorized: false, servername: 'localhost' },
    ],
  ]
  for (const [cfg, expected] of cases) {
    const r = await assertParity(cfg, seen)
    assert.deepEqual(r.ours.value, { ssl: expected, params: expected }, JSON.stringify(cfg.connectionString || cfg.ssl))
  }
  const saved = process.env.PGSSLMODE
  process.env.PGSSLMODE = 'no-verify'
  try {
    const r = await assertParity(base, seen)
    assert.deepEqual(r.ours.value, { ssl: noVerify, params: noVerify })
  } finally {
    if (saved === undefined) delete process.env.PGSSLMODE
    else process.env.PGSSLMODE = saved
  }
})
