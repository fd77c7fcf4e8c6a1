// Type definitions for leak-detecting-pool — written by hand (the generated binding types are
// in binding.d.ts and are internal). The public API is a drop-in for node-postgres's `pg.Pool`:
// every type here extends or mirrors @types/pg (a dependency), so a `LeakDetectingPool` can be
// passed wherever a `pg.Pool` is expected and its clients wherever a `pg.PoolClient` is.
//
// Covers both entry points: `require('leak-detecting-pool')` (index.js) and
// `import ... from 'leak-detecting-pool'` (index.mjs) export the same names.

/// <reference types="node" />

import { EventEmitter } from 'events'
import type { ConnectionOptions } from 'tls'
import type { DatabaseError as PgDatabaseError } from 'pg-protocol'
import type * as pgTypes from 'pg-types'
import type {
  CustomTypesConfig,
  PoolClient,
  PoolConfig,
  PoolOptions,
  QueryArrayConfig,
  QueryArrayResult,
  QueryConfig,
  QueryConfigValues,
  QueryResult,
  QueryResultRow,
  Submittable,
} from 'pg'

export type {
  CustomTypesConfig,
  FieldDef,
  Notification,
  QueryArrayConfig,
  QueryArrayResult,
  QueryConfig,
  QueryConfigValues,
  QueryResult,
  QueryResultBase,
  QueryResultRow,
} from 'pg'

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/**
 * The leak-detection and safety options LeakDetectingPool adds to pg's. Every one is validated
 * at construction: a wrong type throws a `TypeError`, a value out of range a `RangeError`, both
 * with `code: 'LDP_INVALID_OPTION'` and `option` naming the option.
 */
export interface LeakDetectionOptions {
  /**
   * A checkout held longer than this (milliseconds) is reported once in `leaksDetected`.
   * `0` or `Infinity` turns leak reports and checkout stack capture off; checkouts are still
   * tracked cheaply for `getPoolStatus()`, exhaustion errors and `forceReleaseAfterMs`. A
   * checkout whose own `leakThresholdMs` (`connect({ leakThresholdMs })`) is finite and above 0
   * is still captured and reported.
   * @default 30000
   */
  leakThresholdMs?: number | undefined
  /**
   * How often (milliseconds, > 0) the checker scans checked-out clients.
   * @default 1000
   */
  checkIntervalMs?: number | undefined
  /**
   * Newly found leaks are held back until at least this many unreported ones exist, then
   * reported together in one `leaksDetected` event (integer >= 1).
   * @default 1
   */
  maxLeaksBeforeAlert?: number | undefined
  /**
   * A checkout *idle* this long (milliseconds; no query in flight, idle since the later of
   * checkout and its last query's end) is reclaimed: its connection is destroyed, its slot
   * freed and `forceRelease` fires. `0` (or `Infinity`) disables.
   * @default 300000
   */
  forceReleaseAfterMs?: number | undefined
  /**
   * Capture the caller's stack at every explicit `connect()` that can be reported as a leak
   * (its threshold finite and above 0), formatted only when a report needs it. The implicit
   * checkout of `pool.query()` never captures one. Forced-release, garbage-collection and
   * `end()` reports carry the stack when one was captured.
   * @default true
   */
  captureStacks?: boolean | undefined
  /**
   * Frames captured per checkout stack (integer >= 0), async frames included. The default
   * reaches the app's own frame through Kysely's and Drizzle's connection paths and a helper
   * or two; raise it when more library frames stand between `connect()` and your code.
   * @default 10
   */
  stackTraceLimit?: number | undefined
  /**
   * Frames a report's `location` looks through: the app's own database helpers (a
   * `withTransaction`, a `db/` folder), so that the location names the code that called them.
   * A string matches a frame whose text `fn (file:line:col)` contains it, a RegExp one it
   * matches (either position of a source-mapped frame). Frames of this library, of Node and
   * under `node_modules` are always looked through. Matching frames stay in the stack.
   * @default []
   */
  ignoreFrames?: ReadonlyArray<string | RegExp> | undefined
  /**
   * Capacity of the alert ring buffer returned by `getAlerts()` (integer >= 1); the oldest
   * alert is evicted first.
   * @default 100
   */
  alertBufferSize?: number | undefined
  /**
   * Capacity of the metrics history ring buffer (integer >= 0).
   * @default 100
   */
  metricsHistorySize?: number | undefined
  /**
   * Sampling cadence of the metrics history (milliseconds, > 0).
   * @default 10000
   */
  metricsIntervalMs?: number | undefined
  /**
   * Bound on callers queued in `connect()`/`query()` (integer >= 0 or `Infinity`). Beyond it
   * the call rejects at once with `code: 'LDP_QUEUE_FULL'`.
   * @default Infinity
   */
  maxWaiting?: number | undefined
  /**
   * Containment: the most connections checkouts with each tag (`connect({ tag })`,
   * `query({ text, tag })`) may hold at once, e.g. `{ 'report-export': 2 }`. Further callers
   * of that tag wait in their own queue (never in front of untagged callers or other tags),
   * bounded by `connectionTimeoutMillis` (`code: 'LDP_TAG_LIMIT_TIMEOUT'`) and `maxWaiting`.
   * Change at run time with `setTagLimit`.
   * @default {}
   */
  tagLimits?: { [tag: string]: number } | undefined
  /**
   * Health checks of idle connections (milliseconds; `0` or `Infinity`: off). A connection idle
   * at least this long gets an empty query, one connection at a time per pool, never a
   * checked-out one; one that fails or does not answer within `connectionTimeoutMillis` (5 s
   * when that is 0) is evicted, emitting `error` then `remove` as pg does for an idle
   * connection that died. Costs one round trip per idle connection per interval; finds
   * connections a network drop killed silently before a caller gets one.
   * @default 0
   */
  healthCheckIntervalMs?: number | undefined
  /**
   * How long (milliseconds) `end()` waits for checked-out clients before destroying them; each
   * one destroyed is reported through `forceRelease` with `reason: 'end'`. `0` destroys at once.
   * @default 10000
   */
  endTimeoutMs?: number | undefined
  /**
   * Prepared statements kept per connection (LRU, integer >= 0). `0` disables the cache and
   * uses only unnamed statements (e.g. behind PgBouncer in transaction mode).
   * @default 100
   */
  statementCacheSize?: number | undefined
  /**
   * The most bytes a backend message carrying data (a row, an error, a notice, a notification)
   * may declare; other messages are bounded by libpq's 30,000 bytes. A message over its bound
   * fails its connection (`LDP_PROTOCOL`) before its body is read. Default 1 GiB.
   */
  maxMessageSize?: number | undefined
  /**
   * The most notifications and notices waiting for the JS thread, and notices kept per query;
   * the newest beyond are dropped, counted in `getMetrics().stats` and announced once with a
   * process warning (`LDP_EVENTS_DROPPED`). Default 10000.
   */
  maxQueuedEvents?: number | undefined
  /**
   * pg's `defaults.parseInputDatesAsUTC` as a pool option: `Date` parameters are sent as UTC
   * text (`+00:00`) instead of local time with the local offset.
   * @default pg.defaults.parseInputDatesAsUTC when the app loaded pg, else false
   */
  parseInputDatesAsUTC?: boolean | undefined
}

