'use strict'
// client.connectionParameters reports the authentication policy in effect, as the core resolved
// it: require_auth (the methods the server may use; undefined for any) and channel_binding, from
// the connection string, else the options, else PGREQUIREAUTH / PGCHANNELBINDING.

const test = require('node:test')
const assert = require('node:assert/strict')
const { LeakDetectingPool } = require('..')
const { findDatabase } = require('./helpers/db')

/** Every method but the two this client cannot speak: any test server is accepted. */
const SPEAKABLE = 'none,password,md5,scram-sha-256'

/** The policy a connected client reports, for a pool built from `options` under `env`. */
async function reported(options, env = {}) {
  const saved = {}
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k]
    process.env[k] = v
  }
  let pool
  try {
    pool = new LeakDetectingPool({ ...(await findDatabase()), max: 1, ...options })
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
  try {
    const c = await pool.connect()
    try {
      const p = c.connectionParameters
      return { require_auth: p.require_auth, channel_binding: p.channel_binding }
    } finally {
      c.release()
    }
  } finally {
    await pool.end()
  }
}

test('without a requirement any method is accepted and binding is preferred', async () => {
  assert.deepEqual(await reported({}), { require_auth: undefined, channel_binding: 'prefer' })
})

test('the options are reported as normalised lists and libpq keywords', async () => {
  assert.deepEqual(await reported({ requireAuth: SPEAKABLE.split(',').map((m) => ` ${m}`), channelBinding: 'disable' }), {
    require_auth: SPEAKABLE,
    channel_binding: 'disable',
  })
  assert.deepEqual(await reported({ enableChannelBinding: false }), { require_auth: undefined, channel_binding: 'disable' })
})

test('PGREQUIREAUTH and PGCHANNELBINDING apply when the options say nothing', async () => {
  const env = { PGREQUIREAUTH: '!gss,!sspi', PGCHANNELBINDING: 'disable' }
  assert.deepEqual(await reported({}, env), { require_auth: '!gss,!sspi', channel_binding: 'disable' })
  assert.deepEqual(await reported({ requireAuth: SPEAKABLE, channelBinding: 'prefer' }, env), {
    require_auth: SPEAKABLE,
    channel_binding: 'prefer',
  })
})

test('the connection string wins over the options and the environment', async () => {
  const url = new URL((await findDatabase()).connectionString)
  url.searchParams.set('require_auth', SPEAKABLE)
  url.searchParams.set('channel_binding', 'prefer')
  const options = { connectionString: url.toString(), requireAuth: '!md5', channelBinding: 'disable' }
  assert.deepEqual(await reported(options, { PGREQUIREAUTH: '!password', PGCHANNELBINDING: 'disable' }), {
    require_auth: SPEAKABLE,
    channel_binding: 'prefer',
  })
})
