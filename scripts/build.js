#!/usr/bin/env node
// Builds the native addon from source (release) with `napi build`: the `.node` file for this
// platform plus the generated loader and types (binding.js, binding.d.ts) in the repository
// root, where binding.js looks first.
//
//   node scripts/build.js              builds when the addon is missing or older than any Rust
//                                      source, so `npm test` and the demo run the current code
//   node scripts/build.js --force      always builds (`npm run build`)
//   node scripts/build.js --prepare    npm's `prepare` hook in a clone (see below)
//   other arguments                    go to `napi build`, e.g. `--target aarch64-apple-darwin`
//                                      or `--use-napi-cross` (the release workflow's matrix)
//
// `prepare` is the lifecycle script npm runs on a plain `npm install` in a clone and never when
// the published package is installed, so users never build. There it builds only for
// `npm install` / `npm ci` (not for `npm pack` / `npm publish`: the main package carries no
// addon) and only when cargo is on PATH: without Rust, `npm install` still installs the JS
// dependencies (enough for the lint of JS files and the docs) and says how to build later.
'use strict'
const fs = require('fs')
const path = require('path')
const { spawnSync } = require('child_process')

const root = path.join(__dirname, '..')
const ours = new Set(['--force', '--prepare'])
const argv = process.argv.slice(2)
const force = argv.includes('--force')
const prepare = argv.includes('--prepare')
const napiArgs = argv.filter((a) => !ours.has(a))

function newest(dir) {
  let t = 0
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs)
  }
  return t
}

function nodeFile() {
  return fs.readdirSync(root).find((f) => f.endsWith('.node'))
}

function onPath(cmd) {
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', ''] : ['']
  return (process.env.PATH || '').split(path.delimiter).some((dir) => dir && exts.some((ext) => fs.existsSync(path.join(dir, cmd + ext))))
}

if (prepare) {
  const command = process.env.npm_command
  if (command && command !== 'install' && command !== 'ci') process.exit(0)
  if (!onPath('cargo')) {
    console.error(
      'build: cargo is not on PATH, so the native addon was not built; install Rust (https://rustup.rs), then run `npm run build` (README: "Building from source")'
    )
    process.exit(0)
  }
}

const sources = Math.max(
  newest(path.join(root, 'src')),
  ...['Cargo.toml', 'Cargo.lock', 'build.rs']
    .filter((f) => fs.existsSync(path.join(root, f)))
    .map((f) => fs.statSync(path.join(root, f)).mtimeMs)
)
const built = nodeFile()
if (!force && built && fs.existsSync(path.join(root, 'binding.js')) && fs.statSync(path.join(root, built)).mtimeMs >= sources) {
  process.exit(0)
}

const cli = path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
if (!fs.existsSync(cli)) {
  console.error('build: @napi-rs/cli is missing; run `npm install` first')
  process.exit(1)
}
const args = [cli, 'build', '--platform', '--release', '--js', 'binding.js', '--dts', 'binding.d.ts', ...napiArgs]
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
process.exit(r.status === null ? 1 : r.status)