/**
 * The constructor's options: all of pg.Pool's and pg.Client's (with pg's defaults and `PG*`
 * environment variables) plus {@link LeakDetectionOptions}.
 */
export interface LeakDetectingPoolConfig extends PoolConfig, LeakDetectionOptions {
  /**
   * pg-pool's alias of `max`, used when `max` is absent or 0.
   * @default 10
   */
  poolSize?: number | undefined
  /**
   * pg's `scramMaxIterations`: the highest SCRAM-SHA-256 iteration count a server may ask for
   * (`0`: no limit); a number or a numeric string.
   * @default 100000
   */
  scramMaxIterations?: number | string | undefined
  /**
   * libpq's `require_auth` (also `require_auth` in a connection string, or `PGREQUIREAUTH`):
   * the authentication methods the server may use — `'password'`, `'md5'`, `'scram-sha-256'`,
   * `'gss'`, `'sspi'`, `'none'` — as a comma-separated string or an array, or, each prefixed
   * with `!`, the ones it may not. A server asking for another fails the connection
   * (`LDP_AUTH_REFUSED`).
   * @default any method
   */
  requireAuth?: string | readonly string[] | undefined
  /**
   * libpq's `channel_binding` (also in a connection string, or `PGCHANNELBINDING`): `'prefer'`
   * binds SCRAM to the TLS channel (SCRAM-SHA-256-PLUS) when the server offers it,
   * `'require'` refuses any authentication that is not bound, `'disable'` never binds.
   * pg's `enableChannelBinding: false` means `'disable'`.
   * @default 'prefer'
   */
  channelBinding?: 'disable' | 'prefer' | 'require' | undefined
  /**
   * pg's `sslnegotiation` (also `PGSSLNEGOTIATION`, or in a connection string): `'direct'`
   * starts the TLS handshake at once (PostgreSQL 17 and later) and needs TLS on.
   * @default 'postgres'
   */
  sslnegotiation?: 'postgres' | 'direct' | undefined
  /**
   * pg's binary mode: every client's extended-protocol queries (with values, a name or
   * `queryMode: 'extended'`) fetch their results in binary format, parsed by
   * `types.getTypeParser(oid, 'binary')`; simple-protocol queries stay text. A query config
   * may also ask for it alone (`binary: true`). `pg.defaults.binary: true` turns it on too.
   * @default false
   */
  binary?: boolean | undefined
}

