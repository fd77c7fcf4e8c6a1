'use strict'
// Checkout stacks: captured unformatted at connect() (V8 formats `.stack` only when it is
// first read), formatted only when a report needs them, and then once per checkout (the
// results are kept on the holder).
//
// A report names the application's own line. The `location` is the first frame that is the
// app's code: not this library, not Node's internals, not under `node_modules` (query
// builders and ORMs such as Kysely and Drizzle call connect() for the app), and not matching
// the pool's `ignoreFrames` patterns (the app's own database helpers, e.g. a
// `withTransaction`). When no captured frame qualifies, the first frame outside this library
// stands in. The report's stack keeps the library frames for context, minus this library's
// own and Node's internals.
//
// Capture depth is `stackTraceLimit` frames, async frames included (V8 follows `await`
// chains): the default reaches the app's frame through Kysely's and Drizzle's connection
// paths plus a helper or two. What a capture costs is V8's stack walk: about 1 µs fixed, plus
// a rebuild of each optimized synchronous frame it walks from its deoptimization data (to
// find its inlined functions and positions; ~6,800 instructions each in the cycle
// benchmark), so more for a larger calling function or a deeper synchronous chain of callers;
// frames of suspended async callers cost little (BENCHMARKS.md, "Where a checkout's time
// goes"). Nothing cheaper names the caller's line: a call-site cache would need the same walk
// to find its key, sampling would lose the first leak's location, and a capture made later
// from async frames alone (cheaper) names the function that awaits, not the caller.
//
// Frames of compiled code are mapped to the source the user wrote when the report is
// formatted (lib/source-maps.js); a mapped frame keeps its generated position after it, in
// brackets: `at f (/app/src/a.ts:8:29) [/app/dist/a.js:7:31]`.

const path = require('path')
const { originalPosition } = require('./source-maps')

const LIB_DIR = path.join(__dirname, '..')
const OWN_LIB = LIB_DIR + path.sep + 'lib' + path.sep
const OWN_INDEX = [path.join(LIB_DIR, 'index.js'), path.join(LIB_DIR, 'index.mjs')]
const NODE_MODULES = path.sep + 'node_modules' + path.sep

/**
 * Which frames a pool looks through when choosing a report's location. Invariant: `patterns`
 * holds only strings and RegExps (lib/options.js validates them); a frame is looked through
 * when a string occurs in, or a RegExp matches, its text `fn (file:line:col)` — generated or
 * source-mapped.
 */
class FrameRules {
  constructor(patterns) {
    this.patterns = patterns || []
  }

  ignores(text) {
    for (const p of this.patterns) {
      if (typeof p === 'string') {
        if (text.includes(p)) return true
      } else {
        // A global or sticky RegExp remembers where it stopped: every frame is tested whole.
        p.lastIndex = 0
        if (p.test(text)) return true
      }
    }
    return false
  }
}

const NO_RULES = new FrameRules([])

/**
 * Captures the caller's frames above `fn` without formatting them. `rules` (a FrameRules)
 * travels with the stack so that a report, made much later, chooses the location by the
 * capturing pool's rules.
 */
function capture(fn, limit, rules) {
  const holder = { rules: rules || NO_RULES }
  const prev = Error.stackTraceLimit
  if (prev === limit) {
    Error.captureStackTrace(holder, fn)
  } else {
    Error.stackTraceLimit = limit
    Error.captureStackTrace(holder, fn)
    Error.stackTraceLimit = prev
  }
  return holder
}

const FRAME = /^\s*at (async )?(?:(.*?) \((.*)\)|(.*))$/
const POSITION = /^(.*):(\d+):(\d+)$/

function ownFile(file) {
  if (file.startsWith('file://')) file = file.slice(7)
  return file.startsWith(OWN_LIB) || OWN_INDEX.includes(file)
}

/**
 * One stack line parsed and mapped: `text` is `fn (file:line:col)` as reported (original
 * position when a source map has one), `generated` the position V8 gave when it differs,
 * `own` whether it is this library's or Node's internal frame, `app` whether it is the app's.
 */
function parse(line, rules) {
  const m = FRAME.exec(line)
  if (!m) return null
  const isAsync = m[1] !== undefined
  const fn = m[2]
  const where = m[3] !== undefined ? m[3] : m[4]
  const pos = POSITION.exec(where)
  if (!pos) {
    // `<anonymous>`, `native`, `eval at …`: context only, never the app's line.
    return { line: line.trim(), text: line.trim().replace(/^at (async )?/, ''), own: false, app: false }
  }
  const file = pos[1]
  const own = file.startsWith('node:') || ownFile(file)
  const generated = fn ? `${fn} (${where})` : where
  let text = generated
  let mapped = null
  if (!own) {
    const o = originalPosition(file, Number(pos[2]), Number(pos[3]))
    if (o) {
      mapped = `${o.file}:${o.line}:${o.column}`
      text = fn ? `${fn} (${mapped})` : mapped
    }
  }
  const lib = own || file.includes(NODE_MODULES) || file.includes('/node_modules/')
  const app = !lib && !rules.ignores(text) && !(mapped && rules.ignores(generated))
  const out = `at ${isAsync ? 'async ' : ''}${text}${mapped ? ` [${where}]` : ''}`
  return { line: out, text, own, app }
}

/** The holder's frames, parsed and mapped once; this library's and Node's frames dropped. */
function framesOf(holder) {
  if (holder.frames !== undefined) return holder.frames
  const lines = String(holder.stack || '')
    .split('\n')
    .slice(1)
  const frames = []
  for (const l of lines) {
    const f = parse(l, holder.rules || NO_RULES)
    if (f && !f.own) frames.push(f)
  }
  holder.frames = frames
  return frames
}

/** The formatted frames, this library's frames trimmed ('' when nothing was captured). */
function stackOf(holder) {
  if (!holder) return ''
  if (holder.formatted !== undefined) return holder.formatted
  holder.formatted =
    'Error: checkout\n' +
    framesOf(holder)
      .map((f) => '    ' + f.line)
      .join('\n')
  return holder.formatted
}

/**
 * `fn (file:line:col)` of the first frame of the app's own code (see the module doc), else of
 * the first frame outside this library, else 'unknown'.
 */
function locationOf(holder) {
  if (!holder) return 'unknown'
  if (holder.location !== undefined) return holder.location
  const frames = framesOf(holder)
  const first = frames.find((f) => f.app) || frames[0]
  holder.location = first ? first.text : 'unknown'
  return holder.location
}

module.exports = { capture, stackOf, locationOf, FrameRules }
