'use strict'
// Network faults between the pool and a real server, made by a TCP proxy (helpers/proxy.js):
// delay, stall, blackhole, a connection cut in the middle of a message, and corrupted bytes.
// After each: every caller got a result or an error (never a hang: every await is bounded), no
// result reached the wrong caller, transactions in flight are reported failed (never
// committed), the counters are exact once settled, and the pool serves again.

const test = require('node:test')
const assert = require('node:assert/strict')
const { LeakDetectingPool } = require('..')
const { findDatabase, uniqueAppName } = require('./helpers/db')
const { startProxy } = require('./helpers/proxy')
const { within, counts, settled, tagged, assertClean, transfers, checkLedger, serves, viaPg, sleep } = require('./helpers/fault')

const MAX = 4

async function setup(t, opts = {}) {
  const db = await findDatabase()
  const proxy = await startProxy({ host: db.host, port: db.port })
  const appName = uniqueAppName('fault-proxy')
  const pool = new LeakDetectingPool({
    host: '127.0.0.1',
    port: proxy.port,
    user: db.user,
    database: db.database,
    password: db.password,
    application_name: appName,
    max: MAX,
    connectionTimeoutMillis: 2000,
    endTimeoutMs: 500,
    ...opts,
  })
  const poolErrors = []
  pool.on('error', (err) => poolErrors.push(err))
  t.after(async () => {
    proxy.pass()
    await within(pool.ending ? Promise.resolve() : pool.end(), 5000, 'pool.end()').catch(() => {})
    await proxy.close()
  })
  return { db, proxy, pool, poolErrors }
}

/** Waits until `n` proxied connections exist (the pool opened them). */
async function warm(pool, n) {
  const cs = await within(Promise.all(Array.from({ length: n }, () => pool.connect())), 5000, 'warm-up connects')
  for (const c of cs) c.release()
}

test('delay: every caller gets its own row, slowly; query_timeout fires on the slow ones', async (t) => {
  const { proxy, pool } = await setup(t)
  await warm(pool, MAX)
  proxy.delay(60)
  const t0 = Date.now()
  const r = await tagged(pool, 12, 'delay')
  assertClean(r, 'delay')
  assert.equal(r.ok, 12)
  assert.ok(Date.now() - t0 >= 100, 'the delay applied')
  // A bound shorter than the round trip: pg's error, and the connection is given up.
  const e = await within(pool.query({ text: 'SELECT $1::text AS who', values: ['late'], query_timeout: 30 }), 5000, 'timed-out query').then(
    () => null,
    (err) => err
  )
  assert.ok(e, 'resolved despite query_timeout')
  assert.equal(e.message, 'Query read timeout')
  proxy.pass()
  const c = await settled(pool)
  assert.ok(c.total <= MAX)
  await serves(pool, MAX)
})

test('stall: in-flight queries end by query_timeout, new connects by connectionTimeoutMillis, then it recovers', async (t) => {
  const { proxy, pool } = await setup(t, { query_timeout: 300, connectionTimeoutMillis: 400 })
  await warm(pool, 2)
  proxy.stall()
  const t0 = Date.now()
  const r = await tagged(pool, 8, 'stall', 5000)
  const ms = Date.now() - t0
  assertClean(r, 'stall')
  assert.equal(r.ok, 0, 'a stalled connection answered')
  const messages = new Set(r.failed.map((o) => o.err.message))
  for (const m of messages)
    assert.match(m, /Query read timeout|timeout exceeded when trying to connect|Connection terminated due to connection timeout/)
  assert.ok(ms < 3000, `took ${ms} ms`)
  proxy.pass()
  assert.deepEqual(await settled(pool), counts(pool))
  await serves(pool, MAX)
})

test('blackhole from the start: connect attempts time out with pg message, counts back to 0, then it serves', async (t) => {
  const { proxy, pool } = await setup(t, { connectionTimeoutMillis: 300 })
  proxy.blackhole()
  const r = await tagged(pool, 6, 'hole', 5000)
  assertClean(r, 'blackhole')
  assert.equal(r.ok, 0)
  for (const o of r.failed) assert.match(o.err.message, /timeout/i)
  assert.deepEqual(await settled(pool), { total: 0, idle: 0, waiting: 0 })
  proxy.pass()
  await serves(pool, MAX)
})

test('cut in the middle of a DataRow: the callers on that connection get "Connection terminated", the rest are served', async (t) => {
  const { proxy, pool, poolErrors } = await setup(t)
  await warm(pool, MAX)
  proxy.cutMidMessage('D')
  const r = await tagged(pool, 16, 'cut', 5000, 'SELECT $1::text AS who, g FROM generate_series(1, 200) g LIMIT 1')
  assertClean(r, 'cut')
  assert.equal(proxy.cuts, 1)
  assert.ok(r.failed.length >= 1, 'the cut failed no caller')
  for (const o of r.failed) assert.match(o.err.message, /Connection terminated|ECONNRESET|EPIPE/)
  const c = await settled(pool)
  assert.ok(c.total <= MAX, JSON.stringify(c))
  assert.equal(poolErrors.length, 0, 'a checked-out connection failure went to the pool')
  await serves(pool, MAX)
})

