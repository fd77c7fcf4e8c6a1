'use strict'
// The pool is a real class shaped like pg.Pool: callable only with `new`, subclassable, no
// arguments needed, options never modified, `new Pool(pool.options)` reproduces it (password
// included) while the password stays out of inspect/toString/JSON, poolSize aliases max,
// and the class name contains "Pool". Exports: LeakDetectingPool, Pool, default.

const test = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const EventEmitter = require('node:events')
const pg = require('pg')
const lib = require('..')
const { LeakDetectingPool, Pool } = lib
const { assertParity, both, dbConfig } = require('./helpers/parity')

const SECRET = 'sekr3t-Pa55word-zq'

test('exports: Pool is LeakDetectingPool, default export too; the class name contains "Pool"', () => {
  assert.equal(Pool, LeakDetectingPool)
  assert.equal(lib.default, LeakDetectingPool)
  assert.match(LeakDetectingPool.name, /Pool/)
  const p = new Pool({ max: 1 })
  assert.match(p.constructor.name, /Pool/)
  assert.ok(p instanceof EventEmitter)
  p.end()
})

test('callable only with new (TypeError, like pg.Pool)', () => {
  for (const P of [pg.Pool, LeakDetectingPool]) {
    assert.throws(() => P({}), TypeError)
    assert.throws(() => P.call({}, {}), TypeError)
  }
})

test('subclassable: constructor, methods and overrides work', async () => {
  class MyPool extends LeakDetectingPool {
    constructor(opts) {
      super({ ...opts, max: 2 })
      this.extra = 'x'
      this.seen = 0
    }
    async query(...args) {
      this.seen++
      return super.query(...args)
    }
  }
  const p = new MyPool(await dbConfig())
  try {
    assert.ok(p instanceof LeakDetectingPool)
    assert.ok(p instanceof MyPool)
    assert.equal(p.options.max, 2)
    assert.equal(p.extra, 'x')
    const r = await p.query('SELECT 1 AS n')
    assert.equal(r.rows[0].n, 1)
    assert.equal(p.seen, 1)
    const c = await p.connect()
    assert.equal((await c.query('SELECT 2 AS n')).rows[0].n, 2)
    c.release()
  } finally {
    await p.end()
  }
})

test('no-argument constructor: pg defaults, and the PG* environment is used to connect', async () => {
  const cfg = await dbConfig()
  const saved = {}
  const env = { PGHOST: cfg.host, PGPORT: String(cfg.port), PGUSER: cfg.user, PGDATABASE: cfg.database, PGPASSWORD: cfg.password }
  for (const k of Object.keys(env)) {
    saved[k] = process.env[k]
    if (env[k] == null) delete process.env[k]
    else process.env[k] = env[k]
  }
  try {
    const out = {}
    for (const P of [pg.Pool, LeakDetectingPool]) {
      const pool = new P()
      const opts = { ...pool.options }
      const who = (await pool.query('SELECT current_user AS u, current_database() AS d')).rows[0]
      await pool.end()
      out[P === pg.Pool ? 'pg' : 'ours'] = { opts, who }
    }
    assert.deepStrictEqual(out.ours, out.pg)
    assert.deepEqual(out.ours.who, { u: cfg.user, d: cfg.database })
    assert.deepEqual(out.ours.opts, {
      max: 10,
      min: 0,
      maxUses: Infinity,
      allowExitOnIdle: false,
      maxLifetimeSeconds: 0,
      idleTimeoutMillis: 10000,
    })
  } finally {
    for (const k of Object.keys(saved)) {
      if (saved[k] === undefined) delete process.env[k]
      else process.env[k] = saved[k]
    }
  }
})

test('pool.options: same defaults and copies as pg.Pool; the options object is never modified', async () => {
  const input = { max: 3, idleTimeoutMillis: 1234, application_name: 'shape', password: SECRET, ssl: false }
  const snapshot = { ...input }
  const frozen = Object.freeze({ ...input })
  const r = await both({}, async (pool, { impl }) => {
    const P = impl === 'pg' ? pg.Pool : LeakDetectingPool
    const a = new P(input)
    const b = new P(frozen)
    const out = {
      options: { ...a.options },
      password: a.options.password,
      passwordEnumerable: Object.keys(a.options).includes('password'),
      frozenOk: b.options.max,
      sameObject: a.options === input,
    }
    await a.end()
    await b.end()
    return out
  })
  assert.deepStrictEqual(r.ours, r.pg)
  assert.deepEqual(input, snapshot)
  assert.equal(r.ours.value.password, SECRET)
  assert.equal(r.ours.value.passwordEnumerable, false)
  assert.equal(r.ours.value.sameObject, false)
})

