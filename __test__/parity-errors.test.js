'use strict'
// Parity: server errors carry pg's DatabaseError fields, pg's own messages are kept
// ("Cannot use a pool after calling end on the pool", "Release called on client which has
// already been released to the pool.", "Called end on pool more than once", "timeout exceeded
// when trying to connect"), and a failed pool.query destroys its connection as pg-pool does.

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertParity, both, rejection, plain } = require('./helpers/parity')
const { LeakDetectingPool } = require('..')
const { findDatabase } = require('./helpers/db')

// Temp tables live in pg_temp_<backend-ish number>: the number differs between two runs.
function tempSchema(v) {
  if (Array.isArray(v)) return v.map(tempSchema)
  if (v && typeof v === 'object') {
    const out = {}
    for (const [k, x] of Object.entries(v))
      out[k] = k === 'schema' && typeof x === 'string' ? x.replace(/^pg_temp_\d+$/, 'pg_temp') : tempSchema(x)
    return out
  }
  return v
}

/** Runs `fn(client)` on a checked-out client of each implementation; compares the errors. */
async function serverErrors(fn) {
  const r = await both({}, async (pool) => {
    const c = await pool.connect()
    try {
      return await fn(c)
    } finally {
      c.release()
    }
  })
  assert.deepStrictEqual(tempSchema(r.ours), tempSchema(r.pg))
  return tempSchema(r.ours.value)
}

test('unique violation: constraint, detail, table, schema, routine', async () => {
  const v = await serverErrors(async (c) => {
    await c.query('CREATE TEMP TABLE perr_u (id int CONSTRAINT perr_u_pk PRIMARY KEY, v text NOT NULL)')
    await c.query('INSERT INTO perr_u VALUES (1, $1)', ['a'])
    return [
      await rejection(c.query('INSERT INTO perr_u VALUES (1, $1)', ['b'])),
      await rejection(c.query('INSERT INTO perr_u VALUES (2, NULL)')),
      await rejection(c.query('INSERT INTO perr_u (id, v) VALUES ($1, $2)', ['x', 'y'])),
    ]
  })
  const [unique, notNull, badInt] = v
  assert.equal(unique.code, '23505')
  assert.equal(unique.constraint, 'perr_u_pk')
  assert.equal(unique.detail, 'Key (id)=(1) already exists.')
  assert.equal(unique.table, 'perr_u')
  assert.equal(unique.schema, 'pg_temp')
  assert.equal(unique.severity, 'ERROR')
  assert.equal(unique.name, 'error')
  assert.equal(notNull.code, '23502')
  assert.equal(notNull.column, 'v')
  assert.equal(badInt.code, '22P02')
})

test('syntax error carries position; other server errors keep every field', async () => {
  const v = await serverErrors(async (c) => [
    await rejection(c.query('SELECT 1 FROM')),
    await rejection(c.query('SELECT 1 FRM nowhere')),
    await rejection(c.query('SELECT * FROM ldp_no_such_table_xyz')),
    await rejection(c.query('SELECT 1 / 0')),
    await rejection(
      c.query(`DO $$ BEGIN RAISE EXCEPTION 'boom %', 7 USING DETAIL = 'the detail', HINT = 'the hint', ERRCODE = 'P0001'; END $$`)
    ),
    await rejection(c.query('SELECT $1::int', ['not a number'])),
    await rejection(c.query({ name: 'perr_bad', text: 'SELECT nope' })),
  ])
  assert.equal(v[0].code, '42601')
  assert.equal(v[0].position, '14')
  assert.equal(v[1].position, '14')
  assert.equal(v[2].code, '42P01')
  assert.equal(v[3].code, '22012')
  assert.deepEqual([v[4].message, v[4].detail, v[4].hint, v[4].code], ['boom 7', 'the detail', 'the hint', 'P0001'])
  assert.equal(v[5].code, '22P02')
})

