'use strict'
// When the native addon does not load, the error names the platform and the remedy for that
// case (lib/native.js): a clone not built yet, a platform with no prebuilt package, or a file
// NAPI_RS_NATIVE_LIBRARY_PATH names. The case of a platform package npm did not install is
// covered where it happens, in an installed copy (install.test.js). No database needed.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { loadError, platformKey } = require('../lib/native')

const root = path.join(__dirname, '..')

/** Requires the package in a fresh node; resolves { code, platform, message } of its error. */
function loadInChild(prelude, env) {
  const script = `${prelude}; try { require(${JSON.stringify(root)}); console.log('{}') } catch (e) { console.log(JSON.stringify({ code: e.code, platform: e.platform, message: e.message })) }`
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.on('error', reject)
    child.on('close', () => resolve(JSON.parse(out)))
  })
}

test('platformKey names this machine as napi names its packages', () => {
  const key = platformKey()
  assert.ok(key.startsWith(`${process.platform}-${process.arch}`), key)
  if (process.platform === 'linux') assert.match(key, /-(gnu|musl)$/)
})

test('a platform without a prebuilt package: the error lists those that exist and points to building from source', () => {
  const cause = new Error('Cannot find native binding. npm has a bug ...', {
    cause: new Error("Cannot find module './x.freebsd-x64.node'"),
  })
  const err = loadError({
    key: 'freebsd-x64',
    source: false,
    prebuilt: ['linux-x64-gnu', 'darwin-arm64'],
    installed: false,
    node: 'v20.0.0',
    cause,
  })
  assert.equal(err.code, 'LDP_NATIVE_ADDON')
  assert.equal(err.platform, 'freebsd-x64')
  assert.equal(err.cause, cause)
  assert.match(
    err.message,
    /no prebuilt native addon for freebsd-x64 \(Node\.js v20\.0\.0\); prebuilt addons exist for linux-x64-gnu, darwin-arm64/
  )
  assert.match(err.message, /build it from source with a Rust toolchain \(README: "Building from source"\)/)
  // What the loader tried is kept, without the loader's own generic sentence.
  assert.match(err.message, /Loading failed with:\n {2}- Cannot find module '\.\/x\.freebsd-x64\.node'$/)
  assert.doesNotMatch(err.message, /npm has a bug/)
})

test('an installed platform package that does not load: the error says so', () => {
  const err = loadError({
    key: 'linux-x64-gnu',
    source: false,
    prebuilt: ['linux-x64-gnu'],
    installed: true,
    node: 'v20.0.0',
    cause: new Error('GLIBC_2.17 not found'),
  })
  assert.match(
    err.message,
    /the native addon for linux-x64-gnu \(Node\.js v20\.0\.0\) \(leak-detecting-pool-linux-x64-gnu\) is installed but did not load/
  )
  assert.match(err.message, /- GLIBC_2\.17 not found/)
})

test('a source checkout without a build for this platform: the error says to build it', async () => {
  // A platform nothing was built for, so the loader finds no addon here.
  const out = await loadInChild("Object.defineProperty(process, 'platform', { value: 'freebsd' })", {})
  assert.equal(out.code, 'LDP_NATIVE_ADDON')
  assert.equal(out.platform, `freebsd-${process.arch}`)
  assert.match(out.message, /is not built in this source checkout: run `npm run build` \(needs a Rust toolchain\)/)
})

test('NAPI_RS_NATIVE_LIBRARY_PATH naming a missing file: the error names the variable and the file', async () => {
  const missing = path.join(root, 'no-such-addon.node')
  const out = await loadInChild('', { NAPI_RS_NATIVE_LIBRARY_PATH: missing })
  assert.equal(out.code, 'LDP_NATIVE_ADDON')
  assert.ok(out.message.includes(`the native addon NAPI_RS_NATIVE_LIBRARY_PATH names (${missing}) did not load`), out.message)
  assert.ok(out.message.includes(`Cannot find module '${missing}'`), out.message)
})
