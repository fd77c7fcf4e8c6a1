'use strict'
// LISTEN/NOTIFY `notification` events and RAISE NOTICE `notice` events on a checked-out
// client, shaped as pg's (parity).

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity, sleep } = require('./helpers/parity')

const channel = `ldp_chan_${process.pid}`

test('notification events on a LISTENing client (parity)', async () => {
  const r = await assertParity({ max: 2 }, async (pool) => {
    const c = await pool.connect()
    const got = []
    c.on('notification', (m) => got.push(m))
    try {
      await c.query(`LISTEN ${channel}`)
      const other = await pool.connect()
      const senderPid = other.processID
      await other.query(`NOTIFY ${channel}, 'hello'`)
      await other.query('SELECT pg_notify($1, $2)', [channel, 'ünï ✓'])
      await other.query('BEGIN')
      await other.query(`NOTIFY ${channel}, 'in-tx'`)
      const inTxBeforeCommit = got.some((m) => m.payload === 'in-tx')
      await other.query('COMMIT')
      other.release()
      // self-notification arrives with the query that caused it
      await c.query(`NOTIFY ${channel}`)
      for (let i = 0; i < 200 && got.length < 4; i++) await sleep(5)
      await c.query(`UNLISTEN ${channel}`)
      return {
        inTxBeforeCommit,
        messages: got.map((m) => ({
          channel: m.channel,
          payload: m.payload,
          name: m.name,
          fromSender: m.processId === senderPid,
          fromSelf: m.processId === c.processID,
        })),
      }
    } finally {
      c.release()
    }
  })
  assert.equal(r.ours.value.inTxBeforeCommit, false)
  assert.deepEqual(
    r.ours.value.messages.map((m) => m.payload),
    ['hello', 'ünï ✓', 'in-tx', '']
  )
  assert.equal(r.ours.value.messages[0].channel, channel)
  assert.equal(r.ours.value.messages[0].fromSender, true)
  assert.equal(r.ours.value.messages[3].fromSelf, true)
})

test('notice events from RAISE NOTICE / WARNING (parity)', async () => {
  const r = await assertParity({}, async (pool) => {
    const c = await pool.connect()
    const got = []
    c.on('notice', (n) => got.push(n))
    try {
      await c.query(`DO $$ BEGIN RAISE NOTICE 'hello %', 42 USING DETAIL = 'some detail', HINT = 'a hint'; END $$`)
      await c.query(`DO $$ BEGIN RAISE WARNING 'careful'; END $$`)
      const res = await c.query(`DROP TABLE IF EXISTS ldp_does_not_exist_${process.pid}`)
      return {
        res,
        notices: got.map((n) => ({
          message: n.message,
          severity: n.severity,
          code: n.code,
          detail: n.detail,
          hint: n.hint,
          name: n.name,
          isError: n instanceof Error,
        })),
      }
    } finally {
      c.release()
    }
  })
  const n = r.ours.value.notices
  assert.equal(n.length, 3)
  assert.deepEqual(
    [n[0].message, n[0].severity, n[0].code, n[0].detail, n[0].hint],
    ['hello 42', 'NOTICE', '00000', 'some detail', 'a hint']
  )
  assert.equal(n[1].severity, 'WARNING')
  assert.match(n[2].message, /does not exist, skipping/)
})

test('a notification reaches the client object after release and re-checkout (same object)', async () => {
  const r = await assertParity({ max: 1 }, async (pool) => {
    const c = await pool.connect()
    const got = []
    c.on('notification', (m) => got.push(m.payload))
    await c.query(`LISTEN ${channel}_2`)
    c.release()
    const again = await pool.connect()
    await again.query(`NOTIFY ${channel}_2, 'later'`)
    for (let i = 0; i < 100 && got.length < 1; i++) await sleep(5)
    await again.query(`UNLISTEN ${channel}_2`)
    again.release()
    return { same: again === c, got }
  })
  assert.deepEqual(r.ours.value, { same: true, got: ['later'] })
})
