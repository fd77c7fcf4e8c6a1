'use strict'
// Invalid options throw a TypeError/RangeError at construction, naming the option and the
// value received — never a silent default. Valid edge values that pg accepts keep working.

const test = require('node:test')
const assert = require('node:assert/strict')
const { LeakDetectingPool } = require('..')

const INVALID = [
  [{ max: -1 }, RangeError, 'max', /-1/],
  [{ max: 'abc' }, TypeError, 'max', /"abc"/],
  [{ max: 1.5 }, RangeError, 'max', /1\.5/],
  [{ max: Infinity }, RangeError, 'max', /Infinity/],
  [{ poolSize: -2 }, RangeError, 'poolSize', /-2/],
  [{ min: -1 }, RangeError, 'min', /-1/],
  [{ min: 5, max: 2 }, RangeError, 'min', /5/],
  [{ idleTimeoutMillis: NaN }, RangeError, 'idleTimeoutMillis', /NaN/],
  [{ idleTimeoutMillis: -1 }, RangeError, 'idleTimeoutMillis', /-1/],
  [{ connectionTimeoutMillis: -5 }, RangeError, 'connectionTimeoutMillis', /-5/],
  [{ maxUses: -1 }, RangeError, 'maxUses', /-1/],
  [{ maxLifetimeSeconds: 'a' }, TypeError, 'maxLifetimeSeconds', /"a"/],
  [{ allowExitOnIdle: 'yes' }, TypeError, 'allowExitOnIdle', /"yes"/],
  [{ ssl: 'bogus' }, RangeError, 'ssl', /"bogus"/],
  [{ ssl: { rejectUnauthorized: 'no' } }, TypeError, 'ssl.rejectUnauthorized', /"no"/],
  [{ connectionString: 'postgres://h/db?sslmode=bogus' }, RangeError, 'connectionString', /sslmode.*bogus/],
  [{ port: 70000 }, RangeError, 'port', /70000/],
  [{ host: 5 }, TypeError, 'host', /5/],
  [{ password: 5 }, TypeError, 'password', /number/],
  [{ statement_timeout: 'abc' }, TypeError, 'statement_timeout', /"abc"/],
  [{ query_timeout: -1 }, RangeError, 'query_timeout', /-1/],
  [{ keepAlive: 'x' }, TypeError, 'keepAlive', /"x"/],
  [{ application_name: 5 }, TypeError, 'application_name', /5/],
  [{ leakThresholdMs: -1 }, RangeError, 'leakThresholdMs', /-1/],
  [{ maxWaiting: -1 }, RangeError, 'maxWaiting', /-1/],
  [{ verify: 5 }, TypeError, 'verify', /5/],
  [{ onConnect: 'x' }, TypeError, 'onConnect', /"x"/],
  [{ log: 3 }, TypeError, 'log', /3/],
  [{ types: 3 }, TypeError, 'types', /3/],
  [{ types: {} }, TypeError, 'types', /object/],
  // Options only the JS layer reads are validated there, with the same shape of error.
  [{ captureStacks: 'yes' }, TypeError, 'captureStacks', /"yes"/],
  [{ captureStacks: () => true }, TypeError, 'captureStacks', /a function/],
  [{ stackTraceLimit: -1 }, RangeError, 'stackTraceLimit', /-1/],
  [{ stackTraceLimit: 2.5 }, RangeError, 'stackTraceLimit', /2\.5/],
  [{ stackTraceLimit: 'many' }, TypeError, 'stackTraceLimit', /"many"/],
  [{ alertBufferSize: 0 }, RangeError, 'alertBufferSize', /0/],
  [{ allowExitOnIdle: 1 }, TypeError, 'allowExitOnIdle', /1/],
  [{ binary: 'yes' }, TypeError, 'binary', /"yes"/],
]

for (const [opts, Ctor, option, received] of INVALID) {
  test(`invalid ${JSON.stringify(opts, (k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))} throws ${Ctor.name} naming "${option}"`, () => {
    let err
    try {
      new LeakDetectingPool(opts)
    } catch (e) {
      err = e
    }
    assert.ok(err, 'did not throw')
    assert.equal(err.constructor, Ctor, `${err.constructor.name}: ${err.message}`)
    assert.ok(err.message.includes(`"${option}"`), err.message)
    assert.match(err.message, received)
    assert.equal(err.option, option)
    assert.equal(err.code, 'LDP_INVALID_OPTION')
  })
}

test('options must be an object', () => {
  assert.throws(() => new LeakDetectingPool('postgres://x'), TypeError)
  assert.throws(() => new LeakDetectingPool(5), TypeError)
})

test('an invalid-option error never contains the password', () => {
  const err = (() => {
    try {
      new LeakDetectingPool({ password: 'hunter2-secret', max: -1, connectionString: 'postgres://u:hunter2-secret@h/db?sslmode=bogus' })
    } catch (e) {
      return e
    }
  })()
  assert.ok(err)
  assert.ok(!err.message.includes('hunter2-secret'), err.message)
  assert.ok(!String(err.stack).includes('hunter2-secret'))
})

test('values pg accepts stay valid (no false alarms)', async () => {
  const ok = [
    {},
    { max: 0 }, // pg: 0 means the default
    { max: 1, min: 1 },
    { idleTimeoutMillis: 0 },
    { maxUses: Infinity },
    { maxLifetimeSeconds: 0.5 },
    { connectionTimeoutMillis: 0 },
    { ssl: true },
    { ssl: false },
    { ssl: { rejectUnauthorized: false } },
    { ssl: 'no-verify' },
    { allowExitOnIdle: true },
    { binary: true },
    { captureStacks: false, stackTraceLimit: 0, alertBufferSize: 1 },
    { stackTraceLimit: '20', alertBufferSize: '5' }, // numeric strings, as read from process.env
    { log: () => {}, verify: (c, cb) => cb(), onConnect: async () => {} },
    { types: { getTypeParser: () => String } },
    { password: () => 'pw' },
    { password: async () => 'pw' },
    { connectionString: 'postgres://u@localhost:5432/db?sslmode=disable&application_name=x' },
    { host: '/var/run/postgresql' },
    { port: '5433' },
    { unknownOption: 1 },
  ]
  for (const o of ok) {
    const p = new LeakDetectingPool(o)
    await p.end()
  }
})
