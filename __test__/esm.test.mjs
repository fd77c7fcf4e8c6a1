// The package works from ESM: named exports (Pool, LeakDetectingPool, DatabaseError, types,
// escapeLiteral, escapeIdentifier) and the default export are the CommonJS objects, through the
// file path and through the package name ("exports" map).

import test from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import Default, { Pool, LeakDetectingPool, DatabaseError, types, escapeLiteral, escapeIdentifier } from '../index.mjs'

const require = createRequire(import.meta.url)
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const cjs = require('../index.js')
const { findDatabase } = require('./helpers/db.js')

test('named and default ESM exports are the CommonJS objects', () => {
  assert.equal(Pool, LeakDetectingPool)
  assert.equal(LeakDetectingPool, cjs.LeakDetectingPool)
  assert.equal(Default, cjs.LeakDetectingPool)
  assert.equal(DatabaseError, cjs.DatabaseError)
  assert.equal(types, cjs.types)
  assert.equal(typeof types.getTypeParser, 'function')
  assert.equal(escapeLiteral("a'b"), "'a''b'")
  assert.equal(escapeIdentifier('a"b'), '"a""b"')
})

test('a pool imported through ESM runs queries', async () => {
  const pool = new Pool(await findDatabase())
  try {
    const r = await pool.query('SELECT $1::int + 1 AS n', [41])
    assert.equal(r.rows[0].n, 42)
  } finally {
    await pool.end()
  }
})

test(`import { Pool, LeakDetectingPool } from '<root>/index.mjs' and from the package name, in a fresh process`, () => {
  const script = `
    import { Pool, LeakDetectingPool } from ${JSON.stringify(path.join(root, 'index.mjs'))}
    import * as viaName from 'leak-detecting-pool'
    if (Pool !== LeakDetectingPool || viaName.Pool !== Pool || viaName.default !== Pool) process.exit(3)
    const p = new Pool({ max: 1 })
    await p.end()
  `
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 10000 })
  assert.equal(r.stderr, '')
  assert.equal(r.status, 0)
})
