'use strict'
// Server errors are pg's own DatabaseError class (pg-protocol's, re-exported by pg and by this
// package), from pool.query, client.query and a failed connection alike.

const test = require('node:test')
const assert = require('node:assert/strict')
const pg = require('pg')
const { DatabaseError } = require('..')
const { both } = require('./helpers/parity')

test('DatabaseError is the class pg exports', () => {
  assert.equal(DatabaseError, pg.DatabaseError)
  assert.equal(DatabaseError, require('pg-protocol').DatabaseError)
})

test('server errors are instances of pg.DatabaseError, with the same fields (parity)', async () => {
  const r = await both({}, async (pool) => {
    const out = {}
    const fromPool = await pool.query('SELECT 1/0').catch((e) => e)
    const c = await pool.connect()
    let fromClient
    try {
      fromClient = await c.query('SELECT * FROM no_such_table_ldp').catch((e) => e)
    } finally {
      c.release()
    }
    for (const [k, e] of Object.entries({ fromPool, fromClient })) {
      out[k] = {
        isPg: e instanceof pg.DatabaseError,
        isError: e instanceof Error,
        name: e.name,
        code: e.code,
        severity: e.severity,
        message: e.message,
      }
    }
    return out
  })
  assert.deepStrictEqual(r.ours, r.pg)
  assert.deepEqual(r.ours.value.fromPool, {
    isPg: true,
    isError: true,
    name: 'error',
    code: '22012',
    severity: 'ERROR',
    message: 'division by zero',
  })
  assert.equal(r.ours.value.fromClient.code, '42P01')
})

test('a connection refused by the server rejects with a pg.DatabaseError (parity)', async () => {
  const r = await both({ connectionString: undefined, database: 'ldp_no_such_database' }, async (pool) => {
    const e = await pool.query('SELECT 1').catch((err) => err)
    return { isPg: e instanceof pg.DatabaseError, code: e.code }
  })
  assert.deepStrictEqual(r.ours, r.pg)
  assert.deepEqual(r.ours.value, { isPg: true, code: '3D000' })
})
