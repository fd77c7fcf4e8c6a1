'use strict'
// A PoolClient garbage-collected while checked out is a certain leak: its connection is
// destroyed, its slot freed, and it is reported in leaksDetected with reason
// 'garbage-collected' and its checkout stack, plus an alert. (Run with --expose-gc.)

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, collect, sleep } = require('./helpers/leak')

async function takeAndDrop(pool) {
  const client = await pool.connect() // nobody keeps a reference
  await client.query('SELECT 1')
}

test(
  'a garbage-collected checked-out client is reclaimed and reported with its stack',
  { skip: typeof global.gc !== 'function' && 'needs --expose-gc' },
  async (t) => {
    // A long threshold: the report can only come from the garbage collector.
    const pool = await makePool({ max: 1, leakThresholdMs: 60000, checkIntervalMs: 20, connectionTimeoutMillis: 3000 }, t)
    const reports = collect(pool, 'leaksDetected')
    const forced = collect(pool, 'forceRelease')
    await takeAndDrop(pool)
    assert.equal(pool.totalCount, 1)
    assert.equal(pool.getPoolStatus().active, 1)
    const deadline = Date.now() + 10000
    while (reports.length === 0 && Date.now() < deadline) {
      global.gc()
      await sleep(25)
    }
    assert.equal(reports.length, 1, 'the collected client must be reported')
    const ev = reports[0]
    assert.equal(ev.count, 1)
    const leak = ev.leaks[0]
    assert.equal(leak.reason, 'garbage-collected')
    assert.match(leak.location, /^takeAndDrop \(.*leak-gc\.test\.js:\d+:\d+\)$/)
    assert.match(leak.stack, /at takeAndDrop /)
    assert.equal(leak.queryCount, 1)
    assert.equal(forced.length, 0, 'reported as a leak, not as a forced release')

    // The slot was freed: with max 1, a new checkout succeeds at once.
    assert.equal(pool.getPoolStatus().active, 0)
    const c = await pool.connect()
    assert.equal((await c.query('SELECT 1 AS one')).rows[0].one, 1)
    c.release()

    const alert = pool.getAlerts().find((a) => a.type === 'garbage-collected')
    assert.ok(alert, JSON.stringify(pool.getAlerts()))
    assert.equal(alert.id, leak.id)
    assert.equal(alert.location, leak.location)
    assert.equal(typeof alert.at, 'number')
    assert.equal(typeof alert.ageMs, 'number')
    assert.equal(pool.getMetrics().stats.leaksDetected, 1)
    const site = pool.getLeakReport().find((s) => s.location === leak.location)
    assert.equal(site.count, 1)
    assert.equal(site.active, 0, 'a collected client is no longer held')
  }
)
