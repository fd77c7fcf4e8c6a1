'use strict'
// The native addon, loaded by napi's generated loader (binding.js), which tries in order:
// the file NAPI_RS_NATIVE_LIBRARY_PATH names; a `.node` file next to it (a build from source
// in a clone); the platform package npm installed from optionalDependencies
// (leak-detecting-pool-<platform>, written into package.json by `napi prepublish` when the
// package is published). What this file adds is the error when none loads: the generated one
// names neither the platform nor the remedy, and those differ by case (a clone not built yet /
// no prebuilt package exists for this platform / npm did not install it / it did not load).

const fs = require('fs')
const path = require('path')

const PACKAGE = 'leak-detecting-pool'
const ROOT = path.join(__dirname, '..')

function isMusl() {
  try {
    if (fs.readFileSync('/usr/bin/ldd', 'latin1').includes('musl')) return true
  } catch {
    // no ldd there: ask the running Node instead
  }
  const report = process.report && typeof process.report.getReport === 'function' ? process.report.getReport() : null
  return Boolean(report && report.header && !report.header.glibcVersionRuntime)
}

/** This machine as napi names platforms (`linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`). */
function platformKey() {
  const { platform, arch } = process
  if (platform === 'linux') return `${platform}-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `${platform}-${arch}-msvc`
  return `${platform}-${arch}`
}

/** The messages of an error and of its `cause` chain, outermost first. */
function messages(err) {
  const out = []
  for (let e = err; e && out.length < 10; e = e.cause) out.push(e && typeof e.message === 'string' ? e.message : String(e))
  return out
}

/**
 * The error for an addon that did not load. `facts`: `key` (platformKey()), `source` (a clone:
 * Cargo.toml is there), `prebuilt` (the platform keys with a package), `installed` (whether
 * this platform's package resolves), `override` (NAPI_RS_NATIVE_LIBRARY_PATH), `node`
 * (version), `cause` (the loader's error).
 */
function loadError({ key, source, prebuilt, installed, override, node, cause }) {
  const pkg = `${PACKAGE}-${key}`
  const where = `${key} (Node.js ${node})`
  let message
  if (override) {
    message = `${PACKAGE}: the native addon NAPI_RS_NATIVE_LIBRARY_PATH names (${override}) did not load on ${where}.`
  } else if (source && !installed) {
    message = `${PACKAGE}: the native addon for ${where} is not built in this source checkout: run \`npm run build\` (needs a Rust toolchain).`
  } else if (prebuilt.length === 0) {
    message =
      `${PACKAGE}: this copy of the package carries no native addon for ${where} and names no ` +
      `platform packages (it was packed from a source checkout, not published by the release ` +
      `workflow): install the published package, or build from source (README: "Building from source").`
  } else if (!prebuilt.includes(key)) {
    message =
      `${PACKAGE}: there is no prebuilt native addon for ${where}; prebuilt addons exist for ` +
      `${prebuilt.join(', ')}. On another platform, build it from source with a Rust toolchain ` +
      `(README: "Building from source").`
  } else if (!installed) {
    message =
      `${PACKAGE}: the native addon for ${where} is the optional dependency ${pkg}, and npm did not ` +
      `install it. npm skips optional dependencies when installing with --omit=optional (or ` +
      `--no-optional), and when node_modules or package-lock.json were made on another platform ` +
      `(https://github.com/npm/cli/issues/4828). Install on this machine: remove node_modules and ` +
      `package-lock.json, then run \`npm install\`.`
  } else {
    message = `${PACKAGE}: the native addon for ${where} (${pkg}) is installed but did not load. Reinstall it; if that does not help, build from source (README: "Building from source").`
  }
  const tried = messages(cause).filter((m) => !m.startsWith('Cannot find native binding'))
  if (tried.length) message += `\nLoading failed with:\n${tried.map((m) => `  - ${m.split('\n')[0]}`).join('\n')}`
  const err = new Error(message)
  err.code = 'LDP_NATIVE_ADDON'
  err.platform = key
  err.cause = cause
  return err
}

function load() {
  try {
    return require('../binding')
  } catch (cause) {
    const key = platformKey()
    const prefix = `${PACKAGE}-`
    const { optionalDependencies = {} } = require('../package.json')
    const prebuilt = Object.keys(optionalDependencies)
      .filter((name) => name.startsWith(prefix))
      .map((name) => name.slice(prefix.length))
    let installed = false
    try {
      require.resolve(`${prefix}${key}/package.json`, { paths: [ROOT] })
      installed = true
    } catch {
      // not installed
    }
    const source = fs.existsSync(path.join(ROOT, 'Cargo.toml'))
    const override = process.env.NAPI_RS_NATIVE_LIBRARY_PATH
    throw loadError({ key, source, prebuilt, installed, override, node: process.version, cause })
  }
}

module.exports = { load, loadError, platformKey }
