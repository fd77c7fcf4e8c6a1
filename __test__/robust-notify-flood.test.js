'use strict'
// A NOTIFY flood does not grow memory without bound: at most maxQueuedEvents notifications
// wait for the JS thread; the newest beyond are dropped, counted in getMetrics().stats and
// announced once with a process warning (LDP_EVENTS_DROPPED). Nothing delivered is reordered.

const test = require('node:test')
const assert = require('node:assert/strict')
const { LeakDetectingPool } = require('..')
const { dbConfig } = require('./helpers/parity')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

test('a NOTIFY flood keeps at most maxQueuedEvents waiting, drops and counts the rest, warns once', async () => {
  const cfg = await dbConfig()
  const pool = new LeakDetectingPool({ ...cfg, max: 2, maxQueuedEvents: 10 })
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  const channel = `flood_${process.pid}_${Date.now()}`
  try {
    const listener = await pool.connect()
    const got = []
    listener.on('notification', (n) => got.push(Number(n.payload)))
    await listener.query(`LISTEN ${channel}`)
    const N = 2000
    // One transaction: every notification arrives at once, in one burst.
    await pool.query(`SELECT pg_notify('${channel}', g::text) FROM generate_series(1, ${N}) g`)
    for (let i = 0; i < 100; i++) {
      const s = pool.getMetrics().stats
      if (got.length + s.notificationsDropped >= N) break
      await sleep(20)
    }
    const dropped = pool.getMetrics().stats.notificationsDropped
    assert.equal(got.length + dropped, N, `delivered ${got.length}, dropped ${dropped}`)
    assert.ok(dropped > 0, 'some were dropped')
    assert.ok(got.length < N, 'not all delivered')
    assert.deepEqual(
      got,
      [...got].sort((a, b) => a - b),
      'delivered in order'
    )
    await sleep(10)
    const ours = warnings.filter((w) => w.code === 'LDP_EVENTS_DROPPED')
    assert.equal(ours.length, 1, 'announced once')
    // After the burst, notifications flow again.
    await pool.query(`SELECT pg_notify('${channel}', '${N + 1}')`)
    for (let i = 0; i < 100 && got[got.length - 1] !== N + 1; i++) await sleep(10)
    assert.equal(got[got.length - 1], N + 1)
    listener.release()
  } finally {
    process.off('warning', onWarning)
    await pool.end()
  }
})
