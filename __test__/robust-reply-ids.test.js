'use strict'
// Reply ids are 32-bit and wrap: a new request never takes the id of one still awaiting its
// reply (nor the ids reserved for the core's own records), so no caller is ever handed
// another's result and no reply is lost, however long a request waits while the counter goes
// round.

const test = require('node:test')
const assert = require('node:assert/strict')
const { LeakDetectingPool } = require('..')
const { Completions } = require('../lib/completions')
const { dbConfig } = require('./helpers/parity')

test("takeId skips 0, the checkout records' id and every id still waiting, across the wrap", () => {
  const c = new Completions()
  c.stop()
  c.waiting.set(0xfffffffd, () => {})
  c.waiting.set(1, () => {})
  c.nextId = 0xfffffffc
  // 0xffffffff carries queued connect()s' checkouts: never a request's id.
  assert.deepEqual([c.takeId(), c.takeId(), c.takeId(), c.takeId()], [0xfffffffc, 0xfffffffe, 2, 3])
})

for (const [label, run] of [
  ['pool.query', (pool, sql) => pool.query(sql)],
  ['client.query', (pool, sql, client) => client.query(sql)],
]) {
  test(`${label}: a request whose id comes round again keeps its own reply`, async () => {
    const pool = new LeakDetectingPool({ ...(await dbConfig()), max: 2 })
    const client = label === 'client.query' ? await pool.connect() : null
    try {
      const completions = pool._completions
      const slow = run(pool, "SELECT 'slow' AS v FROM pg_sleep(0.3)", client)
      const slowId = completions.nextId - 1
      assert.ok(completions.waiting.has(slowId), 'the slow request waits under the last id taken')
      // The counter has gone all the way round: the next id would be the slow request's.
      completions.nextId = slowId
      const fast = await run(pool, "SELECT 'fast' AS v", client)
      assert.equal(fast.rows[0].v, 'fast')
      let timer
      const timeout = new Promise((resolve) => (timer = setTimeout(resolve, 5000, 'lost')))
      const r = await Promise.race([slow, timeout])
      clearTimeout(timer)
      assert.notEqual(r, 'lost', 'the slow request was never answered')
      assert.equal(r.rows[0].v, 'slow')
    } finally {
      if (client) client.release()
      await pool.end()
    }
  })
}
