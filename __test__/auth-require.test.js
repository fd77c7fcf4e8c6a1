'use strict'
// Refusing weaker authentication, against a throwaway TLS cluster with a SCRAM user, an MD5
// user, a cleartext-password user and trust for "postgres":
// - channel binding: SCRAM-SHA-256-PLUS over TLS (`channelBinding: 'require'` succeeds only if
//   the server verified the binding), pg's `enableChannelBinding` works as in pg, and binding
//   required without TLS is refused;
// - `requireAuth` / `require_auth` (libpq's semantics) refuses cleartext, MD5 or no
//   authentication at all when they are not listed, with LDP_AUTH_REFUSED;
// - without these options, every method is answered, as pg answers it.

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity, rejection } = require('./helpers/parity')
const { startThrowawayCluster } = require('./helpers/db')
const { LeakDetectingPool } = require('..')

const SCRAM = { name: 'ldp_cb_scram', password: 'cb-scram-secret', method: 'scram-sha-256' }
const MD5 = { name: 'ldp_cb_md5', password: 'cb-md5-secret', method: 'md5' }
const CLEAR = { name: 'ldp_cb_clear', password: 'cb-clear-secret', method: 'password' }

let cluster
test.before(async () => {
  cluster = await startThrowawayCluster({ tls: true, passwordUser: [SCRAM, MD5, CLEAR] })
})
test.after(async () => {
  if (cluster) await cluster.stop()
})

const NO_VERIFY = { rejectUnauthorized: false }
const cfg = (u, extra) => ({
  ...cluster.config(u ? { user: u.name } : {}),
  connectionString: undefined,
  host: '127.0.0.1',
  password: u ? u.password : undefined,
  max: 1,
  ...extra,
})
const who = async (pool) => (await pool.query('SELECT current_user AS u')).rows[0].u

async function refusal(options) {
  const pool = new LeakDetectingPool(options)
  try {
    const e = await rejection(pool.query('SELECT 1'))
    return { code: e.code, message: e.message, total: pool.totalCount }
  } finally {
    await pool.end()
  }
}

test("channelBinding: 'require' over TLS authenticates with SCRAM-SHA-256-PLUS", async () => {
  const pool = new LeakDetectingPool(cfg(SCRAM, { ssl: NO_VERIFY, channelBinding: 'require' }))
  try {
    assert.equal(await who(pool), SCRAM.name)
  } finally {
    await pool.end()
  }
})

test("pg's enableChannelBinding: true binds over TLS as pg does (parity); false and the default connect too", async () => {
  for (const enableChannelBinding of [true, false, undefined]) {
    const r = await assertParity(cfg(SCRAM, { ssl: NO_VERIFY, enableChannelBinding }), async (pool) => ({ u: await who(pool) }))
    assert.equal(r.ours.value.u, SCRAM.name)
  }
})

test('channel binding required without TLS, or against a method that cannot bind, is refused', async () => {
  const plain = await refusal(cfg(SCRAM, { channelBinding: 'require' }))
  assert.deepEqual(plain, { code: 'LDP_AUTH_REFUSED', message: 'channel binding required, but SSL not in use', total: 0 })
  const md5 = await refusal(cfg(MD5, { ssl: NO_VERIFY, connectionString: undefined, channelBinding: 'require' }))
  assert.equal(md5.code, 'LDP_AUTH_REFUSED')
  assert.match(md5.message, /channel binding required, but server requested a hashed password/)
  const trust = await refusal({
    connectionString: `postgres://postgres@127.0.0.1:${cluster.port}/postgres?sslmode=no-verify&channel_binding=require`,
  })
  assert.equal(trust.code, 'LDP_AUTH_REFUSED')
  assert.match(trust.message, /did not complete authentication/)
})

test('requireAuth refuses cleartext, MD5 and no authentication unless listed; what it lists works', async () => {
  const cases = [
    [
      CLEAR,
      { requireAuth: 'scram-sha-256' },
      'authentication method requirement "scram-sha-256" failed: server requested a cleartext password',
    ],
    [
      MD5,
      { requireAuth: ['scram-sha-256', 'password'] },
      'authentication method requirement "scram-sha-256,password" failed: server requested a hashed password',
    ],
    [
      null,
      { requireAuth: 'scram-sha-256' },
      'authentication method requirement "scram-sha-256" failed: server did not complete authentication',
    ],
    [CLEAR, { requireAuth: '!password' }, 'authentication method requirement "!password" failed: server requested a cleartext password'],
    [SCRAM, { requireAuth: 'md5' }, 'authentication method requirement "md5" failed: server requested SASL authentication'],
  ]
  for (const [u, extra, message] of cases) {
    assert.deepEqual(await refusal(cfg(u, extra)), { code: 'LDP_AUTH_REFUSED', message, total: 0 }, message)
  }
  // In a connection string, as libpq spells it.
  const s = `postgres://${MD5.name}:${MD5.password}@127.0.0.1:${cluster.port}/postgres?require_auth=scram-sha-256,none`
  const r = await refusal({ connectionString: s })
  assert.equal(r.code, 'LDP_AUTH_REFUSED')
  assert.doesNotMatch(r.message, new RegExp(MD5.password))
  for (const [u, requireAuth] of [
    [SCRAM, 'scram-sha-256'],
    [MD5, 'md5,scram-sha-256'],
    [CLEAR, 'password'],
    [null, 'none'],
    [MD5, '!password'],
  ]) {
    const pool = new LeakDetectingPool(cfg(u, { requireAuth }))
    try {
      assert.equal(await who(pool), u ? u.name : 'postgres', requireAuth)
    } finally {
      await pool.end()
    }
  }
})

test('without requireAuth, cleartext and MD5 are answered as pg answers them (parity)', async () => {
  for (const u of [CLEAR, MD5]) {
    const r = await assertParity(cfg(u), async (pool) => ({ u: await who(pool) }))
    assert.equal(r.ours.value.u, u.name)
  }
})

test('invalid requireAuth and channelBinding values are refused at construction', () => {
  for (const [extra, option] of [
    [{ requireAuth: 'kerberos' }, 'requireAuth'],
    [{ requireAuth: 'md5,!password' }, 'requireAuth'],
    [{ requireAuth: 5 }, 'requireAuth'],
    [{ channelBinding: 'always' }, 'channelBinding'],
    [{ enableChannelBinding: 'yes' }, 'enableChannelBinding'],
    [{ channelBinding: 'require', requireAuth: 'md5' }, 'channelBinding'],
  ]) {
    assert.throws(
      () => new LeakDetectingPool(cfg(null, extra)),
      (e) => e.code === 'LDP_INVALID_OPTION' && e.option === option,
      option
    )
  }
})
