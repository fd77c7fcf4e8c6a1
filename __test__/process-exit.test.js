'use strict'
// The Node process exits on its own: after end(); with allowExitOnIdle: true after queries
// without end(); after the idle timeout closed the last idle client. Like pg.Pool, idle clients
// keep it alive when allowExitOnIdle is false. The library never writes to stdout/stderr and
// never emits process warnings. Each case runs in a child process with a timeout.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { dbConfig } = require('./helpers/parity')

const ROOT = path.join(__dirname, '..')

/**
 * Runs `body` (an async function body using `Pool` and `cfg`) in a child process. Resolves to
 * { code, signal, stdout, stderr, ms, killed } — killed when it was still alive after `aliveMs`,
 * or `thenMs` after it printed `untilOutput`.
 */
async function runChild(impl, body, { aliveMs = 9000, untilOutput, thenMs } = {}) {
  const cfg = await dbConfig()
  const script = `
    'use strict'
    const warnings = []
    process.on('warning', (w) => warnings.push(w))
    process.on('exit', () => { if (warnings.length) process.exitCode = 42 })
    const Pool = ${impl === 'pg' ? "require('pg').Pool" : `require(${JSON.stringify(ROOT)}).LeakDetectingPool`}
    const cfg = JSON.parse(process.env.LDP_CHILD_CFG)
    ;(async () => { ${body} })().catch((err) => { process.exitCode = 7; require('fs').writeSync(2, 'child failed: ' + err.stack) })
  `
  return new Promise((resolve, reject) => {
    const t0 = Date.now()
    const child = spawn(process.execPath, ['-e', script], {
      cwd: ROOT,
      env: { ...process.env, LDP_CHILD_CFG: JSON.stringify(cfg) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let killed = false
    child.stdout.on('data', (d) => {
      stdout += d
      if (untilOutput && stdout.includes(untilOutput)) {
        untilOutput = null
        clearTimeout(timer)
        timer = setTimeout(() => {
          killed = true
          child.kill('SIGKILL')
        }, thenMs)
      }
    })
    child.stderr.on('data', (d) => (stderr += d))
    let timer = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, aliveMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0, killed })
    })
  })
}

function assertExitedCleanly(r, label) {
  assert.equal(r.killed, false, `${label}: still alive after the timeout`)
  assert.equal(r.stderr, '', `${label}: wrote to stderr`)
  assert.equal(r.stdout, '', `${label}: wrote to stdout`)
  assert.equal(r.code, 0, `${label}: exit code ${r.code}`)
}

const WORK = `
  const pool = new Pool(cfg)
  await pool.query('SELECT 1')
  await pool.query('SELECT $1::int', [1])
  await pool.query('SELEC 1').catch(() => {})
  const c = await pool.connect()
  await c.query('SELECT pg_sleep(0.01)')
  c.release()
  await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 2'), pool.query('SELECT 3')])
`

for (const impl of ['pg', 'ours']) {
  test(`${impl}: the process exits on its own after end()`, async () => {
    const r = await runChild(impl, `${WORK}\n await pool.end()`)
    assertExitedCleanly(r, impl)
  })

  test(`${impl}: allowExitOnIdle: true — exits after queries without end()`, async () => {
    const r = await runChild(impl, WORK.replace('new Pool(cfg)', 'new Pool({ ...cfg, allowExitOnIdle: true })'))
    // alive at most aliveMs (9 s): before the default idle timeout (10 s) would have let it go
    assertExitedCleanly(r, impl)
  })

  test(`${impl}: idle clients keep the process alive when allowExitOnIdle is false`, async () => {
    const r = await runChild(
      impl,
      `${WORK.replace('new Pool(cfg)', 'new Pool({ ...cfg, idleTimeoutMillis: 0 })')}\n require('fs').writeSync(1, 'ready')`,
      { aliveMs: 20000, untilOutput: 'ready', thenMs: 700 }
    )
    assert.equal(r.stdout, 'ready')
    assert.equal(r.killed, true, `${impl}: exited although idle clients remained (code ${r.code}, ${r.stderr})`)
  })

  test(`${impl}: exits once the idle timeout closed the last idle client`, async () => {
    const r = await runChild(impl, WORK.replace('new Pool(cfg)', 'new Pool({ ...cfg, idleTimeoutMillis: 150 })'))
    assertExitedCleanly(r, impl)
  })

  test(`${impl}: a pool that was never used does not keep the process alive`, async () => {
    const r = await runChild(impl, `const pool = new Pool(cfg)`)
    assertExitedCleanly(r, impl)
  })
}

test('ours: silent on stdout/stderr, no warnings, exits after end() — leak detection, metrics, errors, hooks all active', async () => {
  const r = await runChild(
    'ours',
    `
    const pool = new Pool({ ...cfg, max: 2, leakThresholdMs: 30, checkIntervalMs: 10, metricsIntervalMs: 20, forceReleaseAfterMs: 120, connectionTimeoutMillis: 300, onConnect: async () => {}, verify: (c, cb) => cb() })
    const events = []
    for (const e of ['leaksDetected', 'forceRelease', 'leakResolved', 'error', 'remove']) pool.on(e, () => events.push(e))
    const held = await pool.connect()
    const leaked = await pool.connect()
    await pool.connect().catch(() => {}) // waits: an exhaustion error, or a slot freed by a forced release
    await new Promise((r) => setTimeout(r, 60))
    held.release()
    await new Promise((r) => setTimeout(r, 200)) // 'leaked' is reclaimed by forceReleaseAfterMs
    leaked.release() // no-op after a forced release
    await pool.query('SELEC 1').catch(() => {})
    pool.getMetrics(); pool.metricsText(); pool.getPoolStatus(); pool.getAlerts(); pool.getLeakReport()
    await pool.end()
    if (!events.includes('leaksDetected') || !events.includes('forceRelease')) { process.exitCode = 9 }
  `
  )
  assertExitedCleanly(r, 'ours')
})

test('ours: end() with a client still checked out destroys it after endTimeoutMs, then the process exits', async () => {
  const r = await runChild(
    'ours',
    `
    const pool = new Pool({ ...cfg, endTimeoutMs: 100 })
    const c = await pool.connect()
    const q = c.query('SELECT pg_sleep(30)').catch(() => {})
    await pool.end()
  `
  )
  assertExitedCleanly(r, 'ours') // the query sleeps 30 s: it was destroyed, not waited for
})
