'use strict'
// pg's Client, for Submittables (`client.query(submittable)`): pg's Query, pg-cursor,
// pg-query-stream, pg-copy-streams and any object with pg's `submit(connection)` contract.
//
// A Submittable speaks the protocol itself: in `submit(connection)` and in its `handle*`
// methods it writes frontend messages (a portal executed in batches, COPY data, ...), and pg's
// Client routes every backend message to the *active* Submittable's `handle*` methods until
// its ReadyForQuery. Here the same routing runs over a raw session of the core
// (`sessionOpen` / `sessionWrite` / `sessionAck` of the pool's internal interface): the core
// writes what the Submittable writes and hands back every backend message of the session,
// unchanged and as it arrives, with flow control (lib/submit/wire.js), so rows and COPY data
// stream and are never buffered whole.
//
// One Submitter per PoolClient, created at its first Submittable (a client that never sees
// one pays nothing). Ordering is pg's: one Submittable at a time; a query issued while one is
// active waits for its ReadyForQuery (`later`), and so does the next Submittable. A Submittable
// issued while plain queries are still in flight is started at once: the core answers a
// connection's requests in order, so its messages are routed only after theirs.
//
// Invariants: `_busy` from a Submittable's start until its ReadyForQuery (or the connection's
// loss, or the client's release); `_active` is the Submittable messages go to, null from its
// error on (as in pg); the core's session is opened by the first write after a start (a
// Submittable that fails before writing never opens one) and is over once its last part
// arrived; `_queue` is non-empty only while `_busy`, or while a Submittable's ReadyForQuery is
// being handled (drained right after, in order).

const { SubmitConnection } = require('./connection')
const { clientError } = require('../errors')

/** Where the core's session stands (`_core`). */
const NONE = 0
const OPEN = 1
const ENDED = 2

/** Receives the parts of one core session (registered with the completions). */
class SessionFeed {
  constructor(submitter) {
    this._s = submitter
  }

  push(part) {
    if (this._s._feed === this) this._s.connection.stream.feed(part)
  }

  end(part) {
    const s = this._s
    if (s._feed !== this) return
    s._feed = null
    s._core = ENDED
    // The core ends a session with its ReadyForQuery, or — the connection lost, or the
    // checkout no longer usable — with a client-side error frame (`!`: code, message).
    let pos = 0
    while (pos + 5 <= part.length && part[pos] !== 0x21) pos += 1 + part.readInt32BE(pos + 1)
    if (pos >= part.length) return s.connection.stream.feed(part)
    if (pos > 0) s.connection.stream.feed(part.subarray(0, pos))
    const body = pos + 5
    const codeEnd = part.indexOf(0, body)
    const code = part.toString('utf8', body, codeEnd)
    const message = part.toString('utf8', codeEnd + 1, part.indexOf(0, codeEnd + 1))
    s._lost(clientError(code, message))
  }
}

/**
 * What a Submitter needs of its PoolClient, given by the client: `checkoutId()` (0 while it
 * holds none), `types()` (its type parsers), `binary()` (its binary mode), `unusable()` (the error for a client without a
 * checkout), `end()` (client.end(): close its connection), `emit(name, ...args)`, and
 * `started()` / `finished(drain)` around each Submittable that runs (exactly one `finished`
 * per `started`; `drain` is false when the connection was lost or taken away).
 */
class Submitter {
  /** `client`: see above; `pool`: the pool's internal interface (lib/internals.js). */
  constructor(client, pool) {
    this._client = client
    this._pool = pool
    this._active = null
    this._busy = false
    this._core = NONE
    this._feed = null
    this._checkoutId = 0
    // Whether the running Submittable was counted by `started()` and awaits its `finished()`.
    this._counted = false
    this._queue = []
    this.connection = new SubmitConnection(this)
    this._attach(this.connection)
  }

  /**
   * Whether a query must wait its turn (`later`): a Submittable is running, or others wait
   * (a callback run at a Submittable's end queues behind them, as in pg).
   */
  get busy() {
    return this._busy || this._queue.length !== 0
  }

  /** `client.query(submittable, values?, callback?)`, as pg's Client does it. */
  submit(query, values, callback) {
    if (!query.callback) {
      if (typeof values === 'function') query.callback = values
      else if (callback) query.callback = callback
    }
    const readTimeout = query.query_timeout || this._pool.settings.queryTimeoutMs
    if (readTimeout) this._timeout(query, readTimeout)
    // pg's client sets its binary mode on the Submittable, which encodes its own Bind.
    if (this._client.binary() && !query.binary) query.binary = true
    if (query._result && !query._result._types) query._result._types = this._client.types()
    if (this._client.checkoutId() === 0) {
      const err = this._client.unusable()
      process.nextTick(() => query.handleError(err, this.connection))
      return query
    }
    this._queue.push(query)
    this._pulse()
    return query
  }

  /** Runs `fn` (a query's submission) once no Submittable is ahead of it; resolves with its result. */
  later(fn) {
    return new Promise((resolve) => this._queue.push(() => resolve(fn())))
  }

  /** The client no longer holds its checkout (`reason`: why the pool took it; null on release). */
  detached(reason) {
    if (!this._busy) return
    const active = this._active
    this._feed = null
    this._core = ENDED
    this._active = null
    this._busy = false
    this._settle(false)
    // Released by its holder: the core closes the connection in mid-exchange and nobody is
    // told; taken away by the pool: the Submittable learns why.
    if (reason && active) process.nextTick(() => active.handleError(reason, this.connection))
    this._failQueued(reason || this._client.unusable())
  }

  // -- what the connection's stream carries ------------------------------------------------

