'use strict'
// Parity: a checked-out client keeps the Node process alive, as pg's does (its socket is
// ref'd). A worker that takes a client, runs `LISTEN` and waits for notifications must stay up
// and receive them — with pg.Pool and with ours — even with allowExitOnIdle, which lets only
// idle clients go. Each case runs in a child process; the parent sends the NOTIFY.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const pg = require('pg')
const { spawn } = require('node:child_process')
const { dbConfig } = require('./helpers/parity')

const ROOT = path.join(__dirname, '..')

function listener(impl, channel, options) {
  return `
    'use strict'
    const Pool = ${impl === 'pg' ? "require('pg').Pool" : `require(${JSON.stringify(ROOT)}).LeakDetectingPool`}
    const cfg = { ...JSON.parse(process.env.LDP_CHILD_CFG), ...${JSON.stringify(options)} }
    ;(async () => {
      const pool = new Pool(cfg)
      const client = await pool.connect()
      client.on('notification', async (n) => {
        process.stdout.write('got ' + n.payload + '\\n')
        client.release()
        await pool.end()
      })
      await client.query('LISTEN ${channel}')
      process.stdout.write('listening\\n')
    })().catch((err) => { process.exitCode = 7; process.stderr.write(String(err.stack)) })
  `
}

/** Runs the listener; once it listens, waits `delayMs` and notifies. Resolves with its output. */
async function runListener(impl, options, delayMs = 300) {
  const cfg = await dbConfig()
  const channel = `ldp_keepalive_${impl}_${process.pid}_${Date.now() % 100000}`
  const child = spawn(process.execPath, ['-e', listener(impl, channel, options)], {
    cwd: ROOT,
    env: { ...process.env, LDP_CHILD_CFG: JSON.stringify(cfg) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let exitedEarly = false
  const t0 = Date.now()
  const done = new Promise((resolve) => child.on('close', (code) => resolve(code)))
  const kill = setTimeout(() => child.kill('SIGKILL'), 10000)
  child.stderr.on('data', (d) => (stderr += d))
  await new Promise((resolve) => {
    child.stdout.on('data', (d) => {
      stdout += d
      if (stdout.includes('listening')) resolve()
    })
    done.then(resolve)
  })
  await new Promise((resolve) => setTimeout(resolve, delayMs))
  if (child.exitCode !== null) exitedEarly = true
  const notifier = new pg.Client(cfg)
  await notifier.connect()
  await notifier.query(`NOTIFY ${channel}, 'job-1'`)
  await notifier.end()
  const code = await done
  clearTimeout(kill)
  return { code, stdout, stderr, exitedEarly, ms: Date.now() - t0 }
}

for (const options of [{}, { allowExitOnIdle: true }]) {
  test(`a checked-out LISTEN client keeps the process alive and receives the notification ${JSON.stringify(options)} (parity)`, async () => {
    const out = {}
    for (const impl of ['pg', 'ours']) {
      const r = await runListener(impl, options)
      out[impl] = { code: r.code, stdout: r.stdout, stderr: r.stderr, exitedEarly: r.exitedEarly }
    }
    assert.deepStrictEqual(out.ours, out.pg)
    assert.deepStrictEqual(out.ours, { code: 0, stdout: 'listening\ngot job-1\n', stderr: '', exitedEarly: false })
  })
}
