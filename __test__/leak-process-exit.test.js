'use strict'
// Leak events never keep the process alive: a child process with leak listeners, a checker
// running every 20 ms and reports flowing exits on its own after end() — and, with a leaked
// client and no end() at all, as soon as the pool reclaims it (a checked-out client keeps the
// process alive, as pg's does). (The child scripts hold a timer of their own while they wait
// for an event, since by design nothing of the pool keeps them alive.)

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('path')
const { spawn } = require('child_process')
const { findDatabase } = require('./helpers/db')

function runChild(body, timeoutMs) {
  return new Promise((resolve) => {
    const script = `
      const { LeakDetectingPool } = require(${JSON.stringify(path.join(__dirname, '..'))})
      const db = JSON.parse(process.env.LDP_CHILD_DB)
      ;(async () => { ${body} })().catch((e) => { console.error(e); process.exitCode = 3 })
    `
    const child = spawn(process.execPath, ['-e', script], { env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    const t0 = Date.now()
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, out, ms: Date.now() - t0 })
    })
  })
}

test('the process exits after end() with leak listeners and reports', async () => {
  process.env.LDP_CHILD_DB = JSON.stringify(await findDatabase())
  const r = await runChild(
    `
    const pool = new LeakDetectingPool({ ...db, max: 2, leakThresholdMs: 50, checkIntervalMs: 20, forceReleaseAfterMs: 150, endTimeoutMs: 200, metricsIntervalMs: 20 })
    let n = 0
    for (const e of ['leaksDetected', 'forceRelease', 'leakResolved']) pool.on(e, () => n++)
    const keep = setInterval(() => {}, 1000) // the script's own wait, cleared before the check
    const a = await pool.connect()
    const b = await pool.connect()
    await new Promise((r) => pool.once('forceRelease', r))
    await pool.end()
    clearInterval(keep)
    console.log('ended after', n, 'events')
  `,
    15000
  )
  assert.equal(r.signal, null, `child killed: did not exit on its own\n${r.out}`)
  assert.equal(r.code, 0, r.out)
  assert.match(r.out, /ended after [1-9]\d* events/)
})

test('a leaked client, once reclaimed, does not keep the process alive; nor do listeners and a running checker', async () => {
  process.env.LDP_CHILD_DB = JSON.stringify(await findDatabase())
  const r = await runChild(
    `
    const pool = new LeakDetectingPool({ ...db, max: 2, leakThresholdMs: 50, checkIntervalMs: 20, forceReleaseAfterMs: 300 })
    pool.on('leaksDetected', (e) => console.log('reported', e.count))
    const keep = setInterval(() => {}, 1000) // the script's own wait, cleared before the check
    globalThis.leaked = await pool.connect()
    await new Promise((r) => pool.once('leaksDetected', r))
    clearInterval(keep)
  `,
    15000
  )
  assert.equal(r.signal, null, `child killed: kept alive\n${r.out}`)
  assert.equal(r.code, 0, r.out)
  assert.match(r.out, /reported 1/)
  assert.ok(r.ms < 10000)
})
