'use strict'
// A client released inside an open or failed transaction is rolled back before anyone else
// gets it, and an alert 'released-in-transaction' is recorded.

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, waitUntil } = require('./helpers/leak')

async function forgetsToCommit(pool) {
  const c = await pool.connect()
  await c.query('BEGIN')
  await c.query('CREATE TEMP TABLE ldp_txn_probe (x int)')
  c.release()
  return c.processID
}

async function ignoresTheError(pool) {
  const c = await pool.connect()
  await c.query('BEGIN')
  await c.query('SELECT 1/0').catch(() => {})
  c.release()
}

test('release inside a transaction: alert, and the next checkout is clean', async (t) => {
  const pool = await makePool({ max: 1, leakThresholdMs: 30000 }, t)
  const pid = await forgetsToCommit(pool)
  await waitUntil(() => pool.getAlerts().some((a) => a.type === 'released-in-transaction'), 3000, 'the alert')
  const alert = pool.getAlerts().find((a) => a.type === 'released-in-transaction')
  assert.match(alert.location, /forgetsToCommit/)
  assert.equal(typeof alert.id, 'number')
  assert.equal(typeof alert.at, 'number')
  assert.ok(alert.ageMs >= 0)
  assert.equal(alert.status, 'in-transaction')

  const next = await pool.connect()
  assert.equal(next.processID, pid, 'the same connection (max 1), rolled back')
  const r = await next.query("SELECT to_regclass('pg_temp.ldp_txn_probe') IS NULL AS gone, now() = statement_timestamp() AS fresh")
  assert.equal(r.rows[0].gone, true, 'the transaction was rolled back')
  assert.equal(r.rows[0].fresh, true, 'not inside a transaction any more')
  next.release()

  await ignoresTheError(pool)
  await waitUntil(() => pool.getAlerts().filter((a) => a.type === 'released-in-transaction').length === 2, 3000, 'the second alert')
  const failed = pool.getAlerts().filter((a) => a.type === 'released-in-transaction')[1]
  assert.equal(failed.status, 'failed-transaction')
  assert.match(failed.location, /ignoresTheError/)
  const again = await pool.connect()
  assert.equal((await again.query('SELECT 1 AS one')).rows[0].one, 1)
  again.release()

  // Honest use records no alert.
  const before = pool.getAlerts().length
  const c = await pool.connect()
  await c.query('BEGIN')
  await c.query('COMMIT')
  c.release()
  await pool.query('SELECT 1')
  assert.equal(pool.getAlerts().length, before)
})
