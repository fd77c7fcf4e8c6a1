'use strict'
// Tests of the test-database helper itself (real servers only).
// Run: node --test __test__/helpers/db.test.js

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const readline = require('node:readline')
const { spawn } = require('node:child_process')
const pg = require('pg')

const db = require('./db')

const HELPER = path.join(__dirname, 'db.js')

/** Run a small script in a child Node process with a controlled environment. */
function runNode(script, envOverrides = {}, { onLine } = {}) {
  const env = { ...process.env }
  for (const k of Object.keys(env)) {
    if (/^PG/.test(k) || k === 'DATABASE_URL' || /^LDP_TEST_/.test(k)) delete env[k]
  }
  Object.assign(env, envOverrides)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
      if (onLine) for (const l of String(d).split('\n').filter(Boolean)) onLine(l, child)
    })
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return err.code === 'EPERM'
  }
  try {
    // an exited process waiting to be reaped (zombie) counts as gone
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true
  }
}

async function waitFor(cond, ms, what) {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function selectOne(config) {
  const client = new pg.Client(config)
  client.on('error', () => {})
  await client.connect()
  try {
    return (await client.query('SELECT 1 AS one')).rows[0].one
  } finally {
    await client.end().catch(() => {})
  }
}

test('findDatabase returns a working, cached config usable by pg.Pool', async () => {
  const cfg = await db.findDatabase()
  assert.equal(typeof cfg.connectionString, 'string')
  assert.equal(typeof cfg.host, 'string')
  assert.equal(typeof cfg.port, 'number')
  assert.equal(typeof cfg.user, 'string')
  assert.equal(typeof cfg.database, 'string')
  assert.match(cfg.describe, /\S/)
  assert.ok(!Object.keys(cfg).includes('describe'), 'describe is not enumerable')

  const pool = new pg.Pool({ ...cfg, max: 2 })
  try {
    assert.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1)
  } finally {
    await pool.end()
  }
  assert.equal(await selectOne({ connectionString: cfg.connectionString }), 1)

  const again = await db.findDatabase()
  assert.deepEqual(again, cfg)
  assert.notEqual(again, cfg, 'each call returns a fresh copy')
  assert.equal(again.describe, cfg.describe)
})

test('the generated certificate is self-signed for "localhost" only, not a CA', () => {
  const { selfSignedCertificate } = require('./cert')
  const { certPem, keyPem } = selfSignedCertificate('localhost')
  const cert = new crypto.X509Certificate(certPem)
  assert.equal(cert.subject, 'CN=localhost')
  assert.equal(cert.issuer, 'CN=localhost')
  assert.equal(cert.subjectAltName, 'DNS:localhost')
  assert.equal(cert.ca, false)
  assert.equal(cert.checkHost('localhost'), 'localhost')
  assert.equal(cert.checkIP('127.0.0.1'), undefined, 'verification by IP must fail, as with a distribution snakeoil certificate')
  assert.ok(cert.verify(cert.publicKey), 'signed by its own key')
  assert.ok(cert.checkPrivateKey(crypto.createPrivateKey(keyPem)))
  assert.ok(new Date(cert.validFrom) < new Date() && new Date() < new Date(cert.validTo))
  assert.notEqual(new crypto.X509Certificate(selfSignedCertificate().certPem).serialNumber, cert.serialNumber)
})

test('uniqueAppName is unique and fits in application_name', () => {
  const names = new Set()
  for (let i = 0; i < 100; i++) names.add(db.uniqueAppName('x'.repeat(80)))
  assert.equal(names.size, 100)
  for (const n of names) assert.ok(Buffer.byteLength(n) <= 63, n)
  assert.match(db.uniqueAppName('pool-test'), new RegExp(`^pool-test-${process.pid}-`))
})

test('killBackends kills only backends with the matching application_name', async () => {
  const cfg = await db.findDatabase()
  const target = db.uniqueAppName('kb-target')
  const other = db.uniqueAppName('kb-other')
  const open = async (appName) => {
    const c = new pg.Client({ ...cfg, application_name: appName })
    c.on('error', () => {})
    await c.connect()
    return c
  }
  const victims = [await open(target), await open(target)]
  const bystander = await open(other)
  try {
    assert.equal(await db.killBackends(cfg, target), 2)
    for (const v of victims) await assert.rejects(v.query('SELECT 1'))
    assert.equal((await bystander.query('SELECT 1 AS one')).rows[0].one, 1)
    assert.equal(await db.killBackends(cfg, target), 0)
    assert.equal(await db.killBackends(cfg, db.uniqueAppName('nobody')), 0)
  } finally {
    for (const c of [...victims, bystander]) await c.end().catch(() => {})
  }
})