/** `pool.options`: a copy of the options with pg-pool's defaults filled in (password hidden). */
export interface LeakDetectingPoolOptions extends PoolOptions, LeakDetectionOptions {
  min: number
  poolSize?: number | undefined
}

/** Per-checkout metadata and overrides: `pool.connect({ tag, leakThresholdMs, forceReleaseAfterMs })`. */
export interface ConnectOptions {
  /** A label shown in leak reports, `getPoolStatus()` and alerts (e.g. `'nightly-migration'`). */
  tag?: string | undefined
  /** This checkout's leak threshold in milliseconds; `0` exempts it (no report, no stack captured). */
  leakThresholdMs?: number | undefined
  /** This checkout's forced-release idle limit in milliseconds; `0` exempts it. */
  forceReleaseAfterMs?: number | undefined
}

/** pg's query config plus the per-query options pg also reads. */
export interface LeakDetectingQueryConfig<I = any[]> extends QueryConfig<I> {
  /** Client-side timeout of this query (ms); rejects with `code: 'LDP_QUERY_TIMEOUT'`. */
  query_timeout?: number | undefined
  /** `'extended'` forces the extended protocol even without values (as in pg). */
  queryMode?: 'extended' | undefined
  /** Runs this `pool.query` on a checkout with this tag: it counts for the tag and its limit. */
  tag?: string | undefined
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

/** A query callback, typed as in @types/pg: at run time `err` is `undefined` on success and `result` is `undefined` on error. */
type QueryCallback<R> = (err: Error, result: R) => void

/**
 * What `pool.connect()` resolves to. The same object is passed to `acquire`/`release`
 * listeners, and handed out again for the same connection.
 *
 * After `release()` every query rejects with `code: 'LDP_CLIENT_RELEASED'`; after the pool
 * reclaimed it (forced release, `end()`), with `code: 'LDP_CLIENT_RECLAIMED'` and a message that
 * says when and after how long. A second `release()` throws pg's error, except after a reclaim,
 * where it is a silent no-op.
 */
export interface LeakDetectingPoolClient extends PoolClient {
  /** The backend process id (PostgreSQL's `pg_backend_pid()`). */
  readonly processID: number
  /** Whether the pool was created with `pipeline: true` (pg's `client.pipeline`). */
  readonly pipeline: boolean
  /** How this connection started TLS (pg's `client.sslNegotiation`; `'postgres'` without TLS). */
  readonly sslNegotiation: 'postgres' | 'direct'
  /** pg's `client.connectionParameters`: what this connection uses, as the pool resolved it. */
  readonly connectionParameters: LeakDetectingConnectionParameters
  /** Whether no query of this client is running and its connection can take one. */
  readonly readyForQuery: boolean
  /** This checkout's tag (from `connect({ tag })`); setting it updates the live checkout. */
  tag: string | undefined
  /**
   * Changes this checkout's leak threshold (milliseconds, >= 0; `0` exempts it), e.g. when a
   * request turns out to be a long-running job. Throws a `RangeError` for anything else.
   */
  setLeakThreshold(ms: number): void
  /** Gives the client back; `release(err)` / `release(true)` destroys its connection instead. */
  release(err?: Error | boolean): void
  /** Asks the server to cancel the statement running on this client's connection. */
  cancel(): Promise<void>

  /**
   * Runs a Submittable (pg-cursor, pg-query-stream, pg-copy-streams, `new pg.Query(...)`) on
   * this client, as pg's client does, and returns it.
   */
  query<T extends Submittable>(queryStream: T): T
  query<R extends any[] = any[], I = any[]>(queryConfig: QueryArrayConfig<I>, values?: QueryConfigValues<I>): Promise<QueryArrayResult<R>>
  query<R extends QueryResultRow = any, I = any[]>(queryConfig: LeakDetectingQueryConfig<I>): Promise<QueryResult<R>>
  query<R extends QueryResultRow = any, I = any[]>(
    queryTextOrConfig: string | LeakDetectingQueryConfig<I>,
    values?: QueryConfigValues<I>
  ): Promise<QueryResult<R>>
  query<R extends any[] = any[], I = any[]>(queryConfig: QueryArrayConfig<I>, callback: QueryCallback<QueryArrayResult<R>>): void
  query<R extends QueryResultRow = any, I = any[]>(
    queryTextOrConfig: string | LeakDetectingQueryConfig<I>,
    callback: QueryCallback<QueryResult<R>>
  ): void
  query<R extends QueryResultRow = any, I = any[]>(
    queryText: string,
    values: QueryConfigValues<I>,
    callback: QueryCallback<QueryResult<R>>
  ): void

