'use strict'
// Connection options reach the server as with pg: connection strings and discrete options,
// pg's environment variables, unix socket directories, application_name, statement_timeout,
// lock_timeout, idle_in_transaction_session_timeout, options (-c ...), keepAlive. Plus ours:
// maxWaiting and the per-connection statement cache (statementCacheSize).

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity, dbConfig, rejection } = require('./helpers/parity')
const { startThrowawayCluster } = require('./helpers/db')
const { LeakDetectingPool } = require('..')

const SETTINGS_SQL = `SELECT current_setting('application_name') AS app, current_setting('statement_timeout') AS st,
  current_setting('lock_timeout') AS lt, current_setting('idle_in_transaction_session_timeout') AS itx,
  current_setting('search_path') AS sp, current_user AS u, current_database() AS d`

const settings = async (pool) => (await pool.query(SETTINGS_SQL)).rows[0]

test('discrete options reach the server (parity)', async () => {
  const r = await assertParity(
    {
      application_name: 'ldp-opts',
      statement_timeout: 4321,
      lock_timeout: 1234,
      idle_in_transaction_session_timeout: 5678,
      options: '-c search_path=ldp_a,public',
      keepAlive: true,
      keepAliveInitialDelayMillis: 1000,
    },
    settings
  )
  assert.deepEqual(
    { app: r.ours.value.app, st: r.ours.value.st, lt: r.ours.value.lt, itx: r.ours.value.itx, sp: r.ours.value.sp },
    { app: 'ldp-opts', st: '4321ms', lt: '1234ms', itx: '5678ms', sp: 'ldp_a,public' }
  )
})

test('connection string parameters (parity)', async () => {
  const cfg = await dbConfig()
  const url = `postgres://${encodeURIComponent(cfg.user)}@127.0.0.1:${cfg.port}/${encodeURIComponent(cfg.database)}?application_name=ldp-url&options=${encodeURIComponent('-c search_path=ldp_b')}`
  const r = await assertParity({ connectionString: url, host: undefined, port: undefined, user: undefined, database: undefined }, settings)
  assert.equal(r.ours.value.app, 'ldp-url')
  assert.equal(r.ours.value.sp, 'ldp_b')
  assert.equal(r.ours.value.d, cfg.database)
})

test("pg's environment variables (PGAPPNAME, PGHOST, PGPORT, PGUSER, PGDATABASE) (parity)", async () => {
  const cfg = await dbConfig()
  const env = { PGAPPNAME: 'ldp-env', PGHOST: '127.0.0.1', PGPORT: String(cfg.port), PGUSER: cfg.user, PGDATABASE: cfg.database }
  const saved = {}
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k]
    process.env[k] = v
  }
  try {
    const r = await assertParity(
      { connectionString: undefined, host: undefined, port: undefined, user: undefined, database: undefined },
      settings
    )
    assert.equal(r.ours.value.app, 'ldp-env')
    assert.equal(r.ours.value.u, cfg.user)
  } finally {
    for (const k of Object.keys(env)) {
      if (saved[k] === undefined) delete process.env[k]
      else process.env[k] = saved[k]
    }
  }
})

test('unix socket directory as host, and in a connection string (parity)', async (t) => {
  const cluster = await startThrowawayCluster()
  t.after(() => cluster.stop())
  const viaSocket = { host: cluster.socketDir, port: cluster.port, user: 'postgres', database: 'postgres', connectionString: undefined }
  const r = await assertParity(viaSocket, async (pool) => (await pool.query('SELECT inet_server_addr() IS NULL AS unix')).rows[0])
  assert.deepEqual(r.ours.value, { unix: true })
  const url = `postgresql://postgres@${encodeURIComponent(cluster.socketDir)}:${cluster.port}/postgres`
  const r2 = await assertParity(
    { connectionString: url, host: undefined, port: undefined, user: undefined, database: undefined },
    async (pool) => (await pool.query('SELECT inet_server_addr() IS NULL AS unix')).rows[0]
  )
  assert.deepEqual(r2.ours.value, { unix: true })
})

