'use strict'
// The measured cases, in run order. `sustained` cases run longer by default (>= 10 s where
// more callers than connections let postgres.js's queue decay, which a short window hides).
// Client CPU per query at concurrency 16 is read from the query-c16 window and RSS from every
// window; pgbench is run by run.js, not per subject. `poolOptions` are added to the options of
// the pool a case's subject is created with (lib/../subjects.js `create(conn, extra)`).

const CASES = [
  { id: 'query-c1', module: 'query', label: 'pool.query c=1', concurrency: 1, sustained: false, unit: 'queries/s' },
  { id: 'query-c16', module: 'query', label: 'pool.query c=16', concurrency: 16, sustained: true, unit: 'queries/s' },
  { id: 'query-c64', module: 'query', label: 'pool.query c=64', concurrency: 64, sustained: true, unit: 'queries/s' },
  { id: 'cycle-c16', module: 'cycle', label: 'connect+query+release c=16', concurrency: 16, sustained: false, unit: 'cycles/s' },
  { id: 'tx-c16', module: 'tx', label: 'transaction c=16', concurrency: 16, sustained: false, unit: 'transactions/s' },
  { id: 'tx-c64', module: 'tx', label: 'transaction c=64', concurrency: 64, sustained: false, unit: 'transactions/s' },
  { id: 'web-c16', module: 'web', label: 'web request mix c=16', concurrency: 16, sustained: false, unit: 'requests/s' },
  { id: 'rows-10k', module: 'rows', label: '10,000-row result', concurrency: 1, sustained: false, unit: 'rows/s' },
  {
    id: 'batch-pipeline',
    module: 'batch',
    label: 'one client, 100 queries at once, pipeline: true',
    concurrency: 1,
    sustained: false,
    unit: 'queries/s',
    poolOptions: { pipeline: true },
  },
  { id: 'batch', module: 'batch', label: 'one client, 100 queries at once', concurrency: 1, sustained: false, unit: 'queries/s' },
]

function load(c) {
  return require(`./${c.module}`)
}

module.exports = { CASES, load }
