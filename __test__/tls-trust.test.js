'use strict'
// Whom a verified TLS connection trusts, as Node's TLS (and so pg) decides it, against a
// throwaway cluster whose certificate a private CA issued for "localhost":
// - `ssl.ca` REPLACES the default roots: a `ca` without the server's CA fails, even when that CA
//   is among the defaults (NODE_EXTRA_CA_CERTS stands in for a public root here);
// - without `ca`, the trust store is Node's: its bundled roots plus NODE_EXTRA_CA_CERTS;
// - libpq's verify-ca (uselibpqcompat=true) checks the chain but not the host name, verify-full
//   both;
// - minVersion/maxVersion bound the protocol; TLS options this client cannot honour are refused
//   at construction, naming the option.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { both, rejection } = require('./helpers/parity')
const { startThrowawayCluster } = require('./helpers/db')
const { certificateAuthority } = require('./helpers/cert')
const { LeakDetectingPool } = require('..')

const SSL_SQL = 'SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()'

const serverCa = certificateAuthority('LDP Test Server CA')
const otherCa = certificateAuthority('LDP Test Other CA')
let cluster
let dir

test.before(async () => {
  cluster = await startThrowawayCluster({ tls: serverCa.issue('localhost') })
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldp-tls-trust-'))
  fs.writeFileSync(path.join(dir, 'server-ca.pem'), serverCa.certPem)
  fs.writeFileSync(path.join(dir, 'other-ca.pem'), otherCa.certPem)
})
test.after(async () => {
  if (cluster) await cluster.stop()
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

const tcp = (ssl, extra) => ({ ...cluster.config(), connectionString: undefined, host: '127.0.0.1', max: 1, ssl, ...extra })
const url = (params) => `postgres://postgres@127.0.0.1:${cluster.port}/postgres?${params}`

/** Whether a query over `cfg` works, for pg and for this pool. */
async function outcome(cfg) {
  return both(cfg, async (pool) => {
    try {
      return { ok: (await pool.query(SSL_SQL)).rows[0].ssl }
    } catch (e) {
      return { ok: false, certificate: /certificate|self.signed|issuer|verify/i.test(e.message), total: pool.totalCount }
    }
  })
}

test('ssl.ca is the only trust anchor: the server CA verifies, another CA fails (parity)', async () => {
  const good = await outcome(tcp({ ca: serverCa.certPem, servername: 'localhost' }))
  assert.deepEqual(good.ours, good.pg)
  assert.deepEqual(good.ours.value, { ok: true })
  const bad = await outcome(tcp({ ca: otherCa.certPem, servername: 'localhost' }))
  assert.deepEqual(bad.ours, bad.pg)
  assert.deepEqual(bad.ours.value, { ok: false, certificate: true, total: 0 })
})

test('without ca the default roots apply, and they do not include a private CA (parity)', async () => {
  const r = await outcome(tcp({ servername: 'localhost' }))
  assert.deepEqual(r.ours, r.pg)
  assert.equal(r.ours.value.ok, false)
})

/**
 * Runs, in a child process with NODE_EXTRA_CA_CERTS naming the server's CA, the same checks
 * for pg and this pool; returns { pg, ours } of { defaults, withOtherCa }.
 */
function withExtraCa() {
  const script = `
    const pg = require('pg')
    const { LeakDetectingPool } = require(${JSON.stringify(path.join(__dirname, '..'))})
    const cfg = JSON.parse(process.argv[1])
    const other = process.argv[2]
    async function run(make, ssl) {
      const pool = make({ ...cfg, ssl })
      try { return (await pool.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0].ssl }
      catch (e) { return e.message }
      finally { await pool.end() }
    }
    ;(async () => {
      const out = {}
      for (const [impl, make] of [['pg', (c) => new pg.Pool(c)], ['ours', (c) => new LeakDetectingPool(c)]]) {
        out[impl] = {
          defaults: await run(make, { servername: 'localhost' }),
          withOtherCa: await run(make, { servername: 'localhost', ca: other }),
        }
      }
      process.stdout.write(JSON.stringify(out))
    })()
  `
  const cfg = { host: '127.0.0.1', port: cluster.port, user: 'postgres', database: 'postgres', max: 1 }
  const r = spawnSync(process.execPath, ['-e', script, JSON.stringify(cfg), otherCa.certPem], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(dir, 'server-ca.pem') },
    encoding: 'utf8',
    timeout: 60000,
  })
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout)
}

