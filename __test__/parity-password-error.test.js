'use strict'
// Parity: what a password function throws or rejects with reaches the caller of the failed
// connect unchanged — the same object, its class, message and own properties — as pg passes
// it on; a result that is not a string fails with pg's own TypeError. Against a throwaway
// cluster with a SCRAM user (the function is only called when a server asks for a password).

const test = require('node:test')
const assert = require('node:assert/strict')
const { both, rejection } = require('./helpers/parity')
const { startThrowawayCluster } = require('./helpers/db')

const SCRAM = { name: 'ldp_pwfn_user', password: 'pwfn-secret', method: 'scram-sha-256' }

let cluster
test.before(async () => {
  cluster = await startThrowawayCluster({ passwordUser: SCRAM })
})
test.after(async () => {
  if (cluster) await cluster.stop()
})

class VaultError extends Error {
  constructor(message) {
    super(message)
    this.name = 'VaultError'
    this.retryAfter = 30
  }
}

const cfg = (password) => ({ ...cluster.config({ user: SCRAM.name }), connectionString: undefined, max: 1, password })

/** How `err` relates to `thrown`: the same object, or else what it looks like. */
function shape(err, thrown) {
  return {
    same: err === thrown,
    name: err.name,
    message: err.message,
    retryAfter: err.retryAfter,
    isTypeError: err instanceof TypeError,
  }
}

test("a password function's error is the caller's error: same object, via connect and query", async () => {
  for (const kind of ['throws', 'rejects']) {
    const r = await both(
      () => {
        const thrown = new VaultError('vault sealed')
        const fn =
          kind === 'throws'
            ? () => {
                throw thrown
              }
            : async () => {
                throw thrown
              }
        const out = cfg(fn)
        out.thrown = thrown
        return out
      },
      async (pool, { config }) => {
        const viaConnect = shape(await rejection(pool.connect()), config.thrown)
        const viaQuery = shape(await rejection(pool.query('SELECT 1')), config.thrown)
        const viaCallback = await new Promise((resolve) => pool.connect((err) => resolve(shape(err, config.thrown))))
        return { viaConnect, viaQuery, viaCallback, total: pool.totalCount }
      }
    )
    assert.deepEqual(r.ours, r.pg, kind)
    const expected = { same: true, name: 'VaultError', message: 'vault sealed', retryAfter: 30, isTypeError: false }
    assert.deepEqual(r.ours.value, { viaConnect: expected, viaQuery: expected, viaCallback: expected, total: 0 }, kind)
  }
})

test("a password function returning a non-string: pg's TypeError itself", async () => {
  const r = await both(
    cfg(() => 42),
    async (pool) => shape(await rejection(pool.query('SELECT 1')))
  )
  assert.deepEqual(r.ours, r.pg)
  assert.deepEqual(r.ours.value, {
    same: false,
    name: 'TypeError',
    message: 'Password must be a string',
    retryAfter: undefined,
    isTypeError: true,
  })
})

test('after a failed password function the pool connects once the function answers', async () => {
  const r = await both(
    () => {
      let calls = 0
      return cfg(() => {
        if (++calls === 1) throw new Error('not yet')
        return SCRAM.password
      })
    },
    async (pool) => {
      const first = (await rejection(pool.query('SELECT 1'))).message
      const u = (await pool.query('SELECT current_user AS u')).rows[0].u
      return { first, u }
    }
  )
  assert.deepEqual(r.ours, r.pg)
  assert.deepEqual(r.ours.value, { first: 'not yet', u: SCRAM.name })
})

test("known difference: the password file is read without pg's deprecation warning", async () => {
  const fs = require('node:fs')
  const os = require('node:os')
  const path = require('node:path')
  const pg = require('pg')
  const { LeakDetectingPool } = require('..')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldp-pgpass-'))
  const file = path.join(dir, 'pgpass')
  fs.writeFileSync(file, `*:*:*:${SCRAM.name}:${SCRAM.password}\n`, { mode: 0o600 })
  const saved = { PGPASSFILE: process.env.PGPASSFILE, PGPASSWORD: process.env.PGPASSWORD }
  process.env.PGPASSFILE = file
  delete process.env.PGPASSWORD
  const warnings = []
  const onWarning = (w) => warnings.push(w.message)
  process.on('warning', onWarning)
  const user = async (pool) => {
    try {
      return (await pool.query('SELECT current_user AS u')).rows[0].u
    } finally {
      await pool.end()
    }
  }
  try {
    // Ours first: pg warns once per process.
    assert.equal(await user(new LeakDetectingPool(cfg(undefined))), SCRAM.name)
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(
      warnings.filter((m) => /pgpass/.test(m)),
      []
    )
    assert.equal(await user(new pg.Pool(cfg(undefined))), SCRAM.name)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(warnings.filter((m) => /pgpass support is deprecated/.test(m)).length, 1)
  } finally {
    process.off('warning', onWarning)
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
