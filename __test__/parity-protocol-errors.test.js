'use strict'
// pg's errors in pg's words, against tiny fake servers (helpers/fake-server.js):
// - a message that answers no request (out of order, as proxies sometimes send) fails the
//   connection with pg's "Received unexpected … message from backend.": an idle client's
//   reaches the pool's `error` listener and the client leaves the pool — as with pg.Pool;
// - a socket reset keeps the operating system's code (`read ECONNRESET`, errno, syscall);
// - a malformed message (a length below 4, a DataRow without body) never hangs: the query
//   rejects, and the connection is discarded and its slot given back.

const test = require('node:test')
const assert = require('node:assert/strict')
const { IMPLS, plain, rejection, sleep } = require('./helpers/parity')
const { fakeServer, msg, oneRow, int32 } = require('./helpers/fake-server')
const { LeakDetectingPool } = require('..')

// Exactly this configuration (not the test database's, whose connection string would win).
const cfgFor = (server) => () => ({
  host: '127.0.0.1',
  port: server.port,
  user: 'not',
  database: 'existing',
  connectionTimeoutMillis: 2000,
})

/** Runs `run(pool)` on pg.Pool and on ours, each against `server`; returns { pg, ours }. */
async function both(cfg, run) {
  const out = {}
  for (const [impl, make] of Object.entries(IMPLS)) {
    const pool = make(cfg())
    const o = {}
    try {
      o.value = plain(await run(pool))
    } catch (err) {
      o.error = plain(err)
    }
    if (!pool.ending) await pool.end()
    out[impl] = o
  }
  return out
}

const BAD = {
  parseComplete: msg('1'),
  commandComplete: msg('C', Buffer.from('f\0')),
  rowDescription: msg('T', Buffer.from([0, 0])),
  dataRow: msg('D', Buffer.from([0, 0])),
  portalSuspended: msg('s'),
  emptyQuery: msg('I'),
  copyInResponse: msg('G', Buffer.from([0, 0, 0])),
  copyData: msg('d', Buffer.from([1, 2, 3])),
}

for (const [name, bad] of Object.entries(BAD)) {
  test(`an out-of-order ${name} reaches the pool's error listener and the client leaves the pool (parity)`, async () => {
    const server = await fakeServer((kind, socket) => {
      socket.write(oneRow(kind))
      setImmediate(() => socket.write(bad))
    })
    try {
      const r = await both(cfgFor(server), async (pool) => {
        const errors = []
        pool.on('error', (err, client) =>
          errors.push({ message: err.message, hasClient: client != null, errClient: err.client === client })
        )
        const res = await pool.query('SELECT $1', ['foo'])
        for (let i = 0; i < 100 && (errors.length === 0 || pool.totalCount > 0); i++) await sleep(10)
        return { rows: res.rows, errors, idle: pool.idleCount, total: pool.totalCount }
      })
      assert.deepStrictEqual(r.ours, r.pg)
      assert.deepStrictEqual(r.ours.value.errors, [
        { message: `Received unexpected ${name} message from backend.`, hasClient: true, errClient: true },
      ])
      assert.equal(r.ours.value.total, 0)
    } finally {
      await server.close()
    }
  })
}

test('a checked-out client whose server sends an unexpected message gets it as an error event (parity)', async () => {
  const server = await fakeServer((kind, socket) => {
    socket.write(oneRow(kind))
    setImmediate(() => socket.write(BAD.dataRow))
  })
  try {
    const r = await both(cfgFor(server), async (pool) => {
      const c = await pool.connect()
      const errors = []
      c.on('error', (err) => errors.push(err.message))
      const res = await c.query('SELECT NOW()')
      for (let i = 0; i < 100 && errors.length === 0; i++) await sleep(10)
      c.release(errors.length ? new Error('broken') : undefined)
      return { rows: res.rows, errors, poolTotal: pool.totalCount }
    })
    assert.deepStrictEqual(r.ours, r.pg)
    assert.deepStrictEqual(r.ours.value.errors, ['Received unexpected dataRow message from backend.'])
  } finally {
    await server.close()
  }
})

test("a connection reset mid-query rejects with the operating system's error (parity)", async () => {
  const server = await fakeServer((kind, socket) => socket.resetAndDestroy())
  try {
    const r = await both(cfgFor(server), async (pool) => {
      pool.on('error', () => {})
      const err = await rejection(pool.query('SELECT 1'))
      return { message: err.message, code: err.code, errno: err.errno, syscall: err.syscall, total: pool.totalCount }
    })
    assert.deepStrictEqual(r.ours, r.pg)
    assert.deepStrictEqual(r.ours.value, { message: 'read ECONNRESET', code: 'ECONNRESET', errno: -104, syscall: 'read', total: 0 })
  } finally {
    await server.close()
  }
})

test('malformed messages fail the query, never hang, and give the slot back', async () => {
  const cases = {
    'a length of 0': Buffer.from([0x44, 0, 0, 0, 0]),
    'a negative length': Buffer.from([0x44, 0xff, 0xff, 0xff, 0xff]),
    'a DataRow without body': msg('D'),
    'a DataRow shorter than its values': msg('D', Buffer.concat([Buffer.from([0, 1]), int32(10), Buffer.from('ab')])),
  }
  for (const [what, bad] of Object.entries(cases)) {
    const server = await fakeServer((kind, socket) => socket.write(bad))
    const pool = new LeakDetectingPool(cfgFor(server)())
    try {
      pool.on('error', () => {})
      const err = await rejection(pool.query('SELECT 1'))
      assert.equal(err.code, 'LDP_PROTOCOL', `${what}: ${err.stack}`)
      assert.match(err.message, /^Received malformed dataRow message from backend/, what)
      for (let i = 0; i < 100 && pool.totalCount > 0; i++) await sleep(10)
      assert.equal(pool.totalCount, 0, `${what}: the slot is given back`)

      // On a checked-out client too: the query rejects, the client can be released.
      const c = await pool.connect()
      const clientErrors = []
      c.on('error', (e) => clientErrors.push(e))
      await assert.rejects(c.query('SELECT 1'), { code: 'LDP_PROTOCOL' })
      c.release(true)
      for (let i = 0; i < 100 && pool.totalCount > 0; i++) await sleep(10)
      assert.equal(pool.totalCount, 0, `${what}: the client's slot is given back`)
    } finally {
      await pool.end()
      await server.close()
    }
  }
})
