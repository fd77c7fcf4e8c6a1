'use strict'
// Parity: callback forms of query(), connect() and end() return undefined, never call back
// synchronously, and pass pg's arguments ((err, res); (err, client, done) with `client`
// undefined and `done` still a function on a connection error).

const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { assertParity, both } = require('./helpers/parity')

/** Calls `q(...args, cb)`; resolves to { ret, sync, err, res } once the callback ran. */
function viaCallback(q, ...args) {
  return new Promise((resolve) => {
    let returned = false
    let ret
    ret = q(...args, (err, res) => {
      resolve({ ret, sync: !returned, err, res })
    })
    returned = true
  })
}

for (const [label, q] of [
  ['pool.query(text, cb)', (pool, cb) => pool.query('SELECT 1 AS n', cb)],
  ['pool.query(text, values, cb)', (pool, cb) => pool.query('SELECT $1::int AS n', [2], cb)],
  ['pool.query(config, cb)', (pool, cb) => pool.query({ text: 'SELECT $1::int AS n', values: [3] }, cb)],
  ['pool.query(bad sql, cb)', (pool, cb) => pool.query('SELEC 1', cb)],
  ['client.query(text, cb)', (pool, cb, client) => client.query('SELECT 1 AS n', cb)],
  ['client.query(text, values, cb)', (pool, cb, client) => client.query('SELECT $1::int AS n', [2], cb)],
  ['client.query(config, cb)', (pool, cb, client) => client.query({ text: 'SELECT $1::int AS n', values: [3] }, cb)],
  ['client.query(bad sql, cb)', (pool, cb, client) => client.query('SELEC 1', cb)],
]) {
  test(`callback form ${label}: returns undefined, calls back asynchronously, same outcome`, async () => {
    const r = await assertParity({}, async (pool) => {
      const client = label.startsWith('client') ? await pool.connect() : null
      try {
        const out = await viaCallback((cb) => q(pool, cb, client))
        return { ret: out.ret, sync: out.sync, err: out.err || null, res: out.res }
      } finally {
        if (client) client.release()
      }
    })
    assert.equal(r.ours.value.ret, undefined)
    assert.equal(r.ours.value.sync, false)
  })
}

test('pool.connect(cb): returns undefined, async, (err, client, done) with done releasing', async () => {
  const r = await assertParity({}, async (pool) => {
    const out = await new Promise((resolve) => {
      let returned = false
      const ret = pool.connect((err, client, done) => resolve({ ret, sync: !returned, err, client, done }))
      returned = true
    })
    const res = await out.client.query('SELECT 1 AS n')
    const totalBefore = pool.totalCount
    out.done()
    return { ret: out.ret, sync: out.sync, err: out.err || null, doneType: typeof out.done, res, totalBefore, idleAfter: pool.idleCount }
  })
  assert.equal(r.ours.value.sync, false)
  assert.equal(r.ours.value.idleAfter, 1)
})

/** A port on 127.0.0.1 where nothing listens. */
function closedPort() {
  return new Promise((resolve) => {
    const srv = net.createServer()
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

test('connect(cb) on a connection error: (err, undefined, done) asynchronously, count back to 0', async () => {
  const port = await closedPort()
  const r = await assertParity({ host: '127.0.0.1', port, connectionString: undefined }, async (pool) => {
    const out = await new Promise((resolve) => {
      let returned = false
      const ret = pool.connect((err, client, done) => resolve({ ret, sync: !returned, err, client, done }))
      returned = true
    })
    return {
      ret: out.ret,
      sync: out.sync,
      errCode: out.err.code,
      isError: out.err instanceof Error,
      client: out.client,
      doneType: typeof out.done,
      total: pool.totalCount,
    }
  })
  assert.deepEqual(r.ours.value, {
    ret: undefined,
    sync: false,
    errCode: 'ECONNREFUSED',
    isError: true,
    client: undefined,
    doneType: 'function',
    total: 0,
  })
})

test('end(cb): returns undefined, calls back once the pool ended', async () => {
  const r = await both({}, async (pool) => {
    await pool.query('SELECT 1')
    let returned = false
    let sync
    const out = await new Promise((resolve) => {
      const ret = pool.end((err) => {
        sync = !returned
        setImmediate(() => resolve({ ret, err: err || null, ended: pool.ended, total: pool.totalCount }))
      })
      returned = true
    })
    return { out, sync }
  })
  // pg calls back synchronously when no client is checked out; we never do (SPEC §5).
  assert.equal(r.ours.value.sync, false)
  assert.deepEqual(r.ours.value.out, r.pg.value.out)
  assert.deepEqual(r.ours.value.out, { ret: undefined, err: null, ended: true, total: 0 })
})

test('ours: callbacks are never called synchronously, even for errors pg reports synchronously', async () => {
  const { LeakDetectingPool } = require('..')
  const pool = new LeakDetectingPool(await require('./helpers/db').findDatabase())
  await pool.end()
  for (const call of [(cb) => pool.connect(cb), (cb) => pool.query('SELECT 1', cb), (cb) => pool.end(cb)]) {
    let returned = false
    const err = await new Promise((resolve) => {
      const ret = call((e) => {
        assert.equal(returned, true, 'called back synchronously')
        resolve(e)
      })
      assert.equal(ret, undefined)
      returned = true
    })
    assert.ok(err instanceof Error)
  }
})
