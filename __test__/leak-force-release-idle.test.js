'use strict'
// forceReleaseAfterMs counts idleness within a checkout from the later of checkout and its
// last query's end: a client that keeps querying is never reclaimed, and a running query is
// never interrupted.

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, collect, waitUntil, sleep } = require('./helpers/leak')

test('a client that keeps querying is not force-released; a long query is not interrupted', async (t) => {
  const pool = await makePool({ max: 3, leakThresholdMs: 0, checkIntervalMs: 20, forceReleaseAfterMs: 250 }, t)
  const forced = collect(pool, 'forceRelease')
  const busy = await pool.connect()
  const slow = await pool.connect()
  const idle = await pool.connect()

  let slowEnded = 0
  const slowQuery = slow.query('SELECT pg_sleep(0.8) AS slept, 7 AS n').then((res) => {
    slowEnded = Date.now()
    return res
  })
  const until = Date.now() + 900
  while (Date.now() < until) {
    await busy.query('SELECT 1')
    await sleep(60)
  }
  const r = await slowQuery
  assert.equal(r.rows[0].n, 7, 'the long query completed')

  assert.deepEqual(
    forced.map((f) => f.id),
    [idle._checkoutId],
    'only the idle client was reclaimed'
  )
  await busy.query('SELECT 1') // still usable

  // The slow one is idle from the end of its query: reclaimed about 250 ms after that.
  await waitUntil(() => forced.some((f) => f.id === slow._checkoutId), 3000, 'the slow client to be reclaimed')
  const f = forced.find((x) => x.id === slow._checkoutId)
  assert.ok(Date.now() - slowEnded >= 200, 'reclaimed too early after its query ended')
  assert.ok(f.ageMs >= 1000, `ageMs ${f.ageMs}`)
  assert.ok(f.idleMs >= 250 && f.idleMs < f.ageMs - 600, `idleMs ${f.idleMs} must count from the query's end (age ${f.ageMs})`)
  for (const c of [busy, slow, idle]) c.release()
})
