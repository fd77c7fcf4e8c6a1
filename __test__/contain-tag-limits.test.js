'use strict'
// Containment: a tag at its limit (tagLimits, setTagLimit) makes only its own callers wait;
// untagged traffic and other tags keep the rest of the pool. A leaking tagged feature is held
// to its limit and reported by tag; a caller timing out at its tag is told the tag and who
// holds it; the counts per tag show in getPoolStatus(), getMetrics() and metricsText().

const test = require('node:test')
const assert = require('node:assert/strict')
const { makePool, collect, waitUntil } = require('./helpers/leak')

async function exportReport(pool) {
  return pool.connect({ tag: 'export' }) // MARKER-export
}

test('a tag at its limit waits while untagged traffic flows at full speed', async (t) => {
  const pool = await makePool({ max: 6, tagLimits: { export: 2 } }, t)
  const a = await exportReport(pool)
  const b = await exportReport(pool)
  const waiting = exportReport(pool)
  let served = false
  waiting.then(() => (served = true))
  assert.equal(pool.waitingCount, 1, 'the third export waits for its tag')
  assert.equal(pool.totalCount, 2, 'no connection is opened for it')

  // Untagged queries and other tags use the other four connections meanwhile.
  const t0 = Date.now()
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.query('SELECT $1::int AS i', [i])))
  assert.deepEqual(
    results.map((r) => r.rows[0].i),
    Array.from({ length: 40 }, (_, i) => i)
  )
  const other = await pool.connect({ tag: 'billing' })
  await other.query('SELECT 1')
  other.release()
  assert.ok(Date.now() - t0 < 2000, 'untagged traffic is not held behind the export')
  assert.equal(served, false, 'still held back by its tag')

  const status = pool.getPoolStatus()
  const row = status.tags.find((r) => r.tag === 'export')
  assert.deepEqual(row, { tag: 'export', held: 2, waiting: 1, limit: 2, timeouts: 0 })
  assert.equal(status.waiting, 1)

  a.release()
  const c = await waiting
  assert.equal(c.tag, 'export')
  assert.equal(pool.getPoolStatus().tags.find((r) => r.tag === 'export').held, 2)
  b.release()
  c.release()
  assert.equal(pool.getPoolStatus().tags.find((r) => r.tag === 'export').held, 0)
})

test('pool.query with a tag counts for the tag and waits at its limit', async (t) => {
  const pool = await makePool({ max: 4, tagLimits: { export: 1 } }, t)
  const held = await exportReport(pool)
  let done = false
  const q = pool.query({ text: 'SELECT 42 AS n', tag: 'export' }).then((r) => {
    done = true
    return r
  })
  await pool.query('SELECT 1')
  assert.equal(done, false)
  assert.equal(pool.waitingCount, 1)
  held.release()
  assert.equal((await q).rows[0].n, 42)
})