test('ours: maxWaiting bounds the queue; beyond it connect() rejects at once', async () => {
  const pool = new LeakDetectingPool({ ...(await dbConfig()), max: 1, maxWaiting: 1 })
  try {
    const held = await pool.connect()
    const queued = pool.connect()
    const t0 = Date.now()
    const err = await rejection(pool.connect())
    assert.ok(Date.now() - t0 < 100)
    assert.equal(err.code, 'LDP_QUEUE_FULL')
    assert.match(err.message, /maxWaiting \(1\)/)
    const qerr = await rejection(pool.query('SELECT 1'))
    assert.equal(qerr.code, 'LDP_QUEUE_FULL')
    assert.equal(pool.waitingCount, 1)
    held.release()
    ;(await queued).release()
    assert.deepEqual([pool.totalCount, pool.idleCount, pool.waitingCount], [1, 1, 0])
  } finally {
    await pool.end()
  }
})

const PREPARED = 'SELECT count(*)::int AS n FROM pg_prepared_statements'

test('ours: parameterized statements are cached per connection; statementCacheSize: 0 uses only unnamed ones', async () => {
  for (const [size, expected] of [
    [undefined, 2],
    [0, 0],
    [1, 1],
  ]) {
    const pool = new LeakDetectingPool({ ...(await dbConfig()), max: 1, statementCacheSize: size })
    try {
      const c = await pool.connect()
      try {
        for (let i = 0; i < 3; i++) {
          assert.equal((await c.query('SELECT $1::int + 1 AS n', [i])).rows[0].n, i + 1)
          assert.equal((await c.query('SELECT $1::text AS t', [`v${i}`])).rows[0].t, `v${i}`)
        }
        assert.equal((await c.query(PREPARED)).rows[0].n, expected, `statementCacheSize ${size}`)
      } finally {
        c.release()
      }
    } finally {
      await pool.end()
    }
  }
})

test('a cached statement survives a schema change: re-prepared transparently, as with pg (parity)', async () => {
  const r = await assertParity({ max: 1 }, async (pool) => {
    const c = await pool.connect()
    try {
      await c.query('CREATE TEMP TABLE sc_t (a int)')
      await c.query('INSERT INTO sc_t VALUES (1)')
      const q = () => c.query('SELECT * FROM sc_t WHERE a >= $1', [0])
      const before = await q()
      await q()
      await c.query("ALTER TABLE sc_t ADD COLUMN b text DEFAULT 'x'")
      const after = await q().catch((e) => e)
      const again = await q().catch((e) => e)
      await c.query('ALTER TABLE sc_t DROP COLUMN a')
      const dropped = await c.query('SELECT * FROM sc_t WHERE b >= $1', ['']).catch((e) => e)
      return { before, after, again, dropped }
    } finally {
      c.release()
    }
  })
  assert.deepEqual(r.ours.value.after.rows[0].value, { a: 1, b: 'x' })
})

test('ours: inside a transaction block a stale cached statement fails (0A000) instead of being re-planned', async () => {
  // pg never caches plans, so it succeeds here; a retry inside a transaction is impossible (the
  // error has already aborted it). Disable the cache (statementCacheSize: 0) if schema changes
  // and cached statements meet inside transactions.
  const pool = new LeakDetectingPool({ ...(await dbConfig()), max: 1 })
  try {
    const c = await pool.connect()
    try {
      await c.query('CREATE TEMP TABLE sc_tx (a int)')
      const q = () => c.query('SELECT * FROM sc_tx WHERE a >= $1', [0])
      await q()
      await q()
      await c.query('BEGIN')
      await c.query('ALTER TABLE sc_tx ADD COLUMN b int')
      const err = await rejection(q())
      assert.equal(err.code, '0A000')
      await c.query('ROLLBACK')
      assert.equal((await q()).fields.length, 1)
    } finally {
      c.release()
    }
  } finally {
    await pool.end()
  }
})
