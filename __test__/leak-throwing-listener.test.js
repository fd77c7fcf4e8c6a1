'use strict'
// A listener that throws behaves as with any EventEmitter (an uncaught exception in its turn)
// and affects nothing else: later scans, reports and forced releases continue.

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, waitUntil } = require('./helpers/leak')

test('a throwing leaksDetected listener does not stop later scans or events', async (t) => {
  // node:test installs its own uncaughtException handler; take it out for this test only.
  const saved = process.listeners('uncaughtException')
  process.removeAllListeners('uncaughtException')
  const uncaught = []
  const onUncaught = (err) => uncaught.push(err)
  process.on('uncaughtException', onUncaught)
  t.after(() => {
    process.removeListener('uncaughtException', onUncaught)
    for (const l of saved) process.on('uncaughtException', l)
  })

  const pool = await makePool({ max: 4, leakThresholdMs: 100, checkIntervalMs: 20, forceReleaseAfterMs: 400 }, t)
  const seen = []
  pool.on('leaksDetected', (ev) => {
    seen.push(ev)
    throw new Error(`listener failure #${seen.length}`)
  })
  const forced = []
  pool.on('forceRelease', (ev) => {
    forced.push(ev)
    throw new Error('forceRelease listener failure')
  })
  const resolved = []
  pool.on('leakResolved', (ev) => resolved.push(ev))

  const first = await pool.connect()
  await waitUntil(() => seen.length === 1, 3000, 'the first report')
  await waitUntil(() => uncaught.length === 1, 1000, 'the listener error to surface')
  assert.equal(uncaught[0].message, 'listener failure #1')

  const second = await pool.connect()
  await waitUntil(() => seen.length === 2, 3000, 'a later report after the listener threw')
  assert.equal(seen[1].leaks[0].id, second._checkoutId)
  second.release()
  await waitUntil(() => resolved.length === 1, 2000, 'leakResolved after the throw')

  await waitUntil(() => forced.length === 1, 3000, 'the forced release of the first')
  assert.equal(forced[0].id, first._checkoutId)
  await waitUntil(() => uncaught.length === 3, 1000, 'every listener error surfaced')
  assert.deepEqual(
    uncaught.map((e) => e.message),
    ['listener failure #1', 'listener failure #2', 'forceRelease listener failure']
  )

  // The pool still works and its books are right.
  assert.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1)
  assert.equal(pool.getMetrics().stats.leaksDetected, 2)
  assert.equal(pool.getMetrics().stats.forcedReleases, 1)
  assert.equal(pool.getAlerts().filter((a) => a.type === 'leak').length, 2)
})
