'use strict'
// Case 3: one 10,000-row result of mixed types (int4, int8, text, float8, bool, timestamptz,
// jsonb, numeric), fetched back to back by one caller. Measures rows/s and event-loop stalls
// with a 1 ms setInterval lag probe (lib/probe.js StallProbe):
//   stallMs       median over results of the longest gap between probe ticks while that result
//                 was fetched, delivered and read (the median is robust against the odd GC or
//                 the OS descheduling the process once)
//   stallMaxMs    the longest gap in the whole window (includes GC and scheduler noise)
//   stallCpuMs    like stallMs, but the main thread's CPU time inside the gap: the synchronous
//                 work that blocked the loop, unaffected by other processes on the machine
// Gaps include the 1 ms probe period. After each result arrives the harness yields once
// (setImmediate) and then reads every cell of every row, so a subject that defers work into
// lazy rows pays for it here too; the read happens in its own event-loop turn.

const { snapshot, diff, memory, StallProbe } = require('../lib/probe')

const COLUMNS = ['c_int4', 'c_int8', 'c_text', 'c_float8', 'c_bool', 'c_timestamptz', 'c_jsonb', 'c_numeric']

function kindOf(v) {
  if (v === null) return 'null'
  if (v instanceof Date) return 'Date'
  if (Buffer.isBuffer(v)) return 'Buffer'
  if (Array.isArray(v)) return 'array'
  return typeof v
}

/** Reads every cell; returns a checksum so the reads cannot be optimized away. */
function touch(rows) {
  let sum = 0
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]
    for (let c = 0; c < COLUMNS.length; c++) {
      const v = row[COLUMNS[c]]
      sum += v == null ? 0 : typeof v === 'number' ? 1 : typeof v === 'string' ? v.length & 1 : 2
    }
  }
  return sum
}

const yieldOnce = () => new Promise((resolve) => setImmediate(resolve))

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length ? (s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2) : null
}

module.exports = {
  kind: 'rows',
  COLUMNS,
  async run(subject, { sql, expectRows, warmupMs, seconds, minResults = 3 }) {
    const first = await subject.rows(sql)
    if (!Array.isArray(first) || first.length !== expectRows) {
      throw new Error(`expected ${expectRows} rows, got ${first && first.length}`)
    }
    const types = Object.fromEntries(COLUMNS.map((c) => [c, kindOf(first[0][c])]))
    const missing = COLUMNS.filter((c) => !(c in first[0]))
    if (missing.length) throw new Error(`rows lack columns ${missing.join(', ')}`)
    touch(first)

    const warmEnd = Date.now() + warmupMs
    do {
      touch(await subject.rows(sql))
    } while (Date.now() < warmEnd)

    const probe = new StallProbe(1).start()
    const stalls = []
    const cpuStalls = []
    const latencies = []
    let results = 0
    let check = 0
    const s0 = snapshot()
    probe.take()
    const windowNs = BigInt(Math.round(seconds * 1e9))
    do {
      const t = process.hrtime.bigint()
      const rows = await subject.rows(sql)
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6)
      await yieldOnce()
      if (rows.length !== expectRows) throw new Error(`expected ${expectRows} rows, got ${rows.length}`)
      check += touch(rows)
      await yieldOnce()
      const st = probe.take()
      stalls.push(st.wallMs)
      cpuStalls.push(st.cpuMs)
      results++
    } while (process.hrtime.bigint() - s0.t < windowNs || results < minResults)
    const s1 = snapshot()
    const overall = probe.stop()
    const mem = memory()
    const d = diff(s0, s1)
    const rowsTotal = results * expectRows
    return {
      results,
      rowsPerResult: expectRows,
      elapsedS: d.elapsedS,
      rowsPerSec: rowsTotal / d.elapsedS,
      msPerResult: median(latencies),
      stallMs: median(stalls),
      stallMaxMs: overall.wallMs,
      stallCpuMs: median(cpuStalls),
      stallCpuMaxMs: overall.cpuMs,
      cpuMsPerResult: d.cpuUs / 1000 / results,
      mainCpuMsPerResult: d.mainUs == null ? null : d.mainUs / 1000 / results,
      types,
      checksum: check,
      ...mem,
    }
  },
}