test('the client stays usable after a server error (same connection)', async () => {
  const r = await assertParity({}, async (pool) => {
    const c = await pool.connect()
    const pid = (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p
    const err = await rejection(c.query('SELECT 1/0'))
    const again = (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p
    c.release()
    return { err, samePid: pid === again, total: pool.totalCount, idle: pool.idleCount }
  })
  assert.deepEqual([r.ours.value.samePid, r.ours.value.total, r.ours.value.idle], [true, 1, 1])
})

test('a failed pool.query destroys its connection, like pg-pool', async () => {
  const r = await assertParity({ max: 1 }, async (pool) => {
    const p1 = (await pool.query('SELECT pg_backend_pid() AS p')).rows[0].p
    const err = await rejection(pool.query('SELECT 1/0'))
    const totalAfterError = pool.totalCount
    const p2 = (await pool.query('SELECT pg_backend_pid() AS p')).rows[0].p
    return { err, totalAfterError, newBackend: p1 !== p2 }
  })
  assert.equal(r.ours.value.totalAfterError, 0)
  assert.equal(r.ours.value.newBackend, true)
})

test('bad arguments: null query, non-array values, function as first argument', async () => {
  const r = await assertParity({}, async (pool) => {
    const c = await pool.connect()
    const sync = (fn) => {
      try {
        return { returned: typeof fn() }
      } catch (err) {
        return { threw: plain(err), type: err.constructor.name }
      }
    }
    const out = {
      poolNull: await rejection(pool.query(null)).then((e) => ({ e, type: e.constructor.name })),
      clientNull: sync(() => c.query(null)),
      clientUndefined: sync(() => c.query(undefined)),
      fnFirst: await new Promise((resolve) => {
        const ret = pool.query((err) => resolve({ ret, err }))
      }),
    }
    c.release()
    return out
  })
  assert.equal(r.ours.value.poolNull.type, 'TypeError')
  assert.match(r.ours.value.fnFirst.err.message, /Passing a function as the first parameter/)
})

test("pg's messages: use after end, double release, end twice", async () => {
  const r = await assertParity({}, async (pool) => {
    const c = await pool.connect()
    c.release()
    let double
    try {
      c.release()
    } catch (err) {
      double = err
    }
    await pool.end()
    const viaCb = (fn) => new Promise((resolve) => fn((err) => resolve(err)))
    return {
      double,
      query: await rejection(pool.query('SELECT 1')),
      connect: await rejection(pool.connect()),
      connectCb: await viaCb((cb) => pool.connect(cb)),
      queryCb: await viaCb((cb) => pool.query('SELECT 1', cb)),
      end: await rejection(pool.end()),
      endCb: await viaCb((cb) => pool.end(cb)),
      ending: pool.ending,
      ended: pool.ended,
    }
  })
  const v = r.ours.value
  assert.equal(v.double.message, 'Release called on client which has already been released to the pool.')
  assert.equal(v.query.message, 'Cannot use a pool after calling end on the pool')
  assert.equal(v.end.message, 'Called end on pool more than once')
  assert.deepEqual([v.ending, v.ended], [true, true])
})

test('timeout exceeded when trying to connect: pg message as prefix, holders appended', async () => {
  // generous enough that opening the first connection never hits it, even on a loaded machine
  const r = await both({ max: 1, connectionTimeoutMillis: 400 }, async (pool) => {
    const held = await pool.connect()
    const t0 = Date.now()
    const err = await rejection(pool.connect())
    const waited = Date.now() - t0
    const waitingAfter = pool.waitingCount
    held.release()
    const ok = (await pool.query('SELECT 1 AS n')).rows[0].n
    return { message: err.message, holders: err.holders, waited, waitingAfter, ok }
  })
  assert.ok(r.pg.value && r.ours.value, JSON.stringify(r))
  const pgMsg = r.pg.value.message
  assert.equal(pgMsg, 'timeout exceeded when trying to connect')
  assert.ok(r.ours.value.message.startsWith(pgMsg), r.ours.value.message)
  assert.match(r.ours.value.message, /1\/1 in use: 1 held by .*parity-errors\.test\.js/)
  assert.equal(r.ours.value.holders.length, 1)
  assert.equal(r.ours.value.holders[0].count, 1)
  for (const v of [r.pg.value, r.ours.value]) {
    assert.ok(v.waited >= 390 && v.waited < 2000, `waited ${v.waited}`)
    assert.equal(v.waitingAfter, 0)
    assert.equal(v.ok, 1)
  }
})

test('statement_timeout and query_timeout errors match pg', async () => {
  const r = await assertParity({ statement_timeout: 100 }, async (pool) => ({
    err: await rejection(pool.query('SELECT pg_sleep(2)')),
    total: pool.totalCount,
  }))
  assert.equal(r.ours.value.err.code, '57014')
  const q = await both({ query_timeout: 100, max: 1 }, async (pool) => {
    const t0 = Date.now()
    const err = await rejection(pool.query('SELECT pg_sleep(1)'))
    const ms = Date.now() - t0
    const after = (await pool.query('SELECT 1 AS n')).rows[0].n
    return { message: err.message, fast: ms < 800, after }
  })
  assert.deepStrictEqual(q.ours, q.pg)
  assert.equal(q.ours.value.message, 'Query read timeout')
})

test('ours: a released client refuses queries with an error that says so', async () => {
  const pool = new LeakDetectingPool(await findDatabase())
  try {
    const c = await pool.connect()
    c.release()
    const err = await rejection(c.query('SELECT 1'))
    assert.equal(err.code, 'LDP_CLIENT_RELEASED')
    assert.match(err.message, /released to the pool at \d{4}-/)
  } finally {
    await pool.end()
  }
})
