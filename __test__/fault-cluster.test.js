'use strict'
// The server itself fails, on a throwaway cluster this file owns: restarted (fast and
// immediate shutdown) under load, down when the pool starts, out of connections
// (max_connections), and refusing to authenticate (wrong, missing and failing passwords for
// scram-sha-256 and md5 roles). After each: every caller got
// a result or an error (never a hang), no result reached the wrong caller, a transaction is
// reported committed only if it is in the table, the counters are exact once settled, and the
// pool serves again without being recreated.

const test = require('node:test')
const assert = require('node:assert/strict')
const { LeakDetectingPool } = require('..')
const pg = require('pg')
const { startThrowawayCluster } = require('./helpers/db')
const { within, counts, settled, tagged, assertClean, transfers, checkLedger, serves, viaPg, sleep, quiet } = require('./helpers/fault')

const MAX = 4
const SCRAM_PASSWORD = 'fault-scram-pw'
const MD5_PASSWORD = 'fault-md5-pw'
let cluster

test.before(async () => {
  // synchronous_commit on: a COMMIT the server acknowledged survives an immediate shutdown
  // (the helper's clusters turn it off for speed, which loses the last commits by design).
  cluster = await startThrowawayCluster({
    settings: { synchronous_commit: true },
    passwordUser: [
      { name: 'fault_scram', password: SCRAM_PASSWORD, method: 'scram-sha-256' },
      { name: 'fault_md5', password: MD5_PASSWORD, method: 'md5' },
    ],
  })
})
test.after(() => cluster && cluster.stop())

function makePool(t, opts = {}) {
  const pool = new LeakDetectingPool({ ...cluster.config(), max: MAX, connectionTimeoutMillis: 1500, endTimeoutMs: 500, ...opts })
  const poolErrors = []
  pool.on('error', (err) => poolErrors.push(err))
  t.after(() => (pool.ending ? null : within(pool.end(), 5000, 'pool.end()').catch(() => {})))
  return { pool, poolErrors }
}

/**
 * Load until `stop()`: `workers` loops of identified queries (direct and through a client)
 * and transactions into `table`. Resolves to every outcome.
 */
function load(pool, table, workers = 6) {
  let stopped = false
  const queries = []
  const txs = []
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; !stopped; i++) {
      const token = `w${w}-${i}`
      if (i % 3 === 2) {
        txs.push(...(await transfers(pool, table, 1, `tx-${token}`, { ms: 8000, sleepSec: 0.01 })))
        continue
      }
      const run = i % 3 === 0 ? pool.query('SELECT $1::text AS who', [token]) : viaClient(pool, token)
      const o = await within(run, 8000, `query ${token}`).then(
        (r) => ({ token, ok: true, who: r.rows[0].who }),
        (err) => ({ token, ok: false, err })
      )
      queries.push(o)
      if (!o.ok) await sleep(20) // the server is down: do not spin
    }
  })
  return {
    stop: async () => {
      stopped = true
      await Promise.all(loops)
      const failed = queries.filter((o) => !o.ok)
      return {
        queries: {
          outcomes: queries,
          ok: queries.length - failed.length,
          failed,
          wrong: queries.filter((o) => o.ok && o.who !== o.token),
          hung: failed.filter((o) => /^hung:/.test(o.err.message)),
        },
        txs,
      }
    },
  }
}

async function viaClient(pool, token) {
  const c = await pool.connect()
  quiet(c)
  try {
    const r = await c.query('SELECT $1::text AS who', [token])
    c.release()
    return r
  } catch (err) {
    c.release(err)
    throw err
  }
}

