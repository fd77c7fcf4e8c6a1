'use strict'
// Passwords against a throwaway cluster with SCRAM and md5 users: a string, a sync function
// and an async function (called for each new connection) all work as with pg.Pool; a wrong
// password fails with pg's server error (28P01) and never shows the password; the options of
// a pool reproduce it, password included.

const test = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const { assertParity, rejection } = require('./helpers/parity')
const { startThrowawayCluster } = require('./helpers/db')
const { LeakDetectingPool } = require('..')

const SCRAM = { name: 'ldp_scram_user', password: 'scr@m pässword!', method: 'scram-sha-256' }
const MD5 = { name: 'ldp_md5_user', password: 'md5-secret-42', method: 'md5' }

let cluster
test.before(async () => {
  cluster = await startThrowawayCluster({ passwordUser: [SCRAM, MD5] })
})
test.after(async () => {
  if (cluster) await cluster.stop()
})

const userCfg = (u, password) => ({ ...cluster.config({ user: u.name }), connectionString: undefined, password })
const who = async (pool) => (await pool.query('SELECT current_user AS u')).rows[0].u

for (const u of [SCRAM, MD5]) {
  test(`${u.method}: password as a string (parity)`, async () => {
    const r = await assertParity(userCfg(u, u.password), async (pool) => ({ u: await who(pool) }))
    assert.equal(r.ours.value.u, u.name)
  })
}

test('password as a sync function and as an async function, called once per new connection (parity)', async () => {
  for (const kind of ['sync', 'async']) {
    const calls = { pg: 0, ours: 0 }
    const r = await assertParity(
      (impl) =>
        userCfg(
          SCRAM,
          kind === 'sync'
            ? () => {
                calls[impl]++
                return SCRAM.password
              }
            : async () => {
                calls[impl]++
                await new Promise((res) => setTimeout(res, 5))
                return SCRAM.password
              }
        ),
      async (pool) => {
        const [a, b] = await Promise.all([pool.connect(), pool.connect()])
        a.release()
        b.release()
        return { u: await who(pool) }
      }
    )
    assert.equal(r.ours.value.u, SCRAM.name)
    assert.deepEqual(calls, { pg: 2, ours: 2 }, kind)
  }
})

test("wrong password: pg's server error, no password in it, counts back to 0 (parity)", async () => {
  const r = await assertParity(userCfg(SCRAM, 'not-the-password'), async (pool) => {
    const e = await rejection(pool.query('SELECT 1'))
    return { e, stackHasPassword: String(e.stack).includes('not-the-password'), total: pool.totalCount }
  })
  assert.equal(r.ours.value.e.code, '28P01')
  assert.match(r.ours.value.e.message, /password authentication failed for user "ldp_scram_user"/)
  assert.equal(r.ours.value.stackHasPassword, false)
  assert.equal(r.ours.value.total, 0)
})

test('a password function that throws: the error reaches the caller, the slot is freed', async () => {
  const pool = new LeakDetectingPool(
    userCfg(SCRAM, () => {
      throw new Error('vault unavailable')
    })
  )
  try {
    const e = await rejection(pool.query('SELECT 1'))
    assert.match(e.message, /vault unavailable/)
    assert.equal(pool.totalCount, 0)
  } finally {
    await pool.end()
  }
})

test('new LeakDetectingPool(pool.options) reproduces a password pool; the password stays hidden', async () => {
  const a = new LeakDetectingPool(userCfg(SCRAM, SCRAM.password))
  const b = new LeakDetectingPool(a.options)
  try {
    assert.equal(await who(b), SCRAM.name)
    for (const t of [util.inspect(a, { depth: 6 }), util.inspect(b.options), JSON.stringify(b), String(b)]) {
      assert.ok(!t.includes(SCRAM.password), t.slice(0, 200))
    }
  } finally {
    await a.end()
    await b.end()
  }
})

