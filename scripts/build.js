#!/usr/bin/env node
// Builds the native addon from source (release) when it is missing or older than any Rust
// source, so `npm install` and `npm test` always run the current code. `--force` rebuilds.
'use strict'
const fs = require('fs')
const path = require('path')
const { spawnSync } = require('child_process')

const root = path.join(__dirname, '..')
const force = process.argv.includes('--force')

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

const sources = Math.max(
  newest(path.join(root, 'src')),
  ...['Cargo.toml', 'Cargo.lock', 'build.rs'].filter((f) => fs.existsSync(path.join(root, f))).map((f) => fs.statSync(path.join(root, f)).mtimeMs)
)
const built = nodeFile()
if (!force && built && fs.existsSync(path.join(root, 'binding.js')) && fs.statSync(path.join(root, built)).mtimeMs >= sources) {
  process.exit(0)
}

const cli = path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
const args = fs.existsSync(cli)
  ? [cli, 'build', '--platform', '--release', '--js', 'binding.js', '--dts', 'binding.d.ts']
  : null
if (!args) {
  console.error('build: @napi-rs/cli is missing; run `npm install` first')
  process.exit(1)
}
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
process.exit(r.status === null ? 1 : r.status)
