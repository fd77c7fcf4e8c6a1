'use strict'
// Tracing channels, subscribed to as an APM does: node-postgres's channel names and payloads
// (pg:query, pg:connection, pg:pool:connect, pg:pool:release, pg:pool:remove), the lifecycle
// order of each traced operation, the caller's AsyncLocalStorage context in every subscriber
// callback, and our leak channels.

const test = require('node:test')
const assert = require('node:assert/strict')
const dc = require('node:diagnostics_channel')
const { AsyncLocalStorage } = require('node:async_hooks')
const pg = require('pg')
const { makePool, waitUntil } = require('./helpers/leak')

const PHASES = ['start', 'end', 'asyncStart', 'asyncEnd', 'error']
const TRACED = ['pg:query', 'pg:connection', 'pg:pool:connect']
const PLAIN = ['pg:pool:release', 'pg:pool:remove']

/**
 * Subscribes to every pg channel. Each record: { channel, phase, ctx, store, snapshot } where
 * `store` is `als.getStore()` in the subscriber callback and `snapshot` a copy of the context's
 * plain fields at that moment. `t.after` unsubscribes.
 */
function subscribeAll(t, als) {
  const seen = []
  const snap = (ctx) =>
    JSON.parse(
      JSON.stringify({
        ...ctx,
        error: ctx.error ? { message: ctx.error.message, code: ctx.error.code } : undefined,
        result: ctx.result && { rowCount: ctx.result.rowCount, command: ctx.result.command },
      })
    )
  for (const name of TRACED) {
    const ch = dc.tracingChannel(name)
    const handlers = {}
    for (const phase of PHASES)
      handlers[phase] = (ctx) => seen.push({ channel: name, phase, ctx, store: als.getStore(), snapshot: snap(ctx) })
    ch.subscribe(handlers)
    t.after(() => ch.unsubscribe(handlers))
  }
  for (const name of PLAIN) {
    const fn = (msg) => seen.push({ channel: name, phase: 'publish', ctx: msg, store: als.getStore() })
    dc.subscribe(name, fn)
    t.after(() => dc.unsubscribe(name, fn))
  }
  return seen
}

const of = (seen, channel, ctx) => seen.filter((e) => e.channel === channel && (ctx === undefined || e.ctx === ctx))
const phases = (records) => records.map((e) => e.phase)

test('pool.query: pool checkout, connection, query and release, in order, with pg payloads', async (t) => {
  const als = new AsyncLocalStorage()
  const pool = await makePool({ max: 2 }, t)
  const seen = subscribeAll(t, als)

  const res = await als.run({ request: 'first' }, () => pool.query('SELECT pg_backend_pid() AS pid'))
  const pid = res.rows[0].pid

  const connects = of(seen, 'pg:pool:connect')
  assert.deepEqual(phases(connects), ['start', 'end', 'asyncStart', 'asyncEnd'])
  const cctx = connects[0].ctx
  assert.deepEqual(connects[0].snapshot, { pool: { totalCount: 0, idleCount: 0, waitingCount: 0, maxSize: 2 } })
  assert.deepEqual(cctx.client, { processID: pid, reused: false })

  // A new connection was opened for it: pg:connection inside the checkout.
  const opens = of(seen, 'pg:connection')
  assert.deepEqual(phases(opens), ['start', 'end', 'asyncStart', 'asyncEnd'])
  const db = pool._settings.connection
  assert.deepEqual(opens[0].ctx.connection, { database: db.database, host: db.host, port: db.port, user: db.user, ssl: false })
  assert.ok(seen.indexOf(opens[0]) > seen.indexOf(connects[0]), 'opened within the checkout')
  assert.ok(seen.indexOf(opens[3]) < seen.indexOf(connects[3]), 'opened before the checkout ends')

  const queries = of(seen, 'pg:query')
  assert.deepEqual(phases(queries), ['start', 'end', 'asyncStart', 'asyncEnd'])
  const q = queries[0].ctx
  assert.deepEqual(queries[0].snapshot.query, { text: 'SELECT pg_backend_pid() AS pid' })
  assert.equal(q.query.name, undefined)
  assert.deepEqual(q.client, { database: db.database, host: db.host, port: db.port, user: db.user, processID: pid, ssl: false })
  assert.equal(queries[0].snapshot.result, undefined, 'no result at start')
  assert.deepEqual(q.result, { rowCount: 1, command: 'SELECT' })

  const releases = of(seen, 'pg:pool:release')
  assert.equal(releases.length, 1)
  assert.deepEqual(releases[0].ctx, { client: { processID: pid }, error: undefined })
  assert.ok(seen.indexOf(connects[3]) < seen.indexOf(queries[0]), 'checked out before the query starts')
  assert.ok(seen.indexOf(queries[0]) < seen.indexOf(releases[0]), 'released after the query started')

  // Every subscriber callback ran in the caller's context.
  for (const e of seen) assert.deepEqual(e.store, { request: 'first' }, `${e.channel} ${e.phase}`)

  // The second checkout reuses the connection: no pg:connection, reused: true.
  seen.length = 0
  await pool.query('SELECT 1')
  assert.equal(of(seen, 'pg:connection').length, 0)
  assert.deepEqual(of(seen, 'pg:pool:connect')[0].ctx.client, { processID: pid, reused: true })
  assert.deepEqual(of(seen, 'pg:pool:connect')[0].snapshot.pool, { totalCount: 1, idleCount: 1, waitingCount: 0, maxSize: 2 })
})

