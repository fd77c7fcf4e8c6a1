'use strict'
// Finds the server (same discovery as the tests: LDP_TEST_DATABASE_URL, DATABASE_URL, PG*,
// 127.0.0.1:5432 as postgres/test, else a throwaway cluster), then prepares a dedicated
// database `ldp_bench` (override: BENCH_DATABASE) holding
//   - ldp_bench_rows_v1: the 10,000-row mixed-type result, filled once from generate_series
//     (so each fetch costs the server a plain scan, not the generation), and
//   - the pgbench tables (`pgbench -i -s 1`).
// Set-up is serialized across concurrent runs with an advisory lock. If the database cannot be
// created, the subjects run against the discovered database with the rows generated inline
// and pgbench is skipped.

const fs = require('fs')
const path = require('path')
const os = require('os')
const { spawnSync } = require('child_process')
const pg = require('pg')
const { findDatabase } = require('../../__test__/helpers/db')

const ROWS = 10000
const ROWS_TABLE = 'ldp_bench_rows_v1'
const LOCK_KEY = 7410325 // pg_advisory_lock key for bench set-up

const GENERATE = `SELECT i::int4 AS c_int4,
       i::int8 * 1000003 AS c_int8,
       'row number ' || i AS c_text,
       i * 1.25::float8 AS c_float8,
       (i % 2 = 0) AS c_bool,
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' AS c_timestamptz,
       jsonb_build_object('id', i, 'name', 'item ' || i, 'tags', jsonb_build_array('a', 'b')) AS c_jsonb,
       round(i::numeric / 7, 6) AS c_numeric
  FROM generate_series(1, ${ROWS}) AS s(i)`
const COLUMNS = 'c_int4, c_int8, c_text, c_float8, c_bool, c_timestamptz, c_jsonb, c_numeric'

function connFields(cfg, database) {
  const c = { host: cfg.host, port: Number(cfg.port), user: cfg.user, database: database || cfg.database }
  if (cfg.password != null) c.password = cfg.password
  return c
}

async function withClient(conn, fn) {
  const client = new pg.Client({ ...conn, connectionTimeoutMillis: 10000 })
  client.on('error', () => {})
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end().catch(() => {})
  }
}

function findPgbench() {
  if (process.env.PGBENCH) return process.env.PGBENCH
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const p = path.join(dir, 'pgbench')
    if (dir && fs.existsSync(p)) return p
  }
  const root = '/usr/lib/postgresql'
  if (fs.existsSync(root)) {
    const versions = fs.readdirSync(root).sort((a, b) => Number(b) - Number(a))
    for (const v of versions) {
      const p = path.join(root, v, 'bin', 'pgbench')
      if (fs.existsSync(p)) return p
    }
  }
  return null
}

function pgEnv(conn) {
  const env = { ...process.env, PGHOST: conn.host, PGPORT: String(conn.port), PGUSER: conn.user, PGDATABASE: conn.database }
  if (conn.password != null) env.PGPASSWORD = String(conn.password)
  return env
}

async function ensureDatabase(base, name) {
  return withClient(base, async (c) => {
    const has = async () => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount > 0
    if (await has()) return
    try {
      await c.query(`CREATE DATABASE ${c.escapeIdentifier ? c.escapeIdentifier(name) : `"${name}"`}`)
    } catch (err) {
      if (!(await has())) throw err // lost a race with a concurrent run: fine
    }
  })
}