  /** Frontend bytes of the running Submittable; `cb` once the socket took them. */
  write(bytes, cb) {
    if (this._core === OPEN) return this._pool.sessionWrite(this._checkoutId, bytes, cb)
    if (this._core === NONE && this._busy) {
      this._core = OPEN
      this._feed = new SessionFeed(this)
      this.connection.stream.restartCredit()
      this._pool.sessionOpen(this._checkoutId, this._feed, bytes)
    }
    // Bytes written after the session ended (a Submittable answering an error the loss of
    // its connection caused, say) have nowhere to go.
    cb()
  }

  /** `n` more bytes of the session's reply were consumed. */
  ack(n) {
    if (this._core === OPEN) this._pool.sessionAck(this._checkoutId, n)
  }

  /** The text of statement `name` prepared on this connection (by a query or a Submittable). */
  statementText(name) {
    const checkoutId = this._client.checkoutId()
    const text = checkoutId !== 0 ? this._pool.statementText(checkoutId, name) : null
    return text == null ? undefined : text
  }

  /** Statement `name` was prepared with `text` by a Submittable. */
  noteStatement(name, text) {
    const checkoutId = this._client.checkoutId()
    if (checkoutId !== 0) this._pool.noteStatement(checkoutId, name, text)
  }

  /** pg-cursor's deprecated `end()`: the client's connection ends (client.end()). */
  end() {
    this._client.end()
    process.nextTick(() => this.connection.emit('end'))
  }

  // -- pg's Client ---------------------------------------------------------------------------

  _pulse() {
    while (!this._busy && this._queue.length !== 0) {
      const next = this._queue.shift()
      if (typeof next === 'function') next()
      else this._start(next)
    }
  }

  _start(query) {
    const checkoutId = this._client.checkoutId()
    if (checkoutId === 0) {
      const err = this._client.unusable()
      process.nextTick(() => query.handleError(err, this.connection))
      return
    }
    this._busy = true
    this._active = query
    this._core = NONE
    this._checkoutId = checkoutId
    this._counted = true
    this._client.started()
    const err = query.submit(this.connection)
    if (err) {
      process.nextTick(() => {
        query.handleError(err, this.connection)
        if (this._active === query) {
          this._active = null
          this._busy = false
          const counted = this._take()
          this._pulse()
          if (counted) this._client.finished(true)
        }
      })
    }
  }

  /** Takes the running Submittable's count: whether `finished()` is still owed for it. */
  _take() {
    const counted = this._counted
    this._counted = false
    return counted
  }

  /** The running Submittable is over: `finished(drain)` if it was still owed. */
  _settle(drain) {
    if (this._take()) this._client.finished(drain)
  }

  /** pg's read timeout for a query: its callback gets the error, later results are dropped. */
  _timeout(query, ms) {
    const queryCallback = query.callback || (() => {})
    const timer = setTimeout(() => {
      const error = clientError('LDP_QUERY_TIMEOUT', 'Query read timeout')
      process.nextTick(() => query.handleError(error, this.connection))
      queryCallback(error)
      query.callback = () => {}
      const i = this._queue.indexOf(query)
      if (i > -1) this._queue.splice(i, 1)
    }, ms)
    query.callback = (err, res) => {
      clearTimeout(timer)
      queryCallback(err, res)
    }
  }

  /** The connection was lost mid-session: pg's `_errorAllQueries`. */
  _lost(err) {
    const active = this._active
    this._active = null
    this._busy = false
    this._settle(false)
    if (active) process.nextTick(() => active.handleError(err, this.connection))
    this._failQueued(err)
  }

  /** Queued Submittables fail with `err`; queued queries go on (the core answers them). */
  _failQueued(err) {
    for (const q of this._queue.splice(0)) {
      if (typeof q === 'function') q()
      else process.nextTick(() => q.handleError(err, this.connection))
    }
  }

  _attach(con) {
    const route = (name, deliver) =>
      con.on(name, (msg) => {
        const q = this._active
        if (q === null) return this._unexpected(name)
        deliver(q, msg)
      })
    route('rowDescription', (q, msg) => q.handleRowDescription(msg))
    route('dataRow', (q, msg) => q.handleDataRow(msg))
    route('portalSuspended', (q) => q.handlePortalSuspended(con))
    route('emptyQuery', (q) => q.handleEmptyQuery(con))
    route('commandComplete', (q, msg) => q.handleCommandComplete(msg, con))
    route('copyInResponse', (q) => q.handleCopyInResponse(con))
    route('copyData', (q, msg) => q.handleCopyData(msg, con))
    route('parseComplete', (q) => {
      // A named statement that parsed is not parsed again on this connection.
      if (q.name) {
        con.parsedStatements[q.name] = q.text
        delete con.submittedNamedStatements[q.name]
      }
    })
    con.on('errorMessage', (msg) => {
      const q = this._active
      if (q === null) return this._unexpectedError(msg)
      this._active = null
      if (q.name) delete con.submittedNamedStatements[q.name]
      q.handleError(msg, con)
    })
    con.on('readyForQuery', () => {
      const q = this._active
      this._active = null
      this._busy = false
      const counted = this._take()
      if (q) q.handleReadyForQuery(con)
      this._pulse()
      // As pg: `drain` once the queue is empty, after the callback (which may queue more).
      if (counted) this._client.finished(true)
    })
    con.on('notice', (msg) => this._client.emit('notice', msg))
  }

  /** A message no Submittable expects: pg reports it on the client. */
  _unexpected(name) {
    this._unexpectedError(new Error(`Received unexpected ${name} message from backend.`))
  }

  _unexpectedError(err) {
    this._client.emit('error', err)
  }
}

module.exports = { Submitter }
