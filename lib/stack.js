'use strict'
// Checkout stacks: captured unformatted at connect() (V8 formats `.stack` only when it is
// first read), formatted only when a report needs them. `location` is the first frame
// outside this library.

const path = require('path')

const LIB_DIR = path.join(__dirname, '..')

/** Captures the caller's frames above `fn` without formatting them. */
function capture(fn, limit) {
  const holder = {}
  const prev = Error.stackTraceLimit
  Error.stackTraceLimit = limit
  Error.captureStackTrace(holder, fn)
  Error.stackTraceLimit = prev
  return holder
}

function isLibraryFrame(line) {
  return line.includes(LIB_DIR + path.sep + 'lib' + path.sep) || line.includes(LIB_DIR + path.sep + 'index.js') || line.includes('node:internal')
}

/** The formatted frames, library frames trimmed ('' when nothing was captured). */
function stackOf(holder) {
  if (!holder) return ''
  if (holder.formatted !== undefined) return holder.formatted
  const lines = String(holder.stack || '').split('\n').slice(1)
  const kept = lines.filter((l) => !isLibraryFrame(l))
  holder.formatted = 'Error: checkout\n' + kept.join('\n')
  return holder.formatted
}

/** `fn (file:line:col)` of the first frame outside the library, or 'unknown'. */
function locationOf(holder) {
  if (!holder) return 'unknown'
  if (holder.location !== undefined) return holder.location
  const lines = String(holder.stack || '').split('\n').slice(1)
  const first = lines.find((l) => !isLibraryFrame(l))
  holder.location = first ? first.trim().replace(/^at /, '') : 'unknown'
  return holder.location
}

module.exports = { capture, stackOf, locationOf }
