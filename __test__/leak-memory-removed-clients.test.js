'use strict'
// Memory does not grow with connection churn: once a connection's removal has finished, the
// pool keeps nothing of its client object, so a client the application let go of is garbage
// collected (the soak found ~1 KB kept per destroyed connection: the finalization registry's
// record of the client held the client itself). Needs --expose-gc (npm test passes it).

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, waitUntil, sleep } = require('./helpers/leak')

async function collected(ref, what) {
  for (let i = 0; i < 100; i++) {
    // deref() keeps its target alive until the current job ends: collect in a later one.
    await sleep(10)
    global.gc()
    await sleep(0)
    if (ref.deref() === undefined) return
  }
  assert.fail(`${what} is still reachable after its connection was removed`)
}

test(
  'a client whose connection was destroyed by release(true) is garbage-collected once removed',
  { skip: !global.gc && 'needs --expose-gc' },
  async (t) => {
    const pool = await makePool({ max: 2 }, t)
    const removed = []
    pool.on('remove', () => removed.push(1))
    // In a function of its own, so that no frame of this test keeps the client.
    const ref = await (async () => {
      const c = await pool.connect()
      c.release(true)
      return new WeakRef(c)
    })()
    await waitUntil(() => removed.length === 1, 3000, 'the removal')
    await collected(ref, 'the destroyed client')
  }
)

test(
  'a client whose idle connection was closed (idleTimeoutMillis) is garbage-collected',
  { skip: !global.gc && 'needs --expose-gc' },
  async (t) => {
    const pool = await makePool({ max: 2, idleTimeoutMillis: 50 }, t)
    const ref = await (async () => {
      const c = await pool.connect()
      c.release()
      return new WeakRef(c)
    })()
    await waitUntil(() => pool.totalCount === 0, 3000, 'the idle timeout')
    await collected(ref, 'the idle-closed client')
  }
)

test('connection churn keeps the heap flat', { skip: !global.gc && 'needs --expose-gc' }, async (t) => {
  const pool = await makePool({ max: 4 }, t)
  const churn = async (n) => {
    for (let i = 0; i < n; i++) {
      const c = await pool.connect()
      c.release(true)
    }
  }
  await churn(100)
  global.gc()
  const before = process.memoryUsage().heapUsed
  await churn(600)
  await waitUntil(() => pool.totalCount === 0, 3000, 'the removals')
  await sleep(50)
  global.gc()
  const grown = process.memoryUsage().heapUsed - before
  assert.ok(grown < 256 * 1024, `the heap grew ${Math.round(grown / 1024)} KB over 600 destroyed connections`)
})
