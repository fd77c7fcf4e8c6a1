'use strict'
// Parity: pg's pool events fire for every connection, including one that so far served only
// pool.query (our fast path makes no client object for it) and even when the listener was
// added after that query started — pg-pool's own idle-timeout and lifetime tests do exactly
// this: `pool.query(...)` then `pool.on('remove', ...)`.

const test = require('node:test')
const assert = require('node:assert/strict')
const { both, sleep } = require('./helpers/parity')

/** Records `names` events on `pool` as [name, client id] with ids per client object. */
function recorder(pool, names) {
  const ids = new Map()
  const idOf = (c) => {
    if (c == null) return null
    if (!ids.has(c)) ids.set(c, ids.size + 1)
    return ids.get(c)
  }
  const seen = []
  for (const name of names) {
    pool.on(name, (...args) => {
      const client = name === 'release' || name === 'error' ? args[1] : args[0]
      const e = { name, client: idOf(client), isClient: client != null && typeof client.query === 'function' }
      if (name === 'release') e.err = args[0] == null ? null : args[0].message
      if (name === 'remove') e.counts = [pool.totalCount, pool.idleCount]
      seen.push(e)
    })
  }
  return { seen, idOf }
}

async function until(pred, ms = 3000) {
  const deadline = Date.now() + ms
  while (!pred() && Date.now() < deadline) await sleep(5)
}

test('remove fires for a connection that served only pool.query, listener added after the query started (parity)', async () => {
  const r = await both({ idleTimeoutMillis: 20 }, async (pool) => {
    const q = pool.query('SELECT 1 AS x')
    const rec = recorder(pool, ['remove'])
    const rows = (await q).rows
    await until(() => rec.seen.length > 0)
    return { rows, seen: rec.seen, total: pool.totalCount }
  })
  assert.deepStrictEqual(r.ours, r.pg)
  assert.deepStrictEqual(r.ours.value.seen, [{ name: 'remove', client: 1, isClient: true, counts: [0, 0] }])
})

test('maxLifetimeSeconds: remove fires after a long pool.query, listener added after it started (parity)', async () => {
  const r = await both({ maxLifetimeSeconds: 1 }, async (pool) => {
    const q = pool.query('SELECT pg_sleep(1.2)')
    const rec = recorder(pool, ['remove'])
    await q
    await until(() => rec.seen.length > 0)
    return { seen: rec.seen, total: pool.totalCount, expired: pool.expiredCount }
  })
  assert.deepStrictEqual(r.ours, r.pg)
  assert.equal(r.ours.value.seen.length, 1)
})

test('connect, acquire and release fire for a pool.query whose listeners came after it started (parity)', async () => {
  // Per client, in order (two queries run at once: how their events interleave is not pg's
  // contract; pg emits connect/acquire when the connection opens, we when the reply arrives).
  const r = await both({}, async (pool) => {
    const first = pool.query('SELECT 1 AS x')
    const failing = pool.query('SELECT 1/0').then(
      () => null,
      (e) => e.message
    )
    const rec = recorder(pool, ['connect', 'acquire', 'release'])
    const rows = (await first).rows
    const err = await failing
    // The surviving connection again, now with listeners from the start: the same client object.
    const c = await pool.connect()
    c.release()
    const byClient = new Map()
    for (const e of rec.seen) {
      const seq = byClient.get(e.client) || []
      seq.push(e.name + (e.name === 'release' ? `(${e.err})` : '') + (e.isClient ? '' : '!'))
      byClient.set(e.client, seq)
    }
    const sequences = [...byClient.values()].map((s) => s.join(' ')).sort()
    return { rows, err, sequences, connectedClient: byClient.get(rec.idOf(c)).join(' '), total: pool.totalCount }
  })
  assert.deepStrictEqual(r.ours, r.pg)
  assert.deepStrictEqual(r.ours.value.sequences, [
    'connect acquire release(division by zero)',
    'connect acquire release(null) acquire release(null)',
  ])
})

test('an idle connection that served only pool.query names its client in the pool error event', async () => {
  const { LeakDetectingPool } = require('..')
  const { terminate, dbConfig } = require('./helpers/parity')
  const pool = new LeakDetectingPool(await dbConfig({ max: 1 }))
  try {
    const pid = (await pool.query('SELECT pg_backend_pid() AS p')).rows[0].p
    const got = new Promise((resolve) => pool.once('error', (err, client) => resolve({ err, client })))
    await terminate(pid)
    const { err, client } = await got
    assert.ok(client && typeof client.query === 'function', 'the error names a client')
    assert.equal(err.client, client)
    assert.equal(client.processID, pid)
  } finally {
    await pool.end()
  }
})
