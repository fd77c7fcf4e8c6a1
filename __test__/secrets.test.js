'use strict'
// Secrets stay secret. On a throwaway cluster with scram-sha-256, md5 and cleartext
// ("password") roles, each scenario takes its password from another source — the `password`
// option, a sync and an async function, `connectionString` (user:secret@ and ?password=),
// PGPASSWORD — and also runs with a wrong password. Everything the pool lets an application
// observe is gathered: errors (message, stack, inspect, JSON), every event's payload, the
// `log` hook's messages, metrics (object and Prometheus text), status, alerts, the leak
// report, memory usage, and util.inspect/JSON.stringify/String of the pool, pool.options,
// clients and their connectionParameters, through a leak report, a forced release, an
// exhaustion error and end() with a client still held. No password, right or wrong, may
// appear anywhere in it.

const test = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const crypto = require('node:crypto')
const { LeakDetectingPool } = require('..')
const { startThrowawayCluster } = require('./helpers/db')
const { within, sleep } = require('./helpers/fault')

const secret = (tag) => `pw-${tag}-${crypto.randomBytes(6).toString('hex')}`
const ROLES = [
  { name: 'sec_scram', method: 'scram-sha-256', password: secret('scram') },
  { name: 'sec_md5', method: 'md5', password: secret('md5') },
  { name: 'sec_clear', method: 'password', password: secret('clear') },
]
const WRONG = secret('wrong')
const SECRETS = [...ROLES.map((r) => r.password), WRONG]

let cluster
test.before(async () => {
  cluster = await startThrowawayCluster({ passwordUser: ROLES })
})
test.after(() => cluster && cluster.stop())

/** Everything observable, as text. */
class Observed {
  constructor() {
    this.texts = []
  }
  add(label, v) {
    const parts = [util.inspect(v, { depth: 8 })]
    try {
      parts.push(JSON.stringify(v))
    } catch (e) {
      parts.push(`JSON.stringify threw: ${e.message}`)
    }
    if (v instanceof Error) parts.push(String(v.stack), String(v.message))
    else if (v != null && typeof v === 'object') parts.push(String(v))
    else parts.push(String(v))
    this.texts.push(`[${label}] ${parts.join('\n')}`)
  }
  assertClean() {
    const all = this.texts.join('\n')
    for (const s of SECRETS) {
      for (const form of new Set([s, encodeURIComponent(s), Buffer.from(s).toString('base64')])) {
        const at = all.indexOf(form)
        assert.equal(at, -1, `a password appears in what the pool shows: …${all.slice(Math.max(0, at - 200), at + 40)}`)
      }
    }
    assert.ok(this.texts.length > 20, `only ${this.texts.length} things observed`)
  }
}

const EVENTS = ['connect', 'acquire', 'release', 'remove', 'error', 'leaksDetected', 'forceRelease', 'leakResolved']

