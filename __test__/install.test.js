'use strict'
// `npm install leak-detecting-pool` as a user does it, on a machine with no Rust. The release
// steps are replayed: the platform package of this machine is npm/<platform>/ plus the addon
// `npm test` built (what `napi artifacts` assembles), the main package is `npm pack` of the
// repository with the optionalDependencies `napi prepublish` writes into it. Both are published
// with `npm publish` to a throwaway registry on 127.0.0.1 (helpers/registry.js, which also holds
// the dependencies, packed from node_modules, so nothing reaches the network) and installed into
// a fresh project in a temporary directory, with cargo and rustc off PATH and every compiler
// replaced by a shim that records its use. Then a CommonJS script and an ES module run against
// the real database and a typed server file passes `tsc --noEmit`. Everything is removed
// afterwards; no process outlives the test.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { findDatabase } = require('./helpers/db')
const { startRegistry, dependencyFolders, packFolders } = require('./helpers/registry')
const { platformKey } = require('../lib/native')

const root = path.join(__dirname, '..')
const fixtures = path.join(__dirname, 'fixtures', 'install')
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
const key = platformKey()
const platformDir = path.join(root, 'npm', key)
const addonFile = `${pkg.napi.binaryName}.${key}.node`
const platformName = `${pkg.name}-${key}`
const RUST_TOOLS = ['cargo', 'rustc', 'rustup']
const SHIMS = [...RUST_TOOLS, 'cc', 'gcc', 'g++', 'c++', 'clang', 'make', 'node-gyp']

const skip =
  process.platform === 'win32'
    ? 'the compiler shims are shell scripts'
    : !fs.existsSync(platformDir)
      ? `no platform package for ${key} in npm/`
      : false

/** npm's own CLI script, run with this node: PATH can then lose anything without breaking npm. */
function npmCli() {
  const given = process.env.npm_execpath
  if (given && given.endsWith('npm-cli.js')) return given
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const candidate = dir && path.join(dir, 'npm')
    if (candidate && fs.existsSync(candidate)) {
      const real = fs.realpathSync(candidate)
      if (real.endsWith('npm-cli.js')) return real
    }
  }
  return path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js')
}

/** Runs a command; resolves { code, stdout, stderr }. */
function run(cmd, args, opts) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

const state = {}

