'use strict'
// The core can report a checkout it handed to a queued connect() before JS has taken it: the
// hand-off's completion and the report travel on different channels. The report must still
// carry the stack captured at connect(), and getting it must not involve polling: the report
// waits for the connect() to settle, not for a timer.

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, collect, waitUntil } = require('./helpers/leak')

function busy(ms) {
  const until = Date.now() + ms
  while (Date.now() < until) {}
}

test('a report that overtakes its checkout carries its stack, without polling', async (t) => {
  const pool = await makePool({ max: 1, leakThresholdMs: 2, checkIntervalMs: 2 }, t)
  const reports = collect(pool, 'leaksDetected')
  const timers = []
  const setTimeoutOrig = global.setTimeout
  global.setTimeout = function (...args) {
    const stack = new Error().stack
    if (stack.includes(`lib${require('path').sep}events.js`)) timers.push(stack)
    return setTimeoutOrig.apply(this, args)
  }
  t.after(() => {
    global.setTimeout = setTimeoutOrig
  })
  async function overtaken() {
    const p = pool.connect()
    // Keep the JS thread busy while the connection opens and the checker, every 2 ms, finds
    // the checkout older than 2 ms: its report is queued before JS drains the hand-off.
    busy(400)
    return p
  }
  const c = await overtaken()
  await waitUntil(() => reports.length > 0, 3000, 'the leak report')
  const leak = reports[0].leaks.find((l) => l.id === c._checkoutId)
  assert.ok(leak, 'the checkout was reported')
  assert.match(leak.location, /overtaken/)
  assert.match(leak.stack, /overtaken/)
  assert.deepEqual(timers, [], 'no timer was involved in dispatching the report')
  c.release()
})
