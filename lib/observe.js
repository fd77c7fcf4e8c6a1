'use strict'
// Bounded observability on the JS side: the alert ring buffer, the per-call-site leak report
// and the Prometheus text exposition.
//
// Invariants: alerts.size <= alertBufferSize (oldest evicted first, counted in `evicted`);
// the leak report holds at most REPORT_SITES call sites (least recently seen evicted, counted);
// `recent` (the JS entries of the last released checkouts that a native event may still
// describe: one reported as a leak, one released inside a transaction — the core says so at
// release — and one the core had already reclaimed; for leakResolved, a leak report racing
// the release, releasedInTransaction, forceRelease) holds at most RECENT entries. Nothing
// here grows with uptime.

const REPORT_SITES = 100
const RECENT = 256

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
  /** Oldest first. */
  toArray() {
    return this.items.slice(this.start).concat(this.items.slice(0, this.start))
  }
  get size() {
    return this.items.length
  }
}

/** Adds `key -> value` to a Map used as an LRU of at most `cap` entries; true if one was evicted. */
function lruSet(map, key, value, cap) {
  map.delete(key)
  let evicted = false
  if (map.size >= cap) {
    map.delete(map.keys().next().value)
    evicted = true
  }
  map.set(key, value)
  return evicted
}

/** A Map of at most `capacity` entries; the oldest inserted is evicted first. O(1) per set. */
class RecentMap {
  constructor(capacity) {
    this.capacity = capacity
    this.map = new Map()
    this.order = new Array(capacity)
    this.next = 0
  }
  set(key, value) {
    const old = this.order[this.next]
    if (old !== undefined) this.map.delete(old)
    this.order[this.next] = key
    this.next = (this.next + 1) % this.capacity
    this.map.set(key, value)
  }
  get(key) {
    return this.map.get(key)
  }
  get size() {
    return this.map.size
  }
}

class Observer {
  constructor(alertCapacity) {
    this.alerts = new Ring(alertCapacity)
    this.sites = new Map() // location -> { location, count, firstSeen, lastSeen, oldestAgeMs }
    this.sitesEvicted = 0
    this.recent = new RecentMap(RECENT) // checkoutId -> JS checkout entry, after release
  }

  /** Records an alert `{ type, at, id, location, ageMs, ... }`. */
  alert(type, fields) {
    this.alerts.push(Object.assign({ type, at: Date.now() }, fields))
  }

  /**
   * Counts a leak found at `location` (a leaksDetected report or a garbage-collected client),
   * and under its checkout's `tag` if it had one.
   */
  leak(location, ageMs, tag) {
    const now = Date.now()
    let s = this.sites.get(location)
    if (!s) s = { location, count: 0, firstSeen: now, lastSeen: now, oldestAgeMs: 0, tags: {} }
    s.count++
    // Tags per site: bounded by the site's leaks, and sites by REPORT_SITES.
    if (tag != null) s.tags[tag] = (s.tags[tag] || 0) + 1
    s.lastSeen = now
    s.oldestAgeMs = Math.max(s.oldestAgeMs, ageMs)
    if (lruSet(this.sites, location, s, REPORT_SITES)) this.sitesEvicted++
  }

  /** A reported leak at `location` ended (released or reclaimed) after being held `heldMs`. */
  leakEnded(location, heldMs) {
    const s = this.sites.get(location)
    if (s) s.oldestAgeMs = Math.max(s.oldestAgeMs, heldMs)
  }

  /** A checkout was released: keep its entry for native events already on their way. */
  released(checkoutId, entry) {
    this.recent.set(checkoutId, entry)
  }

  /** The entry of a recently released checkout, if still remembered. */
  recentEntry(checkoutId) {
    return this.recent.get(checkoutId)
  }

  /**
   * The "who leaks" view, most leaks first. `live` maps a location to the reported leaks still
   * held there: `{ active, oldestAgeMs }` (ages grow while they are held).
   */
  report(live) {
    return [...this.sites.values()]
      .map((s) => {
        const l = live && live.get(s.location)
        return {
          location: s.location,
          count: s.count,
          active: l ? l.active : 0,
          firstSeen: s.firstSeen,
          lastSeen: s.lastSeen,
          oldestAgeMs: Math.max(s.oldestAgeMs, l ? l.oldestAgeMs : 0),
          tags: Object.assign({}, s.tags),
        }
      })
      .sort((a, b) => b.count - a.count || b.lastSeen - a.lastSeen)
  }

  /** Sizes and capacities of the collections above. */
  memory() {
    return {
      alerts: { size: this.alerts.size, capacity: this.alerts.capacity },
      leakSites: { size: this.sites.size, capacity: REPORT_SITES },
      recentReleases: { size: this.recent.size, capacity: RECENT },
    }
  }
}

