'use strict'
// A pooled client is a pg client: the members of pg's Client that libraries read have pg's
// values (connectionParameters, host/port/database/user/ssl/binary, processID, readyForQuery,
// getTransactionStatus()), and connect() fails as pg's does on a connected client.

const test = require('node:test')
const assert = require('node:assert/strict')
const { parse } = require('pg-connection-string')
const { both, dbConfig, withClient } = require('./helpers/parity')

test("connect() on a pooled client: pg's error, as a rejection and as a callback", async () => {
  const r = await both({}, (pool) =>
    withClient(pool, async (c) => {
      const promised = await c.connect().then(
        () => 'resolved',
        (e) => e.message
      )
      let sync = true
      const called = await new Promise((resolve) => {
        const ret = c.connect((err) => resolve({ message: err && err.message, sync, ret }))
        sync = false
      })
      return { promised, called }
    })
  )
  assert.deepStrictEqual(r.ours, r.pg)
  assert.deepEqual(r.ours.value, {
    promised: 'Client has already been connected. You cannot reuse a client.',
    called: { message: 'Client has already been connected. You cannot reuse a client.', sync: false, ret: undefined },
  })
})

test('getTransactionStatus() follows the last ReadyForQuery: I, T, E, I', async () => {
  const r = await both({}, (pool) =>
    withClient(pool, async (c) => {
      const seen = [c.getTransactionStatus()]
      await c.query('BEGIN')
      seen.push(c.getTransactionStatus())
      await c.query('SELECT 1/0').catch(() => {})
      // pg settles a failed query at its ErrorResponse and reads the ReadyForQuery after it on
      // a later turn; ours has both at once. Compared once pg has read it too.
      await new Promise((resolve) => setTimeout(resolve, 20))
      seen.push(c.getTransactionStatus())
      await c.query('ROLLBACK')
      seen.push(c.getTransactionStatus())
      await c.query('BEGIN; SELECT 1; COMMIT')
      seen.push(c.getTransactionStatus())
      await c.query({ text: 'BEGIN' })
      await c.query('SELECT $1::int AS x', [1])
      seen.push(c.getTransactionStatus())
      await c.query('COMMIT')
      return seen
    })
  )
  assert.deepStrictEqual(r.ours, r.pg)
  assert.deepEqual(r.ours.value, ['I', 'T', 'E', 'I', 'I', 'T'])
})

test('processID, readyForQuery, hasExecuted, drain, pipeline, sslNegotiation as in pg', async () => {
  const r = await both({}, (pool) =>
    withClient(pool, async (c) => {
      const fresh = { hasExecuted: c.hasExecuted, pipeline: c.pipeline, sslNegotiation: c.sslNegotiation, replication: c.replication }
      const drains = []
      c.on('drain', () => drains.push('drain'))
      const { rows } = await c.query('SELECT pg_backend_pid() AS pid')
      const before = c.readyForQuery
      const p = Promise.all([c.query('SELECT pg_sleep(0.05)'), c.query('SELECT 1')])
      const during = c.readyForQuery
      await p
      drains.push('both answered')
      return {
        fresh,
        samePid: rows[0].pid === c.processID,
        pidType: typeof c.processID,
        before,
        during,
        after: c.readyForQuery,
        hasExecuted: c.hasExecuted,
        drains,
      }
    })
  )
  assert.deepStrictEqual(r.ours, r.pg)
  assert.deepEqual(r.ours.value, {
    fresh: { hasExecuted: undefined, pipeline: false, sslNegotiation: 'postgres', replication: undefined },
    samePid: true,
    pidType: 'number',
    before: true,
    during: false,
    after: true,
    hasExecuted: true,
    drains: ['drain', 'drain', 'both answered'],
  })
})

/** What a client reports about its connection. */
function described(c) {
  const p = c.connectionParameters
  return {
    client: { host: c.host, port: c.port, database: c.database, user: c.user, ssl: c.ssl, binary: c.binary },
    params: {
      host: p.host,
      port: p.port,
      database: p.database,
      user: p.user,
      binary: p.binary,
      ssl: p.ssl,
      isDomainSocket: p.isDomainSocket,
      application_name: p.application_name,
      options: p.options,
      statement_timeout: p.statement_timeout,
      lock_timeout: p.lock_timeout,
      idle_in_transaction_session_timeout: p.idle_in_transaction_session_timeout,
      query_timeout: p.query_timeout,
      connect_timeout: p.connect_timeout,
      replication: p.replication,
    },
    passwordEnumerable: Object.keys(p).includes('password'),
  }
}

test('host/port/database/user/ssl/binary and connectionParameters from discrete options', async () => {
  const db = await dbConfig()
  const cs = parse(db.connectionString)
  const options = {
    connectionString: undefined,
    host: cs.host,
    port: Number(cs.port || 5432),
    user: cs.user,
    password: cs.password || undefined,
    database: cs.database,
    application_name: 'ldp-params',
    statement_timeout: 5000,
    lock_timeout: 3000,
    idle_in_transaction_session_timeout: 60000,
    query_timeout: 4000,
    connectionTimeoutMillis: 7000,
    options: '-c search_path=public',
  }
  const r = await both(options, (pool) => withClient(pool, async (c) => described(c)))
  assert.deepStrictEqual(r.ours, r.pg)
  assert.equal(r.ours.value.params.statement_timeout, 5000)
  assert.equal(r.ours.value.params.connect_timeout, 7)
  assert.equal(r.ours.value.passwordEnumerable, false)
})

test('host/port/database/user and connectionParameters from a connection string', async () => {
  const db = await dbConfig()
  const url = new URL(db.connectionString)
  url.searchParams.set('application_name', 'ldp-cs')
  url.searchParams.set('options', '-c search_path=public')
  // The discrete options say otherwise: pg lets the connection string win.
  const r = await both({ connectionString: url.toString(), host: 'nowhere.invalid', database: 'nothing' }, (pool) =>
    withClient(pool, async (c) => {
      const { rows } = await c.query("SELECT current_database() AS d, current_setting('application_name') AS a")
      return { ...described(c), server: rows[0] }
    })
  )
  assert.deepStrictEqual(r.ours, r.pg)
  assert.equal(r.ours.value.client.database, r.ours.value.server.d)
  assert.equal(r.ours.value.params.application_name, 'ldp-cs')
})
