'use strict'
// Case 1 (and 4, 5): pool.query('SELECT $1::int AS x', [i]) throughput at a given
// concurrency, pool max 10. CPU per query (case 4) and RSS (case 5) come from the same window.

const { throughput } = require('./throughput')

module.exports = {
  kind: 'query',
  async run(subject, opts) {
    return throughput((i) => subject.query(i), opts)
  },
}
