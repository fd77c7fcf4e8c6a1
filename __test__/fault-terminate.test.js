'use strict'
// pg_terminate_backend of the pool's own connections (matched by this test's unique
// application_name, so no other test's backends are touched), idle and busy. An idle one goes
// to the pool's `error` listener and is removed; a busy one fails its caller with the server's
// 57P01; a transaction in flight is reported failed and is not in the table; the counters are
// exact and the pool serves again.

const test = require('node:test')
const assert = require('node:assert/strict')
const { LeakDetectingPool } = require('..')
const { findDatabase, uniqueAppName, killBackends } = require('./helpers/db')
const { within, counts, settled, tagged, assertClean, transfers, checkLedger, serves, viaPg, sleep } = require('./helpers/fault')

const MAX = 4

async function setup(t, opts = {}) {
  const db = await findDatabase()
  const appName = uniqueAppName('fault-term')
  const pool = new LeakDetectingPool({
    ...db,
    application_name: appName,
    max: MAX,
    connectionTimeoutMillis: 3000,
    endTimeoutMs: 500,
    ...opts,
  })
  const poolErrors = []
  pool.on('error', (err) => poolErrors.push(err))
  t.after(() => (pool.ending ? null : within(pool.end(), 5000, 'pool.end()').catch(() => {})))
  return { db, pool, poolErrors, kill: () => within(killBackends(db, appName), 10000, 'pg_terminate_backend') }
}

test('idle connections terminated: one pool error each (57P01, err.client), then removed, counts 0, then it serves', async (t) => {
  const { pool, poolErrors, kill } = await setup(t)
  // pg-pool's order for an idle client that died: its `error`, then its `remove`.
  const order = []
  pool.on('error', (err, client) => order.push(['error', client]))
  pool.on('remove', (client) => order.push(['remove', client]))
  // MAX connections, all idle: MAX clients held at once, then released (concurrent
  // pool.query calls may be served by fewer connections than they opened).
  const held = await Promise.all(Array.from({ length: MAX }, () => pool.connect()))
  for (const c of held) c.release()
  assert.equal(pool.idleCount, MAX)
  assert.equal(await kill(), MAX)
  // The removals and the error events arrive on their own turns: wait for both (bounded).
  for (let i = 0; i < 300 && (pool.totalCount > 0 || order.length < 2 * MAX); i++) await sleep(10)
  assert.deepEqual(counts(pool), { total: 0, idle: 0, waiting: 0 })
  assert.equal(poolErrors.length, MAX)
  for (const c of held) {
    const events = order.filter((e) => e[1] === c).map((e) => e[0])
    assert.deepEqual(events, ['error', 'remove'], `client ${c.processID}`)
  }
  for (const e of poolErrors) {
    assert.equal(e.code, '57P01', e.message)
    assert.ok(e.client, 'err.client')
  }
  await serves(pool, MAX)
})

test('busy connections terminated: the callers get 57P01, waiters are served by new connections, nothing hangs', async (t) => {
  const { pool, poolErrors, kill } = await setup(t)
  await serves(pool, MAX)
  // MAX running statements plus queued callers behind them.
  const running = tagged(pool, MAX * 3, 'busy', 10000, 'SELECT $1::text AS who, pg_sleep(0.4)')
  await sleep(150)
  const killed = await kill()
  assert.ok(killed >= 1, 'nothing was running')
  const r = await running
  assertClean(r, 'terminate busy')
  assert.ok(r.failed.length >= 1)
  for (const o of r.failed) assert.match(`${o.err.code} ${o.err.message}`, /57P01|terminat/i)
  assert.ok(r.ok >= 1, 'the queued callers were not served after the kill')
  assert.equal(poolErrors.length, 0, 'a busy connection failure went to the pool')
  assert.deepEqual(await settled(pool), counts(pool))
  await serves(pool, MAX)
})

test('checked-out clients terminated mid-transaction: reported failed, not in the table; the client refuses further queries', async (t) => {
  const { db, pool, poolErrors, kill } = await setup(t)
  const table = `fault_term_${process.pid}_${Date.now()}`
  await viaPg(db, `CREATE TABLE ${table} (token text PRIMARY KEY)`)
  t.after(() => viaPg(db, `DROP TABLE IF EXISTS ${table}`))
  const held = await pool.connect()
  const heldErrors = []
  held.on('error', (e) => heldErrors.push(e))
  await held.query('BEGIN')
  const running = transfers(pool, table, MAX - 1, 'tx', { sleepSec: 0.5 })
  await sleep(200)
  await kill()
  const outcomes = await running
  const ledger = await checkLedger(db, table, outcomes)
  assert.equal(ledger.committed, 0)
  assert.equal(ledger.failed, MAX - 1)
  // The held client, idle inside its transaction, hears of it on its own `error`, as pg's
  // does: the server's 57P01, then the socket's end.
  for (let i = 0; i < 200 && heldErrors.length < 2; i++) await sleep(10)
  assert.deepEqual(
    heldErrors.map((e) => e.code || e.message),
    ['57P01', 'LDP_CONNECTION_TERMINATED']
  )
  assert.equal(heldErrors[1].message, 'Connection terminated unexpectedly')
  const e = await within(held.query('SELECT 1'), 3000, 'query on a terminated client').then(
    () => null,
    (err) => err
  )
  assert.equal(e && e.message, 'Client has encountered a connection error and is not queryable')
  held.release()
  assert.equal(poolErrors.length, 0)
  assert.deepEqual(await settled(pool), counts(pool))
  await serves(pool, MAX)
})