  /** @deprecated Not supported: COPY is not available through LeakDetectingPool; this method does not exist. */
  copyFrom(queryText: string): never
  /** @deprecated Not supported: COPY is not available through LeakDetectingPool; this method does not exist. */
  copyTo(queryText: string): never
}

/**
 * pg's `ConnectionParameters` of a pool's connections (also what a `password` function
 * receives): options, connection string, `PG*` environment and defaults merged. It never holds
 * the password.
 */
export interface LeakDetectingConnectionParameters {
  user: string
  database: string
  port: number
  /** Host name, or the directory of a unix socket. */
  host: string
  /** The `binary` option, else `pg.defaults.binary`: extended-protocol results are fetched in binary format. */
  binary: boolean
  options: string | undefined
  ssl: boolean | ConnectionOptions
  /** `'direct'` when TLS starts directly; otherwise the option as given (undefined when not). */
  sslnegotiation: 'postgres' | 'direct' | undefined
  /** The `client_encoding` option as given (else `pg.defaults.client_encoding`), else `''`. */
  client_encoding: string
  /**
   * Not in pg: the authentication methods the server may use, in effect (`require_auth` in the
   * connection string, else `requireAuth`, else `PGREQUIREAUTH`), as a comma-separated list
   * (`'scram-sha-256,none'`, `'!password,!md5'`); undefined when any method is accepted.
   */
  require_auth: string | undefined
  /**
   * Not in pg: channel binding in effect (`channel_binding` in the connection string, else
   * `channelBinding` or `enableChannelBinding`, else `PGCHANNELBINDING`, else `'prefer'`).
   */
  channel_binding: 'disable' | 'prefer' | 'require'
  replication: string | undefined
  isDomainSocket: boolean
  application_name: string | undefined
  /** The option as given. */
  fallback_application_name: string | undefined
  /** Milliseconds, or false when not set. */
  statement_timeout: number | false
  lock_timeout: number | false
  idle_in_transaction_session_timeout: number | false
  query_timeout: number | false
  /** Seconds (0: none). */
  connect_timeout: number
  /** `1` with `keepAlive: true`, `0` with `keepAlive: false`, absent otherwise. */
  keepalives?: number
  /** Seconds; present when `keepAliveInitialDelayMillis` is a number. */
  keepalives_idle?: number
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/** One leaked checkout in a `leaksDetected` event. */
export interface LeakInfo {
  /** Checkout id (unique per pool; the same id appears in `forceRelease`, `leakResolved`, alerts). */
  id: number
  /** Milliseconds since checkout. */
  ageMs: number
  /** Milliseconds since the later of checkout and the end of its last query (0 while a query runs). */
  idleMs: number
  /**
   * The acquisition site: the first stack frame of the app's own code (outside this library
   * and `node_modules`, past `ignoreFrames`), e.g. `handler (/app/src/a.ts:12:30)`, mapped
   * through the compiled file's source map when it has one; the first frame outside this
   * library when no captured frame is the app's; `'tag:<tag>'` or `'unknown'` when no stack
   * was captured.
   */
  location: string
  /**
   * The checkout stack: this library's and Node's frames trimmed, other libraries' kept for
   * context; a source-mapped frame shows its generated position after it in brackets;
   * `undefined` when none was captured.
   */
  stack: string | undefined
  /** Queries run on the connection so far. */
  queryCount: number
  /** Whether the connection is inside a transaction block (open or failed). */
  inTransaction: boolean
  /** The checkout's tag, if any. */
  tag: string | undefined
  /** Set for a client that was garbage-collected while checked out (its connection was reclaimed). */
  reason?: 'garbage-collected' | undefined
}

/** Payload of `leaksDetected`: each checkout is reported exactly once. */
export interface LeaksDetectedEvent {
  /** Number of leaks in this event (`leaks.length`). */
  count: number
  /** Oldest first. */
  leaks: LeakInfo[]
}

/** Payload of `forceRelease`: emitted after the connection was destroyed and its slot freed. */
export interface ForceReleaseEvent {
  id: number
  /** Milliseconds since checkout (same as `ageMs`; kept for the classic wrapper's shape). */
  age: number
  ageMs: number
  idleMs: number
  location: string
  stack: string | undefined
  /** `'idle'`: idle past `forceReleaseAfterMs`; `'end'`: still checked out when `end()`'s grace period ran out. */
  reason: 'idle' | 'end'
  tag: string | undefined
}

/** Payload of `leakResolved`: a checkout reported as a leak was released after all. */
export interface LeakResolvedEvent {
  id: number
  /** Milliseconds it was held in total. */
  heldMs: number
  location: string
}

// ---------------------------------------------------------------------------------------------
// Observability
// ---------------------------------------------------------------------------------------------

/** One checked-out client in `getPoolStatus().activeConnections`. */
export interface ActiveConnection {
  /** Checkout id. */
  id: number
  heldMs: number
  idleMs: number
  /** Over its leak threshold (reported, or held back by `maxLeaksBeforeAlert`). */
  isPotentialLeak: boolean
  /** Acquisition site (as in {@link LeakInfo.location}); `'pool.query'` for the implicit checkout of `pool.query()`. */
  location: string
  tag: string | undefined
  /** The implicit checkout of `pool.query()` (never reported or reclaimed). */
  implicit: boolean
  queryCount: number
  inTransaction: boolean
}

/** `getPoolStatus()`: counts taken together under one lock, plus every active checkout (oldest first). */
export interface PoolStatus {
  total: number
  idle: number
  waiting: number
  /** Checked-out clients. */
  active: number
  /** Checked-out clients past `maxLifetimeSeconds` (pg's `expiredCount`). */
  expired: number
  max: number
  /** `active / max`. */
  utilization: number
  activeConnections: ActiveConnection[]
  /** Per tag held, waited for or limited, sorted by tag. */
  tags: TagCount[]
}

/** One tag's containment numbers (`getPoolStatus().tags`, `getMetrics().tags`). */
export interface TagCount {
  tag: string
  /** Connections its checkouts hold, plus its callers already queued for the pool. */
  held: number
  /** Callers waiting for the tag to be under its limit. */
  waiting: number
  /** Its limit (`tagLimits`, `setTagLimit`); `null` when it has none. */
  limit: number | null
  /** Callers that timed out waiting for the tag (counted while it has a limit). */
  timeouts: number
}

/**
 * A duration distribution in milliseconds: percentiles of the most recent observations (at most
 * 1024 kept), plus the all-time number and sum of observations.
 */
export interface Percentiles {
  /** Recent observations the percentiles are computed from. */
  count: number
  p50: number
  p95: number
  p99: number
  max: number
  /** All observations since the pool was created. */
  total: number
  /** Sum of all observations (ms). */
  sumMs: number
}

/** One entry of the metrics history, taken every `metricsIntervalMs`. */
export interface MetricsSample {
  /** Epoch milliseconds. */
  at: number
  total: number
  idle: number
  waiting: number
  active: number
  totalAcquired: number
  totalReleased: number
  leaksDetected: number
  forcedReleases: number
  timeouts: number
  /** Connection errors plus failed connection attempts, since the pool was created. */
  errors: number
}

/** Monotonic counters since the pool was created. */
export interface PoolStats {
  /** Checkouts (explicit `connect()` and the implicit one of `pool.query()`). */
  totalAcquired: number
  totalReleased: number
  /** Connections opened. */
  created: number
  /** Connections closed (any reason). */
  destroyed: number
  /** Failed connection attempts. */
  connectErrors: number
  /** Connections that failed after being opened. */
  errors: number
  /** `connect()`/`query()` calls that timed out waiting (`connectionTimeoutMillis`). */
  timeouts: number
  /** Checkouts reported as leaks (including garbage-collected ones). */
  leaksDetected: number
  /** Checkouts reclaimed by the pool (idle, `end()`, garbage-collected). */
  forcedReleases: number
  /** Health checks of idle connections run (`healthCheckIntervalMs`). */
  healthChecks: number
  /** Of those, the ones that failed: the connection was evicted (`error`, then `remove`). */
  healthCheckFailures: number
  /** Notifications dropped because `maxQueuedEvents` were waiting for the JS thread. */
  notificationsDropped: number
  /** Notices dropped: `maxQueuedEvents` waiting, or one query had collected that many. */
  noticesDropped: number
}

/** `getMetrics()`. */
export interface PoolMetrics {
  pool: { total: number; idle: number; waiting: number; max: number; min: number }
  connections: {
    active: number
    /** Milliseconds the oldest current checkout has been held (0 if none). */
    oldest: number
  }
  stats: PoolStats
  /** `leaksDetected / totalAcquired` (0 before the first checkout). */
  leakRate: number
  /** Time callers waited for a client. */
  acquireWait: Percentiles
  /** Time clients were held between checkout and release. */
  holdTime: Percentiles
  /** Time to open a connection. */
  creation: Percentiles
  /** The last `metricsHistorySize` samples, oldest first. */
  history: MetricsSample[]
  /** Per tag held, waited for or limited, sorted by tag. */
  tags: TagCount[]
}

/** Fields every alert has. */
export interface AlertBase {
  /** Epoch milliseconds when the alert was recorded. */
  at: number
  /** Checkout id. */
  id: number
  /** Acquisition site of the checkout. */
  location: string
  /** Milliseconds the checkout had been held. */
  ageMs: number
}

/** One entry of `getAlerts()` (newest last). */
export type Alert =
  | (AlertBase & { type: 'leak' | 'garbage-collected'; idleMs: number; tag: string | undefined; stack: string | undefined })
  | (AlertBase & {
      type: 'force-release' | 'destroyed-by-end'
      idleMs: number
      tag: string | undefined
      stack: string | undefined
      reason: 'idle' | 'end'
    })
  | (AlertBase & { type: 'leak-resolved' })
  | (AlertBase & {
      type: 'released-in-transaction'
      /** The client was released inside an open (`'in-transaction'`) or failed transaction; it was rolled back (or destroyed) before reuse. */
      status: 'in-transaction' | 'failed-transaction'
    })

/** One acquisition site in `getLeakReport()` (most leaks first). */
export interface LeakReportEntry {
  location: string
  /** Leaks reported from this site since the pool was created. */
  count: number
  /** Of those, how many are still checked out. */
  active: number
  /** Epoch milliseconds of the first and last report from this site. */
  firstSeen: number
  lastSeen: number
  /** The longest (ms) a leak from this site has been held: until it ended, or until now if still checked out. */
  oldestAgeMs: number
  /** How many of this site's leaks were checkouts of each tag. */
  tags: { [tag: string]: number }
}

/** Size and capacity of one internal collection. */
export interface CollectionUsage {
  size: number
  /** The bound; `Infinity` only where the option that bounds it is `Infinity` (`maxWaiting`). */
  capacity: number
}

/** `getMemoryUsage()`: every internal collection (Rust core and JS layer) with its bound. */
export interface MemoryUsage {
  /** Idle connections (bounded by `max`). */
  idle: CollectionUsage
  /** The core's checkout registry (bounded by `max`). */
  checkoutRegistry: CollectionUsage
  /** Connections whose removal has started (bounded by `max`). */
  removing: CollectionUsage
  /** Queued callers (bounded by `maxWaiting`). */
  waiters: CollectionUsage
  /** Callers waiting for their tag (bounded by `maxWaiting`). */
  tagWaiters: CollectionUsage
  /** Tags with a connection held or a caller waiting (bounded by `max` + `maxWaiting`). */
  tags: CollectionUsage
  /** The metrics history ring (`metricsHistorySize`). */
  history: CollectionUsage
  acquireWaitSamples: CollectionUsage
  holdTimeSamples: CollectionUsage
  creationSamples: CollectionUsage
  /** The alert ring buffer (`alertBufferSize`). */
  alerts: CollectionUsage
  /** Call sites in the leak report. */
  leakSites: CollectionUsage
  /** Recently released checkouts kept for events already on their way. */
  recentReleases: CollectionUsage
  /** JS checkout entries with their stacks (bounded by `max`). */
  checkoutStacks: CollectionUsage
  /** Client objects: live connections (<= `max`) plus those whose removal has not finished (<= `max`). */
  clients: CollectionUsage
  /** Source maps read for reports, one cache for the whole process (at most 256 files). */
  sourceMaps: CollectionUsage
  [collection: string]: CollectionUsage
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** The stable `code`s of LeakDetectingPool's own errors (server errors carry their SQLSTATE). */
export type LeakDetectingPoolErrorCode =
  | 'LDP_INVALID_OPTION'
  | 'LDP_POOL_ENDED'
  | 'LDP_END_TWICE'
  | 'LDP_ACQUIRE_TIMEOUT'
  | 'LDP_TAG_LIMIT_TIMEOUT'
  | 'LDP_CONNECT_TIMEOUT'
  | 'LDP_QUEUE_FULL'
  | 'LDP_IO'
  | 'LDP_TLS_UNSUPPORTED'
  | 'LDP_TLS'
  | 'LDP_AUTH'
  | 'LDP_CONNECTION_TERMINATED'
  | 'LDP_CLIENT_RELEASED'
  | 'LDP_CLIENT_RECLAIMED'
  | 'LDP_PROTOCOL'
  | 'LDP_QUERY_TIMEOUT'
  | 'LDP_INVALID_QUERY'
  | 'LDP_STATEMENT_NAME_REUSED'
  /** Thrown by `require`/`import` of the package when no native addon loads (see the README). */
  | 'LDP_NATIVE_ADDON'

/** One of LeakDetectingPool's own errors. */
export interface LeakDetectingPoolError extends Error {
  code: LeakDetectingPoolErrorCode
}

/** Who holds the pool, per acquisition site (on `LDP_ACQUIRE_TIMEOUT` errors as `err.holders`). */
export interface PoolHolder {
  /** Acquisition site, `'pool.query'`, `'tag:<tag>'` or `'unknown'`. */
  location: string
  count: number
  /** Milliseconds the oldest of them has been held. */
  oldestMs: number
}

/**
 * The exhaustion error: pg's message (`timeout exceeded when trying to connect`) followed by
 * who holds the pool, e.g. `(10/10 in use: 7 held by leaky (src/a.js:12:9) for up to 31.0s; 3 by
 * pool.query for up to 0.2s)`.
 */
export interface PoolExhaustedError extends LeakDetectingPoolError {
  code: 'LDP_ACQUIRE_TIMEOUT'
  holders: PoolHolder[]
}

/**
 * A caller that waited `connectionTimeoutMillis` for its tag, which stayed at its limit:
 * pg's message followed by who holds the tag, e.g. `(tag "export" at its limit, 2/2 in use: 2
 * held by exportCsv (src/export.js:8:20) for up to 40.0s)`.
 */
export interface TagLimitTimeoutError extends LeakDetectingPoolError {
  code: 'LDP_TAG_LIMIT_TIMEOUT'
  tag: string
  /** The tag's checkouts by acquisition site. */
  holders: PoolHolder[]
}

/** An invalid constructor option (thrown as a `TypeError` or `RangeError`). */
export interface InvalidOptionError extends TypeError {
  code: 'LDP_INVALID_OPTION'
  /** The option at fault, e.g. `'max'`, `'ssl.ca'`, `'PGPORT'` or `'connectionString'`. */
  option: string
}

/**
 * A server error (PostgreSQL `ErrorResponse`): pg's own class (pg-protocol's `DatabaseError`,
 * which pg re-exports), so `err instanceof DatabaseError` and `err instanceof pg.DatabaseError`
 * both hold. `code` is the SQLSTATE; all of pg's fields are set.
 */
export declare const DatabaseError: typeof PgDatabaseError
export type DatabaseError = PgDatabaseError

// ---------------------------------------------------------------------------------------------
// The pool
// ---------------------------------------------------------------------------------------------

/**
 * A drop-in replacement for `pg.Pool` that reports leaked clients with the stack of the code
 * that took them, reclaims stuck clients, and exposes bounded metrics.
 *
 * @example
 * import { Pool } from 'leak-detecting-pool' // instead of: import { Pool } from 'pg'
 * const pool = new Pool({ connectionString: process.env.DATABASE_URL, leakThresholdMs: 10_000 })
 * pool.on('leaksDetected', ({ leaks }) => log.warn({ leaks }, 'leaked clients'))
 */
export declare class LeakDetectingPool extends EventEmitter {
  /**
   * Creates a pool; no connection is opened until the first `connect()`/`query()`.
   * Throws a `TypeError`/`RangeError` ({@link InvalidOptionError}) for an invalid option.
   */
  constructor(config?: LeakDetectingPoolConfig)

