'use strict'
// Failures: connection errors look like pg's (Node net errors, connect timeout message), the
// slot count stays exact through them (no lost permits, no phantom slots), and a pool whose
// server went away works again once the server is back (a throwaway cluster we own).

const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { assertParity, both, rejection, sleep } = require('./helpers/parity')
const { startThrowawayCluster } = require('./helpers/db')
const { LeakDetectingPool } = require('..')

const counts = (pool) => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount })

function listen(onConnection) {
  return new Promise((resolve) => {
    const sockets = new Set()
    const srv = net.createServer((s) => {
      sockets.add(s)
      s.on('error', () => {})
      if (onConnection) onConnection(s)
    })
    srv.listen(0, '127.0.0.1', () =>
      resolve({
        port: srv.address().port,
        close: () =>
          new Promise((r) => {
            for (const s of sockets) s.destroy()
            srv.close(r)
          }),
      })
    )
  })
}

async function closedPort() {
  const s = await listen()
  await s.close()
  return s.port
}

test('connection refused: the same Node net error as pg, counts back to 0, waiters all fail', async () => {
  const port = await closedPort()
  const r = await assertParity({ connectionString: undefined, host: '127.0.0.1', port, max: 2 }, async (pool) => {
    const ps = [pool.query('SELECT 1'), pool.connect(), pool.query('SELECT 1'), pool.connect()].map((p) =>
      p.then(
        () => 'ok',
        (e) => e
      )
    )
    // (no counts here: a refused connect fails on the core's threads within microseconds, so
    // the counts may already move on before this line — unlike pg, whose counts only move
    // between event-loop turns)
    const errs = await Promise.all(ps)
    return {
      errs: errs.map((e) => ({ message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, address: e.address, port: e.port })),
      after: counts(pool),
    }
  })
  assert.equal(r.ours.value.errs[0].code, 'ECONNREFUSED')
  assert.equal(r.ours.value.errs[0].message, `connect ECONNREFUSED 127.0.0.1:${port}`)
  assert.deepEqual(r.ours.value.after, { total: 0, idle: 0, waiting: 0 })
})

test('unknown host: getaddrinfo ENOTFOUND like pg', async () => {
  const r = await assertParity({ connectionString: undefined, host: 'ldp-no-such-host.invalid', port: 5432 }, async (pool) => {
    const e = await rejection(pool.query('SELECT 1'))
    return { message: e.message, code: e.code, syscall: e.syscall, hostname: e.hostname, total: pool.totalCount }
  })
  assert.equal(r.ours.value.code, 'ENOTFOUND')
})

test('missing unix socket: connect ENOENT like pg', async () => {
  const r = await assertParity({ connectionString: undefined, host: '/tmp/ldp-no-such-dir', port: 5432 }, async (pool) => {
    const e = await rejection(pool.query('SELECT 1'))
    return { message: e.message, code: e.code, address: e.address, total: pool.totalCount }
  })
  assert.equal(r.ours.value.code, 'ENOENT')
})

test("a server that never answers: connectionTimeoutMillis ends the attempt with pg's message", async () => {
  const srv = await listen() // accepts, never speaks
  try {
    const r = await assertParity(
      { connectionString: undefined, host: '127.0.0.1', port: srv.port, connectionTimeoutMillis: 150 },
      async (pool) => {
        const t0 = Date.now()
        const e = await rejection(pool.connect())
        const ms = Date.now() - t0
        return { message: e.message, inWindow: ms >= 130 && ms < 1500, total: pool.totalCount }
      }
    )
    assert.deepEqual(r.ours.value, { message: 'Connection terminated due to connection timeout', inWindow: true, total: 0 })
  } finally {
    await srv.close()
  }
})

test('a server that hangs up during startup: a clear error, counts exact', async () => {
  const srv = await listen((s) => s.destroy())
  try {
    const r = await both({ connectionString: undefined, host: '127.0.0.1', port: srv.port, max: 3 }, async (pool) => {
      const errs = await Promise.all([1, 2, 3, 4].map(() => pool.query('SELECT 1').catch((e) => e)))
      return { allErrors: errs.every((e) => e instanceof Error && e.message.length > 0), after: counts(pool) }
    })
    assert.deepStrictEqual(r.ours, r.pg)
    assert.deepEqual(r.ours.value, { allErrors: true, after: { total: 0, idle: 0, waiting: 0 } })
  } finally {
    await srv.close()
  }
})