test('connection string with the password (SCRAM) works (parity)', async () => {
  const url = `postgres://${encodeURIComponent(SCRAM.name)}:${encodeURIComponent(SCRAM.password)}@127.0.0.1:${cluster.port}/postgres`
  const r = await assertParity(
    { connectionString: url, host: undefined, port: undefined, user: undefined, database: undefined },
    async (pool) => ({ u: await who(pool) })
  )
  assert.equal(r.ours.value.u, SCRAM.name)
})

/**
 * Runs `fn` with PGPASSFILE pointing at a password file holding `lines` (mode 0600, as pg's
 * pgpass requires) and no PGPASSWORD; the environment is restored after.
 */
async function withPassFile(lines, fn) {
  const fs = require('node:fs')
  const os = require('node:os')
  const path = require('node:path')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldp-pgpass-'))
  const file = path.join(dir, 'pgpass')
  fs.writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 })
  const saved = { PGPASSFILE: process.env.PGPASSFILE, PGPASSWORD: process.env.PGPASSWORD }
  process.env.PGPASSFILE = file
  delete process.env.PGPASSWORD
  try {
    return await fn()
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const escapePass = (s) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:')

test('no password given: the password file (PGPASSFILE) is read as pg reads it (parity)', async () => {
  const cfg = userCfg(SCRAM, undefined)
  const r = await withPassFile(
    [
      // Not this server: skipped.
      `otherhost:${cluster.port}:*:${SCRAM.name}:wrong`,
      `127.0.0.1:${cluster.port}:*:${SCRAM.name}:${escapePass(SCRAM.password)}`,
      `*:*:*:${MD5.name}:${escapePass(MD5.password)}`,
    ],
    () =>
      assertParity(cfg, async (pool) => {
        const [a, b] = await Promise.all([pool.connect(), pool.connect()])
        a.release()
        b.release()
        return { u: await who(pool) }
      })
  )
  assert.equal(r.ours.value.u, SCRAM.name)
  const md5 = await withPassFile([`*:*:*:${MD5.name}:${escapePass(MD5.password)}`], () =>
    assertParity(userCfg(MD5, undefined), async (pool) => ({ u: await who(pool) }))
  )
  assert.equal(md5.ours.value.u, MD5.name)
})

test('a password given in the options wins over the password file; no matching entry fails', async () => {
  await withPassFile([`*:*:*:${SCRAM.name}:wrong-from-file`], async () => {
    const r = await assertParity(userCfg(SCRAM, SCRAM.password), async (pool) => ({ u: await who(pool) }))
    assert.equal(r.ours.value.u, SCRAM.name)
  })
  await withPassFile([`*:*:*:someone_else:x`], async () => {
    const pool = new LeakDetectingPool(userCfg(SCRAM, undefined))
    try {
      const e = await rejection(pool.query('SELECT 1'))
      assert.match(e.message, /password/)
      assert.equal(pool.totalCount, 0)
    } finally {
      await pool.end()
    }
  })
})

test('the password file is read only when the server asks for a password (parity)', async () => {
  const fs = require('node:fs')
  const stat = fs.stat
  let reads = 0
  // pgpass looks the file up with fs.stat first (the same `fs` module this process shares).
  fs.stat = function (file, ...rest) {
    if (file === process.env.PGPASSFILE) reads++
    return stat.call(this, file, ...rest)
  }
  const reading = async (pool) => {
    reads = 0
    const u = await who(pool)
    return { u, reads }
  }
  try {
    await withPassFile([`*:*:*:*:${escapePass(SCRAM.password)}`], async () => {
      // The cluster trusts its "postgres" role: no password is asked for, the file is not read.
      const trusted = await assertParity({ ...cluster.config(), connectionString: undefined }, reading)
      assert.equal(trusted.ours.value.reads, 0)
      const asked = await assertParity(userCfg(SCRAM, undefined), reading)
      assert.deepEqual(asked.ours.value, { u: SCRAM.name, reads: 1 })
    })
  } finally {
    fs.stat = stat
  }
})