for (const mode of ['fast', 'immediate']) {
  test(`restart (${mode} shutdown) under load: errors, never a hang or a wrong row; the ledger holds; it recovers`, async (t) => {
    const table = `restart_${mode}`
    await viaPg(cluster, `CREATE TABLE ${table} (token text PRIMARY KEY)`)
    const { pool, poolErrors } = makePool(t)
    const l = load(pool, table)
    await sleep(300)
    await within(cluster.stopServer(mode), 30000, 'stopping the cluster')
    await sleep(150) // callers meet a server that is down
    await within(cluster.startServer(), 30000, 'starting the cluster')
    await sleep(300)
    const { queries, txs } = await within(l.stop(), 15000, 'the load to finish')
    assertClean(queries, `restart ${mode}`)
    assert.ok(queries.ok > 0 && queries.failed.length > 0, `ok ${queries.ok}, failed ${queries.failed.length}`)
    const ledger = await checkLedger(cluster, table, txs)
    t.diagnostic(
      `queries ok ${queries.ok} failed ${queries.failed.length}; transactions committed ${ledger.committed} failed ${ledger.failed}; pool errors ${poolErrors.length}`
    )
    const c = await settled(pool)
    assert.ok(c.total <= MAX, JSON.stringify(c))
    await serves(pool, MAX)
    assert.deepEqual(counts(pool), { total: MAX, idle: MAX, waiting: 0 })
  })
}

test('server down when the pool starts: ECONNREFUSED for every caller, counts 0, then it serves', async (t) => {
  await within(cluster.stopServer('fast'), 30000, 'stopping the cluster')
  try {
    const { pool, poolErrors } = makePool(t)
    const errs = await Promise.all(
      [pool.query('SELECT 1'), pool.connect(), pool.query('SELECT $1::text', ['x']), pool.connect(), pool.connect()].map((p) =>
        within(p, 5000, 'a call while the server is down').then(
          () => null,
          (e) => e
        )
      )
    )
    for (const e of errs) {
      assert.ok(e instanceof Error)
      assert.equal(e.code, 'ECONNREFUSED', e.message)
    }
    assert.deepEqual(await settled(pool), { total: 0, idle: 0, waiting: 0 })
    assert.equal(poolErrors.length, 0)
    await within(cluster.startServer(), 30000, 'starting the cluster')
    await serves(pool, MAX)
  } finally {
    await cluster.startServer()
  }
})

test('idle connections when the server restarts: each reported once on the pool, removed, replaced on demand', async (t) => {
  const { pool, poolErrors } = makePool(t)
  await serves(pool, MAX)
  assert.equal(pool.idleCount, MAX)
  await within(cluster.stopServer('immediate'), 30000, 'stopping the cluster')
  for (let i = 0; i < 200 && pool.totalCount > 0; i++) await sleep(10)
  assert.deepEqual(counts(pool), { total: 0, idle: 0, waiting: 0 })
  assert.equal(poolErrors.length, MAX)
  for (const e of poolErrors) assert.ok(e.client, 'err.client is set, as in pg')
  await within(cluster.startServer(), 30000, 'starting the cluster')
  await serves(pool, MAX)
})

test('max_connections exhausted: the callers beyond it get 53300, the rest are served; counts exact; it recovers', async (t) => {
  await viaPg(cluster, 'ALTER SYSTEM SET max_connections = 3')
  await viaPg(cluster, 'ALTER SYSTEM SET superuser_reserved_connections = 0')
  await within(cluster.restart(), 30000, 'restarting the cluster')
  const hogs = []
  t.after(async () => {
    await Promise.all(hogs.map((h) => h.end().catch(() => {})))
    await cluster.stopServer('immediate') // frees every session, whoever holds them
    await cluster.startServer()
    await viaPg(cluster, 'ALTER SYSTEM RESET ALL')
    await cluster.restart()
  })
  const { pool } = makePool(t, { max: 6, connectionTimeoutMillis: 3000 })
  const r = await tagged(pool, 6, 'full', 10000, 'SELECT $1::text AS who, pg_sleep(0.3)')
  assertClean(r, 'max_connections')
  assert.ok(r.failed.length >= 3, `only ${r.failed.length} failed`)
  for (const o of r.failed) assert.equal(o.err.code, '53300', o.err.message)
  const c = await settled(pool)
  assert.ok(c.total <= 3, JSON.stringify(c))
  await pool.end()
  // Another application takes every session: new connections fail, then work again.
  const { pool: p2 } = makePool(t, { max: 3 })
  const deadline = Date.now() + 5000
  while (hogs.length < 3) {
    // The first pool's sessions end on the server shortly after its end() resolved.
    const h = new pg.Client(cluster.config())
    h.on('error', () => {})
    const err = await within(h.connect(), 5000, 'a hog connecting').then(
      () => null,
      (e) => e
    )
    if (!err) hogs.push(h)
    else if (Date.now() > deadline) throw err
    else await sleep(20)
  }
  const full = await tagged(p2, 4, 'hogged', 5000)
  assertClean(full, 'hogged')
  assert.equal(full.ok, 0)
  for (const o of full.failed) assert.equal(o.err.code, '53300')
  assert.deepEqual(await settled(p2), { total: 0, idle: 0, waiting: 0 })
  await Promise.all(hogs.map((h) => h.end()))
  // The hogs' sessions end on the server a moment after end() resolved: retry until served.
  for (let i = 0; ; i++) {
    const again = await tagged(p2, 3, `again-${i}`, 5000)
    assertClean(again, 'after the hogs left')
    if (again.ok === 3) break
    assert.ok(i < 50, 'never served again')
    await sleep(20)
  }
})

