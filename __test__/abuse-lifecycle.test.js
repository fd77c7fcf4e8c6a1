'use strict'
// Bad input, lifecycle: double release, release with odd arguments, use after release or
// end(), end() twice (at once and in sequence), end() during traffic, a client held through
// end(). Each case runs against pg.Pool and this pool and must come out the same, except
// where the README lists a difference (a released client refuses queries; end() does not
// wait forever for a client that is never released). Every call is bounded; afterwards the
// counters are exact.

const test = require('node:test')
const assert = require('node:assert/strict')
const pg = require('pg')
const { LeakDetectingPool } = require('..')
const { findDatabase } = require('./helpers/db')
const { within, counts } = require('./helpers/fault')

/** What a call did: its value or error message, or what it threw synchronously. */
async function did(f) {
  let p
  try {
    p = f()
  } catch (e) {
    return `threw: ${e.message}`
  }
  if (!p || typeof p.then !== 'function') return `returned ${p}`
  return within(p, 5000, 'the call').then(
    (v) => (v && v.rows ? `rows ${JSON.stringify(v.rows)}` : 'resolved'),
    (e) => `rejected: ${e.message}`
  )
}

const CASES = {
  'release twice': async (p) => {
    const c = await p.connect()
    c.release()
    return [await did(() => c.release()), counts(p)]
  },
  'release(err), then release': async (p) => {
    const c = await p.connect()
    c.release(new Error('broken'))
    return [await did(() => c.release()), counts(p)]
  },
  "release('a string') destroys, as a truthy error": async (p) => {
    const c = await p.connect()
    c.release('weird')
    return [counts(p)]
  },
  'release(0) keeps the connection': async (p) => {
    const c = await p.connect()
    c.release(0)
    return [counts(p)]
  },
  'query after end()': async (p) => {
    await p.end()
    return [await did(() => p.query('SELECT 1')), counts(p)]
  },
  'connect after end()': async (p) => {
    await p.end()
    return [await did(() => p.connect()), counts(p)]
  },
  'end() twice at once': async (p) => {
    await p.query('SELECT 1')
    const first = p.end()
    const second = await did(() => p.end())
    return [second, await did(() => first), counts(p)]
  },
  'end() twice in sequence': async (p) => {
    await p.end()
    return [await did(() => p.end()), counts(p)]
  },
  'client.end() twice, then the release pg-pool expects': async (p) => {
    const c = await p.connect()
    const a = await did(() => c.end())
    const b = await did(() => c.end())
    c.release()
    return [a, b, await did(() => c.query('SELECT 1'))]
  },
  'end() during traffic: queries in flight and queued all finish, then it ends': async (p) => {
    const qs = Array.from({ length: 8 }, (_, i) => did(() => p.query('SELECT $1::int AS i, pg_sleep(0.02)', [i])))
    const held = await p.connect()
    const ending = did(() => p.end())
    const late = await did(() => p.query('SELECT 1'))
    const out = await Promise.all(qs)
    held.release()
    return [out, late, await ending, p.ended, counts(p)]
  },
  'a client held through end() can query until it is released': async (p) => {
    const c = await p.connect()
    const ending = did(() => p.end())
    const q = await did(() => c.query('SELECT 1 AS n'))
    c.release()
    return [q, await ending, counts(p)]
  },
}

let db
test.before(async () => {
  db = await findDatabase()
})

for (const [name, run] of Object.entries(CASES)) {
  test(`lifecycle: ${name} (as pg)`, async () => {
    const out = {}
    for (const [impl, Pool] of [
      ['pg', pg.Pool],
      ['ours', LeakDetectingPool],
    ]) {
      const pool = new Pool({ ...db, max: 2, endTimeoutMs: 2000 })
      pool.on('error', () => {})
      try {
        out[impl] = await within(run(pool), 10000, name)
      } finally {
        if (!pool.ending) await within(pool.end(), 5000, 'end()')
      }
    }
    assert.deepEqual(out.ours, out.pg)
  })
}

test('lifecycle (ours): a released client refuses queries, saying when it was released', async (t) => {
  const pool = new LeakDetectingPool({ ...db, max: 2 })
  t.after(() => pool.end())
  const c = await pool.connect()
  c.release()
  const e = await within(c.query('SELECT 1'), 3000, 'query after release').catch((err) => err)
  assert.equal(e.code, 'LDP_CLIENT_RELEASED')
  assert.match(e.message, /^Client was released to the pool at \d{4}-\d\d-\d\dT/)
  assert.deepEqual(counts(pool), { total: 1, idle: 1, waiting: 0 })
  assert.equal((await pool.query('SELECT 1 AS n')).rows[0].n, 1)
})

test('lifecycle (ours): end() with a client never released finishes after endTimeoutMs; the client is reclaimed', async () => {
  const pool = new LeakDetectingPool({ ...db, max: 2, endTimeoutMs: 200 })
  const reclaimed = []
  pool.on('forceRelease', (e) => reclaimed.push(e.reason))
  const c = await pool.connect()
  const t0 = Date.now()
  await within(pool.end(), 5000, 'end() with a held client')
  assert.ok(Date.now() - t0 >= 150)
  assert.deepEqual(reclaimed, ['end'])
  const e = await within(c.query('SELECT 1'), 3000, 'query on the reclaimed client').catch((err) => err)
  assert.equal(e.code, 'LDP_CLIENT_RECLAIMED')
  assert.equal(c.release(), undefined, 'release() of a reclaimed client is a no-op')
  assert.deepEqual(counts(pool), { total: 0, idle: 0, waiting: 0 })
})