/** Runs npm in `cwd` with the test's environment; rejects with its output when it fails. */
async function npm(args, cwd = state.tmp) {
  const r = await run(process.execPath, [state.npmCli, ...args], { cwd, env: state.env })
  if (r.code !== 0) throw new Error(`npm ${args.join(' ')} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

/** Runs `node <args>` in the fresh project; the parsed JSON it prints. */
async function nodeInApp(args) {
  const r = await run(process.execPath, args, { cwd: state.app, env: { ...state.env, LDP_INSTALL_DB: state.db } })
  assert.equal(r.code, 0, `node ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`)
  return JSON.parse(r.stdout)
}

before(
  async () => {
    if (skip) return
    const built = path.join(root, addonFile)
    assert.ok(fs.existsSync(built), `${addonFile} is missing: build the addon first (npm test does)`)
    assert.ok(fs.existsSync(path.join(root, 'binding.js')), 'binding.js is missing: build the addon first (npm test does)')
    state.built = built
    state.tmp = fs.mkdtempSync(path.join(process.env.LDP_TEST_TMPDIR || os.tmpdir(), 'ldp-install-'))
    const dir = (name) => {
      const d = path.join(state.tmp, name)
      fs.mkdirSync(d)
      return d
    }
    const [shims, tarballs, stage, deps] = ['shims', 'tarballs', 'stage', 'deps'].map(dir)
    state.app = dir('app')
    state.calls = path.join(state.tmp, 'compiler-calls.log')
    for (const name of SHIMS) {
      const shim = path.join(shims, name)
      fs.writeFileSync(shim, `#!/bin/sh\necho "${name} $*" >> '${state.calls}'\nexit 1\n`)
      fs.chmodSync(shim, 0o755)
    }
    const withoutRust = (process.env.PATH || '')
      .split(path.delimiter)
      .filter((d) => d && !RUST_TOOLS.some((t) => fs.existsSync(path.join(d, t))))

    state.registry = await startRegistry()
    const npmrc = path.join(state.tmp, 'npmrc')
    const host = state.registry.url.replace(/^http:/, '')
    fs.writeFileSync(npmrc, `registry=${state.registry.url}\n${host}:_authToken=throwaway\n`)
    fs.writeFileSync(path.join(state.tmp, 'global-npmrc'), '')
    const env = {}
    for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'NODE_TEST_CONTEXT') env[k] = v
    state.env = {
      ...env,
      PATH: [shims, ...withoutRust].join(path.delimiter),
      npm_config_userconfig: npmrc,
      npm_config_globalconfig: path.join(state.tmp, 'global-npmrc'),
      npm_config_registry: state.registry.url,
      npm_config_cache: path.join(state.tmp, 'npm-cache'),
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
    }
    state.npmCli = npmCli()

    // The dependencies, as the public registry would serve them (from the installed copies).
    for (const { manifest, tarball } of await packFolders(npm, dependencyFolders(root, Object.keys(pkg.dependencies)), deps)) {
      state.registry.add(manifest, tarball)
    }

    // The platform package, as the release workflow assembles it (`napi artifacts`: the
    // addon copied into npm/<platform>/), and the main package, straight from the repository.
    const platformStage = path.join(stage, key)
    fs.cpSync(platformDir, platformStage, { recursive: true })
    fs.copyFileSync(built, path.join(platformStage, addonFile))
    const [platformPack] = JSON.parse(await npm(['pack', '--json', '--pack-destination', tarballs], platformStage))
    const [mainPack] = JSON.parse(await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', stage], root))
    state.platformPack = platformPack
    state.mainPack = mainPack
    // `napi prepublish` declares one optional dependency per target, at the package's version.
    const { parseTriple } = await import('@napi-rs/cli')
    const mainStage = path.join(stage, 'main')
    for (const f of mainPack.files) fs.cpSync(path.join(root, f.path), path.join(mainStage, f.path))
    const optionalDependencies = Object.fromEntries(
      pkg.napi.targets.map((t) => [`${pkg.name}-${parseTriple(t).platformArchABI}`, pkg.version])
    )
    state.optionalDependencies = optionalDependencies
    fs.writeFileSync(path.join(mainStage, 'package.json'), JSON.stringify({ ...pkg, optionalDependencies }, null, 2))
    const [releasePack] = JSON.parse(await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tarballs], mainStage))
    for (const p of [platformPack, releasePack]) await npm(['publish', '--ignore-scripts', path.join(tarballs, p.filename)])

    fs.writeFileSync(path.join(state.app, 'package.json'), JSON.stringify({ name: 'ldp-install-check', version: '1.0.0', private: true }))
    for (const f of fs.readdirSync(fixtures)) fs.copyFileSync(path.join(fixtures, f), path.join(state.app, f))
    state.install = await npm(['install', pkg.name], state.app)

    const db = await findDatabase()
    state.db = JSON.stringify(
      db.password == null ? { connectionString: db.connectionString } : { connectionString: db.connectionString, password: db.password }
    )
  },
  { timeout: 180_000 }
)

after(async () => {
  if (state.registry) await state.registry.close()
  if (state.tmp) fs.rmSync(state.tmp, { recursive: true, force: true })
})

test('in the install environment, the Rust tools are only the recording shims', { skip }, async () => {
  const r = await run('/bin/sh', ['-c', `for t in ${RUST_TOOLS.join(' ')}; do command -v "$t"; done`], { env: state.env })
  const shims = path.join(state.tmp, 'shims')
  assert.deepEqual(
    r.stdout.trim().split('\n'),
    RUST_TOOLS.map((t) => path.join(shims, t))
  )
})

