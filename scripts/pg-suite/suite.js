'use strict'
// Stands in for pg's `test/suite.js` (preload.js redirects it here): the same API
// (`new Suite()`, `suite.test(name, fn)`, `test.timeout`), the same order (one test at a time,
// starting after the file's own code has run), the same 5 s limit per test, and like pg's
// runner it exits at the first failure — but it records every outcome first (record.js), so
// the harness can run the tests that never ran in a fresh process (LDP_PG_SUITE_SKIP names
// those with an outcome). An exception thrown while a test runs (an assertion in a callback)
// fails that test.

const { record, describeError } = require('./record')

// Tests the harness already has an outcome for (it reruns a file after a crash without them).
const skip = new Set(JSON.parse(process.env.LDP_PG_SUITE_SKIP || '[]'))
const queue = []
let running = null
let scheduled = false

class Test {
  constructor(name, action) {
    this.name = name
    this.action = action
    this.timeout = 5000
  }
}

class Suite {
  constructor() {
    process.stdout.write('\n')
  }

  test(name, action) {
    const test = new Test(name, action)
    record({ t: 'plan', name })
    if (skip.has(name)) return
    queue.push(test)
    if (!scheduled) {
      scheduled = true
      setImmediate(takeOverUncaught)
      setImmediate(next)
    }
  }
}

/** pg's test helper exits on any uncaught exception; during a test it fails that test instead. */
function takeOverUncaught() {
  const theirs = process.listeners('uncaughtException')
  process.removeAllListeners('uncaughtException')
  process.on('uncaughtException', (err) => {
    if (running) return running.finish(err)
    record({ t: 'uncaught', error: describeError(err) })
    for (const listener of theirs) listener(err)
  })
}

function next() {
  const test = queue.shift()
  if (!test) {
    record({ t: 'end' })
    return
  }
  process.stdout.write(`  ${test.name} `)
  if (!test.action) {
    process.stdout.write('? - SKIPPED\n')
    record({ t: 'skip', name: test.name })
    return setImmediate(next)
  }
  const started = Date.now()
  record({ t: 'start', name: test.name })
  let done = false
  const timer = setTimeout(() => finish(new Error(`test: ${test.name} did not complete within ${test.timeout}ms`)), test.timeout)
  const finish = (err) => {
    if (done) return
    done = true
    running = null
    clearTimeout(timer)
    const ms = Date.now() - started
    if (err) {
      process.stdout.write(`FAILED!\n\n${err && err.stack}\n`)
      record({ t: 'fail', name: test.name, ms, error: describeError(err) })
      // As pg's runner does: what a failed test left behind (a listening socket, an open pool)
      // must not fail the next ones. The harness runs the rest in a fresh process.
      process.exit(1)
    } else {
      process.stdout.write('✔\n')
      record({ t: 'pass', name: test.name, ms })
    }
    setImmediate(next)
  }
  running = { finish }
  try {
    if (test.action.length) {
      test.action.call(test, (err) => finish(err || null))
    } else {
      const result = test.action.call(test)
      if (result && typeof result.then === 'function') {
        result.then(
          () => finish(null),
          (err) => finish(err || new Error('Unhandled promise rejection'))
        )
      } else {
        finish(null)
      }
    }
  } catch (err) {
    finish(err)
  }
}

module.exports = Suite
