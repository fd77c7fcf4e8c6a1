'use strict'
// pg's global defaults (`pg.defaults.host = …`), set by an app before it constructs its pool,
// against pg.Pool on a real server: what reaches the server (application_name,
// statement_timeout, the role and database, a Date parameter's text), binary mode, the
// client's members and connectionParameters, all as pg gives them; a PG* variable wins over
// pg.defaults and an option over both, for both pools; an ES module import of pg is seen too;
// a bad pg.defaults value is refused at construction, named as such. pg.defaults and the
// environment are process-global: every test restores them (afterEach), and the tests of this
// file run one at a time.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { pathToFileURL } = require('node:url')
const pg = require('pg')
const { LeakDetectingPool } = require('..')
const { findPgDefaults, pgDefaultsLayer } = require('../lib/pg-defaults')
const { findDatabase } = require('./helpers/db')

const ROOT = path.join(__dirname, '..')
const KEYS = [
  'host',
  'port',
  'user',
  'database',
  'password',
  'ssl',
  'binary',
  'application_name',
  'fallback_application_name',
  'client_encoding',
  'statement_timeout',
  'lock_timeout',
  'query_timeout',
  'parseInputDatesAsUTC',
]
// TZ: a Date's local text must differ from its UTC text for parseInputDatesAsUTC to show.
const ENV = ['PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE', 'PGPASSWORD', 'PGAPPNAME', 'PGSSLMODE', 'PGOPTIONS', 'TZ']
const IMPLS = { pg: (cfg) => new pg.Pool(cfg), ours: (cfg) => new LeakDetectingPool(cfg) }
const DATE = new Date(Date.UTC(2024, 0, 15, 12, 30, 45, 678))

let saved = null

test.beforeEach(() => {
  saved = {
    defaults: Object.fromEntries(KEYS.map((k) => [k, pg.defaults[k]])),
    env: Object.fromEntries(ENV.map((k) => [k, process.env[k]])),
  }
  // The server comes from pg.defaults alone: no PG* variable may say otherwise.
  for (const k of ENV) delete process.env[k]
  process.env.TZ = 'America/New_York'
})

