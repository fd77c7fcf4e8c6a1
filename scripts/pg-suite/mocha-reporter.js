'use strict'
// A mocha reporter for pg-pool's tests: records every test (its full title) through record.js
// and prints one line per test. Hook failures ("before all" hook …) are recorded as failures of
// the hook, so a file whose setup fails does not look empty.

const { record, describeError } = require('./record')

function collect(suite, names) {
  for (const test of suite.tests) names.push(test.fullTitle())
  for (const child of suite.suites) collect(child, names)
  return names
}

class PgSuiteReporter {
  constructor(runner) {
    runner.once('start', () => {
      for (const name of collect(runner.suite, [])) record({ t: 'plan', name })
    })
    runner.on('test', (test) => record({ t: 'start', name: test.fullTitle() }))
    runner.on('pass', (test) => {
      record({ t: 'pass', name: test.fullTitle(), ms: test.duration })
      process.stdout.write(`  ✔ ${test.fullTitle()}\n`)
    })
    runner.on('fail', (test, err) => {
      record({ t: 'fail', name: test.fullTitle(), ms: test.duration, error: describeError(err) })
      process.stdout.write(`  ✗ ${test.fullTitle()}\n${err && err.stack}\n`)
    })
    runner.on('pending', (test) => {
      record({ t: 'skip', name: test.fullTitle() })
      process.stdout.write(`  - ${test.fullTitle()} (pending)\n`)
    })
    runner.once('end', () => record({ t: 'end' }))
  }
}

module.exports = PgSuiteReporter
