'use strict'
// The core resolves the options once (defaults, connection string, PG* environment) and the
// JS layer reads that view: a client reports the server it is really connected to,
// query_timeout works from a connection string as from the options, and a pool that names no
// user anywhere connects as the account the process runs as (libpq's default) instead of
// sending none.

const test = require('node:test')
const assert = require('node:assert/strict')
const os = require('os')
const path = require('path')
const { spawnSync } = require('child_process')
const { parse } = require('pg-connection-string')
const { LeakDetectingPool } = require('..')
const { findDatabase } = require('./helpers/db')
const { both } = require('./helpers/parity')

test('client.host/port/database/user are what the connection string says (as with pg)', async (t) => {
  const db = await findDatabase()
  const cs = parse(db.connectionString)
  // The discrete options say otherwise: pg lets the connection string win.
  const pool = new LeakDetectingPool({
    connectionString: db.connectionString,
    host: 'nowhere.invalid',
    port: 1,
    user: 'nobody',
    database: 'nothing',
  })
  t.after(() => pool.end())
  const c = await pool.connect()
  try {
    const { rows } = await c.query('SELECT current_user AS u, current_database() AS d')
    assert.deepEqual(
      { host: c.host, port: c.port, user: c.user, database: c.database },
      { host: cs.host, port: Number(cs.port || 5432), user: rows[0].u, database: rows[0].d }
    )
    assert.equal(c.user, cs.user)
    assert.equal(c.database, cs.database)
  } finally {
    c.release()
  }
})

test('query_timeout in the connection string is enforced, as pg does', async () => {
  const url = new URL((await findDatabase()).connectionString)
  url.searchParams.set('query_timeout', '150')
  const r = await both({ connectionString: url.toString() }, async (pool) => {
    const started = Date.now()
    const err = await pool.query('SELECT pg_sleep(3)').then(
      () => null,
      (e) => e
    )
    return { message: err && err.message, fast: Date.now() - started < 2000 }
  })
  assert.deepEqual(r.ours.value, { message: 'Query read timeout', fast: true })
  assert.deepEqual(r.ours, r.pg)
})

test('with no user named anywhere, the pool connects as the account the process runs as', async () => {
  const db = await findDatabase()
  const cs = parse(db.connectionString)
  const env = {
    ...process.env,
    PGHOST: cs.host,
    PGPORT: String(cs.port || 5432),
    PGDATABASE: cs.database,
    PGPASSWORD: cs.password || 'unused',
  }
  for (const k of ['USER', 'USERNAME', 'PGUSER', 'LOGNAME']) delete env[k]
  const script = `
    const { LeakDetectingPool } = require(${JSON.stringify(path.join(__dirname, '..'))})
    const pool = new LeakDetectingPool()
    pool.query('SELECT current_user AS u')
      .then((r) => ({ user: r.rows[0].u }), (e) => ({ error: e.message }))
      .then((out) => pool.end().then(() => process.stdout.write(JSON.stringify(out))))`
  const child = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 20000 })
  assert.equal(child.status, 0, child.stderr)
  const out = JSON.parse(child.stdout)
  const account = os.userInfo().username
  // The server either knows the role (and it is the one we are) or refuses it by that name;
  // what it must never see is a startup packet without a user.
  if (out.user !== undefined) assert.equal(out.user, account)
  else assert.ok(out.error.includes(`"${account}"`), out.error)
})
