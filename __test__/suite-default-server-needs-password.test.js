'use strict'
// The suite passes on a machine whose default server refuses passwordless logins: discovery
// skips that server, starts a throwaway cluster with TLS on, and hands it to both halves of
// the suite — a representative subset (the TLS tests, query parity, transactions, and a Rust
// integration test) runs green against it.
//
// The shared server is never reconfigured: the "default server" here is a throwaway cluster
// that requires scram-sha-256 over TCP, which discovery is pointed at with
// LDP_TEST_DEFAULT_SERVER. With no password in the environment, the Rust tests fall back to
// that same refusing server unless the handed-down database reaches them, so their passing
// proves the hand-off.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { startThrowawayCluster, probe } = require('./helpers/db')

const root = path.join(__dirname, '..')

/** Runs scripts/test.js with `args` and a controlled environment; resolves { code, stdout, stderr }. */
function runSuite(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'scripts', 'test.js'), ...args], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

test(
  'with a default server that wants a password, discovery falls back to a TLS throwaway cluster and the suite passes on it',
  { timeout: 300000 },
  async () => {
    const strict = await startThrowawayCluster({
      hba: ['host all all 127.0.0.1/32 scram-sha-256', 'host all all ::1/128 scram-sha-256'],
    })
    try {
      // The role has a password the run does not know (administered through the unix socket).
      const admin = new (require('pg').Client)(strict.config({ host: strict.socketDir }))
      await admin.connect()
      await admin.query("ALTER ROLE postgres PASSWORD 'not-known-to-the-tests'")
      await admin.end()
      const refused = await probe(strict.config())
      assert.ok(refused, 'premise: the default server refuses a passwordless login over TCP')
      assert.match(refused.message, /password/i)

      // Nothing names a server and discovery runs every step; where the server binaries are and
      // who runs them (LDP_TEST_PG_BINDIR, LDP_TEST_PG_OS_USER, LDP_TEST_TMPDIR) is kept.
      const discoveryKnobs = /^LDP_TEST_(DATABASE_URL|DATABASE_DESCRIBE|SKIP_DEFAULT|NO_THROWAWAY|DEFAULT_SERVER)$/
      const env = {}
      for (const [k, v] of Object.entries(process.env)) {
        if (/^PG/.test(k) || k === 'DATABASE_URL' || discoveryKnobs.test(k)) continue
        env[k] = v
      }
      env.LDP_TEST_DEFAULT_SERVER = `127.0.0.1:${strict.port}`

      const files = ['tls.test.js', 'parity-queries.test.js', 'transactions.test.js'].map((f) => path.join('__test__', f))
      const r = await runSuite(['--no-build', '--rust=pool_basic', ...files], env)
      const output = `${r.stdout}\n${r.stderr}`
      assert.equal(r.code, 0, output.slice(-4000))

      // discovery tried the default server, was refused, and started a TLS cluster of its own
      assert.match(
        r.stderr,
        new RegExp(`tried default server 127\\.0\\.0\\.1:${strict.port} .*as postgres, database test: .*password`, 'i')
      )
      const m = /tests: database throwaway cluster at 127\.0\.0\.1:(\d+), TLS on/.exec(r.stderr)
      assert.ok(m, r.stderr)
      assert.notEqual(Number(m[1]), strict.port)

      // both halves ran against it, with tests that could fail
      const rust = /test result: ok\. (\d+) passed; 0 failed/.exec(r.stdout)
      assert.ok(rust && Number(rust[1]) > 0, r.stdout.slice(-2000))
      assert.match(r.stdout, /^ok \d+ - ssl: \{ ca \} trusts the server certificate/m)
      assert.match(r.stdout, /^# fail 0$/m)
      const pass = /^# pass (\d+)$/m.exec(r.stdout)
      assert.ok(pass && Number(pass[1]) >= 20, r.stdout.slice(-2000))
    } finally {
      await strict.stop()
    }
  }
)
