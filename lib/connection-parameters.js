'use strict'
// pg's ConnectionParameters: `client.connectionParameters`, and the argument pg hands a password
// function (`password(params)`). Every fact the core decides (host, port, user, database, TLS,
// the startup parameters, the timeouts) comes from its resolved view (lib/options.js) — never
// from re-reading the options or the connection string. What pg only echoes from the options as
// given (client_encoding, fallback_application_name, whether sslnegotiation or keepAlive were
// set, an ssl object) is copied from them — or from pg.defaults where the core says it took
// that setting from there (`resolved.pgDefaults`); a connection string's SSL parameters are
// echoed as pg-connection-string reads them, the shape pg gives `client.ssl` (whether TLS is
// on is still the core's decision). Plus the password as pg asks for it: the user's function,
// or the password file (`pgpass`) when nothing gave a password.

const pgpass = require('pgpass')
const { parse: parseConnectionString } = require('pg-connection-string')

/**
 * The connection parameters of a pool's connections, in the shape and field order of pg's
 * `ConnectionParameters`. Invariants: every resolved value is the one the core resolved and
 * uses (options, connection string, PG* environment and defaults merged); there is no
 * `password` property (this layer never holds the resolved password); a disabled setting is
 * `false` or absent exactly where pg's is.
 */
class ConnectionParameters {
  /**
   * `resolved`: the core's view (lib/options.js parseResolved); `options`: what the user
   * passed; `pgDefaults`: the pg.defaults layer (lib/pg-defaults.js).
   */
  constructor(resolved, options, pgDefaults = {}) {
    const o = options == null ? {} : options
    const taken = new Set(resolved.pgDefaults)
    // What was given for `key`: pg.defaults' value where the core took it, else the option's.
    const given = (key) => (taken.has(key) ? pgDefaults : o)[key]
    this.user = resolved.user
    this.database = resolved.database
    this.port = resolved.port
    this.host = resolved.host
    // The option, else pg.defaults.binary, as the core resolved it.
    this.binary = resolved.binary
    this.options = orUndefined(resolved.options)
    this.ssl = sslOf(resolved, sslGiven(resolved, o, given))
    // pg keeps what was given (undefined when nothing was); `direct` can come from the
    // connection string or PGSSLNEGOTIATION, which the core read.
    this.sslnegotiation = resolved.sslnegotiation === 'direct' ? 'direct' : given('sslnegotiation')
    this.client_encoding = given('client_encoding') || ''
    // Not pg's (pg has no such options): what the client accepts of the server's
    // authentication, as the core resolved it from the connection string, options and PG* env.
    this.require_auth = orUndefined(resolved.requireAuth)
    this.channel_binding = resolved.channelBinding
    this.replication = orUndefined(resolved.replication)
    this.isDomainSocket = resolved.host.startsWith('/')
    this.application_name = orUndefined(resolved.applicationName)
    this.fallback_application_name = given('fallback_application_name')
    this.statement_timeout = millis(resolved.statement_timeout)
    this.lock_timeout = millis(resolved.lock_timeout)
    this.idle_in_transaction_session_timeout = millis(resolved.idle_in_transaction_session_timeout)
    this.query_timeout = resolved.query_timeout || false
    this.connect_timeout = Math.floor(resolved.connectTimeoutMillis / 1000)
    // pg sets these only when the options say so explicitly; the values are the resolved ones.
    if (o.keepAlive === false) this.keepalives = 0
    else if (resolved.keepAlive) this.keepalives = 1
    if (typeof o.keepAliveInitialDelayMillis === 'number') {
      this.keepalives_idle = Math.floor(resolved.keepAliveInitialDelayMillis / 1000)
    }
  }

  /** A copy of `params`, as each pg client holds its own (a password function may write to it). */
  static copy(params) {
    return Object.assign(Object.create(ConnectionParameters.prototype), params)
  }
}

function orUndefined(v) {
  return v == null ? undefined : v
}

/** A server-side timeout as sent (milliseconds as text), as pg keeps it: a number, or false. */
function millis(sent) {
  return sent == null ? false : Number(sent)
}

