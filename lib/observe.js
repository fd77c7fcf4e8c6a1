'use strict'
// Bounded observability on the JS side: the alert ring buffer and the per-call-site leak
// report. Invariants: alerts.length <= alertBufferSize (oldest evicted first, counted);
// the leak report holds at most REPORT_SITES call sites (least recently seen evicted).

const REPORT_SITES = 100

class Ring {
  constructor(capacity) {
    this.capacity = capacity
    this.items = []
    this.start = 0
    this.evicted = 0
  }
  push(x) {
    if (this.capacity === 0) {
      this.evicted++
      return
    }
    if (this.items.length < this.capacity) {
      this.items.push(x)
    } else {
      this.items[this.start] = x
      this.start = (this.start + 1) % this.capacity
      this.evicted++
    }
  }
  toArray() {
    return this.items.slice(this.start).concat(this.items.slice(0, this.start))
  }
  get size() {
    return this.items.length
  }
}

class Observer {
  constructor(alertCapacity) {
    this.alerts = new Ring(alertCapacity)
    this.sites = new Map()
    this.sitesEvicted = 0
  }

  alert(type, fields) {
    this.alerts.push(Object.assign({ type, at: Date.now() }, fields))
  }

  leak(location, ageMs) {
    const now = Date.now()
    let s = this.sites.get(location)
    if (s) {
      this.sites.delete(location)
    } else {
      s = { location, count: 0, active: 0, firstSeen: now, lastSeen: now, oldestAgeMs: 0 }
      if (this.sites.size >= REPORT_SITES) {
        this.sites.delete(this.sites.keys().next().value)
        this.sitesEvicted++
      }
    }
    s.count++
    s.active++
    s.lastSeen = now
    s.oldestAgeMs = Math.max(s.oldestAgeMs, ageMs)
    this.sites.set(location, s)
  }

  leakEnded(location) {
    const s = this.sites.get(location)
    if (s && s.active > 0) s.active--
  }

  report() {
    return [...this.sites.values()].map((s) => ({ ...s })).sort((a, b) => b.count - a.count || b.lastSeen - a.lastSeen)
  }
}

function promLine(out, name, help, type, value, labels) {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
  if (Array.isArray(value)) {
    for (const [l, v] of value) out.push(`${name}{${l}} ${v}`)
  } else {
    out.push(`${name}${labels ? '{' + labels + '}' : ''} ${value}`)
  }
}

/** Prometheus text exposition (HikariCP's metric set, plus leaks and forced releases). */
function metricsText(m, poolName) {
  const out = []
  const l = `pool="${poolName}"`
  const g = (name, help, v) => promLine(out, `ldp_${name}`, help, 'gauge', v, l)
  const c = (name, help, v) => promLine(out, `ldp_${name}_total`, help, 'counter', v, l)
  const s = (name, help, d) => {
    out.push(`# HELP ldp_${name}_seconds ${help}`, `# TYPE ldp_${name}_seconds summary`)
    for (const [q, k] of [['0.5', 'p50'], ['0.95', 'p95'], ['0.99', 'p99']]) out.push(`ldp_${name}_seconds{${l},quantile="${q}"} ${d[k] / 1000}`)
    out.push(`ldp_${name}_seconds_count{${l}} ${d.count}`)
  }
  g('connections', 'Total connections (opening, idle and in use)', m.pool.total)
  g('connections_idle', 'Idle connections', m.pool.idle)
  g('connections_active', 'Connections checked out', m.connections.active)
  g('connections_pending', 'Callers waiting for a connection', m.pool.waiting)
  g('connections_max', 'Maximum connections', m.pool.max)
  g('connections_min', 'Minimum idle connections kept', m.pool.min)
  c('connections_created', 'Connections opened', m.stats.created)
  c('connections_destroyed', 'Connections closed', m.stats.destroyed)
  c('connections_timeout', 'Acquires that timed out', m.stats.timeouts)
  c('connections_errors', 'Connection errors', m.stats.errors)
  c('connections_acquired', 'Checkouts', m.stats.totalAcquired)
  c('connections_released', 'Releases', m.stats.totalReleased)
  c('leaks_detected', 'Checkouts reported as leaks', m.stats.leaksDetected)
  c('forced_releases', 'Checkouts reclaimed by the pool', m.stats.forcedReleases)
  s('connections_acquire', 'Time to acquire a connection', m.acquireWait)
  s('connections_usage', 'Time connections are held', m.holdTime)
  return out.join('\n') + '\n'
}

module.exports = { Ring, Observer, metricsText }
