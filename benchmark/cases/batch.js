'use strict'
// Cases 6 and 7: one checked-out client runs `BATCH` queries (`SELECT $1::int AS x`) issued at
// once, awaits them all, and starts the next batch — the pattern of a request handler that
// fires its independent queries together. With the pool option `pipeline: true` (pg 8.20+:
// pg sends a client's queued queries without waiting for each reply) and without it (pg then
// sends one, waits for its ReadyForQuery, sends the next). LeakDetectingPool sends a client's
// queries at once either way. postgres.js pipelines on a reserved connection by itself. Every
// result is checked; throughput is in queries/s, CPU per query.

const { throughput } = require('./throughput')

const BATCH = 100

module.exports = {
  kind: 'batch',
  BATCH,
  async run(subject, opts) {
    const client = await subject.reserve()
    try {
      const r = await throughput(
        async (i) => {
          const base = (i * BATCH) & 0x3fffffff
          const xs = await client.batch(base, BATCH)
          for (let k = 0; k < BATCH; k++) {
            if (xs[k] !== base + k) throw new Error(`wrong result: expected ${base + k}, got ${JSON.stringify(xs[k])}`)
          }
          return i
        },
        { ...opts, concurrency: 1, minOps: 1 }
      )
      return {
        ...r,
        batch: BATCH,
        ops: r.ops * BATCH,
        warmupOps: r.warmupOps * BATCH,
        opsPerSec: r.opsPerSec * BATCH,
        cpuUsPerOp: r.cpuUsPerOp == null ? null : r.cpuUsPerOp / BATCH,
        mainCpuUsPerOp: r.mainCpuUsPerOp == null ? null : r.mainCpuUsPerOp / BATCH,
        perSecond: r.perSecond.map((x) => x * BATCH),
        firstSecond: r.firstSecond == null ? null : r.firstSecond * BATCH,
        lastSecond: r.lastSecond == null ? null : r.lastSecond * BATCH,
      }
    } finally {
      client.release()
    }
  },
}