/**
 * Where pg's ConnectionParameters takes `ssl` from: the connection string's own SSL
 * parameters when it has any (`ssl`, `sslmode`, `sslcert`, `sslkey`, `sslrootcert`, read by
 * pg-connection-string as pg reads them, files included), else the option (or pg.defaults.ssl
 * when the core took that), else `PGSSLMODE`: `'no-verify'` when the core turned TLS on
 * without verification from it. Undefined when none of them says more than "on or off" (the
 * core decided that).
 */
function sslGiven(resolved, o, given) {
  if (typeof o.connectionString === 'string' && o.connectionString !== '') {
    let fromString
    try {
      fromString = parseConnectionString(o.connectionString).ssl
    } catch {
      // The core accepted the string: what pg-connection-string refuses says nothing more.
    }
    if (fromString !== undefined) return fromString
  }
  const g = given('ssl')
  if (g !== undefined) return g
  return resolved.ssl && !resolved.sslRejectUnauthorized ? 'no-verify' : undefined
}

/**
 * What pg's `client.ssl` is: false without TLS; `{ rejectUnauthorized: false }` for
 * `'no-verify'`; a copy of the `ssl` object given (see sslGiven); otherwise `true`. The
 * private key stays out of enumeration, as pg hides it.
 */
function sslOf(resolved, given) {
  if (!resolved.ssl) return false
  if (given === 'no-verify') return { rejectUnauthorized: false }
  if (given == null || typeof given !== 'object') return true
  const copy = Object.assign({}, given)
  if ('key' in given) Object.defineProperty(copy, 'key', { value: given.key, enumerable: false, writable: true, configurable: true })
  return copy
}

/**
 * The password source the core calls when the server asks a new connection for a password
 * (and only then), with a fresh copy of `params()` as pg passes its client's parameters:
 * `fn(params)` when the user's password is a function (sync or async; a string is the
 * password, `undefined` none, anything else fails the connection with pg's TypeError), else
 * pg's password-file lookup (`PGPASSFILE`, else `~/.pgpass`), which the core asks only when
 * the options, the connection string and `PGPASSWORD` give no password. What the function
 * throws (or rejects with) is held in `failures` and reaches the caller of the failed connect
 * unchanged, as with pg.
 */
function passwordSource(fn, params, failures) {
  if (typeof fn !== 'function') return () => passwordFromFile(ConnectionParameters.copy(params()))
  return () =>
    Promise.resolve()
      .then(() => fn(ConnectionParameters.copy(params())))
      .then((pass) => {
        if (pass === undefined) return null
        if (typeof pass !== 'string') throw new TypeError('Password must be a string')
        return pass
      })
      .catch((err) => {
        throw failures.hold(err)
      })
}

// How a held failure is named in the core's error message (`LDP_AUTH`).
const HELD = 'password function error #'
const HELD_RE = /.*\(password function error #(\d+)\)/s

/**
 * The errors of a pool's password function, from the moment the function failed until the
 * failed connect reaches its caller: the core carries a connection's failure as a message,
 * and pg hands the caller the function's own error (same object, class and stack). Bounded:
 * a connect whose caller gave up (timed out) never collects its error, so only the latest
 * `LIMIT` are kept.
 */
class PasswordFailures {
  constructor() {
    this._held = new Map()
    this._next = 0
  }

  /** Holds `err` and returns the error the core is given in its place (its message, and the id). */
  hold(err) {
    const id = ++this._next
    this._held.set(id, err)
    if (this._held.size > PasswordFailures.LIMIT) this._held.delete(this._held.keys().next().value)
    const message = err instanceof Error ? err.message : String(err)
    return new Error(`${message} (${HELD}${id})`)
  }

  /** The user's error `err` stands for (taken out), or `err` itself. */
  take(err) {
    if (err == null || err.code !== 'LDP_AUTH') return err
    const m = HELD_RE.exec(err.message)
    if (m === null || !this._held.has(Number(m[1]))) return err
    const held = this._held.get(Number(m[1]))
    this._held.delete(Number(m[1]))
    return held
  }
}
PasswordFailures.LIMIT = 16

/** The matching entry's password in the password file, or null (pg reads it with `pgpass`). */
function passwordFromFile(params) {
  return new Promise((resolve) => pgpass(params, (pass) => resolve(pass === undefined ? null : pass)))
}

module.exports = { ConnectionParameters, PasswordFailures, passwordSource }
