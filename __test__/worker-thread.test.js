'use strict'
// Pools inside worker threads. Sockets are read from libuv poll handles on the thread that
// created the pool; when a worker ends — after end(), or abruptly with idle connections still
// open — those handles must be closed with it, or Node aborts the whole process when it
// closes the worker's loop. Each case runs in a child process so that an abort fails the test
// instead of the runner.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { dbConfig } = require('./helpers/parity')

const ROOT = path.join(__dirname, '..')

/** Runs a worker whose body uses `pool`; resolves to the child's { code, signal, out }. */
async function inWorker(body) {
  const cfg = await dbConfig()
  const script = `
    'use strict'
    const { Worker } = require('node:worker_threads')
    const src = ${JSON.stringify(`
      const { parentPort } = require('node:worker_threads')
      const { LeakDetectingPool } = require(${JSON.stringify(ROOT)})
      const pool = new LeakDetectingPool({ ...JSON.parse(process.env.LDP_CHILD_CFG), max: 3 })
      ;(async () => { ${body} })().catch((e) => { parentPort.postMessage('failed: ' + e.message); process.exit(3) })
    `)}
    const w = new Worker(src, { eval: true })
    w.on('message', (m) => console.log('message', JSON.stringify(m)))
    w.on('error', (e) => console.log('error', e.message))
    w.on('exit', (code) => {
      console.log('worker exit', code)
      // The main thread keeps working after the worker is gone.
      setTimeout(() => console.log('main alive'), 50)
    })
  `
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      cwd: ROOT,
      env: { ...process.env, LDP_CHILD_CFG: JSON.stringify(cfg) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 15000)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, out })
    })
  })
}

test('a worker that ends its pool exits cleanly', async () => {
  const r = await inWorker(`
    const rows = await Promise.all([1, 2, 3].map((i) => pool.query('SELECT $1::int AS x', [i])))
    parentPort.postMessage(rows.map((res) => res.rows[0].x))
    await pool.end()
  `)
  assert.equal(r.signal, null, r.out)
  assert.equal(r.code, 0, r.out)
  assert.match(r.out, /message \[1,2,3\]/)
  assert.match(r.out, /worker exit 0/)
  assert.match(r.out, /main alive/)
})

test('a worker that exits with idle connections open does not take the process down', async () => {
  const r = await inWorker(`
    const c = await pool.connect()
    await c.query('SELECT 1')
    c.release()
    await Promise.all([1, 2, 3].map(() => pool.query('SELECT pg_sleep(0.01)')))
    parentPort.postMessage(pool.idleCount)
    process.exit(0)
  `)
  assert.equal(r.signal, null, r.out)
  assert.equal(r.code, 0, r.out)
  assert.match(r.out, /message [1-3]/)
  assert.match(r.out, /worker exit 0/)
  assert.match(r.out, /main alive/)
})

test('with allowExitOnIdle, a worker whose loop runs dry exits with an idle connection open', async () => {
  const r = await inWorker(`
    const again = new LeakDetectingPool({ ...JSON.parse(process.env.LDP_CHILD_CFG), max: 2, allowExitOnIdle: true })
    const res = await again.query('SELECT 7 AS n')
    parentPort.postMessage(res.rows[0].n)
    await pool.end()
  `)
  assert.equal(r.signal, null, r.out)
  assert.equal(r.code, 0, r.out)
  assert.match(r.out, /message 7/)
  assert.match(r.out, /worker exit 0/)
})
