'use strict'
// The server itself fails, on a throwaway cluster this file owns: restarted (fast and
// immediate shutdown) under load, and down when the pool starts. After each: every caller got
// a result or an error (never a hang), no result reached the wrong caller, a transaction is
// reported committed only if it is in the table, the counters are exact once settled, and the
// pool serves again without being recreated.

const test = require('node:test')
const assert = require('node:assert/strict')
const { LeakDetectingPool } = require('..')
const { startThrowawayCluster } = require('./helpers/db')
const { within, counts, settled, assertClean, transfers, checkLedger, serves, viaPg, sleep, quiet } = require('./helpers/fault')

const MAX = 4
let cluster

test.before(async () => {
  // synchronous_commit on: a COMMIT the server acknowledged survives an immediate shutdown
  // (the helper's clusters turn it off for speed, which loses the last commits by design).
  cluster = await startThrowawayCluster({ settings: { synchronous_commit: true } })
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