test.afterEach(() => {
  Object.assign(pg.defaults, saved.defaults)
  for (const [k, v] of Object.entries(saved.env)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
})

/** The test server's host/port/user/database/password, set as pg.defaults. */
async function serverAsDefaults() {
  const db = await findDatabase()
  pg.defaults.host = db.host
  pg.defaults.port = Number(db.port)
  pg.defaults.user = db.user
  pg.defaults.database = db.database
  if (db.password != null) pg.defaults.password = db.password
  return db
}

/** What a checked-out client of `pool` sees and is. */
async function observe(pool) {
  const c = await pool.connect()
  try {
    const one = async (sql, values) => (await c.query(sql, values)).rows[0]
    const int = await c.query('SELECT $1::int4 AS n', [7])
    const p = c.connectionParameters
    return {
      app: (await one('SHOW application_name')).application_name,
      statementTimeout: (await one('SHOW statement_timeout')).statement_timeout,
      lockTimeout: (await one('SHOW lock_timeout')).lock_timeout,
      server: await one('SELECT current_user AS "user", current_database() AS database'),
      dateText: (await one('SELECT $1::text AS t', [DATE])).t,
      intFormat: int.fields[0].format,
      client: { host: c.host, port: c.port, user: c.user, database: c.database, ssl: c.ssl, binary: c.binary },
      params: {
        host: p.host,
        port: p.port,
        user: p.user,
        database: p.database,
        ssl: p.ssl,
        binary: p.binary,
        application_name: p.application_name,
        fallback_application_name: p.fallback_application_name,
        client_encoding: p.client_encoding,
        statement_timeout: p.statement_timeout,
        lock_timeout: p.lock_timeout,
        query_timeout: p.query_timeout,
      },
      optionKeys: Object.keys(pool.options).sort(),
    }
  } finally {
    c.release()
  }
}

/** `run(pool)` against pg.Pool and this pool, each built from `options` at the time of the call. */
async function both(options, run = observe) {
  const out = {}
  for (const [impl, make] of Object.entries(IMPLS)) {
    const pool = make({ ...options })
    try {
      out[impl] = await run(pool)
    } finally {
      await pool.end()
    }
  }
  return out
}

test('pg.defaults alone names the server, the startup parameters, binary mode and UTC dates, as in pg', async () => {
  const db = await serverAsDefaults()
  pg.defaults.application_name = 'ldp-defaults-app'
  pg.defaults.statement_timeout = 5000
  pg.defaults.lock_timeout = 700
  pg.defaults.binary = true
  pg.defaults.parseInputDatesAsUTC = true
  pg.defaults.client_encoding = 'UTF8'
  const r = await both({ max: 1 })
  assert.deepEqual(r.ours, r.pg)
  // What pg does, so that the comparison above cannot pass by both ignoring pg.defaults.
  assert.equal(r.ours.app, 'ldp-defaults-app')
  assert.equal(r.ours.statementTimeout, '5s')
  assert.equal(r.ours.lockTimeout, '700ms')
  assert.deepEqual(r.ours.server, { user: db.user, database: db.database })
  assert.equal(r.ours.dateText, '2024-01-15T12:30:45.678+00:00')
  assert.equal(r.ours.intFormat, 'binary')
  assert.equal(r.ours.client.binary, true)
  assert.equal(r.ours.params.client_encoding, 'UTF8')
  // pool.options stays a copy of what the user passed (plus pg-pool's own defaults).
  assert.ok(!r.ours.optionKeys.includes('application_name') && !r.ours.optionKeys.includes('host'))
})

test('with only the server in pg.defaults, Dates are local text and results text, as in pg', async () => {
  await serverAsDefaults()
  const r = await both({ max: 1 })
  assert.deepEqual(r.ours, r.pg)
  assert.equal(r.ours.dateText, '2024-01-15T07:30:45.678-05:00')
  assert.equal(r.ours.intFormat, 'text')
  assert.equal(r.ours.client.binary, false)
})

test('fallback_application_name and query_timeout from pg.defaults', async () => {
  await serverAsDefaults()
  pg.defaults.fallback_application_name = 'ldp-defaults-fallback'
  pg.defaults.query_timeout = 150
  const r = await both({ max: 1 }, async (pool) => {
    const seen = await observe(pool)
    const started = Date.now()
    const err = await pool.query('SELECT pg_sleep(3)').then(
      () => null,
      (e) => e
    )
    // Not compared: this pool's connectionParameters.application_name is the name sent (here
    // the fallback), where pg's stays undefined, with or without pg.defaults.
    delete seen.params.application_name
    return { seen, timeout: err && err.message, fast: Date.now() - started < 2000 }
  })
  assert.deepEqual(r.ours, r.pg)
  assert.equal(r.ours.seen.app, 'ldp-defaults-fallback')
  assert.deepEqual({ timeout: r.ours.timeout, fast: r.ours.fast }, { timeout: 'Query read timeout', fast: true })
})

test('a PG* variable wins over pg.defaults, for both pools', async () => {
  const db = await serverAsDefaults()
  pg.defaults.application_name = 'ldp-defaults-loses'
  process.env.PGAPPNAME = 'ldp-env-wins'
  // A port nothing listens on, and TLS the server may not offer: the variables must win.
  pg.defaults.port = 1
  process.env.PGPORT = String(db.port)
  pg.defaults.ssl = true
  process.env.PGSSLMODE = 'disable'
  const r = await both({ max: 1 })
  assert.deepEqual(r.ours, r.pg)
  assert.equal(r.ours.app, 'ldp-env-wins')
  assert.equal(r.ours.client.port, Number(db.port))
  assert.equal(r.ours.client.ssl, false)
})

test('an option wins over the PG* variable and pg.defaults, for both pools', async () => {
  await serverAsDefaults()
  pg.defaults.application_name = 'ldp-defaults-loses'
  process.env.PGAPPNAME = 'ldp-env-loses'
  pg.defaults.statement_timeout = 5000
  pg.defaults.binary = true
  const r = await both({ max: 1, application_name: 'ldp-option-wins', statement_timeout: 1200, binary: false })
  assert.deepEqual(r.ours, r.pg)
  assert.equal(r.ours.app, 'ldp-option-wins')
  assert.equal(r.ours.statementTimeout, '1200ms')
  // pg: `config.binary || defaults.binary`, so `binary: false` leaves pg.defaults' true.
  assert.equal(r.ours.client.binary, true)
})

test('pg.defaults.ssl decides TLS when neither the options nor PGSSLMODE do', async () => {
  await serverAsDefaults()
  pg.defaults.ssl = { rejectUnauthorized: false }
  const attempt = async (make) => {
    const pool = make({ max: 1 })
    try {
      const c = await pool.connect()
      c.release()
      return { ssl: c.ssl }
    } catch (err) {
      return { error: err.message }
    } finally {
      await pool.end().catch(() => {})
    }
  }
  const r = { pg: await attempt(IMPLS.pg), ours: await attempt(IMPLS.ours) }
  // The server may or may not offer TLS: either way both pools asked for it and fare alike.
  if (r.pg.error) {
    assert.ok(r.ours.error, `pg failed (${r.pg.error}) but this pool connected without TLS`)
  } else {
    assert.deepEqual(r.ours, r.pg)
    assert.deepEqual(r.ours.ssl, { rejectUnauthorized: false })
  }
  // Without pg.defaults.ssl, the same pools connect in plain text.
  pg.defaults.ssl = false
  const plain = await attempt(IMPLS.ours)
  assert.deepEqual(plain, { ssl: false })
})

test('a bad pg.defaults value is refused at construction, named pg.defaults.<key>', () => {
  const cases = [
    ['port', 'abc', RangeError],
    ['host', 5, TypeError],
    ['statement_timeout', 'soon', TypeError],
    ['binary', 'yes', TypeError],
    ['ssl', 'bogus', RangeError],
    ['parseInputDatesAsUTC', 'yes', TypeError],
    ['application_name', Symbol('app'), TypeError],
  ]
  for (const [key, value, Ctor] of cases) {
    const before = pg.defaults[key]
    pg.defaults[key] = value
    try {
      assert.throws(
        () => new LeakDetectingPool({ max: 1 }),
        (err) => {
          assert.equal(err.constructor, Ctor, `${key}: ${err.message}`)
          assert.equal(err.code, 'LDP_INVALID_OPTION')
          assert.equal(err.option, `pg.defaults.${key}`)
          assert.ok(err.message.startsWith(`Invalid pg.defaults.${key}:`), err.message)
          return true
        }
      )
    } finally {
      pg.defaults[key] = before
    }
  }
  // A bad value below an option that decides is never read (nor does pg read it).
  pg.defaults.port = 'abc'
  const pool = new LeakDetectingPool({ port: 5432 })
  return pool.end()
})

test('pg.defaults of an ES module import of pg are read too', async () => {
  const db = await findDatabase()
  const code = `
    import pg from 'pg'
    import { LeakDetectingPool } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'index.mjs')).href)}
    const db = JSON.parse(process.env.LDP_TEST_DEFAULTS_DB)
    Object.assign(pg.defaults, db, { application_name: 'ldp-esm-defaults' })
    const pool = new LeakDetectingPool({ max: 1 })
    try {
      const { rows } = await pool.query('SHOW application_name')
      console.log(JSON.stringify(rows[0].application_name))
    } finally {
      await pool.end()
    }
  `
  const server = { host: db.host, port: Number(db.port), user: db.user, database: db.database }
  if (db.password != null) server.password = db.password
  const env = { ...process.env, LDP_TEST_DEFAULTS_DB: JSON.stringify(server) }
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, env, encoding: 'utf8', timeout: 30000 })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(JSON.parse(r.stdout.trim()), 'ldp-esm-defaults')
})

test('pg is found among the loaded modules: the first copy loaded wins; none without pg', () => {
  assert.equal(findPgDefaults(), pg.defaults)
  const first = { application_name: 'first' }
  const second = { application_name: 'second' }
  const at = (...parts) => path.join(path.sep, 'app', ...parts, 'pg', 'lib', 'defaults.js')
  const cache = {
    [path.join(path.sep, 'app', 'node_modules', 'notpg', 'lib', 'defaults.js')]: { exports: { application_name: 'not pg' } },
    [at('node_modules')]: { exports: first },
    [at('node_modules', 'orm', 'node_modules')]: { exports: second },
  }
  assert.equal(findPgDefaults(cache), first)
  assert.equal(findPgDefaults({}), null)
  // Only what differs from pg's stock defaults makes up the layer.
  assert.deepEqual(pgDefaultsLayer(null), {})
  assert.deepEqual(pgDefaultsLayer({ ...pg.defaults }, { USER: pg.defaults.user }), {})
  assert.deepEqual(pgDefaultsLayer({ ...pg.defaults, port: 5433, binary: true }, { USER: pg.defaults.user }), { port: 5433, binary: true })
})
