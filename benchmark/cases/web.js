'use strict'
// A "web request": connect(), three statements of different shapes (a parameterised point
// value, ten generated rows of mixed types, a statement without parameters through the
// simple protocol), release(); one request in 20 holds its client 20 ms before the last
// statement (a slow handler or an outbound call made while holding the connection), so the
// pool runs near its limit and callers queue, as a server's do. Pool max 10.

const { throughput } = require('./throughput')

module.exports = {
  kind: 'web',
  async run(subject, opts) {
    return throughput((i) => subject.web(i), opts)
  },
}
