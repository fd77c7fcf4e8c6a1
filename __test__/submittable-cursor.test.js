'use strict'
// pg-cursor and pg-query-stream run unchanged on our clients, as on pg's: a portal read in
// batches, closed early or read to its end; an error in mid-portal reaches the caller and the
// client stays usable; a query issued while a cursor is open waits for it, as in pg;
// `pool.query(new QueryStream(...))` resolves when the stream ends; a million rows stream
// through pg-query-stream with flat memory.

const test = require('node:test')
const assert = require('node:assert/strict')
const Cursor = require('pg-cursor')
const QueryStream = require('pg-query-stream')
const { assertParity } = require('./helpers/parity')
const { LeakDetectingPool } = require('..')
const { findDatabase } = require('./helpers/db')

const SERIES = 'SELECT g AS n, g::text AS s, g % 3 = 0 AS third FROM generate_series(1, 1000) g'

/** Runs `run(client)` on a checked-out client, released afterwards. */
function onClient(run) {
  return async (pool) => {
    const client = await pool.connect()
    try {
      return await run(client)
    } finally {
      client.release()
    }
  }
}

/**
 * The next `remove` event's client. Events alone never keep the process alive, and the pool's
 * keep-alive covers held checkouts and idle connections, not one being removed (nothing else
 * is in flight while this waits, once the core has answered the session), so a timer does.
 */
function untilRemoved(pool) {
  const keep = setInterval(() => {}, 1000)
  return new Promise((resolve) => pool.once('remove', resolve)).finally(() => clearInterval(keep))
}

/** Every row of a Readable of rows. */
async function collect(stream) {
  const rows = []
  for await (const row of stream) rows.push(row)
  return rows
}

test('pg-cursor: read in batches, closed early, client usable after', async () => {
  await assertParity(
    { max: 1 },
    onClient(async (client) => {
      const cursor = new Cursor(SERIES)
      const returned = client.query(cursor) === cursor
      const a = await cursor.read(10)
      const b = await cursor.read(25)
      await cursor.close()
      const afterClose = await cursor.read(5)
      const after = await client.query('SELECT 42 AS x')
      return { returned, a, b, afterClose, after }
    })
  )
})

test('pg-cursor: read to the end, with values and rowMode array', async () => {
  await assertParity(
    { max: 1 },
    onClient(async (client) => {
      const cursor = client.query(new Cursor('SELECT g, $1::text AS t FROM generate_series(1, 95) g', ['v'], { rowMode: 'array' }))
      const batches = []
      for (;;) {
        const rows = await cursor.read(20)
        batches.push(rows)
        if (rows.length === 0) break
      }
      const ended = await cursor.read(1)
      await cursor.close()
      return { batches, ended, after: await client.query('SELECT 1 AS one') }
    })
  )
})

test('pg-cursor: callback form and the row event', async () => {
  await assertParity(
    { max: 1 },
    onClient(async (client) => {
      const cursor = client.query(new Cursor('SELECT g FROM generate_series(1, 7) g'))
      const seen = []
      cursor.on('row', (row) => seen.push(row.g))
      const first = await new Promise((resolve, reject) => cursor.read(4, (err, rows) => (err ? reject(err) : resolve(rows))))
      const rest = await new Promise((resolve, reject) => cursor.read(10, (err, rows) => (err ? reject(err) : resolve(rows))))
      await new Promise((resolve) => cursor.close(resolve))
      return { first, rest, seen }
    })
  )
})

test('pg-cursor: an error in mid-portal reaches the caller; the client stays usable', async () => {
  await assertParity(
    { max: 1 },
    onClient(async (client) => {
      const cursor = client.query(new Cursor('SELECT 100 / (5 - g) AS q FROM generate_series(1, 10) g'))
      const ok = await cursor.read(3)
      const err = await cursor.read(3).catch((e) => e)
      const again = await cursor.read(1).catch((e) => e)
      // No close(): after an error pg-cursor has already synced, and a close() then waits for
      // the next ReadyForQuery — in pg as here, a race with the one its sync brings.
      const after = await client.query('SELECT 1 AS fine')
      return { ok, err, again, after }
    })
  )
})

test('pg-cursor: a syntax error is reported on the first read', async () => {
  await assertParity(
    { max: 1 },
    onClient(async (client) => {
      const cursor = client.query(new Cursor('SELEC nothing'))
      const err = await cursor.read(1).catch((e) => e)
      return { err, after: await client.query('SELECT 2 AS two') }
    })
  )
})

test('a query issued while a cursor is open waits for it, as in pg', async () => {
  await assertParity(
    { max: 1 },
    onClient(async (client) => {
      const order = []
      const cursor = client.query(new Cursor('SELECT g FROM generate_series(1, 5) g'))
      const later = client.query('SELECT 42 AS x').then((r) => {
        order.push('query')
        return r
      })
      const rows = await cursor.read(2)
      order.push('read')
      await cursor.close()
      order.push('close')
      const r = await later
      // A second cursor after the query also runs in turn.
      const c2 = client.query(new Cursor('SELECT 7 AS seven'))
      const rows2 = await c2.read(10)
      await c2.close()
      return { rows, r, order, rows2 }
    })
  )
})