const AUTH_FAILURES = [
  ['scram-sha-256, wrong password', { user: 'fault_scram', password: 'wrong' }, (e) => e.code === '28P01'],
  ['md5, wrong password', { user: 'fault_md5', password: 'wrong' }, (e) => e.code === '28P01'],
  ['scram-sha-256, no password', { user: 'fault_scram' }, (e) => e.code === 'LDP_AUTH' || /password/i.test(e.message)],
  [
    'a password function that throws',
    { user: 'fault_scram', password: () => Promise.reject(new Error('vault unreachable')) },
    (e) => /vault unreachable/.test(e.message),
  ],
  [
    'a password function that returns a number',
    { user: 'fault_md5', password: () => 42 },
    (e) => e.message === 'Password must be a string' || /string/.test(e.message),
  ],
  [
    'a password function that never settles',
    { user: 'fault_scram', password: () => new Promise(() => {}) },
    // bounded by connectionTimeoutMillis; or, once GC collected the forgotten promise, LDP_AUTH
    (e) => /timeout/i.test(e.message) || e.code === 'LDP_AUTH',
  ],
]

for (const [name, auth, isExpected] of AUTH_FAILURES) {
  test(`authentication fails (${name}): every caller gets the error, counts 0, the right password then works`, async (t) => {
    const cfg = { ...cluster.config(), connectionString: undefined, ...auth }
    const { pool, poolErrors } = makePool(t, { ...cfg, connectionTimeoutMillis: 1000 })
    const r = await tagged(pool, 5, 'auth', 5000)
    assertClean(r, name)
    assert.equal(r.ok, 0)
    for (const o of r.failed) assert.ok(isExpected(o.err), `${name}: ${o.err.code} ${o.err.message}`)
    assert.deepEqual(await settled(pool), { total: 0, idle: 0, waiting: 0 })
    assert.equal(poolErrors.length, 0)
    await pool.end()
    const password = auth.user === 'fault_md5' ? MD5_PASSWORD : SCRAM_PASSWORD
    const { pool: good } = makePool(t, { ...cfg, password })
    await serves(good, 2)
  })
}

test(
  'a password function whose promise is forgotten (never settles, then collected): the error says so in words',
  {
    skip: !global.gc && 'needs --expose-gc',
  },
  async (t) => {
    const cfg = { ...cluster.config(), connectionString: undefined, user: 'fault_scram' }
    const { pool } = makePool(t, { ...cfg, connectionTimeoutMillis: 3000, password: () => new Promise(() => {}) })
    const p = pool.query('SELECT 1').catch((e) => e)
    for (let i = 0; i < 20; i++) {
      await sleep(20)
      global.gc()
    }
    const e = await within(p, 5000, 'the query')
    assert.ok(e instanceof Error)
    assert.doesNotMatch(e.message, /oneshot|canceled/)
    assert.match(e.message, /password function/)
    assert.deepEqual(counts(pool), { total: 0, idle: 0, waiting: 0 })
  }
)
