'use strict'
// pg-copy-streams runs unchanged on our clients, as on pg's: COPY FROM a 100,000-line stream
// and COPY TO back give the same checksum; an error in mid-COPY (bad data in, a failing
// expression out, a destroyed source) reaches the caller and the client stays usable, as with
// pg; COPY TO under a slow consumer keeps memory flat (the core stops reading the socket); a
// plain `query('COPY ... FROM STDIN')` fails in pg's words.

const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { Readable, Writable } = require('node:stream')
const { pipeline } = require('node:stream/promises')
const { from: copyFrom, to: copyTo } = require('pg-copy-streams')
const { assertParity } = require('./helpers/parity')
const { LeakDetectingPool } = require('..')
const { findDatabase } = require('./helpers/db')

const LINES = 100_000

function line(i) {
  return `${i}\tname ${i}\t${(i * 7) % 1000}\n`
}

/** The source: `n` lines in chunks of a few hundred, as a file or socket would give them. */
function source(n, bad = -1) {
  let i = 0
  return new Readable({
    read() {
      let chunk = ''
      for (let k = 0; k < 250 && i < n; k++) {
        i++
        chunk += i === bad ? `${i}\tbroken\tnot-a-number\n` : line(i)
      }
      this.push(i >= n && chunk === '' ? null : Buffer.from(chunk))
    },
  })
}

/** A Writable that hashes what it gets (and counts bytes). */
function hasher() {
  const h = crypto.createHash('sha256')
  let bytes = 0
  const w = new Writable({
    write(chunk, _enc, cb) {
      bytes += chunk.length
      h.update(chunk)
      cb()
    },
  })
  w.result = () => ({ sha256: h.digest('hex'), bytes })
  return w
}

function expectedHash(n) {
  const h = crypto.createHash('sha256')
  for (let i = 1; i <= n; i++) h.update(line(i))
  return h.digest('hex')
}

/** Runs `run(client)` on a checked-out client with a fresh temp table `t`. */
function withTable(run) {
  return async (pool) => {
    const client = await pool.connect()
    try {
      await client.query('CREATE TEMP TABLE t (n int PRIMARY KEY, name text, v int)')
      return await run(client)
    } finally {
      client.release()
    }
  }
}

test('COPY FROM a 100,000-line stream, COPY TO back: equal checksums', async () => {
  const expected = expectedHash(LINES)
  const r = await assertParity(
    { max: 1 },
    withTable(async (client) => {
      const into = client.query(copyFrom('COPY t FROM STDIN'))
      await pipeline(source(LINES), into)
      const out = hasher()
      const from = client.query(copyTo('COPY (SELECT * FROM t ORDER BY n) TO STDOUT'))
      await pipeline(from, out)
      const check = await client.query('SELECT count(*)::int AS n, sum(v)::int8 AS s FROM t')
      return { copiedIn: into.rowCount, copiedOut: from.rowCount, out: out.result(), check: check.rows }
    })
  )
  assert.equal(r.ours.value.out.sha256, expected)
  assert.equal(r.ours.value.copiedIn, LINES)
  assert.equal(r.ours.value.copiedOut, LINES)
})

test('a bad line in mid-COPY FROM reaches the caller; the client stays usable', async () => {
  await assertParity(
    { max: 1 },
    withTable(async (client) => {
      const err = await pipeline(source(20_000, 12_345), client.query(copyFrom('COPY t FROM STDIN'))).catch((e) => e)
      const after = await client.query('SELECT count(*)::int AS n FROM t')
      return { err, after: after.rows }
    })
  )
})

test('a destroyed COPY FROM is rolled back with CopyFail; the client stays usable', async () => {
  await assertParity(
    { max: 1 },
    withTable(async (client) => {
      const into = client.query(copyFrom('COPY t FROM STDIN'))
      into.write(line(1))
      into.write(line(2))
      const err = await new Promise((resolve) => {
        into.on('error', resolve)
        into.destroy(new Error('the source failed'))
      })
      const after = await client.query('SELECT count(*)::int AS n FROM t')
      return { err, after: after.rows }
    })
  )
})

test('an error in mid-COPY TO reaches the caller; the client stays usable', async () => {
  await assertParity(
    { max: 1 },
    withTable(async (client) => {
      const out = hasher()
      const err = await pipeline(
        client.query(copyTo('COPY (SELECT g, 1 / (30000 - g) FROM generate_series(1, 50000) g) TO STDOUT')),
        out
      ).catch((e) => e)
      const after = await client.query('SELECT 1 AS fine')
      return { err, after: after.rows }
    })
  )
})

test('a binary COPY round trip', async () => {
  await assertParity(
    { max: 1 },
    withTable(async (client) => {
      await client.query('CREATE TEMP TABLE b (n int, s text)')
      await client.query(`INSERT INTO b SELECT g, md5(g::text) FROM generate_series(1, 2000) g`)
      const bin = []
      const out = client.query(copyTo('COPY b TO STDOUT (FORMAT binary)'))
      await pipeline(out, new Writable({ write: (c, _e, cb) => cb(null, bin.push(c)) }))
      await client.query('TRUNCATE b')
      const into = client.query(copyFrom('COPY b FROM STDIN (FORMAT binary)'))
      await pipeline(Readable.from([Buffer.concat(bin)]), into)
      const check = await client.query("SELECT count(*)::int AS n, md5(string_agg(s, '' ORDER BY n)) AS h FROM b")
      return { out: out.rowCount, into: into.rowCount, check: check.rows }
    })
  )
})

test('a plain COPY FROM STDIN fails in pg words; COPY TO STDOUT gives its count', async () => {
  await assertParity(
    { max: 1 },
    withTable(async (client) => {
      const err = await client.query('COPY t FROM STDIN').catch((e) => e)
      const out = await client.query('COPY (SELECT 1 UNION ALL SELECT 2) TO STDOUT')
      return { err, out, after: await client.query('SELECT 1 AS fine') }
    })
  )
})

test('COPY TO with a consumer that stops reading keeps memory flat', async () => {
  const pool = new LeakDetectingPool({ ...(await findDatabase()), max: 1 })
  try {
    const client = await pool.connect()
    try {
      const rows = 600_000
      // ~200 bytes a line: 120 MB if the core kept reading while nobody consumed.
      const stream = client.query(copyTo(`COPY (SELECT g, repeat('w', 190) FROM generate_series(1, ${rows}) g) TO STDOUT`))
      let bytes = 0
      let lines = 0
      const base = process.memoryUsage().rss
      stream.on('data', (c) => {
        bytes += c.length
        for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) lines++
      })
      // The consumer takes one chunk, then stalls while the server could send everything.
      await new Promise((resolve) => stream.once('data', resolve))
      stream.pause()
      await new Promise((resolve) => setTimeout(resolve, 1500))
      const stalled = process.memoryUsage().rss - base
      assert.ok(stalled < 48 * 1048576, `RSS grew by ${(stalled / 1048576).toFixed(1)} MB while the consumer stalled`)
      assert.ok(bytes < 8 * 1048576, `${bytes} bytes arrived while the consumer stalled`)
      stream.resume()
      await new Promise((resolve, reject) => {
        stream.on('end', resolve)
        stream.on('error', reject)
      })
      assert.ok(bytes > 100 * 1048576)
      assert.equal(lines, rows)
      assert.equal(stream.rowCount, rows)
      assert.deepEqual((await client.query('SELECT 1 AS one')).rows, [{ one: 1 }])
    } finally {
      client.release()
    }
  } finally {
    await pool.end()
  }
})
