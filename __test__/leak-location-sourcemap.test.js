'use strict'
// A TypeScript server runs tsc's JavaScript, usually without --enable-source-maps: its leak
// report still names the TypeScript line (the compiled file's source map is read when the
// report is formatted, not before), keeps the generated position in the stack, and says the
// same with the flag on.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { execFileSync } = require('child_process')
const { findDatabase } = require('./helpers/db')
const { siteOf } = require('./helpers/leak')

const FIXTURE = path.join(__dirname, 'fixtures', 'ts-app')
const SOURCE = path.join(FIXTURE, 'src', 'app.ts')
const TSC = require.resolve('typescript/bin/tsc')

function compile(t) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ldp-ts-app-'))
  t.after(() => fs.rmSync(out, { recursive: true, force: true }))
  execFileSync(process.execPath, [TSC, '-p', FIXTURE, '--outDir', out], { stdio: 'pipe' })
  return path.join(out, 'app.js')
}

async function run(compiled, flags) {
  const db = await findDatabase()
  const stdout = execFileSync(process.execPath, [...flags, path.join(FIXTURE, 'run.js'), compiled], {
    env: { ...process.env, LDP_FIXTURE_DB: JSON.stringify(db) },
    encoding: 'utf8',
  })
  return JSON.parse(stdout)
}

test('the location and stack name the TypeScript line, with or without --enable-source-maps', async (t) => {
  const compiled = compile(t)
  const ts = siteOf(SOURCE, 'MARKER-loadReport', 'connect(')
  const js = siteOf(compiled, 'MARKER-loadReport', 'connect(')
  assert.notEqual(js.line, ts.line, 'the fixture must move the compiled line away from the source line')
  const expected = `loadReport (${SOURCE}:${ts.line}:${ts.column})`

  const plain = await run(compiled, [])
  assert.equal(plain.location, expected, plain.stack)
  const first = plain.stack.split('\n')[1].trim()
  assert.equal(first, `at ${expected} [${compiled}:${js.line}:${js.column}]`, 'the generated position is kept')
  assert.deepEqual(plain.mapsBeforeReport, { size: 0, capacity: 256 }, 'no source map is read before a report is formatted')
  assert.ok(plain.mapsAfterReport.size >= 1, 'the map was read for the report')

  const flagged = await run(compiled, ['--enable-source-maps'])
  assert.equal(flagged.location, expected, flagged.stack)
})
