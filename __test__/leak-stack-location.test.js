'use strict'
// The checkout stack and `location` point at the code that called pool.connect(): the test's
// own function, file and line; library frames are trimmed; stackTraceLimit and captureStacks
// are honoured.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('path')
const { makePool, collect, waitUntil, siteOf } = require('./helpers/leak')

async function checkoutAndForget(pool) {
  const client = await pool.connect() // MARKER-checkoutAndForget
  return client
}

async function outerCaller(pool) {
  return checkoutAndForget(pool) // MARKER-outerCaller
}

test('location and stack name the function, file and line that took the client', async (t) => {
  const pool = await makePool({ max: 2, leakThresholdMs: 100, checkIntervalMs: 20 }, t)
  const reports = collect(pool, 'leaksDetected')
  const client = await outerCaller(pool)
  await waitUntil(() => reports.length > 0, 3000, 'the leak report')
  const site = siteOf(__filename, 'MARKER-checkoutAndForget', 'connect(')
  const leak = reports[0].leaks[0]
  assert.equal(leak.location, `checkoutAndForget (${__filename}:${site.line}:${site.column})`)
  const frames = leak.stack
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
  assert.equal(frames[0], `at ${leak.location}`, leak.stack)
  const outer = siteOf(__filename, 'MARKER-outerCaller', 'checkoutAndForget(')
  assert.equal(frames[1], `at outerCaller (${__filename}:${outer.line}:${outer.column})`, leak.stack)
  const libDir = path.join(__dirname, '..', 'lib') + path.sep
  assert.ok(!leak.stack.includes(libDir), `library frames must be trimmed:\n${leak.stack}`)
  assert.ok(!/node:internal/.test(leak.stack), leak.stack)
  // The same site in the status view and the alert.
  assert.equal(pool.getPoolStatus().activeConnections[0].location, leak.location)
  assert.equal(pool.getAlerts()[0].location, leak.location)
  client.release()
})

function deep(pool, n) {
  return n === 0 ? pool.connect() : deep(pool, n - 1)
}

test('stackTraceLimit bounds the frames kept; captureStacks: false keeps none', async (t) => {
  const pool = await makePool({ max: 2, leakThresholdMs: 100, checkIntervalMs: 20, stackTraceLimit: 3 }, t)
  const reports = collect(pool, 'leaksDetected')
  const c = await deep(pool, 20)
  await waitUntil(() => reports.length > 0, 3000, 'the leak report')
  const frames = reports[0].leaks[0].stack.split('\n').slice(1)
  assert.ok(frames.length >= 1 && frames.length <= 3, reports[0].leaks[0].stack)
  assert.match(frames[0], /at deep /)
  c.release()

  const off = await makePool({ max: 2, leakThresholdMs: 100, checkIntervalMs: 20, captureStacks: false }, t)
  const offReports = collect(off, 'leaksDetected')
  const d = await off.connect()
  await waitUntil(() => offReports.length > 0, 3000, 'the leak report without stacks')
  assert.equal(offReports[0].leaks[0].stack, undefined)
  assert.equal(offReports[0].leaks[0].location, 'unknown')
  d.release()
})