test('dead server: clear connect error, totalCount exact, and the pool works after a restart', async (t) => {
  const cluster = await startThrowawayCluster()
  t.after(() => cluster.stop())
  const r = await both({ ...cluster.config(), max: 3, connectionTimeoutMillis: 2000 }, async (pool) => {
    const poolErrors = []
    pool.on('error', (e) => poolErrors.push(e.message))
    const [a, b, c] = await Promise.all([pool.connect(), pool.connect(), pool.connect()])
    a.release() // idle
    b.release() // idle
    c.on('error', () => {}) // checked out
    await cluster.stopServer('immediate')
    for (let i = 0; i < 400 && pool.idleCount > 0; i++) await sleep(5)
    const afterStop = counts(pool)
    const heldQuery = await c.query('SELECT 1').then(
      () => 'ok',
      (e) => e instanceof Error
    )
    c.release()
    const afterRelease = counts(pool)
    const down = await rejection(pool.query('SELECT 1'))
    const downConnect = await rejection(pool.connect())
    const whileDown = counts(pool)
    await cluster.startServer()
    const n = (await pool.query('SELECT 1 AS n')).rows[0].n
    const c2 = await pool.connect()
    c2.release()
    return {
      poolErrors: poolErrors.length,
      afterStop,
      heldQuery,
      afterRelease,
      down: { code: down.code, message: down.message, sameAsConnect: downConnect.code === down.code },
      whileDown,
      n,
      end: counts(pool),
    }
  })
  assert.deepStrictEqual(r.ours, r.pg)
  const v = r.ours.value
  assert.equal(v.poolErrors, 2)
  assert.deepEqual(v.afterStop, { total: 1, idle: 0, waiting: 0 })
  assert.deepEqual(v.afterRelease, { total: 0, idle: 0, waiting: 0 })
  assert.equal(v.down.code, 'ECONNREFUSED')
  assert.deepEqual(v.whileDown, { total: 0, idle: 0, waiting: 0 })
  assert.equal(v.n, 1)
  assert.deepEqual(v.end, { total: 1, idle: 1, waiting: 0 })
})

test('ours: slot count exact through a storm of failures (kills, bad queries, destroys, timeouts)', async (t) => {
  const cluster = await startThrowawayCluster()
  t.after(() => cluster.stop())
  const pool = new LeakDetectingPool({ ...cluster.config(), max: 4, connectionTimeoutMillis: 300, query_timeout: 400 })
  pool.on('error', () => {})
  try {
    const work = []
    for (let i = 0; i < 40; i++) {
      const kind = i % 5
      work.push(
        (async () => {
          if (kind === 0) return pool.query('SELECT 1/0').catch(() => {})
          if (kind === 1) return pool.query('SELECT pg_sleep(0.6)').catch(() => {}) // query_timeout
          if (kind === 2) {
            const c = await pool.connect().catch(() => null)
            if (!c) return
            c.on('error', () => {})
            await c.query('SELECT pg_terminate_backend(pg_backend_pid())').catch(() => {})
            c.release()
            return
          }
          if (kind === 3) {
            const c = await pool.connect().catch(() => null)
            if (c) c.release(true)
            return
          }
          return pool.query('SELECT 1').catch(() => {})
        })()
      )
    }
    await Promise.all(work)
    for (let i = 0; i < 200 && pool.totalCount !== pool.idleCount; i++) await sleep(10)
    const c = counts(pool)
    assert.equal(c.waiting, 0)
    assert.equal(c.total, c.idle, `total ${c.total} idle ${c.idle}: a slot is lost or phantom`)
    assert.ok(c.total <= 4)
    // every slot usable: 4 concurrent checkouts succeed, backends really exist
    const cs = await Promise.all([pool.connect(), pool.connect(), pool.connect(), pool.connect()])
    const pids = await Promise.all(cs.map(async (x) => (await x.query('SELECT pg_backend_pid() AS p')).rows[0].p))
    assert.equal(new Set(pids).size, 4)
    assert.deepEqual(counts(pool), { total: 4, idle: 0, waiting: 0 })
    for (const x of cs) x.release()
    const admin = await cluster.config()
    const pg = require('pg')
    const a = new pg.Client(admin)
    await a.connect()
    const { rows } = await a.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])', [pids])
    await a.end()
    assert.equal(rows[0].n, 4)
  } finally {
    await pool.end()
  }
})
