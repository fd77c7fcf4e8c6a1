'use strict'
// Parity: a release() hands its connection to a queued connect() within the same turn of the
// event loop, as pg-pool does (its release calls the waiter back synchronously) — the core
// serves the waiter on the releasing thread and the JS layer drains at once, with no
// round trip through a wake-up.

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity } = require('./helpers/parity')

const turn = () => new Promise((resolve) => setImmediate(resolve))

test('a queued connect() gets the released client before the event loop turns', async () => {
  const r = await assertParity({ max: 1 }, async (pool) => {
    const held = await pool.connect()
    const order = []
    const queued = pool.connect().then((c) => {
      order.push('connect resolved')
      return c
    })
    await turn()
    order.push(`waiting ${pool.waitingCount}`)
    held.release()
    setImmediate(() => order.push('next turn'))
    const c = await queued
    const sameClient = c === held
    await turn()
    c.release()
    return { order, sameClient, end: { total: pool.totalCount, idle: pool.idleCount } }
  })
  assert.deepEqual(r.ours.value, {
    order: ['waiting 1', 'connect resolved', 'next turn'],
    sameClient: true,
    end: { total: 1, idle: 1 },
  })
})

test('each of several releases serves the next queued connect() in order', async () => {
  const r = await assertParity({ max: 2 }, async (pool) => {
    const [a, b] = await Promise.all([pool.connect(), pool.connect()])
    const order = []
    const waiters = [1, 2, 3].map((n) =>
      pool.connect().then((c) => {
        order.push(`w${n}`)
        return c
      })
    )
    await turn()
    a.release()
    b.release()
    setImmediate(() => order.push('next turn'))
    const [c1, c2] = await Promise.all(waiters.slice(0, 2))
    order.push(`waiting ${pool.waitingCount}`)
    c1.release()
    const c3 = await waiters[2]
    c2.release()
    c3.release()
    await turn()
    return order
  })
  assert.deepEqual(r.ours.value, ['w1', 'w2', 'waiting 1', 'w3', 'next turn'])
})
