'use strict'
// Authentication options of pg 8.19–8.21, against a throwaway cluster with a SCRAM user:
// scramMaxIterations (the client refuses a server asking for more PBKDF2 iterations than
// allowed; 0 turns the check off) and the password function, which pg calls with the
// connection parameters, only when the server asks for a password, and whose result must be a
// string.

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity, both, rejection } = require('./helpers/parity')
const { startThrowawayCluster } = require('./helpers/db')
const { LeakDetectingPool } = require('..')

const SCRAM = { name: 'ldp_iter_user', password: 'iter-secret', method: 'scram-sha-256' }

let cluster
let iterations // what the server asks for (PostgreSQL < 16: always 4096; 16+: scram_iterations)
test.before(async () => {
  cluster = await startThrowawayCluster({ passwordUser: SCRAM })
  const pool = new LeakDetectingPool({ ...cluster.config(), connectionString: undefined, max: 1 })
  try {
    const v = (await pool.query("SELECT current_setting('server_version_num')::int AS v")).rows[0].v
    iterations = v >= 160000 ? Number((await pool.query("SELECT current_setting('scram_iterations') AS i")).rows[0].i) : 4096
  } finally {
    await pool.end()
  }
})
test.after(async () => {
  if (cluster) await cluster.stop()
})

const scramCfg = (extra) => ({
  ...cluster.config({ user: SCRAM.name }),
  connectionString: undefined,
  password: SCRAM.password,
  max: 1,
  ...extra,
})
const who = async (pool) => (await pool.query('SELECT current_user AS u')).rows[0].u

test("scramMaxIterations below the server's count refuses to authenticate, with pg's message (parity)", async () => {
  const r = await assertParity(scramCfg({ scramMaxIterations: iterations - 1 }), async (pool) => {
    const err = await rejection(pool.query('SELECT 1'))
    return { message: err.message, total: pool.totalCount }
  })
  assert.deepEqual(r.ours.value, {
    message: `SASL: SCRAM-SERVER-FIRST-MESSAGE: iteration count ${iterations} exceeds scramMaxIterations of ${iterations - 1}`,
    total: 0,
  })
})

test('scramMaxIterations at the count, as a numeric string, 0 (off) and the default all authenticate (parity)', async () => {
  for (const scramMaxIterations of [iterations, String(iterations), 0, undefined]) {
    const r = await assertParity(scramCfg({ scramMaxIterations }), async (pool) => ({ u: await who(pool) }))
    assert.equal(r.ours.value.u, SCRAM.name, `scramMaxIterations ${scramMaxIterations}`)
  }
})

test('the password function receives the connection parameters, as in pg (parity)', async () => {
  const r = await assertParity(
    (impl) => {
      const cfg = scramCfg({ application_name: 'ldp-params', statement_timeout: 30000 })
      const seen = []
      cfg.password = function (params) {
        seen.push({
          args: arguments.length,
          user: params.user,
          database: params.database,
          host: params.host,
          port: params.port,
          ssl: params.ssl,
          isDomainSocket: params.isDomainSocket,
          application_name: params.application_name,
          statement_timeout: params.statement_timeout,
          passwordEnumerable: Object.keys(params).includes('password'),
        })
        return SCRAM.password
      }
      cfg.seen = seen
      return cfg
    },
    async (pool, ctx) => ({ u: await who(pool), seen: ctx.config.seen })
  )
  assert.deepEqual(r.ours.value.seen, [
    {
      args: 1,
      user: SCRAM.name,
      database: 'postgres',
      host: '127.0.0.1',
      port: cluster.port,
      ssl: false,
      isDomainSocket: false,
      application_name: 'ldp-params',
      statement_timeout: 30000,
      passwordEnumerable: false,
    },
  ])
})

test('the password function is not called when the server asks for no password (parity)', async () => {
  const r = await both(
    (impl) => {
      const calls = []
      return {
        ...cluster.config(), // the "postgres" role is trusted
        connectionString: undefined,
        calls,
        password: () => {
          calls.push(impl)
          throw new Error('not asked for')
        },
      }
    },
    async (pool, ctx) => ({ one: (await pool.query('SELECT 1 AS one')).rows[0].one, calls: ctx.config.calls.length })
  )
  assert.deepEqual(r.ours, r.pg)
  assert.deepEqual(r.ours.value, { one: 1, calls: 0 })
})

test("a password function returning a non-string fails the connection with pg's TypeError message", async () => {
  for (const bad of [null, 42, {}]) {
    const r = await both(scramCfg({ password: async () => bad }), async (pool) => {
      const err = await rejection(pool.query('SELECT 1'))
      return { typeError: /Password must be a string/.test(err.message), total: pool.totalCount }
    })
    assert.deepEqual(r.ours, r.pg, `returning ${JSON.stringify(bad)}`)
    assert.deepEqual(r.ours.value, { typeError: true, total: 0 })
  }
})
