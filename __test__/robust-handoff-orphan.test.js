'use strict'
// A release that serves a queued connect() hands the checkout to JS with the release's own
// result. Should JS find nobody waiting for that checkout any more, it goes straight back to
// the pool: no slot is lost to a checkout nobody holds.

const test = require('node:test')
const assert = require('node:assert/strict')
const { LeakDetectingPool } = require('..')
const { dbConfig } = require('./helpers/parity')

test('a checkout served to a connect() nobody waits for any more goes back to the pool', async () => {
  const pool = new LeakDetectingPool({ ...(await dbConfig()), max: 1, application_name: 'ldp-handoff-orphan' })
  try {
    const first = await pool.connect()
    const completions = pool._completions
    const before = new Set(completions.waiting.keys())
    const queued = pool.connect()
    queued.catch(() => {})
    const ids = [...completions.waiting.keys()].filter((id) => !before.has(id))
    assert.equal(ids.length, 1, 'the queued connect() waits under one id')
    assert.equal(pool.waitingCount, 1)
    // Its caller is gone (as if its waiter had been dropped): the release still serves it.
    completions.waiting.delete(ids[0])
    first.release()
    assert.equal(pool.waitingCount, 0)
    assert.equal(pool.idleCount, 1, 'the served checkout came back at once')
    // The only connection is free again: a new connect() gets it without waiting.
    let timer
    const next = await Promise.race([pool.connect(), new Promise((resolve) => (timer = setTimeout(resolve, 2000, null)))])
    clearTimeout(timer)
    assert.ok(next, 'connect() got the released connection')
    assert.equal((await next.query('SELECT 1 AS x')).rows[0].x, 1)
    next.release()
  } finally {
    await pool.end()
  }
})