async function prepare({ log = () => {}, pgbenchScale = 1 } = {}) {
  const base = await findDatabase()
  const describe = base.describe || `${base.host}:${base.port}`
  const dbName = process.env.BENCH_DATABASE || 'ldp_bench'
  const out = { describe, server: null, database: dbName, rowsSql: null, rowsSource: null, pgbench: null, notes: [] }

  let conn
  try {
    await ensureDatabase(connFields(base), dbName)
    conn = connFields(base, dbName)
  } catch (err) {
    out.notes.push(`could not create database ${dbName} (${err.message}); using ${base.database}, rows generated inline, no pgbench`)
    conn = connFields(base)
    out.database = base.database
  }
  out.conn = conn

  const pgbench = findPgbench()
  await withClient(conn, async (c) => {
    out.server = (await c.query('SHOW server_version')).rows[0].server_version
    out.serverSettings = Object.fromEntries(
      (
        await c.query(
          "SELECT name, setting FROM pg_settings WHERE name IN ('max_connections','shared_buffers','fsync','synchronous_commit')"
        )
      ).rows.map((r) => [r.name, r.setting])
    )
    if (out.database !== dbName) {
      out.rowsSql = GENERATE
      out.rowsSource = 'generate_series inline'
      return
    }
    await c.query('SELECT pg_advisory_lock($1)', [LOCK_KEY])
    try {
      const exists = (await c.query('SELECT to_regclass($1) IS NOT NULL AS ok', [ROWS_TABLE])).rows[0].ok
      const count = exists ? Number((await c.query(`SELECT count(*) AS n FROM ${ROWS_TABLE}`)).rows[0].n) : 0
      if (count !== ROWS) {
        log(`bench set-up: creating ${dbName}.${ROWS_TABLE}`)
        await c.query(`DROP TABLE IF EXISTS ${ROWS_TABLE}`)
        await c.query(`CREATE TABLE ${ROWS_TABLE} AS ${GENERATE}`)
        await c.query(`VACUUM ANALYZE ${ROWS_TABLE}`)
      }
      out.rowsSql = `SELECT ${COLUMNS} FROM ${ROWS_TABLE}`
      out.rowsSource = `table ${ROWS_TABLE} (filled once from generate_series)`

      if (!pgbench) {
        out.notes.push('pgbench not found (PATH, /usr/lib/postgresql/*/bin, PGBENCH): pgbench ceiling skipped')
        return
      }
      const accounts = (await c.query("SELECT to_regclass('pgbench_accounts') IS NOT NULL AS ok")).rows[0].ok
      const n = accounts ? Number((await c.query('SELECT count(*) AS n FROM pgbench_accounts')).rows[0].n) : 0
      if (n !== 100000 * pgbenchScale) {
        log(`bench set-up: pgbench -i -s ${pgbenchScale} ${dbName}`)
        const r = spawnSync(pgbench, ['-i', '-q', '-s', String(pgbenchScale), dbName], {
          env: pgEnv(conn),
          encoding: 'utf8',
          timeout: 300000,
        })
        if (r.status !== 0) {
          out.notes.push(`pgbench -i failed: ${(r.stderr || r.error || '').toString().trim().split('\n').slice(-3).join(' | ')}`)
          return
        }
      }
      const v = spawnSync(pgbench, ['--version'], { encoding: 'utf8' })
      out.pgbench = { path: pgbench, version: (v.stdout || '').trim(), scale: pgbenchScale }
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {})
    }
  })
  out.expectRows = ROWS
  return out
}

/** pgbench select-only, prepared, `clients` clients, 2 threads, `seconds` s. */
function runPgbench(setup, { clients, seconds }) {
  const args = [
    '-n',
    '-S',
    '-M',
    'prepared',
    '-c',
    String(clients),
    '-j',
    '2',
    '-T',
    String(Math.max(1, Math.round(seconds))),
    setup.conn.database,
  ]
  const r = spawnSync(setup.pgbench.path, args, { env: pgEnv(setup.conn), encoding: 'utf8', timeout: (seconds + 60) * 1000 })
  const text = `${r.stdout || ''}\n${r.stderr || ''}`
  const m = /tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)/.exec(text)
  if (r.status !== 0 || !m) {
    return { ok: false, command: `pgbench ${args.join(' ')}`, error: text.trim().split('\n').slice(-3).join(' | ') || String(r.error) }
  }
  const lat = /latency average = ([\d.]+) ms/.exec(text)
  return { ok: true, command: `pgbench ${args.join(' ')}`, tps: Number(m[1]), latencyMs: lat ? Number(lat[1]) : null }
}

function machine() {
  const cpus = os.cpus()
  return {
    nproc: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    cpuModel: cpus.length ? cpus[0].model : 'unknown',
    memGB: +(os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  }
}

module.exports = { prepare, runPgbench, machine, findPgbench, ROWS, ROWS_TABLE, GENERATE }