test("NODE_EXTRA_CA_CERTS extends the default roots, and a given ca replaces them too, as in Node's TLS", () => {
  const r = withExtraCa()
  assert.equal(r.pg.defaults, true, `pg: ${r.pg.defaults}`)
  assert.equal(r.ours.defaults, true, `ours: ${r.ours.defaults}`)
  // A trusted-by-default chain is not accepted when ca names another CA.
  assert.match(String(r.pg.withOtherCa), /certificate/i)
  assert.match(String(r.ours.withOtherCa), /certificate|issuer/i)
})

test("libpq's verify-ca checks the chain without the host name; verify-full checks both (parity)", async () => {
  const root = path.join(dir, 'server-ca.pem')
  const other = path.join(dir, 'other-ca.pem')
  // The certificate names localhost; the connection goes to 127.0.0.1.
  const cases = [
    [`sslmode=verify-ca&uselibpqcompat=true&sslrootcert=${root}`, true],
    [`sslmode=require&uselibpqcompat=true&sslrootcert=${root}`, true],
    [`sslmode=verify-ca&uselibpqcompat=true&sslrootcert=${other}`, false],
    [`sslmode=verify-full&uselibpqcompat=true&sslrootcert=${root}`, false],
    [`sslmode=verify-full&sslrootcert=${root}`, false],
    [`sslmode=require&uselibpqcompat=true`, true],
    [`sslmode=no-verify`, true],
  ]
  for (const [params, ok] of cases) {
    const r = await outcome({ connectionString: url(params), max: 1 })
    assert.deepEqual(r.ours, r.pg, params)
    assert.equal(r.ours.value.ok, ok, params)
  }
})

test('minVersion and maxVersion bound the protocol version', async () => {
  for (const [ssl, version] of [
    [{ rejectUnauthorized: false, minVersion: 'TLSv1.3' }, 'TLSv1.3'],
    [{ rejectUnauthorized: false, maxVersion: 'TLSv1.2' }, 'TLSv1.2'],
  ]) {
    const pool = new LeakDetectingPool(tcp(ssl))
    try {
      assert.deepEqual((await pool.query(SSL_SQL)).rows[0], { ssl: true, version })
    } finally {
      await pool.end()
    }
  }
})

test('TLS options this client cannot honour are refused at construction, naming the option', () => {
  for (const [key, value] of [
    ['checkServerIdentity', () => undefined],
    ['secureContext', {}],
    ['pfx', Buffer.from('x')],
    ['ciphers', 'HIGH'],
    ['crl', 'x'],
  ]) {
    let err
    try {
      new LeakDetectingPool(tcp({ [key]: value }))
    } catch (e) {
      err = e
    }
    assert.ok(err, `${key} was accepted`)
    assert.equal(err.code, 'LDP_INVALID_OPTION', key)
    assert.equal(err.option, `ssl.${key}`)
    assert.match(err.message, new RegExp(`"ssl\\.${key}".*not supported`))
  }
  for (const [ssl, option] of [
    [{ maxVersion: 'TLSv1.1' }, 'ssl.maxVersion'],
    [{ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' }, 'ssl.minVersion'],
    [{ key: 'K', passphrase: 'secret' }, 'ssl.passphrase'],
  ]) {
    assert.throws(
      () => new LeakDetectingPool(tcp(ssl)),
      (e) => e.code === 'LDP_INVALID_OPTION' && e.option === option
    )
  }
})

test('a ca that is not PEM certificates is refused at construction, naming ssl.ca', () => {
  const garbage = ['not a certificate', ['not', 'certificates'], '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n']
  for (const ca of garbage) {
    for (const rejectUnauthorized of [true, false]) {
      assert.throws(
        () => new LeakDetectingPool(tcp({ ca, rejectUnauthorized })),
        (e) =>
          e instanceof RangeError &&
          e.code === 'LDP_INVALID_OPTION' &&
          e.option === 'ssl.ca' &&
          /^Invalid option "ssl\.ca": /.test(e.message)
      )
    }
  }
  // Certificates, one or several, are accepted (the first test connects with one).
  const pool = new LeakDetectingPool(tcp({ ca: [serverCa.certPem, otherCa.certPem] }))
  return pool.end()
})
