'use strict'
// Process-level probes taken at the start and end of a measured window.

const fs = require('fs')

const CLK_TCK = Number(process.env.BENCH_CLK_TCK) || 100
const TASK = `/proc/self/task/${process.pid}`

// Main-thread CPU time. /proc/.../schedstat has nanosecond resolution (the thread's time on a
// CPU); /proc/.../stat (10 ms ticks) is the fallback. The file is opened once and re-read
// with pread at offset 0 (~5 µs).
let schedFd = null
const schedBuf = Buffer.alloc(128)
try {
  schedFd = fs.openSync(`${TASK}/schedstat`, 'r')
} catch {}

/** CPU time of the main (event-loop) thread in µs, or null where /proc is unavailable. */
function mainThreadCpuUs() {
  if (schedFd != null) {
    try {
      const n = fs.readSync(schedFd, schedBuf, 0, schedBuf.length, 0)
      const end = schedBuf.indexOf(32)
      return Number(schedBuf.toString('latin1', 0, end > 0 && end < n ? end : n)) / 1000
    } catch {
      schedFd = null
    }
  }
  try {
    const s = fs.readFileSync(`${TASK}/stat`, 'utf8')
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    // f[0] is field 3 (state); utime is field 14, stime field 15
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK
  } catch {
    return null
  }
}

/**
 * Event-loop stall probe: a 1 ms setInterval that records, between consecutive ticks, the
 * wall-clock gap and the main thread's CPU time spent in that gap. A long wall gap is a
 * stall as the application sees it (it includes time the OS ran other processes); the CPU
 * time is the synchronous work that caused it, immune to the machine's other load.
 * `take()` returns the longest of each since the previous take() and resets them.
 */
class StallProbe {
  constructor(periodMs = 1) {
    this.periodMs = periodMs
    this.timer = null
    this.maxWallMs = 0
    this.maxCpuMs = 0
    this.overallWallMs = 0
    this.overallCpuMs = 0
  }
  start() {
    let lastT = process.hrtime.bigint()
    let lastCpu = mainThreadCpuUs()
    this.timer = setInterval(() => {
      const t = process.hrtime.bigint()
      const cpu = mainThreadCpuUs()
      const wall = Number(t - lastT) / 1e6
      const used = cpu == null || lastCpu == null ? 0 : (cpu - lastCpu) / 1000
      lastT = t
      lastCpu = cpu
      if (wall > this.maxWallMs) this.maxWallMs = wall
      if (used > this.maxCpuMs) this.maxCpuMs = used
    }, this.periodMs)
    return this
  }
  take() {
    const r = { wallMs: this.maxWallMs, cpuMs: this.maxCpuMs }
    if (r.wallMs > this.overallWallMs) this.overallWallMs = r.wallMs
    if (r.cpuMs > this.overallCpuMs) this.overallCpuMs = r.cpuMs
    this.maxWallMs = 0
    this.maxCpuMs = 0
    return r
  }
  stop() {
    clearInterval(this.timer)
    this.take()
    return { wallMs: this.overallWallMs, cpuMs: this.overallCpuMs }
  }
}

function snapshot() {
  const cpu = process.cpuUsage()
  return {
    t: process.hrtime.bigint(),
    cpuUs: cpu.user + cpu.system,
    mainUs: mainThreadCpuUs(),
  }
}

/** Differences between two snapshots: elapsed seconds, process CPU µs, main-thread CPU µs. */
function diff(a, b) {
  return {
    elapsedS: Number(b.t - a.t) / 1e9,
    cpuUs: b.cpuUs - a.cpuUs,
    mainUs: a.mainUs == null || b.mainUs == null ? null : b.mainUs - a.mainUs,
  }
}

function memory() {
  return {
    rssMB: process.memoryUsage.rss() / 1048576,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    heapUsedMB: process.memoryUsage().heapUsed / 1048576,
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

module.exports = { snapshot, diff, memory, sleep, mainThreadCpuUs, StallProbe }
