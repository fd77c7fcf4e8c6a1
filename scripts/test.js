#!/usr/bin/env node
// Runs the JS test suites: finds a database once (helpers/db.js: env, 127.0.0.1:5432, or a
// throwaway cluster kept alive for the whole run), then `node --test` over __test__/.
'use strict'
const path = require('path')
const fs = require('fs')
const { spawn } = require('child_process')
const { setupSharedDatabase } = require('../__test__/helpers/db')

async function main() {
  const root = path.join(__dirname, '..')
  const db = await setupSharedDatabase()
  process.stderr.write(`tests: database ${db.describe || db.connectionString}\n`)
  const files = fs
    .readdirSync(path.join(root, '__test__'), { recursive: true })
    .filter((f) => f.endsWith('.test.js') || f.endsWith('.test.mjs'))
    .map((f) => path.join('__test__', f))
    .sort()
  const extra = process.argv.slice(2)
  const args = ['--expose-gc', '--test', '--test-concurrency=2', ...extra, ...(extra.some((a) => !a.startsWith('-')) ? [] : files)]
  const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env: process.env })
  const code = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c === null ? 1 : c)))
  process.exitCode = code
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err)
  process.exitCode = 1
})
