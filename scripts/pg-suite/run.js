'use strict'
// Runs one test file of node-postgres in its own Node process with one pool substituted, and
// reads back what its runner recorded (record.js). A file's process must also exit on its own
// once its tests are done — a pool that keeps the event loop alive fails that check.

const fs = require('fs')
const path = require('path')
const { spawn } = require('child_process')

const HERE = __dirname
/**
 * How many processes a file may take when failing tests end it: the first, then reruns of the
 * tests that had not run (pg's runner exits at each failure).
 */
const MAX_ATTEMPTS = 40
/** The name of the one test a file without a test runner counts as. */
const WHOLE_FILE = '(the whole file)'

/**
 * The outcome of one file with one pool. Invariant: every test the runner planned appears in
 * `tests` exactly once, with status 'pass', 'fail', 'skip' or 'notrun' (planned, never finished:
 * the process exited or was stopped first).
 */
async function runFile(opts) {
  const final = await runOnce(opts, [])
  let ms = final.ms
  for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
    const left = final.tests.filter((t) => t.status === 'notrun')
    if (!left.length || final.tests.length === left.length) break
    // A test failed and ended the process (pg's runner, a crash, a hang) before the rest of the
    // file ran: run those in a fresh process, so each gets an outcome of its own.
    const done = final.tests.filter((t) => t.status !== 'notrun').map((t) => t.name)
    const again = await runOnce(opts, done)
    ms += again.ms
    for (const t of again.tests) {
      const i = final.tests.findIndex((f) => f.name === t.name)
      if (i >= 0 && final.tests[i].status === 'notrun') final.tests[i] = t
    }
    final.problems = again.problems
    final.output += `\n----- tests that had not run, in a fresh process -----\n${again.output}`
  }
  final.ms = ms
  return final
}

/** One process over the file, without the tests named in `skip`. */
function runOnce({ tree, entry, pool, env, fileTimeoutMs, exitGraceMs, outDir }, skip) {
  const abs = path.join(tree, entry.file)
  const out = path.join(outDir, `${entry.file.replace(/[\\/]/g, '__')}.${pool}.jsonl`)
  fs.rmSync(out, { force: true })
  const only = skip.length ? ['--grep', `^(?:${skip.map(escapeRegExp).join('|')})$`, '--invert'] : []
  const args =
    entry.runner === 'mocha'
      ? [
          path.join(tree, 'node_modules', 'mocha', 'bin', 'mocha.js'),
          '--reporter',
          path.join(HERE, 'mocha-reporter.js'),
          '--file',
          path.join(tree, 'packages', 'pg-pool', 'test', 'setup.js'),
          ...only,
          abs,
        ]
      : [abs]
  const cwd = path.join(tree, entry.runner === 'mocha' ? 'packages/pg-pool' : 'packages/pg')
  const childEnv = {
    ...env,
    NODE_OPTIONS: `${env.NODE_OPTIONS || ''} --require ${path.join(HERE, 'preload.js')}`.trim(),
    LDP_PG_SUITE_POOL: pool,
    LDP_PG_SUITE_OUT: out,
    LDP_PG_SUITE_SKIP: JSON.stringify(skip),
  }
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(process.execPath, args, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const keep = (chunk) => {
      output += chunk
      if (output.length > 1 << 20) output = output.slice(-(1 << 19))
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    let stopped = null
    let endedAt = null
    const watch = setInterval(() => {
      const now = Date.now()
      if (endedAt === null && readFacts(out).some((f) => f.t === 'end')) endedAt = now
      if (endedAt !== null && now - endedAt > exitGraceMs) stop('did not exit within ' + exitGraceMs + ' ms after its last test')
      else if (now - started > fileTimeoutMs) stop('stopped after ' + fileTimeoutMs + ' ms')
    }, 100)
    const stop = (why) => {
      if (stopped) return
      stopped = why
      child.kill('SIGKILL')
    }
    child.on('exit', (code, signal) => {
      clearInterval(watch)
      resolve(summarize(readFacts(out), { code, signal, stopped, ms: Date.now() - started, output }))
    })
  })
}