test('findDatabase skips an unreachable DATABASE_URL (with a warning) and keeps looking', async () => {
  const script = `
    const db = require(${JSON.stringify(HELPER)});
    db.findDatabase().then((cfg) => console.log(JSON.stringify({ port: cfg.port, describe: cfg.describe })),
      (e) => { console.error(e); process.exit(1); });`
  const r = await runNode(script, { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nope', NODE_PATH: process.env.NODE_PATH || '' })
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stderr, /DATABASE_URL=postgres:\/\/postgres@127\.0\.0\.1:1\/nope did not answer/)
  const out = JSON.parse(r.stdout.trim().split('\n').pop())
  assert.notEqual(out.port, 1)
  assert.doesNotMatch(out.describe, /DATABASE_URL/)
})

test('findDatabase uses DATABASE_URL and LDP_TEST_DATABASE_URL when they work', async () => {
  const cfg = await db.findDatabase()
  const script = `
    const db = require(${JSON.stringify(HELPER)});
    db.findDatabase().then((cfg) => console.log(JSON.stringify({ ...cfg, describe: cfg.describe })),
      (e) => { console.error(e); process.exit(1); });`
  const env = { NODE_PATH: process.env.NODE_PATH || '' }
  let r = await runNode(script, { ...env, DATABASE_URL: cfg.connectionString })
  assert.equal(r.code, 0, r.stderr)
  let out = JSON.parse(r.stdout.trim().split('\n').pop())
  assert.match(out.describe, /^DATABASE_URL/)
  assert.equal(out.connectionString, cfg.connectionString)
  assert.equal(out.port, cfg.port)
  assert.equal(out.database, cfg.database)

  r = await runNode(script, { ...env, LDP_TEST_DATABASE_URL: cfg.connectionString, LDP_TEST_DATABASE_DESCRIBE: 'shared by setup' })
  assert.equal(r.code, 0, r.stderr)
  out = JSON.parse(r.stdout.trim().split('\n').pop())
  assert.equal(out.describe, 'shared by setup')
})

test('findDatabase fails with an actionable message when nothing is available', async () => {
  const script = `
    const db = require(${JSON.stringify(HELPER)});
    db.findDatabase().then(() => process.exit(3), (e) => { console.log(JSON.stringify(e.message)); });`
  const r = await runNode(script, {
    LDP_TEST_SKIP_DEFAULT: '1',
    LDP_TEST_NO_THROWAWAY: '1',
    NODE_PATH: process.env.NODE_PATH || '',
  })
  assert.equal(r.code, 0, r.stderr)
  const msg = JSON.parse(r.stdout.trim())
  assert.match(msg, /no PostgreSQL server is available/)
  assert.match(msg, /DATABASE_URL: not set/)
  assert.match(msg, /127\.0\.0\.1:5432: skipped/)
  assert.match(msg, /apt-get install postgresql/)
  assert.match(msg, /DATABASE_URL=postgres:\/\//)
})

// Each of these starts its own cluster(s); run them side by side to keep the file fast.
describe('throwaway clusters', { concurrency: true }, () => {
  test('throwaway cluster: settings, password user, restart, stopServer/startServer, stop removes the dir', async () => {
    const cluster = await db.startThrowawayCluster({
      settings: { max_connections: 7, ssl: 'off' },
      passwordUser: { name: 'alice', password: 's3cret', method: 'scram-sha-256' },
    })
    let stopped = false
    try {
      assert.equal(cluster.host, '127.0.0.1')
      assert.notEqual(cluster.port, 5432)
      assert.ok(fs.existsSync(cluster.dataDir))
      if (process.getuid && process.getuid() === 0) {
        assert.notEqual(fs.statSync(cluster.dataDir).uid, 0, 'cluster must not be owned/run by root')
      }
      assert.equal(await selectOne(cluster.config()), 1)
      assert.equal(await selectOne({ connectionString: cluster.connectionString }), 1)

      const admin = new pg.Client(cluster.config())
      admin.on('error', () => {})
      await admin.connect()
      assert.equal((await admin.query('SHOW max_connections')).rows[0].max_connections, '7')
      const before = (await admin.query('SELECT pg_postmaster_start_time() AS t')).rows[0].t

      // password auth is enforced for the password user
      assert.equal(await selectOne(cluster.config({ user: 'alice', password: 's3cret' })), 1)
      await assert.rejects(selectOne(cluster.config({ user: 'alice', password: 'wrong' })), (e) => e.code === '28P01')

      // restart: same port, new postmaster, old connections are gone
      await cluster.restart()
      await assert.rejects(admin.query('SELECT 1'))
      await admin.end().catch(() => {})
      const c2 = new pg.Client(cluster.config())
      await c2.connect()
      const after = (await c2.query('SELECT pg_postmaster_start_time() AS t')).rows[0].t
      await c2.end()
      assert.ok(after > before, 'server was restarted')

      // down, then up again
      await cluster.stopServer()
      assert.equal(cluster.isRunning(), false)
      await assert.rejects(selectOne(cluster.config()), (e) => e.code === 'ECONNREFUSED')
      await cluster.startServer()
      assert.equal(await selectOne(cluster.config()), 1)

      // pg_ctl works as the cluster's OS user
      const st = await cluster.pgCtl(['status'])
      assert.equal(st.code, 0, st.stdout + st.stderr)

      await cluster.stop()
      stopped = true
      assert.equal(fs.existsSync(cluster.baseDir), false, 'stop() removes the directory')
      await assert.rejects(selectOne(cluster.config()))
      await cluster.stop() // idempotent
    } finally {
      if (!stopped) await cluster.stop()
    }
  })

  test('throwaway cluster: md5 password user and custom hba lines', async () => {
    const cluster = await db.startThrowawayCluster({
      passwordUser: { name: 'bob', password: 'pw', method: 'md5' },
      hba: ['host all all 127.0.0.1/32 reject'],
    })
    try {
      assert.equal(await selectOne(cluster.config({ user: 'bob', password: 'pw' })), 1)
      // everything else over TCP is rejected by the custom hba line
      await assert.rejects(selectOne(cluster.config()), (e) => e.code === '28000')
      // the helper can still administer it through the unix socket; the password is stored as md5
      const admin = new pg.Client(cluster.config({ host: cluster.socketDir }))
      await admin.connect()
      const r = await admin.query("SELECT substr(rolpassword, 1, 3) AS p FROM pg_authid WHERE rolname = 'bob'")
      await admin.end()
      assert.equal(r.rows[0].p, 'md5')
    } finally {
      await cluster.stop()
    }
  })

  test('scripts/cluster.js drives a cluster over stdio (for the Rust tests) and removes it at end of input', async () => {
    const child = spawn(process.execPath, [path.join(__dirname, '..', '..', 'scripts', 'cluster.js'), JSON.stringify({ tls: true })], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]()
    const next = async () => JSON.parse((await lines.next()).value)
    const exited = new Promise((resolve) => child.on('exit', resolve))
    try {
      const ready = await next()
      assert.equal(ready.ok, true, JSON.stringify(ready))
      const cfg = { host: ready.host, port: ready.port, user: ready.user, database: ready.database }
      const c = new pg.Client(cfg)
      await c.connect()
      const { rows } = await c.query("SELECT current_setting('ssl') AS s")
      await c.end()
      assert.equal(rows[0].s, 'on')
      child.stdin.write('stopServer\n')
      assert.deepEqual(await next(), { ok: true })
      await assert.rejects(selectOne(cfg), (e) => e.code === 'ECONNREFUSED')
      child.stdin.write('startServer\n')
      assert.deepEqual(await next(), { ok: true })
      assert.equal(await selectOne(cfg), 1)
      child.stdin.write('nonsense\n')
      assert.match((await next()).error, /unknown command "nonsense"/)
      assert.ok(fs.existsSync(ready.dataDir))
      child.stdin.end()
      assert.equal(await exited, 0)
      assert.equal(fs.existsSync(ready.dataDir), false, 'end of input removes the cluster')
    } finally {
      child.kill()
    }
  })

  test("findTlsDatabase starts a TLS cluster when the run's server has TLS off, and reuses a TLS one", async () => {
    const plainCluster = await db.startThrowawayCluster({ settings: { ssl: 'off' } })
    try {
      const script = `
        const db = require(${JSON.stringify(HELPER)});
        const pg = require('pg');
        (async () => {
          const cfg = await db.findTlsDatabase();
          const c = new pg.Client(cfg); await c.connect();
          const { rows } = await c.query("SELECT current_setting('ssl') AS ssl");
          await c.end();
          console.log(JSON.stringify({ port: cfg.port, ssl: rows[0].ssl, describe: cfg.describe }));
        })().catch((e) => { console.error(e); process.exit(1); });`
      const env = { NODE_PATH: process.env.NODE_PATH || '' }
      let r = await runNode(script, { ...env, LDP_TEST_DATABASE_URL: plainCluster.connectionString })
      assert.equal(r.code, 0, r.stderr)
      let out = JSON.parse(r.stdout.trim().split('\n').pop())
      assert.equal(out.ssl, 'on')
      assert.notEqual(out.port, plainCluster.port)
      assert.match(out.describe, /has ssl = off/)

      const cfg = await db.findTlsDatabase() // this run's: TLS on one way or the other
      r = await runNode(script, { ...env, LDP_TEST_DATABASE_URL: cfg.connectionString })
      assert.equal(r.code, 0, r.stderr)
      out = JSON.parse(r.stdout.trim().split('\n').pop())
      assert.deepEqual([out.ssl, out.port], ['on', cfg.port])
    } finally {
      await plainCluster.stop()
    }
  })

  test('findDatabase falls back to a throwaway cluster when 127.0.0.1:5432 is skipped; it is removed at exit', async () => {
    const script = `
      const db = require(${JSON.stringify(HELPER)});
      const pg = require('pg');
      (async () => {
        const cfg = await db.findDatabase();
        const c = new pg.Client(cfg); await c.connect();
        const { rows } = await c.query("SELECT current_setting('data_directory') AS d, current_setting('ssl') AS ssl, 1 AS one");
        await c.end();
        console.log(JSON.stringify({ ...cfg, describe: cfg.describe, dataDir: rows[0].d, ssl: rows[0].ssl, one: rows[0].one }));
      })().catch((e) => { console.error(e); process.exit(1); });`
    const r = await runNode(script, { LDP_TEST_SKIP_DEFAULT: '1', NODE_PATH: process.env.NODE_PATH || '' })
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout.trim().split('\n').pop())
    assert.equal(out.one, 1)
    assert.equal(out.host, '127.0.0.1')
    assert.notEqual(out.port, 5432)
    assert.match(out.describe, /throwaway cluster/)
    assert.equal(out.ssl, 'on', 'the run-wide throwaway cluster has TLS on (the TLS tests need it)')
    assert.equal(fs.existsSync(out.dataDir), false, 'exit handler removed the cluster directory')
  })

  test('a killed test process does not leave its throwaway server running', { skip: process.platform !== 'linux' }, async () => {
    // opts: the SIGKILLed child runs initdb directly, so it leaves no initdb template behind
    const script = (opts) => `
      const db = require(${JSON.stringify(HELPER)});
      const fs = require('fs');
      db.startThrowawayCluster(${JSON.stringify(opts)}).then((c) => {
        const pid = Number(fs.readFileSync(c.dataDir + '/postmaster.pid', 'utf8').split('\\n')[0]);
        console.log(JSON.stringify({ pid, baseDir: c.baseDir }));
        setInterval(() => {}, 1000);
      }, (e) => { console.error(e); process.exit(1); });`
    let info
    const r = await runNode(
      script({ initdbArgs: ['-k'] }),
      { NODE_PATH: process.env.NODE_PATH || '' },
      {
        onLine(line, child) {
          info = JSON.parse(line)
          child.kill('SIGKILL') // no exit handlers run
        },
      }
    )
    assert.equal(r.signal, 'SIGKILL', r.stderr)
    assert.ok(info, r.stderr)
    try {
      // parent-death signal (setpriv --pdeathsig) makes the postmaster shut down
      await waitFor(() => !pidAlive(info.pid), 10000, `postmaster ${info.pid} to exit`)
    } finally {
      if (pidAlive(info.pid)) process.kill(info.pid, 'SIGQUIT')
      fs.rmSync(info.baseDir, { recursive: true, force: true })
    }

    // ...and a normal SIGTERM runs the cleanup, removing the directory too
    let info2
    const r2 = await runNode(
      script({}),
      { NODE_PATH: process.env.NODE_PATH || '' },
      {
        onLine(line, child) {
          info2 = JSON.parse(line)
          child.kill('SIGTERM')
        },
      }
    )
    assert.equal(r2.signal, 'SIGTERM', r2.stderr)
    await waitFor(() => !pidAlive(info2.pid), 10000, `postmaster ${info2.pid} to exit`)
    assert.equal(fs.existsSync(info2.baseDir), false)
  })
})
