'use strict'
// Parity: a Submittable (pg's Query, a cursor) counts among its client's running queries:
// `readyForQuery` is false while it runs, `hasExecuted` is set, and `drain` fires once it and
// everything queued behind it have been answered — after its callback, which may queue more.
// A Query without a callback that fails emits `error` on itself, inside the domain it was
// made in (pg's own domain test releases its client on `drain`).

const test = require('node:test')
const assert = require('node:assert/strict')
const domain = require('node:domain')
const { Query } = require('pg')
const { assertParity } = require('./helpers/parity')

test('drain after a Submittable, after its callback; readyForQuery while it runs', async () => {
  const r = await assertParity({}, async (pool) => {
    const c = await pool.connect()
    const seen = []
    c.on('drain', () => seen.push('drain'))
    const before = { ready: c.readyForQuery, executed: c.hasExecuted === true }
    await new Promise((resolve) => {
      c.query(
        new Query('SELECT 1 AS n', (err, res) => {
          seen.push(err ? 'error' : `rows ${res.rows.length}`)
          // queued from the callback: one drain, after this one too
          c.query('SELECT 2', () => {
            seen.push('second')
            resolve()
          })
        })
      )
      seen.push(`running ready=${c.readyForQuery}`)
    })
    await new Promise((resolve) => setImmediate(resolve))
    const after = { ready: c.readyForQuery, executed: c.hasExecuted === true }
    c.release()
    return { before, seen, after }
  })
  assert.deepEqual(r.ours.value, {
    before: { ready: true, executed: false },
    seen: ['running ready=false', 'rows 1', 'second', 'drain'],
    after: { ready: true, executed: true },
  })
})

test("a failing Query without a callback: `error` in its domain, then the client's drain", async () => {
  const r = await assertParity({}, async (pool) => {
    const c = await pool.connect()
    return new Promise((resolve) => {
      const d = domain.create()
      const seen = []
      d.on('error', (err) => seen.push(`domain: ${err.code}`))
      d.run(() => {
        c.query(new Query('SELECT no_such_column'))
        c.on('drain', () => {
          seen.push('drain')
          c.release()
          resolve(seen)
        })
      })
    })
  })
  assert.deepEqual(r.ours.value, ['domain: 42703', 'drain'])
})
