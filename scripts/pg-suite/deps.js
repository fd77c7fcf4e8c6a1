'use strict'
// The test runners node-postgres's tests need (mocha, expect.js, co, lodash, bluebird, async,
// pg-copy-streams),
// installed from npm into a cache directory outside this repository — never our dependencies.
// Versions are the ones node-postgres's own package.json files ask for. The pg packages
// themselves (pg, pg-cursor, …) come from this repository's install, so pg.Pool, its client and
// LeakDetectingPool share one pg and one pg-types, as npm gives an application.

const fs = require('fs')
const os = require('os')
const path = require('path')
const crypto = require('crypto')
const Module = require('module')
const { execFileSync } = require('child_process')

/** The runner packages, and which of node-postgres's package.json files names their version. */
const RUNNER = [
  ['mocha', 'packages/pg-pool/package.json'],
  ['expect.js', 'packages/pg-pool/package.json'],
  ['co', 'packages/pg-pool/package.json'],
  ['lodash', 'packages/pg-pool/package.json'],
  ['bluebird', 'packages/pg-pool/package.json'],
  ['async', 'packages/pg/package.json'],
  // pg's tests are written against the old stream API of the version they pin (its copy-from
  // stream emits 'end').
  ['pg-copy-streams', 'packages/pg/package.json'],
]

/**
 * Packages the tests require that are taken from this repository's install: pg, the copies of
 * its own dependencies pg loads (so `require('pg-types')` in a test is pg's registry), and the
 * Submittable libraries.
 */
const FROM_PROJECT = ['pg', 'pg-types', 'pg-protocol', 'pg-connection-string', 'pg-cursor', 'pg-query-stream']

function runnerSpecs(source) {
  const manifests = new Map()
  return RUNNER.map(([name, manifest]) => {
    if (!manifests.has(manifest)) manifests.set(manifest, JSON.parse(source.read(manifest)))
    const pkg = manifests.get(manifest)
    const version = (pkg.devDependencies || {})[name] || (pkg.dependencies || {})[name] || 'latest'
    return `${name}@${version}`
  })
}

/**
 * Installs the runner packages (once per set of versions; the cache survives runs) and returns
 * its node_modules directory. `fresh` reinstalls.
 */
function installRunner(source, { cacheDir, fresh, log }) {
  const specs = runnerSpecs(source)
  const key = crypto.createHash('sha256').update(specs.join('\n')).digest('hex').slice(0, 12)
  const dir = path.join(cacheDir || path.join(os.tmpdir(), 'ldp-pg-suite-runner'), key)
  const modules = path.join(dir, 'node_modules')
  const stamp = path.join(dir, 'installed.json')
  if (fresh) fs.rmSync(dir, { recursive: true, force: true })
  if (fs.existsSync(stamp)) return modules
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'ldp-pg-suite-runner', private: true }, null, 2))
  log(`installing the test runners into ${dir}: ${specs.join(' ')}`)
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  execFileSync(npm, ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', '--loglevel=error', ...specs], {
    cwd: dir,
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  fs.writeFileSync(stamp, JSON.stringify(specs))
  return modules
}

/**
 * Makes `<tree>/node_modules`: links to every runner package and to the project's pg packages,
 * so a test's `require('mocha')` or `require('pg')` finds them by ordinary resolution.
 */
function linkModules(tree, runnerModules, projectRoot) {
  const target = path.join(tree, 'node_modules')
  fs.mkdirSync(target, { recursive: true })
  for (const name of fs.readdirSync(runnerModules)) {
    if (name.startsWith('.')) continue
    fs.symlinkSync(path.join(runnerModules, name), path.join(target, name), 'junction')
  }
  const pgDir = projectPackage(projectRoot, 'pg')
  for (const name of FROM_PROJECT) {
    const dir = (pgDir && projectPackage(pgDir, name)) || projectPackage(projectRoot, name)
    if (!dir) continue
    fs.rmSync(path.join(target, name), { recursive: true, force: true })
    fs.symlinkSync(dir, path.join(target, name), 'junction')
  }
}

/**
 * The directory of a package as code in `from` resolves it (node_modules lookup, ignoring the
 * package's `exports`, which may not expose package.json), or null if it is not installed.
 */
function projectPackage(from, name) {
  for (const dir of Module._nodeModulePaths(from)) {
    const candidate = path.join(dir, name)
    if (fs.existsSync(path.join(candidate, 'package.json'))) return fs.realpathSync(candidate)
  }
  return null
}

module.exports = { installRunner, linkModules, projectPackage }
