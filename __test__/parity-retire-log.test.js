'use strict'
// Parity: pg-pool's `log` option hears why a release retired a client — "remove expended
// client" when it has served `maxUses` checkouts (whatever else closes it), "remove expired
// client" when it outlived `maxLifetimeSeconds` — in the same step as the release.

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity, sleep } = require('./helpers/parity')

const RETIRE = /^remove (expended|expired) client$/

/** Options with a `log` that keeps pg-pool's retirement messages in `messages`. */
function logging(options, messages) {
  return () => ({ ...options, log: (msg) => RETIRE.test(msg) && messages.push(msg) })
}

test('maxUses: the release that spends a client logs "remove expended client" at once', async () => {
  const messages = []
  const r = await assertParity(logging({ maxUses: 2 }, messages), async (pool) => {
    messages.length = 0
    const out = []
    for (const err of [undefined, undefined, undefined, new Error('broken')]) {
      const c = await pool.connect()
      c.release(err)
      out.push(messages.splice(0))
    }
    return out
  })
  // Uses 1, 2 (spent), 1 (new client), 2 (spent, released with an error: still told).
  assert.deepEqual(r.ours.value, [[], ['remove expended client'], [], ['remove expended client']])
})

test('maxLifetimeSeconds: the release of an expired client logs "remove expired client"', async () => {
  const messages = []
  const r = await assertParity(logging({ maxLifetimeSeconds: 0.15 }, messages), async (pool) => {
    messages.length = 0
    const c = await pool.connect()
    await sleep(250)
    c.release()
    const atRelease = messages.splice(0)
    const total = pool.totalCount
    // Released with an error: removed for that, nothing to say about its age.
    const d = await pool.connect()
    await sleep(250)
    d.release(new Error('broken'))
    return { atRelease, total, withError: messages.splice(0) }
  })
  assert.deepEqual(r.ours.value, { atRelease: ['remove expired client'], total: 0, withError: [] })
})
