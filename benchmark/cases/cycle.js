'use strict'
// Case 2: connect() + one query + release() cycles (postgres.js: sql.reserve() + query +
// release()), pool max 10.

const { throughput } = require('./throughput')

module.exports = {
  kind: 'cycle',
  async run(subject, opts) {
    return throughput((i) => subject.cycle(i), opts)
  },
}
