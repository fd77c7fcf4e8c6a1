'use strict'
// Shared bits of the leak-*.test.js files: pools against the real server with small
// thresholds, event collection and polling with deadlines (never fixed sleeps alone).

const { LeakDetectingPool } = require('../..')
const { findDatabase } = require('./db')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** A pool on the test database; `opts` over the database config. Ended by `t.after` if given. */
async function makePool(opts = {}, t) {
  const db = await findDatabase()
  const pool = new LeakDetectingPool({ ...db, endTimeoutMs: 1000, ...opts })
  if (t) {
    t.after(async () => {
      if (!pool.ending) await pool.end().catch(() => {})
    })
  }
  return pool
}

/** Every payload of `event` on `emitter`, in order. */
function collect(emitter, event) {
  const seen = []
  emitter.on(event, (p) => seen.push(p))
  return seen
}

/** Polls `fn` until it returns a truthy value; throws `what` after `ms`. */
async function waitUntil(fn, ms, what) {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(10)
  }
}

/** The 1-based line and column of `needle` in the line of `file` containing `marker`. */
function siteOf(file, marker, needle) {
  const lines = require('fs').readFileSync(file, 'utf8').split('\n')
  const i = lines.findIndex((l) => l.includes(marker) && !l.includes('siteOf('))
  if (i < 0) throw new Error(`marker ${marker} not found in ${file}`)
  const col = lines[i].indexOf(needle)
  if (col < 0) throw new Error(`${needle} not on the marker line`)
  return { line: i + 1, column: col + 1 }
}

module.exports = { makePool, collect, waitUntil, sleep, siteOf }
