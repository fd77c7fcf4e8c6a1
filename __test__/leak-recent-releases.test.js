'use strict'
// Released checkouts are remembered (entry and captured stack) only when the core says an
// event about them may still follow: clean releases keep nothing alive, a release inside a
// transaction or of a reported leak is remembered so its event can name the call site.

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, sleep } = require('./helpers/leak')

test('clean releases keep no stack alive; a release inside a transaction is remembered', async (t) => {
  const pool = await makePool({ max: 2 }, t)
  for (let i = 0; i < 200; i++) {
    const c = await pool.connect()
    await c.query('SELECT 1')
    c.release()
  }
  assert.equal(pool.getMemoryUsage().recentReleases.size, 0)

  pool.on('error', () => {})
  async function leavesTransactionOpen() {
    const c = await pool.connect()
    await c.query('BEGIN')
    c.release()
  }
  await leavesTransactionOpen()
  assert.equal(pool.getMemoryUsage().recentReleases.size, 1)
  for (let i = 0; i < 200 && !pool.getAlerts().some((a) => a.type === 'released-in-transaction'); i++) await sleep(5)
  const alert = pool.getAlerts().find((a) => a.type === 'released-in-transaction')
  assert.ok(alert, 'a released-in-transaction alert')
  assert.match(alert.location, /leavesTransactionOpen/)
})

test('a reported leak released later is remembered for its leakResolved event', async (t) => {
  const pool = await makePool({ max: 2, leakThresholdMs: 20, checkIntervalMs: 5 }, t)
  async function holdsTooLong() {
    // Listening before connect(): on a loaded machine the checker can report the checkout
    // before connect()'s promise has settled.
    const detected = new Promise((resolve) => pool.once('leaksDetected', resolve))
    const c = await pool.connect()
    // (a timer keeps this test's event loop alive while it waits for the checker)
    const guard = setTimeout(() => {}, 5000)
    await detected
    clearTimeout(guard)
    return c
  }
  const c = await holdsTooLong()
  const resolved = new Promise((resolve) => pool.once('leakResolved', resolve))
  c.release()
  assert.equal(pool.getMemoryUsage().recentReleases.size, 1)
  const ev = await resolved
  assert.match(ev.location, /holdsTooLong/)
})
