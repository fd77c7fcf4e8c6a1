'use strict'
// leakThresholdMs: 0 turns leak reports and stack capture off; checkouts are still tracked
// (getPoolStatus, exhaustion errors) and forceReleaseAfterMs still works on its own.
// Infinity means the same ("never reported by age"). A stack is captured exactly for a
// checkout that can be reported by age: a per-checkout threshold turns it back on.

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, collect, waitUntil, sleep } = require('./helpers/leak')

function countStackCaptures(fn) {
  const orig = Error.captureStackTrace
  let n = 0
  Error.captureStackTrace = function (...args) {
    n++
    return orig.apply(this, args)
  }
  return Promise.resolve()
    .then(fn)
    .finally(() => {
      Error.captureStackTrace = orig
    })
    .then((v) => ({ n, v }))
}

test('no stacks are captured at connect() when leakThresholdMs is 0', async (t) => {
  const on = await makePool({ max: 2, leakThresholdMs: 30000 }, t)
  const off = await makePool({ max: 2, leakThresholdMs: 0 }, t)
  // Warm up both pools (connection setup is not what we measure).
  for (const p of [on, off]) (await p.connect()).release()
  const withStacks = await countStackCaptures(async () => {
    const c = await on.connect()
    c.release()
  })
  const without = await countStackCaptures(async () => {
    const c = await off.connect()
    c.release()
  })
  assert.ok(withStacks.n >= 1, 'control: the default pool captures a stack per connect()')
  assert.equal(without.n, 0, 'leakThresholdMs 0 must not capture stacks')
})

test('no reports, but checkouts are listed, counted in exhaustion errors and force-released', async (t) => {
  const pool = await makePool(
    { max: 2, leakThresholdMs: 0, checkIntervalMs: 20, connectionTimeoutMillis: 400, forceReleaseAfterMs: 2000 },
    t
  )
  const reports = collect(pool, 'leaksDetected')
  const forced = collect(pool, 'forceRelease')
  const a = await pool.connect()
  const b = await pool.connect()
  await a.query('SELECT 1')
  await sleep(300)
  const status = pool.getPoolStatus()
  assert.equal(status.active, 2)
  assert.equal(status.activeConnections.length, 2)
  for (const row of status.activeConnections) {
    assert.ok(row.heldMs >= 250, `heldMs ${row.heldMs}`)
    assert.equal(row.isPotentialLeak, false)
    assert.equal(row.location, 'unknown')
  }
  await assert.rejects(pool.connect(), (err) => {
    assert.match(err.message, /timeout exceeded when trying to connect \(2\/2 in use: 2 held by unknown/)
    assert.equal(err.holders[0].count, 2)
    return true
  })
  await waitUntil(() => forced.length === 2, 6000, 'forced releases')
  assert.equal(reports.length, 0, 'no leaksDetected with leakThresholdMs 0')
  assert.equal(forced[0].stack, undefined)
  assert.equal(pool.getAlerts().filter((x) => x.type === 'leak').length, 0)
  assert.equal(pool.totalCount, 0)
  a.release()
  b.release()
})

test('leakThresholdMs Infinity captures no stacks either', async (t) => {
  const never = await makePool({ max: 2, leakThresholdMs: Infinity }, t)
  ;(await never.connect()).release()
  const counted = await countStackCaptures(async () => {
    for (let i = 0; i < 3; i++) (await never.connect()).release()
  })
  assert.equal(counted.n, 0, 'no report can ever need these stacks')
  // The view the core resolved is what JS reads: Infinity is "off", like 0.
  assert.equal(never.options.leakThresholdMs, Infinity, 'pool.options keeps what the user passed')
})

test('a per-checkout threshold on a pool with reports off captures the stack its report needs', async (t) => {
  const pool = await makePool({ max: 2, leakThresholdMs: 0, checkIntervalMs: 10 }, t)
  const reports = collect(pool, 'leaksDetected')
  async function takesOnPurpose() {
    return pool.connect({ leakThresholdMs: 30 })
  }
  const c = await takesOnPurpose()
  await waitUntil(() => reports.length === 1, 3000, 'the report of the checkout with its own threshold')
  const leak = reports[0].leaks[0]
  assert.equal(leak.id, c._checkoutId)
  assert.match(leak.location, /takesOnPurpose/)
  assert.match(leak.stack, /takesOnPurpose/)
  c.release()
  const exempt = await countStackCaptures(async () => {
    ;(await pool.connect({ leakThresholdMs: Infinity })).release()
    ;(await pool.connect({ leakThresholdMs: 0 })).release()
  })
  assert.equal(exempt.n, 0, 'a checkout that can never be reported gets no stack')
})
