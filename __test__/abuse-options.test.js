'use strict'
// Bad input, options: every option the README's two options tables list gets wrong types and
// wrong ranges, generated from its kind. Each must throw at construction a TypeError or
// RangeError with code LDP_INVALID_OPTION naming that option (never another exception, never
// a silent default), and a pool made afterwards works. An option added to the README without
// a kind here fails the first test.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { LeakDetectingPool } = require('..')
const { findDatabase } = require('./helpers/db')

/** The option names in the README's "pg's options" and "Leak and safety options" tables. */
function documentedOptions() {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8')
  const names = new Set()
  for (const heading of ["### pg's options", '### Leak and safety options']) {
    const start = readme.indexOf(heading)
    assert.ok(start >= 0, `README has no "${heading}" section`)
    const section = readme.slice(start + heading.length).split(/\n#{2,3} /)[0]
    for (const line of section.split('\n')) {
      if (!line.startsWith('| `')) continue
      for (const m of line.split('|')[1].matchAll(/`([A-Za-z_]+)`/g)) names.add(m[1])
    }
  }
  return [...names]
}

const T = TypeError
const R = RangeError
const circular = () => {
  const o = { a: 1 }
  o.self = o
  return o
}

// Per kind: [bad value, expected class]. Every kind also gets a symbol and a cyclic object
// (TypeError), and a function unless functions are valid for it.
const KINDS = {
  count: [
    ['abc', T],
    [-1, R],
    [1.5, R],
    [NaN, R],
    [{}, T],
    [true, T],
  ],
  ms: [
    [-1, R],
    [NaN, R],
    [-Infinity, R],
    ['abc', T],
    [{}, T],
    [true, T],
  ],
  port: [
    [-1, R],
    [70000, R],
    [1.5, R],
    ['abc', R],
    [{}, T],
    [true, T],
  ],
  string: [
    [{}, T],
    [[], T],
    [true, T],
    [-1, T],
  ],
  bool: [
    ['yes', T],
    [1, T],
    [{}, T],
  ],
  fn: [
    [5, T],
    ['x', T],
    [{}, T],
  ],
  password: [
    [5, T],
    [{}, T],
    [true, T],
  ],
  ssl: [
    ['bogus', R],
    [5, T],
    [{ rejectUnauthorized: 'no' }, T],
    [{ ca: 5 }, T],
    [{ ca: Symbol('ca') }, T],
  ],
  sslnegotiation: [
    ['bogus', R],
    [5, T],
    [{}, T],
  ],
  replication: [
    [{}, T],
    [[], T],
  ],
  types: [
    [3, T],
    [{}, T],
  ],
  ignoreFrames: [
    ['x', T],
    [[5], T],
    [[''], T],
  ],
  tagLimits: [
    [5, T],
    [[], T],
    [{ a: 0 }, R],
    [{ a: 'x' }, T],
  ],
  requireAuth: [
    ['bogus', R],
    [5, T],
    [{}, T],
    [[5], T],
  ],
  channelBinding: [
    ['bogus', R],
    [5, T],
    [{}, T],
  ],
  // pg reads it leniently (a number or numeric string, anything else is the default).
  lenient: [],
}

const OPTION_KINDS = {
  connectionString: 'string',
  host: 'string',
  port: 'port',
  user: 'string',
  password: 'password',
  database: 'string',
  ssl: 'ssl',
  sslnegotiation: 'sslnegotiation',
  scramMaxIterations: 'lenient',
  requireAuth: 'requireAuth',
  channelBinding: 'channelBinding',
  enableChannelBinding: 'bool',
  application_name: 'string',
  statement_timeout: 'ms',
  lock_timeout: 'ms',
  idle_in_transaction_session_timeout: 'ms',
  options: 'string',
  replication: 'replication',
  query_timeout: 'ms',
  keepAlive: 'bool',
  keepAliveInitialDelayMillis: 'ms',
  connectionTimeoutMillis: 'ms',
  max: 'count',
  poolSize: 'count',
  min: 'count',
  idleTimeoutMillis: 'ms',
  maxUses: 'count',
  maxLifetimeSeconds: 'ms',
  allowExitOnIdle: 'bool',
  pipeline: 'bool',
  binary: 'bool',
  types: 'types',
  log: 'fn',
  onConnect: 'fn',
  verify: 'fn',
  Promise: 'fn',
  client_encoding: 'string',
  leakThresholdMs: 'ms',
  checkIntervalMs: 'ms',
  maxLeaksBeforeAlert: 'count',
  forceReleaseAfterMs: 'ms',
  captureStacks: 'bool',
  stackTraceLimit: 'count',
  ignoreFrames: 'ignoreFrames',
  alertBufferSize: 'count',
  metricsHistorySize: 'count',
  metricsIntervalMs: 'ms',
  maxWaiting: 'count',
  tagLimits: 'tagLimits',
  healthCheckIntervalMs: 'ms',
  endTimeoutMs: 'ms',
  statementCacheSize: 'count',
  maxMessageSize: 'count',
  maxQueuedEvents: 'count',
  parseInputDatesAsUTC: 'bool',
}

const FUNCTIONS_VALID = new Set(['fn', 'password', 'lenient'])

function casesFor(option) {
  const kind = OPTION_KINDS[option]
  const cases = KINDS[kind].map(([v, Ctor]) => [v, Ctor])
  cases.push([Symbol('bad'), T], [circular(), T])
  if (!FUNCTIONS_VALID.has(kind)) cases.push([() => 1, T])
  return cases
}

function show(v) {
  if (typeof v === 'symbol') return 'a symbol'
  if (typeof v === 'function') return 'a function'
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v)
  try {
    return JSON.stringify(v)
  } catch {
    return 'a cyclic object'
  }
}

test('every documented option has a kind here (the cases below cover the README tables)', () => {
  const missing = documentedOptions().filter((o) => !(o in OPTION_KINDS))
  assert.deepEqual(missing, [])
  assert.ok(documentedOptions().length >= 45)
})

for (const option of Object.keys(OPTION_KINDS)) {
  test(`option ${option}: wrong types and ranges throw LDP_INVALID_OPTION naming it`, () => {
    for (const [value, Ctor] of casesFor(option)) {
      let err
      try {
        const pool = new LeakDetectingPool({ [option]: value })
        pool.end().catch(() => {})
      } catch (e) {
        err = e
      }
      const what = `${option}: ${show(value)}`
      assert.ok(err, `${what} was accepted`)
      assert.equal(err.code, 'LDP_INVALID_OPTION', `${what}: ${err.stack}`)
      assert.equal(err.constructor, Ctor, `${what}: ${err.constructor.name}: ${err.message}`)
      assert.ok(err.option === option || String(err.option).startsWith(`${option}.`), `${what}: names ${err.option}`)
      assert.ok(err.message.includes(`"${err.option}"`), `${what}: ${err.message}`)
    }
  })
}

test('after every refusal, a pool made with good options serves', async () => {
  const pool = new LeakDetectingPool({ ...(await findDatabase()), max: 2 })
  try {
    assert.equal((await pool.query('SELECT $1::int + 1 AS n', [1])).rows[0].n, 2)
  } finally {
    await pool.end()
  }
})
