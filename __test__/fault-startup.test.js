'use strict'
// A server that breaks the protocol while a connection starts up (fake servers: a connection
// attempt never reaches a real one). Each case runs in a child process
// (fixtures/faults/startup-reply.js), so that a hang is reported instead of holding the run:
// the caller must get an error, the slot must be given back and end() must settle.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFile } = require('node:child_process')

const SCRIPT = path.join(__dirname, 'fixtures', 'faults', 'startup-reply.js')
const hex = (...parts) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p, 'latin1')))).toString('hex')
const int32 = (n) => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}

function runCase(reply) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [SCRIPT, reply], { timeout: 20000 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop()
      try {
        resolve(JSON.parse(line))
      } catch {
        reject(new Error(`the child printed no result (${err ? err.message : 'exit 0'}): ${stderr.slice(-2000)}`))
      }
    })
  })
}

const CASES = [
  ['an authentication request of length 3', hex('R', int32(3)), null],
  ['an authentication request of length 0', hex('R', int32(0)), null],
  ['an authentication request of 2 GiB', hex('R', int32(0x7ffffff0)), null],
  ['an unknown authentication method', hex('R', int32(8), int32(99)), null],
  ['an ErrorResponse whose body is cut short', hex('E', int32(6), 'SX'), null],
  ['a message the startup never expects (a DataRow)', hex('D', int32(6), Buffer.from([0, 0])), null],
]

for (const [name, reply, todo] of CASES) {
  test(`startup reply: ${name} fails the attempt, gives the slot back, end() settles`, todo ? { todo } : {}, async () => {
    const r = await runCase(reply)
    assert.equal(r.query.settled, 'rejected', JSON.stringify(r))
    assert.ok(r.query.message, JSON.stringify(r))
    assert.deepEqual(r.counts, { total: 0, idle: 0, waiting: 0 })
    assert.equal(r.end.settled, 'resolved', JSON.stringify(r))
  })
}