test('a failing query: start, end, error, asyncStart, asyncEnd; the callback runs between asyncStart and asyncEnd', async (t) => {
  const als = new AsyncLocalStorage()
  const pool = await makePool({ max: 1 }, t)
  const client = await pool.connect()
  const seen = subscribeAll(t, als)

  const err = await als.run(
    'caller',
    () =>
      new Promise((resolve) => {
        const ret = client.query('SELEC 1', (e) => {
          seen.push({ channel: 'callback', phase: 'called', store: als.getStore() })
          resolve(e)
        })
        assert.equal(ret, undefined, 'the callback form returns undefined')
      })
  )
  assert.equal(err.code, '42601')
  const records = seen.filter((e) => e.channel === 'pg:query' || e.channel === 'callback')
  assert.deepEqual(phases(records), ['start', 'end', 'error', 'asyncStart', 'called', 'asyncEnd'])
  assert.equal(records[2].ctx.error, err)
  assert.deepEqual(records[0].snapshot.query, { text: 'SELEC 1' })
  assert.equal(records[0].ctx.client.processID, client.processID)
  assert.equal(records[5].ctx.result, undefined)
  for (const e of records) assert.equal(e.store, 'caller', `${e.channel} ${e.phase}`)

  // A rejected promise: the same order, and the awaiting code sees the caller's context.
  seen.length = 0
  const store = await als.run('awaiting', async () => {
    await assert.rejects(client.query({ text: 'SELECT $1::int', values: ['x'], name: 'bad-int' }), { code: '22P02' })
    return als.getStore()
  })
  assert.equal(store, 'awaiting')
  const q = of(seen, 'pg:query')
  assert.deepEqual(phases(q), ['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
  assert.deepEqual(q[0].snapshot.query, { text: 'SELECT $1::int', name: 'bad-int' })
  for (const e of q) assert.equal(e.store, 'awaiting')
  client.release()
})

test('concurrent callers, one waiting for the connection: each trace sees its own caller context', async (t) => {
  const als = new AsyncLocalStorage()
  const pool = await makePool({ max: 1 }, t)
  const seen = subscribeAll(t, als)
  // An APM binds its span to `start`: reactions registered inside the traced call see it.
  const spans = new AsyncLocalStorage()
  const query = dc.tracingChannel('pg:query')
  const transform = (ctx) => ({ span: ctx })
  query.start.bindStore(spans, transform)
  t.after(() => query.start.unbindStore(spans))
  const spanInAsyncStart = []
  const onAsyncStart = (ctx) => spanInAsyncStart.push(spans.getStore() && spans.getStore().span === ctx)
  query.asyncStart.subscribe(onAsyncStart)
  t.after(() => query.asyncStart.unsubscribe(onAsyncStart))

  const work = (name) =>
    als.run(name, async () => {
      const c = await pool.connect()
      assert.equal(als.getStore(), name)
      await new Promise((resolve) => setTimeout(resolve, 30))
      const r = await c.query('SELECT $1::text AS who', [name])
      c.release()
      return r.rows[0].who
    })
  assert.deepEqual(await Promise.all([work('a'), work('b'), work('c')]), ['a', 'b', 'c'])

  const connects = of(seen, 'pg:pool:connect').filter((e) => e.phase === 'start')
  assert.equal(connects.length, 3)
  assert.deepEqual(
    connects.map((e) => e.snapshot.pool.waitingCount),
    [0, 0, 1],
    'the third caller found the second waiting'
  )
  for (const start of connects) {
    const mine = of(seen, 'pg:pool:connect', start.ctx)
    assert.deepEqual(phases(mine), ['start', 'end', 'asyncStart', 'asyncEnd'])
    for (const e of mine) assert.equal(e.store, start.store)
  }
  for (const q of of(seen, 'pg:query').filter((e) => e.phase === 'start')) {
    const mine = of(seen, 'pg:query', q.ctx)
    assert.deepEqual(phases(mine), ['start', 'end', 'asyncStart', 'asyncEnd'])
    assert.ok(['a', 'b', 'c'].includes(q.store))
    for (const e of mine) assert.equal(e.store, q.store)
  }
  assert.deepEqual(spanInAsyncStart, [true, true, true])
  for (const r of of(seen, 'pg:pool:release')) assert.ok(['a', 'b', 'c'].includes(r.store))
})

test('pool.connect with a callback; release with an error; remove', async (t) => {
  const als = new AsyncLocalStorage()
  const pool = await makePool({ max: 1 }, t)
  const seen = subscribeAll(t, als)
  const client = await als.run(
    'cb',
    () =>
      new Promise((resolve, reject) => {
        pool.connect((err, c, done) => {
          seen.push({ channel: 'callback', phase: 'called', store: als.getStore() })
          if (err) return reject(err)
          assert.equal(typeof done, 'function')
          resolve(c)
        })
      })
  )
  const records = seen.filter((e) => e.channel === 'pg:pool:connect' || e.channel === 'callback')
  assert.deepEqual(phases(records), ['start', 'end', 'asyncStart', 'called', 'asyncEnd'])
  for (const e of records) assert.equal(e.store, 'cb')

  const pid = client.processID
  const boom = new Error('broken')
  als.run('release', () => client.release(boom))
  const rel = of(seen, 'pg:pool:release')
  assert.equal(rel.length, 1)
  assert.equal(rel[0].ctx.error, boom)
  assert.deepEqual(rel[0].ctx.client, { processID: pid })
  assert.equal(rel[0].store, 'release')
  await waitUntil(() => of(seen, 'pg:pool:remove').length === 1, 5000, 'pg:pool:remove')
  assert.deepEqual(of(seen, 'pg:pool:remove')[0].ctx, { client: { processID: pid } })
})

test("a Submittable with a callback is traced as pg traces it (pg's Query)", async (t) => {
  const als = new AsyncLocalStorage()
  const pool = await makePool({ max: 1 }, t)
  const client = await pool.connect()
  const seen = subscribeAll(t, als)
  const rows = await new Promise((resolve, reject) => {
    client.query(new pg.Query('SELECT 1 AS x', (err, res) => (err ? reject(err) : resolve(res.rows))))
  })
  assert.deepEqual(rows, [{ x: 1 }])
  const q = of(seen, 'pg:query')
  assert.deepEqual(phases(q), ['start', 'end', 'asyncStart', 'asyncEnd'])
  assert.equal(q[0].ctx.query.text, 'SELECT 1 AS x')
  assert.deepEqual(q[3].ctx.result, { rowCount: 1, command: 'SELECT' })
  client.release()
})

test('our channels: leaks, forced releases and resolved leaks, with the pool', async (t) => {
  const pool = await makePool({ max: 2, leakThresholdMs: 60, checkIntervalMs: 20, forceReleaseAfterMs: 0 }, t)
  const got = { leaks: [], force: [], resolved: [] }
  const subs = {
    'leak-detecting-pool:leaks': (m) => got.leaks.push(m),
    'leak-detecting-pool:force-release': (m) => got.force.push(m),
    'leak-detecting-pool:leak-resolved': (m) => got.resolved.push(m),
  }
  for (const [name, fn] of Object.entries(subs)) {
    dc.subscribe(name, fn)
    t.after(() => dc.unsubscribe(name, fn))
  }
  const events = []
  pool.on('leaksDetected', (e) => events.push(e))

  async function holdsTooLong() {
    return pool.connect()
  }
  const held = await holdsTooLong()
  await waitUntil(() => got.leaks.length === 1, 3000, 'leak-detecting-pool:leaks')
  const m = got.leaks[0]
  assert.equal(m.pool, pool)
  assert.equal(m.count, 1)
  assert.equal(m.leaks, events[0].leaks, 'the event payload itself')
  assert.match(m.leaks[0].location, /holdsTooLong .*tracing-channels\.test\.js:\d+/)
  held.release()
  await waitUntil(() => got.resolved.length === 1, 3000, 'leak-detecting-pool:leak-resolved')
  assert.equal(got.resolved[0].pool, pool)
  assert.equal(got.resolved[0].id, m.leaks[0].id)

  // A checkout reclaimed for being idle too long.
  const stuck = await pool.connect({ forceReleaseAfterMs: 100, leakThresholdMs: 0 })
  await waitUntil(() => got.force.length === 1, 3000, 'leak-detecting-pool:force-release')
  assert.equal(got.force[0].pool, pool)
  assert.equal(got.force[0].id, stuck._checkoutId)
  assert.ok(got.force[0].ageMs >= 100)
  assert.equal(got.force[0].reason, 'idle')
})
