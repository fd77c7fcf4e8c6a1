'use strict'
// How checkouts are presented, in one place. The core reports facts (ids, ages, counts, tags,
// whether a checkout is pool.query's own); call sites, holder lists and messages are made
// here, where the checkout stacks are.

const { clientError } = require('./errors')
const { stackOf, locationOf } = require('./stack')

/**
 * Where a checkout was taken: `pool.query` for pool.query's own checkout, else the app's own
 * frame in the stack captured at connect() (lib/stack.js: outside this library and
 * node_modules, past the pool's `ignoreFrames`, source-mapped), else `tag:<tag>`, else
 * `unknown`. `entry` is JS's CheckoutEntry (undefined when JS has none), `tag` the core's.
 * The same site names a leak, groups getLeakReport() and lists the holders of an exhausted pool.
 */
function siteOf(implicit, entry, tag) {
  if (implicit) return 'pool.query'
  if (entry && entry.holder) return locationOf(entry.holder)
  const t = entry && entry.tag != null ? entry.tag : tag
  return t != null ? `tag:${t}` : 'unknown'
}

/** Active checkout rows (each with its `location`) grouped by site, most clients first. */
function holdersOf(rows) {
  const groups = new Map()
  for (const r of rows) {
    const g = groups.get(r.location) || { location: r.location, count: 0, oldestMs: 0 }
    g.count++
    g.oldestMs = Math.max(g.oldestMs, r.heldMs)
    groups.set(r.location, g)
  }
  return [...groups.values()].sort((x, y) => y.count - x.count || y.oldestMs - x.oldestMs)
}

/**
 * pg's acquire-timeout message with who holds the pool appended, e.g. `timeout exceeded when
 * trying to connect (10/10 in use: 7 held by f (a.js:12) for up to 31.0s; 3 by pool.query for
 * up to 0.2s)`; pg's message alone when nothing is held. For a caller that waited for its
 * `tag` (at its limit `max`), the holders are the tag's: `(tag "export" at its limit, 2/2 in
 * use: 2 held by exportCsv (src/export.js:8) for up to 40.0s)`.
 */
function exhaustionMessage(holders, max, tag) {
  const base = 'timeout exceeded when trying to connect'
  const used = holders.reduce((n, h) => n + h.count, 0)
  const atTag = tag != null ? `tag ${JSON.stringify(tag)} at its limit, ` : ''
  if (used === 0) return atTag ? `${base} (${atTag}${used}/${max} in use)` : base
  const parts = holders.map(
    (h, i) => `${h.count} ${i === 0 ? 'held by ' : 'by '}${h.location} for up to ${(h.oldestMs / 1000).toFixed(1)}s`
  )
  return `${base} (${atTag}${used}/${max} in use: ${parts.join('; ')})`
}

/**
 * One leak as `leaksDetected`/`forceRelease` report it, from the core's facts `l` and JS's
 * entry. The stack is there exactly when one was captured at connect() (see
 * LeakDetectingPool#connect).
 */
function leakOf(l, entry) {
  const holder = entry && entry.holder
  const tag = entry && entry.tag != null ? entry.tag : l.tag == null ? undefined : l.tag
  return {
    id: l.checkoutId,
    ageMs: l.ageMs,
    idleMs: l.idleMs,
    location: siteOf(false, entry, tag),
    stack: holder ? stackOf(holder) : undefined,
    queryCount: l.queryCount,
    inTransaction: l.inTransaction,
    tag,
  }
}

/**
 * What a reclaimed client's later queries reject with: which reclaim, when (`at`, epoch ms;
 * now when not given), after how long.
 */
function reclaimedError(reason, leak, at = Date.now()) {
  const what =
    reason === 'end'
      ? 'was destroyed by pool.end()'
      : reason === 'garbage-collected'
        ? 'was reclaimed after being garbage-collected'
        : 'was force-released by the pool'
  const why =
    reason === 'idle'
      ? leak.idleMs == null
        ? ' (idle longer than forceReleaseAfterMs)' // the core's refusal carries no idle time
        : ` (idle for ${leak.idleMs} ms, over forceReleaseAfterMs)`
      : reason === 'end'
        ? ' (still checked out when endTimeoutMs ran out)'
        : ''
  return clientError(
    'LDP_CLIENT_RECLAIMED',
    `Client ${what} at ${new Date(at).toISOString()} after being held for ${leak.ageMs} ms${why}; its connection was closed. It was checked out at ${leak.location}`
  )
}

/** Why a released client cannot run queries (`at`: epoch ms of the release, 0 if unknown). */
function releasedError(at) {
  const when = at ? ` at ${new Date(at).toISOString()}` : ''
  return clientError('LDP_CLIENT_RELEASED', `Client was released to the pool${when}; a released client cannot run queries`)
}

/** Where a checkout is named once it may have been reported: the reported location, else its site. */
function reportedSite(entry) {
  return entry ? entry.location || siteOf(false, entry) : 'unknown'
}

/** pg-pool's error for a call on a pool after end(). */
function poolEndedError() {
  return new Error('Cannot use a pool after calling end on the pool')
}

module.exports = { siteOf, reportedSite, poolEndedError, holdersOf, exhaustionMessage, leakOf, reclaimedError, releasedError }