  /** Connections: opening, idle, checked out, or being cleaned up before reuse. */
  readonly totalCount: number
  readonly idleCount: number
  /** Callers queued for a client. */
  readonly waitingCount: number
  /** Checked-out clients past `maxLifetimeSeconds`. */
  readonly expiredCount: number
  readonly ending: boolean
  readonly ended: boolean
  /** The options with pg-pool's defaults; `password` is not enumerable. */
  options: LeakDetectingPoolOptions

  /** Checks out a client; its stack is captured (unformatted) for leak reports. */
  connect(options?: ConnectOptions): Promise<LeakDetectingPoolClient>
  connect(callback: (err: Error | undefined, client: LeakDetectingPoolClient | undefined, done: (release?: any) => void) => void): void
  connect(
    options: ConnectOptions,
    callback: (err: Error | undefined, client: LeakDetectingPoolClient | undefined, done: (release?: any) => void) => void
  ): void

  /**
   * Runs a Submittable on a pooled client, as pg-pool does: the client is released when the
   * Submittable calls its callback (`new pg.Query(...)`, pg-query-stream at its end), and the
   * promise settles with what it passed. A Submittable that never calls back (pg-cursor,
   * pg-copy-streams) keeps its client: check one out with `connect()` for those. Typed loosely
   * (`any`) so that the pool stays assignable to `@types/pg`'s `Pool`, which declares the
   * Submittable itself as the return value.
   */
  query<T extends Submittable>(queryStream: T): any
  /** Runs one statement on an idle client. Multi-statement text without values resolves to an array of results, as in pg. */
  query<R extends any[] = any[], I = any[]>(queryConfig: QueryArrayConfig<I>, values?: QueryConfigValues<I>): Promise<QueryArrayResult<R>>
  query<R extends QueryResultRow = any, I = any[]>(queryConfig: LeakDetectingQueryConfig<I>): Promise<QueryResult<R>>
  query<R extends QueryResultRow = any, I = any[]>(
    queryTextOrConfig: string | LeakDetectingQueryConfig<I>,
    values?: QueryConfigValues<I>
  ): Promise<QueryResult<R>>
  query<R extends any[] = any[], I = any[]>(queryConfig: QueryArrayConfig<I>, callback: QueryCallback<QueryArrayResult<R>>): void
  query<R extends QueryResultRow = any, I = any[]>(
    queryTextOrConfig: string | LeakDetectingQueryConfig<I>,
    callback: QueryCallback<QueryResult<R>>
  ): void
  query<R extends QueryResultRow = any, I = any[]>(
    queryText: string,
    values: QueryConfigValues<I>,
    callback: QueryCallback<QueryResult<R>>
  ): void

