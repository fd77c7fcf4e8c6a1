'use strict'
// A leak report names the app's own line even when the client was taken by a query builder
// (Kysely, Drizzle) or by the app's own helper: `location` skips frames of node_modules and of
// the `ignoreFrames` patterns, the captured frames (async ones included) reach that far with
// the default stackTraceLimit, and the stack keeps the library frames for context.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('path')
const { Kysely, PostgresDialect, sql } = require('kysely')
const { drizzle } = require('drizzle-orm/node-postgres')
const { sql: dsql } = require('drizzle-orm')
const { makePool, collect, waitUntil, siteOf } = require('./helpers/leak')
const { withTransaction, inKyselyTransaction } = require('./fixtures/orm/db-helpers')

const HELPERS = path.join(__dirname, 'fixtures', 'orm', 'db-helpers.js')
const OPTS = { max: 2, leakThresholdMs: 100, checkIntervalMs: 20 }

/** A promise and the function that settles it: the app's transaction waits on it. */
function gate() {
  let open
  const p = new Promise((resolve) => (open = resolve))
  return { p, open }
}

/** Runs `hold(gate)` until its checkout is reported, then lets it finish; the leak report. */
async function reportOf(pool, hold) {
  const reports = collect(pool, 'leaksDetected')
  const g = gate()
  const done = hold(g.p)
  await waitUntil(() => reports.length > 0, 5000, 'the leak report')
  g.open()
  await done
  return reports[0].leaks[0]
}

function at(fn, file, marker, needle) {
  const s = siteOf(file, marker, needle)
  return `${fn} (${file}:${s.line}:${s.column})`
}

async function slowKyselyReport(db, wait) {
  const work = async (trx) => {
    await sql`select 1`.execute(trx)
    await wait
  }
  await db.transaction().execute(work) // MARKER-slowKyselyReport
}

test('Kysely: the location is the app function that awaited the transaction', async (t) => {
  const pool = await makePool(OPTS, t)
  const db = new Kysely({ dialect: new PostgresDialect({ pool }) })
  // Warm: Kysely's driver is initialised, so the whole call is one synchronous stack.
  await sql`select 1`.execute(db)
  const leak = await reportOf(pool, (wait) => slowKyselyReport(db, wait))
  assert.equal(leak.location, at('slowKyselyReport', __filename, 'MARKER-slowKyselyReport', 'execute('), leak.stack)
  assert.match(leak.stack, /node_modules[\\/]kysely[\\/].*postgres-driver\.js/, 'library frames are kept for context')
  assert.match(leak.stack.split('\n')[1], /PostgresDriver\.acquireConnection/, leak.stack)
  // The same site groups the leak report and names the alert.
  assert.equal(pool.getLeakReport()[0].location, leak.location)
  assert.equal(pool.getAlerts()[0].location, leak.location)
})

test("Kysely's first query: the async frames reach the app function that awaits it", async (t) => {
  const pool = await makePool(OPTS, t)
  const db = new Kysely({ dialect: new PostgresDialect({ pool }) })
  // No query before: Kysely initialises its driver behind an await first, so the app's frame
  // is an async one, at the await that waits for the transaction.
  const leak = await reportOf(pool, (wait) => slowKyselyReport(db, wait))
  assert.equal(leak.location, at('slowKyselyReport', __filename, 'MARKER-slowKyselyReport', 'await '), leak.stack)
  assert.match(leak.stack, /at async slowKyselyReport /, leak.stack)
})

async function slowDrizzleReport(db, wait) {
  const work = async (tx) => {
    await tx.execute(dsql`select 1`)
    await wait
  }
  await db.transaction(work) // MARKER-slowDrizzleReport
}

