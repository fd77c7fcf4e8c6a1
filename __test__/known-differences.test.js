'use strict'
// The README's "Known differences from pg", pinned: each test runs the documented case and
// asserts what this pool does (and, where that is the point, what pg.Pool does instead), so a
// difference cannot disappear or change without the README being corrected. Items pinned
// elsewhere are named here with their file:
//   released client refuses queries              parity-errors.test.js, leak-force-release-use.test.js
//   client released mid-Submittable             submittable-cursor.test.js ("a known difference")
//   prepared statements cached (0A000, DISCARD)  connection-options.test.js, tests/statement_cache.rs
//   client.end() frees the slot at once          parity-client-end.test.js
//   password file without pg's warning           parity-password-error.test.js
//   stricter validation                          options-validation.test.js, values-params.test.js
//   query_timeout in pipeline mode               pipeline.test.js ("known difference")
//   default import and its types                 esm.test.mjs, types-dts.test.js
//   pg.defaults read once (one case here)        parity-pg-defaults.test.js (what is read)

const test = require('node:test')
const assert = require('node:assert/strict')
const pg = require('pg')
const { both, dbConfig, sleep, terminate, withClient } = require('./helpers/parity')
const { LeakDetectingPool } = require('..')

test("the pool's `error` without a listener is not thrown: the idle connection is removed", async () => {
  const pool = new LeakDetectingPool(await dbConfig())
  const uncaught = []
  const onUncaught = (err) => uncaught.push(err)
  process.on('uncaughtException', onUncaught)
  try {
    const c = await pool.connect()
    const pid = c.processID
    c.release()
    assert.equal(pool.listenerCount('error'), 0)
    const removed = new Promise((resolve) => pool.once('remove', resolve))
    await terminate(pid)
    await removed
    await sleep(20)
    assert.deepEqual(uncaught, [])
    assert.deepEqual({ total: pool.totalCount, idle: pool.idleCount }, { total: 0, idle: 0 })
    // The same for an error emitted on an idle client by hand (pg-pool would rethrow it).
    const d = await pool.connect()
    d.release()
    d.emit('error', new Error('by hand'))
    await sleep(20)
    assert.deepEqual(uncaught, [])
    assert.equal(pool.totalCount, 0)
  } finally {
    process.off('uncaughtException', onUncaught)
    await pool.end()
  }
})

test('binary mode gives the exact bytes where pg can corrupt them, in object and array rows', async () => {
  // Each binary value as its parser received it (hex), and int4 as pg-types' binary parser reads it.
  const hex = (v) => (Buffer.isBuffer(v) ? v.toString('hex') : Buffer.from(v).toString('hex'))
  const types = {
    getTypeParser: (oid, format) => (format === 'binary' && oid === 23 ? pg.types.getTypeParser(23, 'binary') : hex),
  }
  const sql = 'SELECT $1::int4 AS n, $2::bytea AS b'
  const values = [128, Buffer.from([0xff, 0x00, 0x80])]
  const r = await both({ binary: true, max: 1, types }, async (pool) => {
    const objects = (await pool.query(sql, values)).rows[0]
    const arrays = (await pool.query({ text: sql, values, rowMode: 'array' })).rows[0]
    return { objects, arrays }
  })
  assert.deepEqual(r.ours.value, { objects: { n: 128, b: 'ff0080' }, arrays: [128, 'ff0080'] })
  // pg decodes each value as UTF-8 before handing its bytes on: 0x80 and 0xff become U+FFFD.
  assert.deepEqual(r.pg.value.objects, { n: 239, b: 'efbfbd00efbfbd' })
})

test("a pooled client has pg's public members, not its internals", async () => {
  const r = await both({}, (pool) =>
    withClient(pool, async (c) => ({
      connection: typeof c.connection,
      secretKey: typeof c.secretKey,
      password: 'password' in c,
      queryable: typeof c._queryable,
      processID: typeof c.processID,
    }))
  )
  assert.deepEqual(r.pg.value, { connection: 'object', secretKey: 'number', password: true, queryable: 'boolean', processID: 'number' })
  assert.deepEqual(r.ours.value, {
    connection: 'undefined',
    secretKey: 'undefined',
    password: false,
    queryable: 'boolean',
    processID: 'number',
  })
})

test('ignored options: Client, stream, enableChannelBinding, other TLS options', async () => {
  const made = []
  class NotUsed extends pg.Client {
    constructor(...args) {
      super(...args)
      made.push(this)
    }
  }
  const pool = new LeakDetectingPool({
    ...(await dbConfig()),
    Client: NotUsed,
    stream: () => {
      throw new Error('never called')
    },
    enableChannelBinding: true,
  })
  try {
    const res = await pool.query('SELECT 1 AS n')
    assert.equal(res.rows[0].n, 1)
    assert.equal(made.length, 0)
  } finally {
    await pool.end()
  }
})

test('pg.defaults is read once, at construction: pg reads it for each new connection, parseInputDatesAsUTC at each query', async () => {
  const saved = { app: pg.defaults.application_name, utc: pg.defaults.parseInputDatesAsUTC, tz: process.env.TZ }
  // A Date's local text must differ from its UTC text.
  process.env.TZ = 'America/New_York'
  const date = new Date(Date.UTC(2024, 0, 15, 12, 30))
  pg.defaults.application_name = 'ldp-at-construction'
  try {
    const r = await both({ max: 1 }, async (pool) => {
      // Changed after the pool was made, before its first connection and query.
      pg.defaults.application_name = 'ldp-changed-later'
      pg.defaults.parseInputDatesAsUTC = true
      try {
        return await withClient(pool, async (c) => ({
          app: (await c.query('SHOW application_name')).rows[0].application_name,
          date: (await c.query('SELECT $1::text AS t', [date])).rows[0].t,
        }))
      } finally {
        pg.defaults.application_name = 'ldp-at-construction'
        pg.defaults.parseInputDatesAsUTC = false
      }
    })
    assert.deepEqual(r.pg.value, { app: 'ldp-changed-later', date: '2024-01-15T12:30:00.000+00:00' })
    assert.deepEqual(r.ours.value, { app: 'ldp-at-construction', date: '2024-01-15T07:30:00.000-05:00' })
  } finally {
    pg.defaults.application_name = saved.app
    pg.defaults.parseInputDatesAsUTC = saved.utc
    if (saved.tz === undefined) delete process.env.TZ
    else process.env.TZ = saved.tz
  }
})

test('callbacks are never called synchronously, even for a parameter error pg calls back at once', async () => {
  const r = await both({}, (pool) =>
    withClient(pool, async (c) => {
      const circular = {}
      circular.self = circular
      let sync = true
      const called = new Promise((resolve) =>
        c.query('SELECT $1::json', [circular], (err) => resolve({ sync, json: /circular/.test(err.message) }))
      )
      sync = false
      // Argument errors pg throws are thrown here too.
      const thrown = []
      for (const bad of [() => c.query(null, () => {}), () => c.query('SELECT 1', [], 'not a function')]) {
        try {
          bad()
        } catch (err) {
          thrown.push(err.message)
        }
      }
      return { called: await called, thrown }
    })
  )
  const thrown = ['Client was passed a null or undefined query', 'callback is not a function']
  assert.deepEqual(r.pg.value, { called: { sync: true, json: true }, thrown })
  assert.deepEqual(r.ours.value, { called: { sync: false, json: true }, thrown })
})