test('a caller timing out at its tag is told the tag and who holds it', async (t) => {
  const pool = await makePool({ max: 5, tagLimits: { export: 2 }, connectionTimeoutMillis: 300, leakThresholdMs: 60000 }, t)
  const a = await exportReport(pool)
  const b = await exportReport(pool)
  const err = await exportReport(pool).then(
    () => assert.fail('must time out'),
    (e) => e
  )
  assert.equal(err.code, 'LDP_TAG_LIMIT_TIMEOUT')
  assert.equal(err.tag, 'export')
  assert.match(err.message, /^timeout exceeded when trying to connect \(tag "export" at its limit, 2\/2 in use: 2 held by exportReport \(/)
  assert.equal(err.holders.length, 1)
  assert.equal(err.holders[0].count, 2)
  assert.match(err.holders[0].location, /^exportReport /)
  // Untagged callers were never affected: the pool has room.
  const u = await pool.connect()
  u.release()
  const m = pool.getMetrics()
  assert.deepEqual(
    m.tags.find((r) => r.tag === 'export'),
    { tag: 'export', held: 2, waiting: 0, limit: 2, timeouts: 1 }
  )
  const text = pool.metricsText()
  assert.match(text, /^ldp_tag_connections_active\{pool="[^"]*",tag="export"\} 2$/m)
  assert.match(text, /^ldp_tag_connections_max\{pool="[^"]*",tag="export"\} 2$/m)
  assert.match(text, /^ldp_tag_connections_timeout_total\{pool="[^"]*",tag="export"\} 1$/m)
  a.release()
  b.release()
})

test('a leaking tagged feature is contained to its limit and reported by tag', async (t) => {
  const pool = await makePool(
    { max: 4, tagLimits: { export: 2 }, leakThresholdMs: 50, checkIntervalMs: 20, connectionTimeoutMillis: 200 },
    t
  )
  const leaks = collect(pool, 'leaksDetected')
  const leaked = [await exportReport(pool), await exportReport(pool)]
  // The feature keeps trying and is held to its limit; everyone else still gets connections.
  const more = await Promise.allSettled([exportReport(pool), exportReport(pool)])
  assert.deepEqual(
    more.map((r) => r.status),
    ['rejected', 'rejected']
  )
  assert.ok(more.every((r) => r.reason.code === 'LDP_TAG_LIMIT_TIMEOUT'))
  const others = await Promise.all([pool.connect(), pool.connect()])
  others.forEach((c) => c.release())
  assert.equal(pool.totalCount, 4)
  await waitUntil(() => leaks.flatMap((e) => e.leaks).length >= 2, 3000, 'both leaks reported')
  assert.deepEqual(
    leaks.flatMap((e) => e.leaks).map((l) => l.tag),
    ['export', 'export']
  )
  const report = pool.getLeakReport()
  assert.equal(report.length, 1)
  assert.deepEqual(report[0].tags, { export: 2 })
  assert.match(report[0].location, /^exportReport /)
  leaked.forEach((c) => c.release())
})

test('setTagLimit at run time: raising lets waiters through, removing lifts the limit', async (t) => {
  const pool = await makePool({ max: 5 }, t)
  pool.setTagLimit('batch', 1)
  const a = await pool.connect({ tag: 'batch' })
  const w1 = pool.connect({ tag: 'batch' })
  const w2 = pool.connect({ tag: 'batch' })
  assert.equal(pool.waitingCount, 2)
  pool.setTagLimit('batch', 2)
  const b = await w1
  assert.equal(pool.waitingCount, 1)
  pool.setTagLimit('batch', Infinity)
  const c = await w2
  assert.equal(pool.getPoolStatus().tags.find((r) => r.tag === 'batch').limit, null)
  ;[a, b, c].forEach((x) => x.release())
  assert.throws(() => pool.setTagLimit('batch', 0), RangeError)
  assert.throws(() => pool.setTagLimit('batch', 1.5), RangeError)
})

test('tagLimits is validated at construction', async () => {
  const { LeakDetectingPool } = require('..')
  assert.throws(
    () => new LeakDetectingPool({ tagLimits: { export: 0 } }),
    (e) => e instanceof RangeError && e.option === 'tagLimits.export'
  )
  assert.throws(
    () => new LeakDetectingPool({ tagLimits: 3 }),
    (e) => e instanceof TypeError && e.option === 'tagLimits'
  )
})

test('slot accounting stays exact under random tags, releases, destroys and timeouts', async (t) => {
  const pool = await makePool({ max: 6, tagLimits: { a: 1, b: 2, c: 3 }, connectionTimeoutMillis: 80 }, t)
  const tags = ['a', 'b', 'c', 'd', undefined]
  let seed = 12345
  const rnd = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n
  }
  const work = []
  for (let i = 0; i < 120; i++) {
    const tag = tags[rnd(tags.length)]
    const hold = rnd(30)
    const destroy = rnd(8) === 0
    const viaQuery = rnd(4) === 0
    work.push(
      (async () => {
        await new Promise((r) => setTimeout(r, rnd(100)))
        if (viaQuery) return pool.query({ text: 'SELECT 1', tag })
        const c = await pool.connect(tag === undefined ? undefined : { tag })
        await c.query('SELECT pg_sleep($1)', [hold / 1000])
        c.release(destroy ? new Error('destroy it') : undefined)
      })().catch((e) => {
        // Timeouts are part of the mix; on a loaded machine a new connection can also take
        // longer than the 80 ms to open (LDP_CONNECT_TIMEOUT). The slots must add up either way.
        const expected = ['LDP_TAG_LIMIT_TIMEOUT', 'LDP_ACQUIRE_TIMEOUT', 'LDP_CONNECT_TIMEOUT']
        if (!expected.includes(e.code)) throw e
      })
    )
    if (i % 10 === 0) {
      const s = pool.getPoolStatus()
      for (const r of s.tags) if (r.limit != null) assert.ok(r.held <= r.limit, JSON.stringify(r))
      assert.ok(s.total <= 6)
    }
  }
  await Promise.all(work)
  const s = pool.getPoolStatus()
  assert.deepEqual(
    s.tags.map((r) => [r.tag, r.held, r.waiting]),
    [
      ['a', 0, 0],
      ['b', 0, 0],
      ['c', 0, 0],
    ]
  )
  assert.equal(s.waiting, 0)
  assert.equal(s.active, 0)
})