// -- Prometheus text exposition (format 0.0.4) --------------------------------------------

function labelValue(v) {
  return String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function fmt(v) {
  if (typeof v !== 'number' || Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  if (Number.isInteger(v)) return String(v)
  return String(Number(v.toPrecision(12)))
}

/**
 * Prometheus text exposition of `getMetrics()`: HikariCP's metric set (connections, idle,
 * active, pending, max, min, timeout, acquire, usage, creation) under the `ldp_` prefix, plus
 * leaks and forced releases. Every family has HELP and TYPE lines; counters end in `_total`;
 * durations are summaries in seconds with cumulative `_sum` and `_count`.
 */
function metricsText(m, poolName) {
  const out = []
  const l = `pool="${labelValue(poolName)}"`
  const family = (name, help, type) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
  const g = (name, help, v) => {
    family(`ldp_${name}`, help, 'gauge')
    out.push(`ldp_${name}{${l}} ${fmt(v)}`)
  }
  const c = (name, help, v) => {
    family(`ldp_${name}_total`, help, 'counter')
    out.push(`ldp_${name}_total{${l}} ${fmt(v)}`)
  }
  const s = (name, help, d) => {
    const n = `ldp_${name}_seconds`
    family(n, help, 'summary')
    for (const [q, k] of [
      ['0.5', 'p50'],
      ['0.95', 'p95'],
      ['0.99', 'p99'],
    ])
      out.push(`${n}{${l},quantile="${q}"} ${fmt(d[k] / 1000)}`)
    out.push(`${n}_sum{${l}} ${fmt((d.sumMs || 0) / 1000)}`, `${n}_count{${l}} ${fmt(d.total || 0)}`)
  }
  g('connections', 'Connections in the pool (opening, idle and in use)', m.pool.total)
  g('connections_idle', 'Idle connections', m.pool.idle)
  g('connections_active', 'Connections checked out', m.connections.active)
  g('connections_pending', 'Callers waiting for a connection', m.pool.waiting)
  g('connections_max', 'Maximum connections', m.pool.max)
  g('connections_min', 'Minimum connections kept', m.pool.min)
  g('connections_oldest_checkout_seconds', 'Age of the oldest checkout', m.connections.oldest / 1000)
  c('connections_created', 'Connections opened', m.stats.created)
  c('connections_destroyed', 'Connections closed', m.stats.destroyed)
  c('connections_timeout', 'Acquires that timed out', m.stats.timeouts)
  c('connections_errors', 'Errors of established connections', m.stats.errors)
  c('connections_connect_errors', 'Failed attempts to open a connection', m.stats.connectErrors)
  c('connections_acquired', 'Checkouts', m.stats.totalAcquired)
  c('connections_released', 'Releases', m.stats.totalReleased)
  c('leaks_detected', 'Checkouts reported as leaks (including garbage-collected clients)', m.stats.leaksDetected)
  c('forced_releases', 'Checkouts reclaimed by the pool (idle, garbage-collected or at end)', m.stats.forcedReleases)
  c('health_checks', 'Health checks of idle connections (healthCheckIntervalMs)', m.stats.healthChecks || 0)
  c('health_check_failures', 'Idle connections evicted because their health check failed', m.stats.healthCheckFailures || 0)
  c('notifications_dropped', 'Notifications dropped while maxQueuedEvents waited for the JS thread', m.stats.notificationsDropped || 0)
  c('notices_dropped', 'Notices dropped (maxQueuedEvents waiting, or collected by one query)', m.stats.noticesDropped || 0)
  s('connections_acquire', 'Time to acquire a connection', m.acquireWait)
  s('connections_usage', 'Time connections are held between checkout and release', m.holdTime)
  s('connections_creation', 'Time to open a connection', m.creation || { p50: 0, p95: 0, p99: 0 })
  const tags = m.tags || []
  if (tags.length) {
    const perTag = (name, help, type, value) => {
      family(`ldp_${name}`, help, type)
      for (const t of tags) {
        const v = value(t)
        if (v != null) out.push(`ldp_${name}{${l},tag="${labelValue(t.tag)}"} ${fmt(v)}`)
      }
    }
    perTag('tag_connections_active', 'Connections held by checkouts of a tag (and its callers queued for the pool)', 'gauge', (t) => t.held)
    perTag('tag_connections_pending', 'Callers waiting for their tag to be under its limit', 'gauge', (t) => t.waiting)
    perTag('tag_connections_max', 'The limit of a tag (tagLimits)', 'gauge', (t) => t.limit)
    perTag('tag_connections_timeout_total', 'Callers that timed out waiting for their tag', 'counter', (t) =>
      t.limit == null ? null : t.timeouts
    )
  }
  return out.join('\n') + '\n'
}

module.exports = { Ring, Observer, metricsText, REPORT_SITES }
