'use strict'
// pg-pool's hooks: log(msg, ...), verify(client, cb) and onConnect(client) (sync or async;
// an error passes through to the caller and the client is discarded). Parity with pg.Pool,
// events included.

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity, rejection, IMPLS, dbConfig } = require('./helpers/parity')

test('log(msg) is called with strings during connect, query and end', async () => {
  const out = {}
  for (const [impl, P] of Object.entries(IMPLS)) {
    const calls = []
    const pool = P({ ...(await dbConfig()), log: (...a) => calls.push(a) })
    await pool.query('SELECT 1')
    const c = await pool.connect()
    c.release()
    await pool.end()
    out[impl] = calls
  }
  for (const impl of Object.keys(out)) {
    assert.ok(out[impl].length >= 3, `${impl} log called ${out[impl].length} times`)
    assert.ok(out[impl].every((a) => typeof a[0] === 'string'))
    for (const msg of ['new client connected', 'dispatching query', 'ending']) {
      assert.ok(
        out[impl].some((a) => a[0] === msg),
        `${impl} never logged ${msg}: ${JSON.stringify(out[impl])}`
      )
    }
  }
})

test('verify(client, cb): called once per new connection, before connect() resolves', async () => {
  const r = await assertParity(
    (impl) => ({
      max: 1,
      verify(client, cb) {
        verified.push(impl)
        client.query('SELECT 1 AS ok').then(() => cb(), cb)
      },
    }),
    async (pool) => {
      const before = verified.length
      const c = await pool.connect()
      const afterFirst = verified.length - before
      c.release()
      const c2 = await pool.connect()
      c2.release()
      await pool.query('SELECT 1')
      return { afterFirst, total: verified.length - before }
    },
    { events: true }
  )
  assert.deepEqual(r.ours.value, { afterFirst: 1, total: 1 })
})
const verified = []

test('verify error: connect() rejects with it, the client is discarded', async () => {
  const r = await assertParity(
    {
      max: 1,
      verify(client, cb) {
        setImmediate(() => cb(new Error('not verified')))
      },
    },
    async (pool, { rec }) => {
      const err = await rejection(pool.connect())
      const total = pool.totalCount
      await rec.until((ev) => ev.some((e) => e.event === 'remove'))
      const qerr = await rejection(pool.query('SELECT 1'))
      return { err, total, qerr, totalAfter: pool.totalCount }
    },
    { events: true }
  )
  assert.equal(r.ours.value.err.message, 'not verified')
  assert.equal(r.ours.value.total, 0)
})

for (const kind of ['sync', 'async']) {
  test(`onConnect (${kind}): runs once per new connection on the client, before connect()/query() resolve`, async () => {
    const r = await assertParity(
      {
        max: 1,
        onConnect:
          kind === 'sync'
            ? (client) => {
                client.query("SET application_name = 'hooked-sync'")
              }
            : async (client) => {
                await client.query("SET application_name = 'hooked-async'")
              },
      },
      async (pool) => {
        const a = (await pool.query('SHOW application_name')).rows[0].application_name
        const c = await pool.connect()
        const b = (await c.query('SHOW application_name')).rows[0].application_name
        c.release()
        return { a, b, total: pool.totalCount }
      },
      { events: true }
    )
    assert.equal(r.ours.value.b, `hooked-${kind}`)
  })

  test(`onConnect (${kind}) error: passed through to the caller, the client discarded, no connect event`, async () => {
    const r = await assertParity(
      {
        max: 1,
        onConnect:
          kind === 'sync'
            ? () => {
                throw new Error('hook failed')
              }
            : async () => {
                throw new Error('hook failed')
              },
      },
      async (pool) => {
        const e1 = await rejection(pool.connect())
        const t1 = pool.totalCount
        const e2 = await rejection(pool.query('SELECT 1'))
        return { e1, t1, e2, t2: pool.totalCount }
      },
      { events: true }
    )
    assert.equal(r.ours.value.e1.message, 'hook failed')
    assert.equal(r.ours.value.t1, 0)
    assert.equal(r.ours.events.filter((e) => e.event === 'connect').length, 0)
  })
}