  /**
   * Ends the pool: refuses new work, closes idle connections, waits up to `endTimeoutMs` for
   * checked-out clients, then destroys them (each reported through `forceRelease` with
   * `reason: 'end'`). Never hangs on a leaked client. A second call rejects with pg's error.
   */
  end(): Promise<void>
  end(callback: (err?: Error) => void): void

  /** Counts and every active checkout. */
  getPoolStatus(): PoolStatus
  /** Counters, acquire-wait and hold-time distributions. */
  getMetrics(): PoolMetrics
  /** The alert ring buffer, newest last (at most `alertBufferSize` entries). */
  getAlerts(): Alert[]
  /** Leaks grouped by acquisition site, most leaks first: the "who leaks" view. */
  getLeakReport(): LeakReportEntry[]
  /** The metrics in Prometheus text exposition format (metric names prefixed `ldp_`). */
  metricsText(): string
  /** Size and capacity of every internal collection. */
  getMemoryUsage(): MemoryUsage
  /**
   * Sets the most connections checkouts tagged `tag` may hold at once (a positive integer), or
   * removes the limit (`null`/`undefined`/`Infinity`). Raising it lets the tag's waiting
   * callers through at once; lowering it takes no connection away.
   */
  setTagLimit(tag: string, limit: number | null | undefined): void
  toJSON(): {
    options: LeakDetectingPoolOptions
    totalCount: number
    idleCount: number
    waitingCount: number
    ending: boolean
    ended: boolean
  }

