'use strict'
// Promises rejected by pool.query (and client.query, and connect) keep the caller's async
// stack trace: the stack names the function that awaited them, as with pg.Pool.

const test = require('node:test')
const assert = require('node:assert/strict')
const { both } = require('./helpers/parity')

async function appLevelCallerOfPoolQuery(pool) {
  await pool.query('SELECT * FROM ldp_no_such_table_for_stack')
}

async function appLevelCallerOfClientQuery(client) {
  await client.query('SELEC 1')
}

async function appLevelCallerOfConnect(pool) {
  await pool.connect()
}

async function stackOf(fn) {
  try {
    await fn()
  } catch (err) {
    return String(err.stack)
  }
  assert.fail('did not reject')
}

for (const [label, options] of [
  ['pool.query', {}],
  ['pool.query (with listeners: the checkout path)', { listeners: true }],
]) {
  test(`${label}: the rejected promise's stack names the caller`, async () => {
    const r = await both({}, async (pool) => {
      if (options.listeners) pool.on('acquire', () => {})
      const stack = await stackOf(() => appLevelCallerOfPoolQuery(pool))
      return { named: stack.includes('appLevelCallerOfPoolQuery'), file: stack.includes('async-stack.test.js') }
    })
    assert.deepStrictEqual(r.ours, r.pg)
    assert.deepEqual(r.ours.value, { named: true, file: true })
  })
}

test('client.query: the rejected promise names the caller', async () => {
  const r = await both({}, async (pool) => {
    const c = await pool.connect()
    try {
      const stack = await stackOf(() => appLevelCallerOfClientQuery(c))
      return { named: stack.includes('appLevelCallerOfClientQuery') }
    } finally {
      c.release()
    }
  })
  assert.deepStrictEqual(r.ours, r.pg)
  assert.equal(r.ours.value.named, true)
})

test('connect timeout: the rejected promise names the caller', async () => {
  const r = await both({ max: 1, connectionTimeoutMillis: 300 }, async (pool) => {
    const held = await pool.connect()
    try {
      const stack = await stackOf(() => appLevelCallerOfConnect(pool))
      return { named: stack.includes('appLevelCallerOfConnect') }
    } finally {
      held.release()
    }
  })
  assert.deepStrictEqual(r.ours, r.pg)
  assert.equal(r.ours.value.named, true)
})
