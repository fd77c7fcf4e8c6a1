'use strict'
// One line of JSON per fact, appended to the file named by LDP_PG_SUITE_OUT; both runners
// (suite.js for pg's tests, mocha-reporter.js for pg-pool's) write through this. Appending
// synchronously keeps every fact written before a test can crash the process.
//   { t: 'plan', name }            a test exists
//   { t: 'start', name }           it starts (so a crash names the test that was running)
//   { t: 'pass', name, ms }        it passed
//   { t: 'fail', name, ms, error } it failed (error: the message and the top of the stack)
//   { t: 'skip', name }            the file's own code skipped it
//   { t: 'uncaught', error }       an exception outside any test
//   { t: 'end' }                   every test has finished

const fs = require('fs')

const out = process.env.LDP_PG_SUITE_OUT

function record(fact) {
  if (out) fs.appendFileSync(out, JSON.stringify(fact) + '\n')
}

/** An error as one short text: its message and the first frames of its stack. */
function describeError(err) {
  if (!(err instanceof Error)) return `non-Error thrown: ${String(err)}`
  const stack = String(err.stack || err.message)
  return stack.split('\n').slice(0, 6).join('\n')
}

module.exports = { record, describeError }
