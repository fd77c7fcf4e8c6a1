'use strict'
// Parity: a connection idle past `idleTimeoutMillis` is out of the counts for any code that
// looks after that moment. pg-pool removes it from a timer on the JS thread, so a later timer
// always sees it gone; here the counts remove what is due when they are read, so they never
// depend on how soon the pool's own timer thread gets to run (pg-pool's own test of this runs
// twenty rounds of a 1 ms timeout). The counts do not remove anything in the synchronous code
// that has just released a client (pg-pool's timers cannot fire there either).

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity, sleep } = require('./helpers/parity')

test('idle past idleTimeoutMillis: gone from the counts for a timer that fires later', async () => {
  const r = await assertParity({ idleTimeoutMillis: 1 }, async (pool) => {
    const rounds = []
    for (let i = 0; i < 20; i++) {
      const q = pool.query('SELECT 1 AS n')
      const during = [pool.idleCount, pool.totalCount]
      await q
      await sleep(2)
      rounds.push([...during, pool.idleCount, pool.totalCount])
    }
    return rounds
  })
  assert.deepEqual(
    r.ours.value,
    Array.from({ length: 20 }, () => [0, 1, 0, 0])
  )
})

test('an idle connection kept by `min` stays counted past its idle timeout', async () => {
  const r = await assertParity({ idleTimeoutMillis: 1, min: 1 }, async (pool) => {
    await pool.query('SELECT 1')
    await sleep(10)
    return { total: pool.totalCount, idle: pool.idleCount }
  })
  assert.deepEqual(r.ours.value, { total: 1, idle: 1 })
})
