'use strict'
// The subjects under test. Each factory returns the same small adapter so the cases never
// care which library they drive:
//   query(i)  -> Promise<x>      pool.query('SELECT $1::int AS x', [i]), resolves rows[0].x
//   cycle(i)  -> Promise<x>      connect() + that query + release()
//   tx(i)     -> Promise<x>      connect(), BEGIN, TX_POINT and TX_PAIR, COMMIT, release()
//   web(i)    -> Promise<x>      connect(), WEB_POINT, WEB_ROWS, WEB_SIMPLE, release(); every
//                                20th call holds the client HOLD_MS before WEB_SIMPLE
//   handoff(i) -> Promise<i>     connect() + release(), no query: the checkout path alone
//                                (with more callers than connections, the waiter hand-off)
//   rows(sql) -> Promise<rows[]> one query returning many rows (array of row objects)
//   reserve() -> Promise<{ batch(base, n) -> Promise<x[]>, release() }>  one client held;
//                batch issues n queries for base..base+n-1 at once and resolves their x
//   end()     -> Promise
// Every pool uses max 10 connections. Connection settings come from `conn`
// ({ host, port, user, database, password? }); `extra` (a case's poolOptions, e.g.
// `{ pipeline: true }`) is added to the pool's options.

const path = require('path')

const MAX = 10
// run.js points the workers at a snapshot of the package (lib/snapshot.js); default: this checkout
const LDP_DIR = process.env.BENCH_LDP_DIR || path.join(__dirname, '..')
const QUERY_TEXT = 'SELECT $1::int AS x'
const TX_POINT = 'SELECT $1::int AS x'
const TX_PAIR = 'SELECT $1::text AS name, $2::int + 1 AS n'
const WEB_POINT = 'SELECT $1::int AS x'
const WEB_ROWS =
  "SELECT i AS id, 'item ' || i AS name, i * 0.5::float8 AS price, (i % 2 = 0) AS active FROM generate_series($1::int, $1::int + 9) AS s(i)"
const WEB_SIMPLE = 'SELECT 1 AS ok'
const HOLD_EVERY = 20
const HOLD_MS = 20

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Checks a web request's three results; returns `i`. */
function webResult(i, point, rows, simple) {
  if (point !== i || rows.length !== 10 || rows[9].id !== i + 9 || simple !== 1) {
    throw new Error(`web request ${i}: unexpected results ${JSON.stringify([point, rows.length, simple])}`)
  }
  return i
}

function pgLike(pool) {
  pool.on('error', () => {}) // idle-client errors must not crash a measurement
  return {
    pool,
    query: (i) => pool.query(QUERY_TEXT, [i]).then((r) => r.rows[0].x),
    async cycle(i) {
      const client = await pool.connect()
      let r
      try {
        r = await client.query(QUERY_TEXT, [i])
      } catch (err) {
        client.release(err)
        throw err
      }
      client.release()
      return r.rows[0].x
    },
    async tx(i) {
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        const a = await client.query(TX_POINT, [i])
        const b = await client.query(TX_PAIR, ['n', i])
        await client.query('COMMIT')
        client.release()
        return b.rows[0].n === i + 1 ? a.rows[0].x : -1
      } catch (err) {
        client.release(err)
        throw err
      }
    },
    async web(i) {
      const client = await pool.connect()
      try {
        const a = await client.query(WEB_POINT, [i])
        const b = await client.query(WEB_ROWS, [i])
        if (i % HOLD_EVERY === 0) await sleep(HOLD_MS)
        const c = await client.query(WEB_SIMPLE)
        client.release()
        return webResult(i, a.rows[0].x, b.rows, c.rows[0].ok)
      } catch (err) {
        client.release(err)
        throw err
      }
    },
    async handoff(i) {
      const client = await pool.connect()
      client.release()
      return i
    },
    rows: (sql) => pool.query(sql).then((r) => r.rows),
    async reserve() {
      const client = await pool.connect()
      return {
        batch: (base, n) => Promise.all(Array.from({ length: n }, (_, k) => client.query(QUERY_TEXT, [base + k]).then((r) => r.rows[0].x))),
        release: () => client.release(),
      }
    },
    end: () => pool.end(),
  }
}

function pgConfig(conn, extra) {
  const c = { host: conn.host, port: conn.port, user: conn.user, database: conn.database, max: MAX, ...extra }
  if (conn.password != null) c.password = conn.password
  return c
}