test('the main package holds exactly what users need, and no addon', { skip }, () => {
  const lib = fs
    .readdirSync(path.join(root, 'lib'), { recursive: true })
    .filter((f) => fs.statSync(path.join(root, 'lib', f)).isFile())
    .map((f) => `lib/${f.split(path.sep).join('/')}`)
  const expected = ['README.md', 'binding.js', 'index.d.ts', 'index.js', 'index.mjs', 'otel.d.ts', 'otel.js', 'package.json', ...lib].sort()
  assert.deepEqual(state.mainPack.files.map((f) => f.path).sort(), expected)
  assert.deepEqual(Object.keys(state.mainPack.bundled || {}), [])
})

test('the platform package holds the addon, its manifest and README', { skip }, () => {
  assert.equal(state.platformPack.name, platformName)
  assert.equal(state.platformPack.version, state.optionalDependencies[platformName], 'the main package pins this version')
  assert.deepEqual(state.platformPack.files.map((f) => f.path).sort(), ['README.md', addonFile, 'package.json'])
})

test('npm install compiles nothing and takes the addon from the platform package', { skip }, () => {
  assert.equal(fs.existsSync(state.calls) ? fs.readFileSync(state.calls, 'utf8') : '', '', 'a compiler was called during npm install')
  const modules = path.join(state.app, 'node_modules')
  const installed = path.join(modules, platformName, addonFile)
  assert.equal(sha256(installed), sha256(state.built), 'the installed addon is the one packed, byte for byte')
  // No install-time script exists anywhere in the installed tree.
  const lock = JSON.parse(fs.readFileSync(path.join(state.app, 'package-lock.json'), 'utf8'))
  const scripted = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript)
  assert.deepEqual(scripted, [])
  // The main package carries no addon, no Rust sources and no build output.
  const main = fs.readdirSync(path.join(modules, pkg.name), { recursive: true })
  assert.deepEqual(
    main.filter((f) => f.endsWith('.node') || /^(src|target|scripts|npm)\b/.test(f)),
    []
  )
  // The packages of other platforms were skipped (never published here, and not this platform).
  const others = Object.keys(state.optionalDependencies).filter((n) => n !== platformName)
  assert.deepEqual(
    others.filter((n) => fs.existsSync(path.join(modules, n))),
    []
  )
})

test('a CommonJS script runs queries with the installed package', { skip }, async () => {
  const out = await nodeInApp(['check.cjs'])
  assert.equal(out.n, 42)
  assert.equal(out.code, '42P01')
  assert.equal(out.sameClass, true)
  assert.equal(out.int8, 'function')
  assert.deepEqual(out.addons, [fs.realpathSync(path.join(state.app, 'node_modules', platformName, addonFile))])
})

test('an ES module runs queries and gets a leak reported at its own line', { skip }, async () => {
  const out = await nodeInApp(['check.mjs'])
  assert.equal(out.four, 4)
  assert.equal(out.sameClass, true)
  assert.match(out.location, /check\.mjs:8\b/)
})

test('a typed server file passes tsc --noEmit (strict, skipLibCheck: false)', { skip }, async () => {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  assert.ok(fs.existsSync(tsc), 'typescript (a devDependency) is missing: run `npm install`')
  const r = await run(process.execPath, [tsc, '-p', path.join(state.app, 'tsconfig.json'), '--pretty', 'false'], {
    cwd: state.app,
    env: state.env,
  })
  assert.equal(r.code, 0, `tsc failed:\n${r.stdout}${r.stderr}`)
})

test('without its platform package, loading names the platform and the remedy', { skip }, async () => {
  const installed = path.join(state.app, 'node_modules', platformName)
  const aside = path.join(state.tmp, 'aside')
  fs.renameSync(installed, aside)
  try {
    const out = await nodeInApp([
      '-e',
      "try { require('leak-detecting-pool'); console.log('{}') } catch (e) { console.log(JSON.stringify({ code: e.code, platform: e.platform, message: e.message })) }",
    ])
    assert.equal(out.code, 'LDP_NATIVE_ADDON')
    assert.equal(out.platform, key)
    assert.match(
      out.message,
      new RegExp(`the native addon for ${key} .*is the optional dependency ${platformName}, and npm did not install it`)
    )
    assert.match(out.message, /remove node_modules and package-lock\.json, then run `npm install`/)
  } finally {
    fs.renameSync(aside, installed)
  }
})