test('cut during transactions: in-flight ones are reported failed, committed ones are in the table', async (t) => {
  const { db, proxy, pool } = await setup(t)
  const table = `fault_proxy_${process.pid}_${Date.now()}`
  await viaPg(db, `CREATE TABLE ${table} (token text PRIMARY KEY)`)
  t.after(() => viaPg(db, `DROP TABLE IF EXISTS ${table}`))
  await warm(pool, MAX)
  const running = transfers(pool, table, 8, 'tx', { sleepSec: 0.1 })
  await sleep(60)
  proxy.dropAll()
  const outcomes = await running
  const ledger = await checkLedger(db, table, outcomes)
  assert.ok(ledger.failed >= 1, 'dropping every connection failed no transaction')
  assert.deepEqual(await settled(pool), counts(pool))
  await serves(pool, MAX)
})

/**
 * A corruption case: `pick` rewrites one server message, once. `reads` picks who reads the
 * sockets: 'loop' (the JS thread, the default on unix) or 'task' (a reader task on the I/O
 * thread, as for TLS connections; LDP_LOOP_READS=0, read when a pool is made).
 */
async function corruptOnce(t, reads, pick) {
  const saved = process.env.LDP_LOOP_READS
  if (reads === 'task') process.env.LDP_LOOP_READS = '0'
  let env
  try {
    env = await setup(t)
  } finally {
    if (saved === undefined) delete process.env.LDP_LOOP_READS
    else process.env.LDP_LOOP_READS = saved
  }
  const { proxy, pool, poolErrors } = env
  await warm(pool, MAX)
  let done = false
  proxy.corrupt((m) => {
    if (done) return null
    const out = pick(m)
    if (out) done = true
    return out
  })
  const r = await tagged(pool, 8, 'bad', 2000)
  proxy.pass()
  assertClean(r, 'corrupt')
  assert.ok(done, 'nothing was corrupted')
  assert.ok(r.failed.length >= 1, 'the corrupted reply reached no caller as an error')
  const c = await within(settled(pool), 6000, 'counters settling')
  assert.equal(poolErrors.length, 0, `pool errors: ${poolErrors.map((e) => e.message)}`)
  await serves(pool, MAX)
  await within(pool.end(), 3000, 'pool.end()')
  return { r, c }
}

const isRow = (m) => m[0] === 0x44 /* D */
const rewrite = (fn) => (m) => {
  if (!isRow(m)) return null
  const b = Buffer.from(m)
  fn(b)
  return b
}

const CORRUPTIONS = [
  {
    name: 'an unknown message type where a DataRow was',
    pick: rewrite((b) => (b[0] = 0x7e)), // '~': no such backend message
    message: /received invalid response: 7e/, // pg-protocol's words for it
  },
  {
    name: 'a DataRow whose column length points past its end',
    pick: rewrite((b) => b.writeInt32BE(1 << 20, 7)),
    message: /malformed dataRow/,
  },
  {
    name: 'a message length below 4',
    pick: rewrite((b) => b.writeInt32BE(2, 1)),
    message: /malformed/i,
  },
  {
    name: 'a 2 GiB message length',
    pick: rewrite((b) => b.writeInt32BE(0x7ffffff0, 1)),
    message: /over the limit of \d+ \(maxMessageSize\)/, // refused at the header, nothing buffered
  },
]

for (const reads of ['loop', 'task']) {
  for (const c of CORRUPTIONS) {
    const todo = c.todo && c.todo[reads]
    test(`corrupt (${reads} reads): ${c.name} fails only that connection's callers; the pool recovers`, todo ? { todo } : {}, async (t) => {
      const { r } = await corruptOnce(t, reads, c.pick)
      for (const o of r.failed) assert.match(o.err.message, c.message)
    })
  }
}

test('corrupt bytes the client sends: the server refuses the message, the caller gets its error', async (t) => {
  // Client-to-server corruption, through a raw proxy hook: the Query message's type byte.
  const { proxy, pool } = await setup(t)
  await warm(pool, 1)
  let flipped = false
  for (const link of proxy.links) {
    const orig = link.fromClient.bind(link)
    link.fromClient = (chunk) => {
      if (!flipped && chunk[0] === 0x50 /* Parse */) {
        flipped = true
        chunk = Buffer.from(chunk)
        chunk[0] = 0x21 // '!': the server answers with a protocol violation and closes
      }
      orig(chunk)
    }
  }
  const e = await within(pool.query('SELECT $1::text AS who', ['x']), 5000, 'query with a corrupted request').then(
    () => null,
    (err) => err
  )
  assert.ok(flipped)
  assert.ok(e instanceof Error, 'the corrupted request succeeded')
  assert.match(`${e.code} ${e.message}`, /08P01|invalid frontend message|terminated/i)
  await settled(pool)
  await serves(pool, MAX)
})