const SUBJECTS = [
  {
    id: 'ldp',
    label: 'LeakDetectingPool',
    description: 'LeakDetectingPool, leak detection on (default options), max 10',
    create(conn, extra) {
      const { LeakDetectingPool } = require(LDP_DIR)
      return pgLike(new LeakDetectingPool(pgConfig(conn, extra)))
    },
  },
  {
    id: 'ldp-nostacks',
    label: 'LDP (no stacks)',
    description: "LeakDetectingPool with captureStacks: false (leaks reported, without the caller's stack), max 10",
    create(conn, extra) {
      const { LeakDetectingPool } = require(LDP_DIR)
      return pgLike(new LeakDetectingPool({ ...pgConfig(conn, extra), captureStacks: false }))
    },
  },
  {
    id: 'ldp-off',
    label: 'LDP (detection off)',
    description: 'LeakDetectingPool with leakThresholdMs: 0, captureStacks: false, forceReleaseAfterMs: 0, max 10',
    create(conn, extra) {
      const { LeakDetectingPool } = require(LDP_DIR)
      return pgLike(new LeakDetectingPool({ ...pgConfig(conn, extra), leakThresholdMs: 0, captureStacks: false, forceReleaseAfterMs: 0 }))
    },
  },
  {
    // Only with `--baseline DIR` (run.js): another build of this package, e.g. the main branch,
    // measured in the same run so a change is compared with what it replaces.
    id: 'ldp-base',
    label: 'LDP (baseline)',
    description: 'LeakDetectingPool from the --baseline directory, default options, max 10',
    optional: true,
    create(conn, extra) {
      const { LeakDetectingPool } = require(process.env.BENCH_BASE_DIR)
      return pgLike(new LeakDetectingPool(pgConfig(conn, extra)))
    },
  },
  {
    id: 'pg',
    label: 'pg.Pool',
    description: `pg.Pool (pg ${require('pg/package.json').version}), max 10`,
    create(conn, extra) {
      const pg = require('pg')
      return pgLike(new pg.Pool(pgConfig(conn, extra)))
    },
  },
  {
    id: 'postgresjs',
    label: 'postgres.js',
    description: `postgres (postgres.js ${postgresVersion()}), max 10, tagged templates (prepared statements, its default)`,
    create(conn) {
      const postgres = require('postgres')
      const sql = postgres({
        host: conn.host,
        port: conn.port,
        user: conn.user,
        database: conn.database,
        password: conn.password == null ? undefined : conn.password,
        max: MAX,
        onnotice: () => {},
      })
      return {
        sql,
        query: (i) => sql`SELECT ${i}::int AS x`.then((r) => r[0].x),
        async cycle(i) {
          const reserved = await sql.reserve()
          try {
            const r = await reserved`SELECT ${i}::int AS x`
            return r[0].x
          } finally {
            reserved.release()
          }
        },
        tx: (i) =>
          sql.begin(async (t) => {
            const a = await t.unsafe(TX_POINT, [i], { prepare: true })
            const b = await t.unsafe(TX_PAIR, ['n', i], { prepare: true })
            return b[0].n === i + 1 ? a[0].x : -1
          }),
        async web(i) {
          const reserved = await sql.reserve()
          try {
            const a = await reserved.unsafe(WEB_POINT, [i], { prepare: true })
            const b = await reserved.unsafe(WEB_ROWS, [i], { prepare: true })
            if (i % HOLD_EVERY === 0) await sleep(HOLD_MS)
            const c = await reserved.unsafe(WEB_SIMPLE)
            return webResult(i, a[0].x, b, c[0].ok)
          } finally {
            reserved.release()
          }
        },
        async handoff(i) {
          const reserved = await sql.reserve()
          reserved.release()
          return i
        },
        rows: (text) => sql.unsafe(text),
        // postgres.js pipelines the queries of a connection by itself (no option).
        async reserve() {
          const reserved = await sql.reserve()
          return {
            batch: (base, n) =>
              Promise.all(Array.from({ length: n }, (_, k) => reserved`SELECT ${base + k}::int AS x`.then((r) => r[0].x))),
            release: () => reserved.release(),
          }
        },
        end: () => sql.end({ timeout: 5 }),
      }
    },
  },
  {
    id: 'js-wrapper',
    label: 'pure-JS wrapper',
    description:
      'pg.Pool subclass: new Error().stack + Date.now() in a Map on every connect (pool.query included), setInterval(1 s) sweep, max 10',
    create(conn, extra) {
      const { StackTrackingPool } = require('./lib/js-leak-wrapper')
      return pgLike(new StackTrackingPool({ ...pgConfig(conn, extra), leakThresholdMs: 30000, sweepIntervalMs: 1000 }))
    },
  },
]

function postgresVersion() {
  // postgres.js does not export its package.json; read it from disk.
  try {
    const fs = require('fs')
    let dir = path.dirname(require.resolve('postgres'))
    for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
      const f = path.join(dir, 'package.json')
      if (fs.existsSync(f)) {
        const pkg = JSON.parse(fs.readFileSync(f, 'utf8'))
        if (pkg.name === 'postgres' && pkg.version) return pkg.version
      }
    }
  } catch {}
  return '?'
}

function subject(id) {
  const s = SUBJECTS.find((x) => x.id === id)
  if (!s) throw new Error(`unknown subject ${id} (known: ${SUBJECTS.map((x) => x.id).join(', ')})`)
  return s
}

module.exports = { SUBJECTS, subject, QUERY_TEXT, MAX }
