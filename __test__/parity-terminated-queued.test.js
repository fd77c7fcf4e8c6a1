'use strict'
// Parity: when the server ends a session while queries are queued behind the running one
// (pg_terminate_backend, an idle-session timeout), the running query gets the server's FATAL
// error and every query behind it pg's "Connection terminated unexpectedly", as pg's own
// error tests expect. This pool sends queued queries at once, so the server's close can reach
// it as a reset (the backend left them unread): that reset is reported as the close it is,
// never as `read ECONNRESET`.

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity, sleep } = require('./helpers/parity')

// The server's error by its code; ours for a lost connection carries a code pg's lacks.
const outcome = (p) =>
  p.then(
    () => 'ran',
    (e) => (e.severity ? { message: e.message, code: e.code } : { message: e.message })
  )

test('queued queries behind a session the server ends: "Connection terminated unexpectedly"', async () => {
  const r = await assertParity({ max: 1 }, async (pool) => {
    const c = await pool.connect()
    const heard = []
    c.on('error', (e) => heard.push(e.message))
    // The second query reaches the server while the first still sleeps, before the backend
    // ends itself: it lies unread in the backend's socket when the backend exits.
    const first = outcome(c.query('SELECT pg_terminate_backend(pg_backend_pid()) FROM pg_sleep(0.2)'))
    await sleep(50)
    const second = outcome(c.query('SELECT 1'))
    const third = outcome(c.query({ text: 'SELECT $1::int', values: [3] }))
    const out = { first: await first, second: await second, third: await third }
    await sleep(20)
    c.release()
    return { ...out, heard, total: pool.totalCount }
  })
  assert.deepEqual(r.ours.value.first.code, '57P01')
  const terminated = { message: 'Connection terminated unexpectedly' }
  assert.deepEqual(r.ours.value.second, terminated)
  assert.deepEqual(r.ours.value.third, terminated)
  assert.equal(r.ours.value.total, 0)
})
