'use strict'
/**
 * Finds a REAL PostgreSQL server for a test run (never a mock). `scripts/test.js` calls this
 * once and hands the result to `cargo test` and `node --test` (see db.js); the benchmark and
 * a bare `node --test` run call it through db.js.
 *
 * Order (each candidate is probed with a real connection running `SELECT 1`, ~2 s timeout;
 * the first that works wins):
 *   1. DATABASE_URL
 *   2. the PG* environment (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD), if any is set
 *      (missing parts: 127.0.0.1, 5432, postgres, "test"-if-it-exists-else-"postgres")
 *   3. the default server, 127.0.0.1:5432, as $PGUSER or "postgres" (then the OS user),
 *      database "test" if it exists, else "postgres" — a server that refuses these logins
 *      (e.g. it asks for a password and none is set) is skipped like an absent one
 *   4. a throwaway cluster with TLS on, started from the installed server binaries
 *      (initdb / pg_ctl / postgres), alive until this process exits
 *   5. otherwise an Error saying what was tried and what to install.
 * A candidate from 1-2 that does not answer is reported on stderr and skipped.
 *
 * Environment knobs:
 *   LDP_TEST_DEFAULT_SERVER=host:port  the default server of step 3 (the test proving the
 *                                      suite passes when that server wants a password points
 *                                      it at a throwaway cluster; the shared server is never
 *                                      reconfigured)
 *   LDP_TEST_SKIP_DEFAULT=1            skip step 3
 *   LDP_TEST_NO_THROWAWAY=1            skip step 4
 * (and those of machine.js for step 4).
 */

const { TAG, buildUrl, redactUrl, parseUrl, makeConfig, probe, errText, isUnreachable, osUserName } = require('./conn')
const { startThrowawayCluster } = require('./cluster')

const INSTALL_HINT = [
  'Fix one of:',
  '  - point the tests at a server: DATABASE_URL=postgres://user:password@host:5432/dbname',
  '    (or PGHOST / PGPORT / PGUSER / PGPASSWORD / PGDATABASE)',
  '  - run PostgreSQL on 127.0.0.1:5432 with a "postgres" role (trust auth) and a "test" database',
  '  - install the PostgreSQL server binaries so the tests can start a throwaway cluster:',
  '      Debian/Ubuntu: apt-get install postgresql   (binaries land in /usr/lib/postgresql/<ver>/bin)',
  '      Fedora/RHEL:   dnf install postgresql-server',
  '      macOS:         brew install postgresql',
  '    or set LDP_TEST_PG_BINDIR to the directory containing initdb, pg_ctl and postgres.',
].join('\n')

function envFlag(name) {
  const v = process.env[name]
  return v != null && v !== '' && v !== '0' && v.toLowerCase() !== 'false' && v.toLowerCase() !== 'no'
}

/** The default server of step 3: `{ host, port, label }`. */
function defaultServer() {
  const spec = process.env.LDP_TEST_DEFAULT_SERVER
  if (!spec) return { host: '127.0.0.1', port: 5432, label: 'default server 127.0.0.1:5432' }
  const m = /^(.*):(\d+)$/.exec(spec)
  if (!m) throw new Error(`${TAG} LDP_TEST_DEFAULT_SERVER must be host:port, got ${JSON.stringify(spec)}`)
  return { host: m[1], port: Number(m[2]), label: `default server ${spec} (LDP_TEST_DEFAULT_SERVER)` }
}

/**
 * Probe host/port with each user (in order) and database "test"-then-"postgres"
 * (or the given database). Returns a config or null; pushes notes onto `tried`.
 */
async function probeServer({ host, port, users, databases, password }, label, tried) {
  const seen = new Set()
  for (const user of users) {
    for (const database of databases) {
      const key = `${user}@${database}`
      if (seen.has(key)) continue
      seen.add(key)
      const fields = { host, port, user, database }
      if (password != null) fields.password = password
      const err = await probe(fields)
      if (!err) return makeConfig(fields, `${label} (${redactUrl(buildUrl(fields))})`)
      tried.push(`${label} as ${user}, database ${database}: ${errText(err)}`)
      if (isUnreachable(err)) return null // nothing listening: no point trying other users
      if (err.code !== '3D000') break // not "database does not exist": try the next user
    }
  }
  return null
}

/**
 * Runs the discovery. Resolves `{ config, notes }`: the working config (see conn.js) and one
 * line per candidate that was skipped and why, in order. Rejects with the install hint when
 * nothing works.
 */
async function discover({ log = (line) => process.stderr.write(`${TAG} ${line}\n`) } = {}) {
  const tried = []
  const skip = (what, err) => log(`${what} did not answer (${errText(err)}); trying the next option`)

  const url = process.env.DATABASE_URL
  if (url) {
    const config = makeConfig({ ...parseUrl(url), connectionString: url }, `DATABASE_URL (${redactUrl(url)})`)
    const err = await probe(config)
    if (!err) return { config, notes: tried }
    skip(`DATABASE_URL=${redactUrl(url)}`, err)
    tried.push(`DATABASE_URL=${redactUrl(url)}: ${errText(err)}`)
  } else {
    tried.push('DATABASE_URL: not set')
  }

  const pgVars = ['PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE', 'PGPASSWORD'].filter((k) => process.env[k])
  if (pgVars.length) {
    const e = process.env
    const label = `PG* environment (${pgVars.map((k) => (k === 'PGPASSWORD' ? 'PGPASSWORD=***' : `${k}=${e[k]}`)).join(' ')})`
    const notes = []
    const config = await probeServer(
      {
        host: e.PGHOST || '127.0.0.1',
        port: Number(e.PGPORT || 5432),
        users: [e.PGUSER || 'postgres'],
        databases: e.PGDATABASE ? [e.PGDATABASE] : ['test', 'postgres'],
        password: e.PGPASSWORD,
      },
      label,
      notes
    )
    if (config) return { config, notes: tried }
    skip(label, { message: notes[notes.length - 1] || 'no answer' })
    tried.push(...notes)
  } else {
    tried.push('PG* environment: none of PGHOST/PGPORT/PGUSER/PGDATABASE/PGPASSWORD set')
  }

  const def = defaultServer()
  if (envFlag('LDP_TEST_SKIP_DEFAULT')) {
    tried.push(`${def.label}: skipped (LDP_TEST_SKIP_DEFAULT is set)`)
  } else {
    const config = await probeServer(
      {
        host: def.host,
        port: def.port,
        users: [process.env.PGUSER || 'postgres', osUserName()].filter(Boolean),
        databases: ['test', 'postgres'],
        password: process.env.PGPASSWORD,
      },
      def.label,
      tried
    )
    if (config) return { config, notes: tried }
  }

  if (envFlag('LDP_TEST_NO_THROWAWAY')) {
    tried.push('throwaway cluster: skipped (LDP_TEST_NO_THROWAWAY is set)')
  } else {
    try {
      const cluster = await startThrowawayCluster({ tls: true })
      const config = cluster.config()
      config.describe =
        `throwaway cluster at 127.0.0.1:${cluster.port}, TLS on (data ${cluster.dataDir}, ` +
        `binaries ${cluster.binDir}; removed when this process exits)`
      return { config, notes: tried }
    } catch (err) {
      tried.push(`throwaway cluster: ${errText(err)}`)
    }
  }

  throw new Error(
    `${TAG} no PostgreSQL server is available for the tests.\nTried:\n` +
      tried.map((t) => `  - ${t.replace(/\n/g, '\n    ')}`).join('\n') +
      `\n${INSTALL_HINT}`
  )
}

module.exports = { discover, INSTALL_HINT }
