'use strict'
// Shared closed-loop driver for the throughput cases: `concurrency` async callers each run
// `op(i)` back to back. After the warm-up the window is measured with hrtime, process CPU
// (all threads: the event loop, libuv and any native worker threads) and the main thread's
// own CPU, in 1-second buckets so a decay from the first to the last second is visible.
// Every result is checked (op must resolve to its argument) so a broken subject fails loudly.
// `minOps` extends the window until that many operations completed in it (a long operation,
// such as a batch of queries, must be counted at least once even in a very short window).

const { snapshot, diff, memory, sleep } = require('../lib/probe')

async function throughput(op, { concurrency, warmupMs, seconds, bucketMs = 1000, minOps = 0 }) {
  let i = 0
  let n = 0
  let running = true
  let failure = null

  async function caller() {
    while (running) {
      const k = (i = (i + 1) & 0x3fffffff)
      const x = await op(k)
      if (x !== k) throw new Error(`wrong result: expected ${k}, got ${JSON.stringify(x)}`)
      n++
    }
  }

  const callers = Promise.all(Array.from({ length: concurrency }, caller)).catch((err) => {
    failure = failure || err
    running = false
  })

  await sleep(warmupMs)
  if (failure) throw failure
  const warmupOps = n

  const s0 = snapshot()
  const n0 = n
  const windowNs = BigInt(Math.round(seconds * 1e9))
  const buckets = []
  let prevT = s0.t
  let prevN = n0
  for (;;) {
    const left = Number(s0.t + windowNs - process.hrtime.bigint()) / 1e6
    // The window is extended, 5 ms at a time, until `minOps` operations completed in it.
    if (left <= 0 && n - n0 >= minOps) break
    await sleep(Math.min(bucketMs, Math.max(left > 0 ? 1 : 5, left)))
    if (failure) throw failure
    const t = process.hrtime.bigint()
    const k = n
    buckets.push({ s: Number(t - prevT) / 1e9, ops: k - prevN })
    prevT = t
    prevN = k
  }
  const s1 = snapshot()
  const ops = n - n0
  const mem = memory()
  running = false
  await callers
  if (failure) throw failure

  const d = diff(s0, s1)
  const perSecond = buckets.map((b) => b.ops / b.s)
  const full = buckets.filter((b) => b.s >= bucketMs / 2000) // ignore a short tail bucket
  const first = full.length ? full[0].ops / full[0].s : null
  const last = full.length ? full[full.length - 1].ops / full[full.length - 1].s : null
  return {
    ops,
    warmupOps,
    elapsedS: d.elapsedS,
    opsPerSec: ops / d.elapsedS,
    cpuUsPerOp: ops ? d.cpuUs / ops : null,
    mainCpuUsPerOp: ops && d.mainUs != null ? d.mainUs / ops : null,
    cpuUtilization: d.cpuUs / 1e6 / d.elapsedS, // cores' worth of CPU this process used
    perSecond: perSecond.map((x) => Math.round(x)),
    firstSecond: first,
    lastSecond: last,
    decayPct: first && last && full.length >= 2 ? (last / first - 1) * 100 : null,
    ...mem,
  }
}

module.exports = { throughput }
