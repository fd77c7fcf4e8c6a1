'use strict'
// getMemoryUsage(): every internal collection with its size and capacity; sizes never exceed
// capacities, whatever the traffic; the metrics history is bounded by metricsHistorySize.

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, sleep } = require('./helpers/leak')

function checkBounded(mem) {
  for (const [name, { size, capacity }] of Object.entries(mem)) {
    assert.equal(typeof size, 'number', name)
    assert.ok(typeof capacity === 'number' && capacity >= 0, `${name}: capacity ${capacity}`)
    assert.ok(size <= capacity, `${name}: size ${size} > capacity ${capacity}`)
  }
}

test('sizes stay within capacities under load', async (t) => {
  const pool = await makePool(
    {
      max: 3,
      maxWaiting: 50,
      leakThresholdMs: 5,
      checkIntervalMs: 5,
      alertBufferSize: 7,
      metricsHistorySize: 4,
      metricsIntervalMs: 20,
    },
    t
  )
  const mem0 = pool.getMemoryUsage()
  for (const k of [
    'alerts',
    'leakSites',
    'recentReleases',
    'checkoutStacks',
    'clients',
    'idle',
    'waiters',
    'checkoutRegistry',
    'removing',
    'cleaning',
    'history',
    'acquireWaitSamples',
    'holdTimeSamples',
    'creationSamples',
  ]) {
    assert.ok(k in mem0, `getMemoryUsage() lacks ${k}: ${Object.keys(mem0)}`)
  }
  assert.equal(mem0.alerts.capacity, 7)
  assert.equal(mem0.history.capacity, 4)
  assert.equal(mem0.waiters.capacity, 50)
  assert.equal(mem0.idle.capacity, 3)
  checkBounded(mem0)

  let maxWaiters = 0
  const work = []
  for (let i = 0; i < 40; i++) {
    work.push(
      (async () => {
        for (let j = 0; j < 15; j++) {
          const c = await pool.connect()
          await c.query('SELECT 1')
          if (j % 5 === 0) await sleep(8)
          c.release()
          await pool.query('SELECT 2')
        }
      })()
    )
  }
  const sampler = setInterval(() => {
    const m = pool.getMemoryUsage()
    maxWaiters = Math.max(maxWaiters, m.waiters.size)
    checkBounded(m)
  }, 5)
  await Promise.all(work)
  clearInterval(sampler)
  await sleep(120)
  const mem = pool.getMemoryUsage()
  checkBounded(mem)
  assert.ok(maxWaiters > 0, 'the load should have queued callers')
  assert.equal(mem.history.size, 4, 'history full at its capacity')
  assert.equal(mem.alerts.size, 7)
  assert.equal(mem.acquireWaitSamples.size, mem.acquireWaitSamples.capacity, 'more acquires than samples kept')
  assert.equal(mem.checkoutRegistry.size, 0)
  assert.equal(mem.checkoutStacks.size, 0, 'no stack kept for released checkouts')
  const unbounded = await makePool({ max: 2 }, t)
  assert.equal(unbounded.getMemoryUsage().waiters.capacity, Infinity, 'maxWaiting defaults to Infinity')
})
