'use strict'
// Parity: pool.end() lets the callers that asked before it finish — their connections are
// still being opened when end() starts — and refuses the ones that ask after it, as pg-pool.

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity } = require('./helpers/parity')

test('end() right after queries on a fresh pool: every query whose connection is being opened completes, then the pool ends', async () => {
  const r = await assertParity({ max: 5 }, async (pool) => {
    const pending = []
    for (let i = 1; i <= 5; i++) pending.push(pool.query('SELECT $1::int AS n', [i]).then((res) => res.rows[0].n))
    const ended = pool.end()
    const late = await pool.query('SELECT 1').then(
      () => 'served',
      (e) => e.message
    )
    const values = await Promise.all(pending)
    await ended
    return { values, late, total: pool.totalCount }
  })
  assert.deepEqual(r.ours.value.values, [1, 2, 3, 4, 5])
  assert.equal(r.ours.value.late, 'Cannot use a pool after calling end on the pool')
  assert.equal(r.ours.value.total, 0)
})

test('end() while a connect() waits for its connection: the client is handed out, its release lets end() finish', async () => {
  const r = await assertParity({ max: 1 }, async (pool) => {
    const taking = pool.connect()
    const ended = pool.end()
    const c = await taking
    const n = (await c.query('SELECT 7 AS n')).rows[0].n
    c.release()
    await ended
    return { n, total: pool.totalCount }
  })
  assert.deepEqual(r.ours.value, { n: 7, total: 0 })
})
