'use strict'
// Positions in compiled JavaScript mapped back to the source the user wrote (TypeScript, or
// anything else that emits a source map). Node maps `Error.stack` itself only under
// --enable-source-maps, which costs on every stack formatted; a checkout stack is formatted
// only when a report needs it, so the map is read here instead, at that moment, through Node's
// own parser (`module.SourceMap`). Each generated file's map is read at most once (found
// through its `sourceMappingURL` comment, a file beside it or an inline `data:` URL) and
// remembered, `null` included, in a cache bounded to MAX_FILES files (oldest dropped first).
// Reading is synchronous: it happens once per file, when a report is made, never at checkout.

const fs = require('fs')
const path = require('path')
const { fileURLToPath } = require('url')
const { SourceMap } = require('module')

const MAX_FILES = 256

/** generated file (as the frame names it) -> { map, dir } | null; insertion order = age. */
const cache = new Map()

function toPath(file) {
  if (file.startsWith('file://')) {
    try {
      return fileURLToPath(file)
    } catch {
      return null
    }
  }
  return path.isAbsolute(file) ? file : null
}

/** The last `sourceMappingURL` comment of `text`, or null. */
function mappingUrl(text) {
  const re = /\/\/[#@]\s*sourceMappingURL=([^\s'"]+)/g
  let last = null
  for (let m = re.exec(text); m; m = re.exec(text)) last = m[1]
  return last
}

function payloadOf(url, dir) {
  if (url.startsWith('data:')) {
    const comma = url.indexOf(',')
    if (comma < 0) return null
    const meta = url.slice(5, comma)
    const data = url.slice(comma + 1)
    const json = meta.endsWith(';base64') ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data)
    return { json, dir }
  }
  const file = url.startsWith('file://') ? fileURLToPath(url) : path.resolve(dir, decodeURIComponent(url))
  return { json: fs.readFileSync(file, 'utf8'), dir: path.dirname(file) }
}

function load(file) {
  const generated = toPath(file)
  if (!generated) return null
  try {
    const url = mappingUrl(fs.readFileSync(generated, 'utf8'))
    if (!url) return null
    const p = payloadOf(url, path.dirname(generated))
    if (!p) return null
    const raw = JSON.parse(p.json)
    const root = typeof raw.sourceRoot === 'string' ? raw.sourceRoot : ''
    return { map: new SourceMap(raw), dir: path.resolve(p.dir, root.startsWith('file://') ? fileURLToPath(root) : root) }
  } catch {
    // An unreadable or malformed map leaves the frame as generated: a report never fails on it.
    return null
  }
}

function mapOf(file) {
  if (cache.has(file)) return cache.get(file)
  const m = load(file)
  if (cache.size >= MAX_FILES) cache.delete(cache.keys().next().value)
  cache.set(file, m)
  return m
}

/**
 * The original position of `file:line:column` (1-based, as in a stack frame) as
 * `{ file, line, column }` (absolute path, 1-based), or null when the file has no source map
 * or the map says nothing about that position.
 */
function originalPosition(file, line, column) {
  const m = mapOf(file)
  if (!m) return null
  const e = m.map.findEntry(line - 1, column - 1)
  if (!e || typeof e.originalSource !== 'string' || typeof e.originalLine !== 'number') return null
  const src = e.originalSource
  const original = src.startsWith('file://') ? fileURLToPath(src) : path.isAbsolute(src) ? src : path.resolve(m.dir, src)
  return { file: original, line: e.originalLine + 1, column: e.originalColumn + 1 }
}

/** The cache as getMemoryUsage() shows it: files remembered, and the bound. */
function sourceMapMemory() {
  return { size: cache.size, capacity: MAX_FILES }
}

module.exports = { originalPosition, sourceMapMemory }