test('new Pool(pool.options) reproduces the pool, password included', async () => {
  const a = new LeakDetectingPool({ ...(await dbConfig()), max: 4, idleTimeoutMillis: 500, password: SECRET, leakThresholdMs: 1234 })
  const b = new LeakDetectingPool(a.options)
  try {
    assert.equal(b.options.password, SECRET)
    assert.deepEqual({ ...b.options }, { ...a.options })
    assert.equal((await b.query('SELECT 1 AS n')).rows[0].n, 1)
  } finally {
    await a.end()
    await b.end()
  }
})

test('the password never shows in util.inspect, toString, JSON.stringify (pool, options, client)', async () => {
  const pool = new LeakDetectingPool({ ...(await dbConfig()), password: SECRET, ssl: false })
  try {
    await pool.query('SELECT 1')
    const c = await pool.connect()
    const texts = [
      util.inspect(pool, { depth: 8 }),
      util.inspect(pool.options, { depth: 8 }),
      util.inspect(c, { depth: 8 }),
      String(pool),
      `${pool.options}`,
      JSON.stringify(pool),
      JSON.stringify(pool.options),
      JSON.stringify(c),
      JSON.stringify(pool.getPoolStatus()),
      JSON.stringify(pool.getMetrics()),
      pool.metricsText(),
    ]
    c.release()
    for (const t of texts) assert.ok(!t.includes(SECRET), `password leaked in: ${t.slice(0, 200)}`)
    assert.equal(typeof JSON.parse(JSON.stringify(pool)), 'object')
  } finally {
    await pool.end()
  }
})

test('a password in connectionString never shows either, and new Pool(pool.options) still connects', async () => {
  const cfg = await dbConfig()
  const url = new URL(cfg.connectionString)
  // The server's real password when it needs one; else any (a trusting server ignores it).
  if (!url.password) url.password = SECRET
  const secret = decodeURIComponent(url.password)
  const a = new LeakDetectingPool({ connectionString: url.href })
  const b = new LeakDetectingPool(a.options)
  try {
    const texts = [util.inspect(a, { depth: 8 }), util.inspect(a.options, { depth: 8 }), JSON.stringify(a), JSON.stringify(a.options)]
    for (const t of texts) assert.ok(!t.includes(secret), `password leaked in: ${t.slice(0, 200)}`)
    assert.equal(a.options.connectionString, url.href, 'kept for new Pool(pool.options)')
    assert.equal(b.options.connectionString, url.href)
    assert.equal((await b.query('SELECT 1 AS n')).rows[0].n, 1)
  } finally {
    await a.end()
    await b.end()
  }
})

test('JSON.stringify(pool) does not throw (also with clients checked out and after end)', async () => {
  const pool = new LeakDetectingPool(await dbConfig())
  const c = await pool.connect()
  assert.doesNotThrow(() => JSON.stringify(pool))
  assert.doesNotThrow(() => JSON.stringify(c))
  c.release()
  await pool.end()
  assert.doesNotThrow(() => JSON.stringify(pool))
})

test('poolSize is an alias of max (parity)', async () => {
  const r = await assertParity({ poolSize: 2 }, async (pool) => {
    const a = pool.connect()
    const b = pool.connect()
    const c = pool.connect()
    const counts = { max: pool.options.max, total: pool.totalCount, waiting: pool.waitingCount }
    const [ca, cb] = await Promise.all([a, b])
    ca.release()
    ;(await c).release()
    cb.release()
    return counts
  })
  assert.deepEqual(r.ours.value, { max: 2, total: 2, waiting: 1 })
})

test('the client from connect() has pg.Client-like members', async () => {
  const r = await assertParity({}, async (pool) => {
    const c = await pool.connect()
    const shape = {
      release: typeof c.release,
      query: typeof c.query,
      on: typeof c.on,
      processID: typeof c.processID,
      escapeLiteral: c.escapeLiteral("it's"),
      escapeIdentifier: c.escapeIdentifier('we"ird'),
      emitter: c instanceof EventEmitter,
    }
    c.release()
    return shape
  })
  assert.equal(r.ours.value.escapeLiteral, "'it''s'")
})