/** Runs one scenario: a pool from `options()`, exercised; gathers into `seen`. */
async function exercise(seen, label, options, { expectAuthFailure = false, deep = false } = {}) {
  const logs = []
  const pool = new LeakDetectingPool({
    max: 2,
    connectionTimeoutMillis: 600,
    leakThresholdMs: 50,
    checkIntervalMs: 10,
    forceReleaseAfterMs: 300,
    endTimeoutMs: 200,
    log: (...args) => logs.push(args),
    ...options,
  })
  for (const name of EVENTS) pool.on(name, (...args) => seen.add(`${label} event ${name}`, args))
  const observePool = (when) => {
    seen.add(`${label} pool ${when}`, pool)
    seen.add(`${label} options ${when}`, pool.options)
    seen.add(`${label} status ${when}`, pool.getPoolStatus())
    seen.add(`${label} metrics ${when}`, pool.getMetrics())
    seen.add(`${label} metricsText ${when}`, pool.metricsText())
    seen.add(`${label} alerts ${when}`, pool.getAlerts())
    seen.add(`${label} leak report ${when}`, pool.getLeakReport())
    seen.add(`${label} memory ${when}`, pool.getMemoryUsage())
  }
  observePool('fresh')
  const q = await within(pool.query('SELECT current_user AS u'), 5000, `${label} query`).then(
    (r) => r,
    (e) => e
  )
  seen.add(`${label} first query`, q)
  if (expectAuthFailure) {
    assert.ok(q instanceof Error, `${label}: a wrong password authenticated`)
    const c = await within(pool.connect(), 5000, `${label} connect`).catch((e) => e)
    seen.add(`${label} connect error`, c)
    assert.ok(c instanceof Error)
  } else {
    assert.ok(!(q instanceof Error), `${label}: ${q.message}`)
    // A client: inspected, its parameters; a leak (reported, then forced release); an
    // exhaustion error naming the holders; end() with a client still held.
    const a = await pool.connect()
    seen.add(`${label} client`, a)
    seen.add(`${label} client params`, a.connectionParameters)
    await a.query('SELECT 1')
    if (!deep) a.release()
  }
  if (!expectAuthFailure && deep) {
    const a = await pool.connect()
    await within(
      (async () => {
        while (pool.getAlerts().length === 0) await sleep(10)
      })(),
      3000,
      'a leak report'
    )
    const b = await pool.connect()
    const timeout = await within(pool.connect(), 5000, 'an exhausted connect').catch((e) => e)
    seen.add(`${label} exhaustion`, timeout)
    await sleep(400) // a and b are reclaimed (idle past forceReleaseAfterMs)
    seen.add(`${label} reclaimed query`, await a.query('SELECT 1').catch((e) => e))
    b.release()
    const held = await pool.connect()
    seen.add(`${label} held`, held)
    observePool('busy')
  }
  await within(pool.end(), 5000, `${label} end`)
  observePool('ended')
  seen.add(`${label} logs`, logs)
}

function base(role) {
  return { host: '127.0.0.1', port: cluster.port, user: role.name, database: 'postgres' }
}
const url = (role, pw) => `postgres://${role.name}:${encodeURIComponent(pw)}@127.0.0.1:${cluster.port}/postgres`

const SOURCES = {
  'the password option': (role, pw) => ({ ...base(role), password: pw }),
  'a sync password function': (role, pw) => ({ ...base(role), password: () => pw }),
  'an async password function': (role, pw) => ({ ...base(role), password: async () => pw }),
  'connectionString user:secret@': (role, pw) => ({ connectionString: url(role, pw) }),
  'connectionString ?password=': (role, pw) => ({
    connectionString: `postgres://${role.name}@127.0.0.1:${cluster.port}/postgres?password=${encodeURIComponent(pw)}`,
  }),
  PGPASSWORD: (role, pw) => ({ ...base(role), $env: pw }),
}

for (const [source, make] of Object.entries(SOURCES)) {
  test(`no password appears anywhere: ${source} (scram, md5, cleartext; right and wrong)`, async () => {
    const seen = new Observed()
    for (const role of ROLES) {
      for (const [pw, wrong] of [
        [role.password, false],
        [WRONG, true],
      ]) {
        const opts = make(role, pw)
        const env = opts.$env
        delete opts.$env
        const saved = process.env.PGPASSWORD
        if (env !== undefined) process.env.PGPASSWORD = env
        try {
          const deep = role === ROLES[0]
          await exercise(seen, `${source}/${role.method}/${wrong ? 'wrong' : 'right'}`, opts, { expectAuthFailure: wrong, deep })
          // A pool made from another's options (password carried, hidden).
          if (!wrong) {
            const first = new LeakDetectingPool(opts)
            const again = new LeakDetectingPool(first.options)
            await first.end()
            seen.add('pool from pool.options', again)
            seen.add('its options', again.options)
            assert.equal((await within(again.query('SELECT 1 AS n'), 5000, 'the copied pool')).rows[0].n, 1)
            await again.end()
          }
        } finally {
          if (saved === undefined) delete process.env.PGPASSWORD
          else process.env.PGPASSWORD = saved
        }
      }
    }
    // Invalid options next to a password: the refusal names the option, never the password.
    for (const role of ROLES) {
      try {
        new LeakDetectingPool({ ...make(role, role.password), max: -1 })
      } catch (e) {
        seen.add('invalid option', e)
      }
    }
    seen.assertClean()
  })
}
