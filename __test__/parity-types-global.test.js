'use strict'
// One type registry with pg: parsers set globally through pg (`pg.types.setTypeParser`) or
// through pg-types itself (`require('pg-types').setTypeParser`) change what pg.Pool and this
// pool return in the same way, and a pool's or a query's own `types` still win over them.
// These tests change process-global parsers: each restores them, and the file runs in its own
// process.

const test = require('node:test')
const assert = require('node:assert/strict')
const pg = require('pg')
const pgTypes = require('pg-types')
const { assertParity } = require('./helpers/parity')

/** Runs `fn` with the parser of `oid` (text) set to `parse`, restoring the previous one after. */
async function withGlobalParser(oid, parse, fn) {
  const saved = pgTypes.getTypeParser(oid, 'text')
  pgTypes.setTypeParser(oid, 'text', parse)
  try {
    return await fn()
  } finally {
    pgTypes.setTypeParser(oid, 'text', saved)
  }
}

const INT8 = "SELECT 9007199254740993::int8 AS big, '{1,2}'::int8[] AS arr, 1.5::numeric AS num"

async function viaPoolAndClient(pool, sql) {
  const a = await pool.query(sql)
  const c = await pool.connect()
  try {
    const b = await c.query(sql)
    return { pool: a.rows, client: b.rows }
  } finally {
    c.release()
  }
}

test('pg.types.setTypeParser(20, BigInt) applies to both pools', async () => {
  const saved = pg.types.getTypeParser(20, 'text')
  pg.types.setTypeParser(20, BigInt)
  let r
  try {
    r = await assertParity({}, (pool) => viaPoolAndClient(pool, INT8))
  } finally {
    pg.types.setTypeParser(20, saved)
  }
  assert.deepEqual(r.ours.value.pool, [{ big: 9007199254740993n, arr: ['1', '2'], num: '1.5' }])
  assert.deepEqual(r.ours.value.client, r.ours.value.pool)
  // Restored: the default again.
  const after = await assertParity({}, async (pool) => (await pool.query(INT8)).rows)
  assert.deepEqual(after.ours.value, [{ big: '9007199254740993', arr: ['1', '2'], num: '1.5' }])
})

test("require('pg-types').setTypeParser(1700, parseFloat) applies to both pools", async () => {
  const r = await withGlobalParser(1700, parseFloat, () => assertParity({}, (pool) => viaPoolAndClient(pool, INT8)))
  assert.deepEqual(r.ours.value.pool, [{ big: '9007199254740993', arr: ['1', '2'], num: 1.5 }])
})

test('a global parser set after the pool was created applies to it', async () => {
  const r = await assertParity({}, async (pool) => {
    const before = (await pool.query('SELECT 2.5::numeric AS n')).rows[0].n
    const during = await withGlobalParser(1700, parseFloat, async () => (await pool.query('SELECT 2.5::numeric AS n')).rows[0].n)
    return { before, during }
  })
  assert.deepEqual(r.ours.value, { before: '2.5', during: 2.5 })
})

test("a pool's and a query's own types win over the global parsers, as in pg", async () => {
  const poolTypes = { getTypeParser: (oid, format) => (oid === 1700 ? (t) => `pool:${t}` : pg.types.getTypeParser(oid, format)) }
  const queryTypes = { getTypeParser: (oid, format) => (oid === 1700 ? (t) => `query:${t}` : pg.types.getTypeParser(oid, format)) }
  const r = await withGlobalParser(1700, parseFloat, () =>
    assertParity({ types: poolTypes }, async (pool) => {
      const c = await pool.connect()
      try {
        const viaPool = (await pool.query('SELECT 1.5::numeric AS n')).rows[0].n
        const viaClient = (await c.query('SELECT 1.5::numeric AS n')).rows[0].n
        const perQuery = (await c.query({ text: 'SELECT 1.5::numeric AS n', types: queryTypes })).rows[0].n
        c.setTypeParser(1700, (t) => `client:${t}`)
        const perClient = (await c.query('SELECT 1.5::numeric AS n')).rows[0].n
        return { viaPool, viaClient, perQuery, perClient }
      } finally {
        c.release()
      }
    })
  )
  assert.deepEqual(r.ours.value, { viaPool: 'pool:1.5', viaClient: 'pool:1.5', perQuery: 'query:1.5', perClient: 'client:1.5' })
})

test('a client parser falls back to the global registry, including later changes to it', async () => {
  const r = await assertParity({}, async (pool) => {
    const c = await pool.connect()
    try {
      c.setTypeParser(23, (t) => `int4:${t}`)
      const sql = 'SELECT 1::int4 AS i, 2.5::numeric AS n'
      const before = (await c.query(sql)).rows[0]
      const during = await withGlobalParser(1700, parseFloat, async () => (await c.query(sql)).rows[0])
      return { before, during }
    } finally {
      c.release()
    }
  })
  assert.deepEqual(r.ours.value, { before: { i: 'int4:1', n: '2.5' }, during: { i: 'int4:1', n: 2.5 } })
})
