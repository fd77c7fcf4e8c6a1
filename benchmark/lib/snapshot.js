'use strict'
// Freezes the package under test for the length of a run: index.js, binding.js, lib/ and the
// native addon are copied into a temporary directory that every worker loads LeakDetectingPool
// from (BENCH_LDP_DIR); its node_modules links to the checkout's (dependencies are not the code
// under test). Others may rebuild the addon or edit lib/ while a 10-minute run is in
// progress; without the copy, rounds would silently mix builds. `--addon FILE` puts a specific
// build (e.g. a release .node from a private target dir) into the snapshot instead of the
// checkout's *.node.

const fs = require('fs')
const os = require('os')
const path = require('path')
const crypto = require('crypto')

const FILES = ['index.js', 'index.mjs', 'package.json', 'binding.js']

/** Section names of a 64-bit little-endian ELF file (enough to tell a debug build). */
function elfSectionNames(buf) {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) return []
  const shoff = Number(buf.readBigUInt64LE(0x28))
  const shentsize = buf.readUInt16LE(0x3a)
  const shnum = buf.readUInt16LE(0x3c)
  const shstrndx = buf.readUInt16LE(0x3e)
  const strOff = Number(buf.readBigUInt64LE(shoff + shstrndx * shentsize + 0x18))
  const names = []
  for (let i = 0; i < shnum; i++) {
    const start = strOff + buf.readUInt32LE(shoff + i * shentsize)
    names.push(buf.toString('latin1', start, buf.indexOf(0, start)))
  }
  return names
}

function newest(dir) {
  let t = 0
  try {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name)
      t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs)
    }
  } catch {}
  return t
}

function describeAddon(file, root) {
  const buf = fs.readFileSync(file)
  const st = fs.statSync(file)
  let debugInfo = null
  try {
    debugInfo = elfSectionNames(buf).includes('.debug_info')
  } catch {}
  return {
    source: file,
    sizeMB: +(st.size / 1048576).toFixed(1),
    mtime: st.mtime.toISOString(),
    sha256: crypto.createHash('sha256').update(buf).digest('hex').slice(0, 16),
    debugInfo,
    // src/ changed after this build: the numbers are for an older core than the checkout's
    olderThanSrc: root ? newest(path.join(root, 'src')) > st.mtimeMs : null,
  }
}

/** Copies the package into a fresh temp dir; returns { dir, addon, cleanup() }. */
function snapshotPackage(root, addonPath) {
  const nodeName = fs.readdirSync(root).find((f) => f.endsWith('.node'))
  const src = addonPath ? path.resolve(addonPath) : nodeName ? path.join(root, nodeName) : null
  if (!src || !fs.existsSync(src))
    throw new Error(`no native addon to benchmark (${src || `no *.node in ${root}`}); run \`node scripts/build.js\``)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldp-bench-pkg-'))
  for (const f of FILES) {
    if (fs.existsSync(path.join(root, f))) fs.copyFileSync(path.join(root, f), path.join(dir, f))
  }
  fs.cpSync(path.join(root, 'lib'), path.join(dir, 'lib'), { recursive: true })
  // The package's dependencies (pg-types, pg-protocol, pgpass) resolve from the checkout's.
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir')
  const target = nodeName || `leak-detecting-pool.${process.platform}-${process.arch}-gnu.node`
  fs.copyFileSync(src, path.join(dir, target))
  const addon = describeAddon(src, root)
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true })
  return { dir, addon, cleanup }
}

module.exports = { snapshotPackage, describeAddon, elfSectionNames }