  /** A new connection was opened (before `acquire`); `client` is the object `connect()` resolves to. */
  on(event: 'connect', listener: (client: LeakDetectingPoolClient) => void): this
  /** A client was checked out. */
  on(event: 'acquire', listener: (client: LeakDetectingPoolClient) => void): this
  /** A client was released; `err` is what `release(err)` was given (usually `undefined`). */
  on(event: 'release', listener: (err: Error | undefined, client: LeakDetectingPoolClient) => void): this
  /** A connection's removal finished. */
  on(event: 'remove', listener: (client: LeakDetectingPoolClient) => void): this
  /** An *idle* client's connection failed; it was removed first and `err.client` is set. Never a leak. */
  on(event: 'error', listener: (err: Error, client: LeakDetectingPoolClient) => void): this
  /** Checkouts held past their leak threshold; each is reported once. */
  on(event: 'leaksDetected', listener: (event: LeaksDetectedEvent) => void): this
  /** A checkout was reclaimed by the pool: connection destroyed, slot freed. */
  on(event: 'forceRelease', listener: (event: ForceReleaseEvent) => void): this
  /** A checkout reported as a leak was released after all. */
  on(event: 'leakResolved', listener: (event: LeakResolvedEvent) => void): this
  /** @types/pg's signature, kept so that this pool is assignable to `pg.Pool`. */
  on<K extends 'error' | 'release' | 'connect' | 'acquire' | 'remove'>(
    event: K,
    listener: K extends 'error' | 'release'
      ? (err: Error, client: LeakDetectingPoolClient) => void
      : (client: LeakDetectingPoolClient) => void
  ): this

