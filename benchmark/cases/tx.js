'use strict'
// Transaction cycles: connect(), BEGIN, two parameterised statements, COMMIT, release()
// (postgres.js: sql.begin(), which does the same on a reserved connection), pool max 10.

const { throughput } = require('./throughput')

module.exports = {
  kind: 'tx',
  async run(subject, opts) {
    return throughput((i) => subject.tx(i), opts)
  },
}
