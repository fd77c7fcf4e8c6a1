'use strict'
// pg.defaults.parseInt8 = true (pg implements it by setting pg-types' parsers for int8 and
// int8[]) gives numbers from both pools; setting it back to false gives strings again. The
// setting is process-global: this file runs in its own process and restores it.

const test = require('node:test')
const assert = require('node:assert/strict')
const pg = require('pg')
const { assertParity } = require('./helpers/parity')

const SQL = "SELECT 42::int8 AS n, '{1,NULL,3}'::int8[] AS arr, count(*) AS c FROM (VALUES (1), (2)) v(x)"

async function run(pool) {
  const viaPool = (await pool.query(SQL)).rows
  const c = await pool.connect()
  try {
    return { viaPool, viaClient: (await c.query(SQL)).rows, extended: (await c.query('SELECT $1::int8 AS p', ['7'])).rows }
  } finally {
    c.release()
  }
}

test('pg.defaults.parseInt8 switches int8 and int8[] to numbers and back, for both pools', async () => {
  let on
  pg.defaults.parseInt8 = true
  try {
    on = await assertParity({}, run)
  } finally {
    pg.defaults.parseInt8 = false
  }
  assert.deepEqual(on.ours.value.viaPool, [{ n: 42, arr: [1, null, 3], c: 2 }])
  assert.deepEqual(on.ours.value.extended, [{ p: 7 }])
  const off = await assertParity({}, run)
  assert.deepEqual(off.ours.value.viaPool, [{ n: '42', arr: ['1', null, '3'], c: '2' }])
})
