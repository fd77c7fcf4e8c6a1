'use strict'
// scripts/build.js --prepare, npm's `prepare` hook: it runs in a clone (never for users of the
// published package), builds nothing for `npm pack`/`npm publish`, and without cargo on PATH
// lets `npm install` finish with a note instead of failing. Each case runs with cargo off PATH,
// so a build it should not start fails fast instead of compiling.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')

const script = path.join(__dirname, '..', 'scripts', 'build.js')
const pathWithoutCargo = (process.env.PATH || '')
  .split(path.delimiter)
  .filter((d) => d && !fs.existsSync(path.join(d, 'cargo')))
  .join(path.delimiter)

function prepare(npmCommand) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, PATH: pathWithoutCargo, npm_command: npmCommand }
    const child = spawn(process.execPath, [script, '--prepare', '--force'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
  })
}

for (const command of ['pack', 'publish']) {
  test(`npm ${command} builds nothing`, async () => {
    const { code, output } = await prepare(command)
    assert.equal(code, 0)
    assert.equal(output, '')
  })
}

test('npm install without cargo finishes and says how to build', async () => {
  const { code, output } = await prepare('install')
  assert.equal(code, 0, output)
  assert.match(output, /cargo is not on PATH, so the native addon was not built; install Rust .* then run `npm run build`/)
})
