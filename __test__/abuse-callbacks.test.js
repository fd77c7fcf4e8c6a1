'use strict'
// Bad input, callbacks and listeners that throw. pg runs callbacks from socket events, so what
// one throws is an uncaught exception; here it must be the same process event (never an
// unhandled rejection of a promise the user never saw), in its own turn, and the pool keeps
// serving. Runs in a child process (fixtures/faults/throwing-callbacks.js): uncaught
// exceptions are the point, and would fail this test file's own process.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFile } = require('node:child_process')
const { findDatabase } = require('./helpers/db')

const SCRIPT = path.join(__dirname, 'fixtures', 'faults', 'throwing-callbacks.js')

test('a throwing callback or listener is an uncaught exception, as with pg, and the pool keeps serving', async () => {
  const db = await findDatabase()
  const cfg = { connectionString: db.connectionString, max: 2 }
  const out = await new Promise((resolve, reject) => {
    execFile(process.execPath, [SCRIPT, JSON.stringify(cfg)], { timeout: 60000 }, (err, stdout, stderr) => {
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()))
      } catch {
        reject(new Error(`no result from the child (${err ? err.message : 'exit 0'}): ${stderr.slice(-2000)}`))
      }
    })
  })
  for (const [form, ours] of Object.entries(out.ours)) {
    assert.deepEqual(ours, { events: ['uncaughtException'], direct: null, serves: true }, form)
    // Where pg reports it as an uncaught exception too, the process sees the same event.
    if (out.pg[form].events[0] === 'uncaughtException') assert.equal(ours.events[0], out.pg[form].events[0], form)
  }
  assert.equal(out.pg['pool.query callback'].events[0], 'uncaughtException', "pg's reference behaviour")
})
