'use strict'
/**
 * What every fault-*.test.js checks after a fault, in one place:
 *
 * - `within(p, ms, what)`: every await has a bound; a call that neither resolves nor rejects
 *   fails the test with `what` instead of hanging the run.
 * - `tagged(pool, n, prefix)`: n concurrent `SELECT $1::text` calls, each sending its own token;
 *   a result that carries another caller's token is counted in `wrong` (never allowed).
 * - `transfers(pool, table, n, prefix)`: n concurrent transactions (BEGIN, INSERT, COMMIT) on
 *   checked-out clients, each recording how far it got and whether COMMIT was reported done;
 *   `checkLedger(cfg, table, outcomes)` then reads the table: a transaction reported
 *   committed must be there, one that failed before COMMIT was sent must not.
 * - `settled(pool, ms)`: waits until the pool's counters are at rest (`waitingCount` 0,
 *   `totalCount` equal to `idleCount`) and returns them; `serves(pool, n)`: the pool answers
 *   `n` concurrent queries again.
 */

const assert = require('node:assert/strict')
const pg = require('pg')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** `p`, or a rejection naming `what` once `ms` pass first (the timer never keeps Node alive). */
function within(p, ms, what) {
  let timer
  const bound = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung: ${what} did not settle within ${ms} ms`)), ms)
    timer.unref()
  })
  return Promise.race([Promise.resolve(p), bound]).finally(() => clearTimeout(timer))
}

const NOOP = () => {}

/** One no-op `error` listener on a (reused) client: its failures reach the pending query. */
function quiet(client) {
  if (!client.listeners('error').includes(NOOP)) client.on('error', NOOP)
  return client
}

/** The pool's counters. */
const counts = (pool) => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount })

/** Waits (bounded) until nothing waits and every connection is idle; returns the counts. */
async function settled(pool, ms = 5000) {
  const deadline = Date.now() + ms
  for (;;) {
    const c = counts(pool)
    if (c.waiting === 0 && c.total === c.idle) return c
    if (Date.now() > deadline) throw new Error(`counts never settled: ${JSON.stringify(c)}`)
    await sleep(10)
  }
}

/** `n` concurrent caller-identified queries; classifies each outcome. */
async function tagged(pool, n, prefix, ms = 10000, sql = 'SELECT $1::text AS who') {
  const outcomes = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const token = `${prefix}-${i}`
      return within(pool.query(sql, [token]), ms, `query ${token}`).then(
        (r) => ({ token, ok: true, who: r.rows[0].who }),
        (err) => ({ token, ok: false, err })
      )
    })
  )
  const wrong = outcomes.filter((o) => o.ok && o.who !== o.token)
  const failed = outcomes.filter((o) => !o.ok)
  const hung = failed.filter((o) => /^hung:/.test(o.err.message))
  return { outcomes, ok: outcomes.length - failed.length, failed, wrong, hung }
}

/** Every failure is an Error with a message (and never a hang); no caller got another's row. */
function assertClean(r, what) {
  assert.deepEqual(
    r.wrong.map((o) => `${o.token} got ${o.who}`),
    [],
    `${what}: a result reached the wrong caller`
  )
  assert.deepEqual(
    r.hung.map((o) => o.token),
    [],
    `${what}: calls hung`
  )
  for (const o of r.failed) {
    assert.ok(o.err instanceof Error && o.err.message.length > 0, `${what}: ${o.token} rejected with ${o.err}`)
  }
}

/**
 * `n` concurrent transactions, each on a checked-out client: BEGIN, INSERT (id, token), a
 * short sleep so that faults land mid-transaction, COMMIT. Each outcome records the last step
 * sent (`stage`) and whether COMMIT was reported done.
 */
async function transfers(pool, table, n, prefix, { ms = 15000, sleepSec = 0.05 } = {}) {
  const one = async (i) => {
    const token = `${prefix}-${i}`
    const o = { token, stage: 'connect', committed: false, err: null }
    let client
    try {
      client = await within(pool.connect(), ms, `connect for ${token}`)
      quiet(client) // the error also reaches the pending query
      o.stage = 'begin'
      await within(client.query('BEGIN'), ms, `BEGIN of ${token}`)
      o.stage = 'insert'
      await within(client.query(`INSERT INTO ${table} (token) VALUES ($1)`, [token]), ms, `INSERT of ${token}`)
      o.stage = 'sleep'
      await within(client.query('SELECT pg_sleep($1)', [sleepSec]), ms, `sleep of ${token}`)
      o.stage = 'commit'
      const r = await within(client.query('COMMIT'), ms, `COMMIT of ${token}`)
      o.committed = r.command === 'COMMIT'
      client.release()
    } catch (err) {
      o.err = err
      if (client) {
        try {
          client.release(err)
        } catch {
          // already released or reclaimed: nothing to give back
        }
      }
    }
    return o
  }
  return Promise.all(Array.from({ length: n }, (_, i) => one(i)))
}

/** A pg.Client query on `cfg` (the checks read the server through pg, not through our pool). */
async function viaPg(cfg, sql, values) {
  const c = new pg.Client({ connectionString: cfg.connectionString, connectionTimeoutMillis: 5000 })
  c.on('error', () => {})
  await within(c.connect(), 10000, 'pg.Client connect')
  try {
    return await within(c.query(sql, values), 10000, 'pg.Client query')
  } finally {
    await c.end().catch(() => {})
  }
}

/** Checks the ledger: committed ⇒ present; failed before COMMIT was sent ⇒ absent. */
async function checkLedger(cfg, table, outcomes) {
  const { rows } = await viaPg(cfg, `SELECT token FROM ${table}`)
  const present = new Set(rows.map((r) => r.token))
  const lost = outcomes.filter((o) => o.committed && !present.has(o.token)).map((o) => o.token)
  const phantom = outcomes.filter((o) => !o.committed && o.stage !== 'commit' && present.has(o.token)).map((o) => o.token)
  const unknown = outcomes.filter((o) => !o.committed && !o.err)
  assert.deepEqual(lost, [], 'transactions reported committed are missing')
  assert.deepEqual(phantom, [], 'transactions that failed before COMMIT are in the table')
  assert.deepEqual(unknown, [], 'a transaction neither committed nor failed')
  for (const o of outcomes) if (o.err) assert.ok(o.err instanceof Error && o.err.message, `${o.token}: ${o.err}`)
  return {
    committed: outcomes.filter((o) => o.committed).length,
    failed: outcomes.filter((o) => o.err).length,
    presentAfterFailedCommit: outcomes.filter((o) => o.err && o.stage === 'commit' && present.has(o.token)).length,
  }
}

/** The pool answers `n` concurrent identified queries again (bounded). */
async function serves(pool, n, prefix = 'again', ms = 10000) {
  const r = await tagged(pool, n, prefix, ms)
  assertClean(r, 'after recovery')
  assert.equal(r.ok, n, `after recovery: ${r.failed.map((o) => o.err.message).join('; ')}`)
}

module.exports = { quiet, within, counts, settled, tagged, assertClean, transfers, checkLedger, serves, viaPg, sleep }