  once(event: 'connect' | 'acquire' | 'remove', listener: (client: LeakDetectingPoolClient) => void): this
  once(event: 'release', listener: (err: Error | undefined, client: LeakDetectingPoolClient) => void): this
  once(event: 'error', listener: (err: Error, client: LeakDetectingPoolClient) => void): this
  once(event: 'leaksDetected', listener: (event: LeaksDetectedEvent) => void): this
  once(event: 'forceRelease', listener: (event: ForceReleaseEvent) => void): this
  once(event: 'leakResolved', listener: (event: LeakResolvedEvent) => void): this
  once<K extends 'error' | 'release' | 'connect' | 'acquire' | 'remove'>(
    event: K,
    listener: K extends 'error' | 'release'
      ? (err: Error, client: LeakDetectingPoolClient) => void
      : (client: LeakDetectingPoolClient) => void
  ): this
}

export { LeakDetectingPool as Pool }
export default LeakDetectingPool

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/**
 * The result parsers: pg-types itself (the same module as `require('pg').types` when npm gave
 * both one copy). `types.setTypeParser(...)` here, on pg's `types` or on `require('pg-types')`
 * changes every pool's (and pg's) default; pass an object with `getTypeParser` as the `types`
 * option for one pool only.
 */
export declare const types: typeof pgTypes

/** pg's `escapeIdentifier`: `"name"` with embedded double quotes doubled. */
export declare function escapeIdentifier(str: string): string
/** pg's `escapeLiteral`: `'text'` with quotes doubled, as ` E'...'` when it contains backslashes. */
export declare function escapeLiteral(str: string): string