test('Drizzle: the location is the app function, not NodePgSession.transaction', async (t) => {
  const pool = await makePool(OPTS, t)
  const db = drizzle(pool)
  const leak = await reportOf(pool, (wait) => slowDrizzleReport(db, wait))
  assert.equal(leak.location, at('slowDrizzleReport', __filename, 'MARKER-slowDrizzleReport', 'transaction('), leak.stack)
  assert.match(leak.stack, /NodePgSession\.transaction .*node_modules[\\/]drizzle-orm/, leak.stack)
})

async function slowHelperReport(pool, wait) {
  const work = async (client) => {
    await client.query('select 1')
    await wait
  }
  return withTransaction(pool, work) // MARKER-slowHelperReport
}

test("an app's withTransaction helper: ignoreFrames by function name or by file", async (t) => {
  const expected = at('slowHelperReport', __filename, 'MARKER-slowHelperReport', 'withTransaction(')

  // Without the option the helper is the app's code: every leak would land on it.
  const plain = await makePool(OPTS, t)
  const helperSite = at('withTransaction', HELPERS, 'MARKER-withTransaction', 'connect(')
  assert.equal((await reportOf(plain, (wait) => slowHelperReport(plain, wait))).location, helperSite)

  const byName = await makePool({ ...OPTS, ignoreFrames: ['withTransaction'] }, t)
  const leak = await reportOf(byName, (wait) => slowHelperReport(byName, wait))
  assert.equal(leak.location, expected, leak.stack)
  const frames = leak.stack
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
  assert.equal(frames[0], `at ${helperSite}`, 'the helper stays in the stack')
  assert.equal(frames[1], `at ${expected}`, leak.stack)

  const byFile = await makePool({ ...OPTS, ignoreFrames: [/fixtures[\\/]orm[\\/]db-helpers\.js/g] }, t)
  assert.equal((await reportOf(byFile, (wait) => slowHelperReport(byFile, wait))).location, expected)
  // A global RegExp is tested from the start for every frame (its lastIndex is reset).
  assert.equal((await reportOf(byFile, (wait) => slowHelperReport(byFile, wait))).location, expected)
})

async function slowKyselyHelperReport(db, wait) {
  const work = async (trx) => {
    await sql`select 1`.execute(trx)
    await wait
  }
  await inKyselyTransaction(db, work) // MARKER-slowKyselyHelperReport
}

test('Kysely behind a helper: the default capture depth still reaches the app', async (t) => {
  const pool = await makePool({ ...OPTS, ignoreFrames: ['inKyselyTransaction'] }, t)
  const db = new Kysely({ dialect: new PostgresDialect({ pool }) })
  await sql`select 1`.execute(db)
  const leak = await reportOf(pool, (wait) => slowKyselyHelperReport(db, wait))
  assert.equal(leak.location, at('slowKyselyHelperReport', __filename, 'MARKER-slowKyselyHelperReport', 'inKyselyTransaction('), leak.stack)
})

test('when no captured frame is the app, the first frame outside the library stands in', async (t) => {
  const pool = await makePool({ ...OPTS, stackTraceLimit: 2 }, t)
  const db = new Kysely({ dialect: new PostgresDialect({ pool }) })
  await sql`select 1`.execute(db)
  const leak = await reportOf(pool, (wait) => slowKyselyReport(db, wait))
  assert.match(leak.location, /^PostgresDriver\.acquireConnection \(.*node_modules[\\/]kysely[\\/]/, leak.stack)
})

test('ignoreFrames is validated like the other options', async () => {
  const { LeakDetectingPool } = require('..')
  for (const bad of ['withTransaction', [1], [''], [null], {}]) {
    assert.throws(
      () => new LeakDetectingPool({ ignoreFrames: bad }),
      (err) => {
        assert.ok(err instanceof TypeError)
        assert.equal(err.code, 'LDP_INVALID_OPTION')
        assert.equal(err.option, 'ignoreFrames')
        return true
      }
    )
  }
  const patterns = ['a', /b/]
  const pool = new LeakDetectingPool({ ignoreFrames: patterns })
  assert.deepEqual(pool.options.ignoreFrames, patterns)
  await pool.end()
})