function readFacts(file) {
  let text
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {
    return []
  }
  const facts = []
  for (const line of text.split('\n')) {
    if (!line) continue
    try {
      facts.push(JSON.parse(line))
    } catch {
      // a line cut short by a killed process
    }
  }
  return facts
}

function summarize(facts, proc) {
  const tests = new Map()
  const uncaught = []
  let ended = false
  let current = null
  for (const f of facts) {
    if (f.t === 'plan' && !tests.has(f.name)) tests.set(f.name, { name: f.name, status: 'notrun' })
    else if (f.t === 'start') current = f.name
    else if (f.t === 'pass' || f.t === 'fail' || f.t === 'skip') {
      const prev = tests.get(f.name)
      // A test reported twice (mocha reports a test that fails after passing) keeps its failure.
      if (prev && prev.status === 'fail') continue
      tests.set(f.name, { name: f.name, status: f.t, error: f.error, ms: f.ms })
      if (f.name === current) current = null
    } else if (f.t === 'uncaught') uncaught.push(f.error)
    else if (f.t === 'end') ended = true
  }
  const problems = []
  const tail = outputTail(proc.output)
  const running = current && tests.get(current)
  if (running && running.status === 'notrun') {
    // The process ended (crashed, or was stopped) while this test ran: it is the one that failed.
    running.status = 'fail'
    running.error = `${proc.stopped ? `process ${proc.stopped}` : `process exited (${proc.signal || 'code ' + proc.code})`} during this test: ${tail}`
  }
  if (tests.size === 0) {
    // A file of top-level code with no test runner (pg's older tests): the file is the test,
    // and it passes when its process exits by itself with code 0.
    const ok = !proc.stopped && proc.code === 0 && uncaught.length === 0
    const why = proc.stopped ? `process ${proc.stopped}` : `process exited (${proc.signal || 'code ' + proc.code})`
    const test = { name: WHOLE_FILE, status: ok ? 'pass' : 'fail', ms: proc.ms }
    if (!ok) test.error = `${why}: ${tail}`
    return { tests: [test], problems, ended: true, ms: proc.ms, output: proc.output }
  }
  const failed = [...tests.values()].some((t) => t.status === 'fail')
  // A pool a failed test never ended keeps its process alive: only a clean run must exit.
  if (proc.stopped && !(failed && ended)) problems.push(`process ${proc.stopped}`)
  else if (!ended && !failed) problems.push(`process exited (${proc.signal || 'code ' + proc.code}) before its tests finished`)
  else if (proc.code !== 0 && !failed) problems.push(`process exited with code ${proc.code}`)
  for (const u of uncaught) problems.push(`uncaught outside a test: ${u.split('\n')[0]}`)
  return { tests: [...tests.values()], problems, ended, ms: proc.ms, output: proc.output }
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** The last lines of a process's output that are not stack frames, as one line. */
function outputTail(output) {
  return output
    .trim()
    .split('\n')
    .filter((l) => l.trim() && !/^\s+at /.test(l))
    .slice(-3)
    .join(' | ')
}

/**
 * Makes the pools' outcomes of one file comparable: a test another pool's run defined but this
 * one never did (the file failed before defining it, e.g. in a callback that defines tests)
 * counts as not run here, with the reason. Mutates `runs` ({ pool: outcome }).
 */
function alignPlans(runs) {
  const outcomes = Object.values(runs)
  const names = new Set()
  for (const o of outcomes) for (const t of o.tests) if (t.name !== WHOLE_FILE) names.add(t.name)
  if (!names.size) return
  for (const o of outcomes) {
    const whole = o.tests.find((t) => t.name === WHOLE_FILE)
    const have = new Set(o.tests.map((t) => t.name))
    const why = whole ? whole.error : 'the file ended before defining this test'
    if (whole) o.tests = o.tests.filter((t) => t !== whole)
    for (const name of names) {
      if (!have.has(name)) o.tests.push({ name, status: whole && whole.status === 'pass' ? 'pass' : 'notrun', error: why })
    }
  }
}

module.exports = { runFile, alignPlans }