test('a cursor issued while queries are in flight runs after them', async () => {
  await assertParity(
    { max: 1 },
    onClient(async (client) => {
      const q1 = client.query('SELECT pg_sleep(0.05), 1 AS first')
      const cursor = client.query(new Cursor('SELECT g FROM generate_series(1, 3) g'))
      const rows = await cursor.read(10)
      await cursor.close()
      return { q1: await q1, rows }
    })
  )
})

test('pg-query-stream: streamed through a client and through pool.query', async () => {
  await assertParity({ max: 2 }, async (pool) => {
    const client = await pool.connect()
    let viaClient
    try {
      viaClient = await collect(client.query(new QueryStream('SELECT g AS n FROM generate_series(1, 250) g', [], { batchSize: 40 })))
      viaClient.push((await client.query('SELECT 3 AS three')).rows)
    } finally {
      client.release()
    }
    const qs = new QueryStream('SELECT g AS n, $1::text AS v FROM generate_series(1, 120) g', ['p'], { highWaterMark: 25 })
    const done = pool.query(qs)
    const viaPool = await collect(qs)
    const result = await done
    return {
      viaClient,
      viaPool,
      command: result.command,
      rowCount: result.rowCount,
      totalAfter: pool.totalCount,
      idleAfter: pool.idleCount,
    }
  })
})

test('pg-query-stream: destroyed early, the client is usable', async () => {
  await assertParity(
    { max: 1 },
    onClient(async (client) => {
      const stream = client.query(new QueryStream('SELECT g FROM generate_series(1, 100000) g', [], { batchSize: 100 }))
      const got = []
      for await (const row of stream) {
        got.push(row.g)
        if (got.length === 150) break
      }
      await new Promise((resolve) => (stream.destroyed && stream.closed ? resolve() : stream.once('close', resolve)))
      return { got: got.length, after: await client.query('SELECT 5 AS five') }
    })
  )
})

test('a million rows stream through pg-query-stream with flat memory', async () => {
  const pool = new LeakDetectingPool({ ...(await findDatabase()), max: 1 })
  try {
    const client = await pool.connect()
    try {
      const rows = 1_000_000
      // ~170 bytes a row: buffered whole, the result would take well over 170 MB.
      const stream = client.query(
        new QueryStream(`SELECT g AS n, repeat('x', 150) AS pad FROM generate_series(1, ${rows}) g`, [], { batchSize: 500 })
      )
      let count = 0
      let sum = 0
      let base = null
      let maxHeap = 0
      let maxRss = 0
      for await (const row of stream) {
        count++
        sum += row.n
        if (count === 50_000) base = process.memoryUsage()
        if (base !== null && count % 10_000 === 0) {
          const m = process.memoryUsage()
          maxHeap = Math.max(maxHeap, m.heapUsed - base.heapUsed)
          maxRss = Math.max(maxRss, m.rss - base.rss)
        }
      }
      assert.equal(count, rows)
      assert.equal(sum, (rows * (rows + 1)) / 2)
      const mb = (n) => `${(n / 1048576).toFixed(1)} MB`
      assert.ok(maxHeap < 48 * 1048576, `heap grew by ${mb(maxHeap)} while streaming`)
      assert.ok(maxRss < 96 * 1048576, `RSS grew by ${mb(maxRss)} while streaming`)
      assert.deepEqual((await client.query('SELECT 1 AS one')).rows, [{ one: 1 }])
    } finally {
      client.release()
    }
  } finally {
    await pool.end()
  }
})

test('a client released with its cursor still open has its connection destroyed (a known difference)', async () => {
  const pool = new LeakDetectingPool({ ...(await findDatabase()), max: 1 })
  try {
    const client = await pool.connect()
    const pid = client.processID
    const cursor = client.query(new Cursor('SELECT g FROM generate_series(1, 1000) g'))
    assert.equal((await cursor.read(10)).length, 10)
    const removed = untilRemoved(pool)
    client.release()
    assert.equal(await removed, client)
    const next = await pool.connect()
    assert.notEqual(next.processID, pid, 'a new connection, not the one left in mid-portal')
    assert.deepEqual((await next.query('SELECT 1 AS one')).rows, [{ one: 1 }])
    next.release()
    // The cursor hears nothing more.
    let settled = false
    cursor.read(5).then(
      () => (settled = true),
      () => (settled = true)
    )
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(settled, false)
  } finally {
    await pool.end()
  }
})

test("pg-cursor's deprecated end() ends the client's connection (client.end()) and calls back", async () => {
  const pool = new LeakDetectingPool({ ...(await findDatabase()), max: 1 })
  try {
    const client = await pool.connect()
    const cursor = client.query(new Cursor('SELECT g FROM generate_series(1, 100) g'))
    assert.equal((await cursor.read(2)).length, 2)
    const removed = untilRemoved(pool)
    // Cursor.end is deprecated (pg-cursor warns once): keep the warning out of the test output.
    const warn = process.emitWarning
    process.emitWarning = () => {}
    try {
      await new Promise((resolve) => cursor.end(resolve))
    } finally {
      process.emitWarning = warn
    }
    // As with client.end() (pg-pool's rule): the slot is freed at once, `remove` follows the
    // release the holder still owes.
    assert.equal(pool.totalCount, 0)
    client.release()
    assert.equal(await removed, client)
    const next = await pool.connect()
    assert.deepEqual((await next.query('SELECT 1 AS one')).rows, [{ one: 1 }])
    next.release()
  } finally {
    await pool.end()
  }
})
