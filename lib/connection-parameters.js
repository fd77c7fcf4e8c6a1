'use strict'
// pg's `client.connectionParameters` (and the argument of a password function), built from the
// core's resolved view (lib/options.js) — never by re-reading the options or the connection
// string — plus, for `~/.pgpass`, the lookup pg does when nothing gave a password.

const pgpass = require('pgpass')

/**
 * The connection parameters of a pool's connections, in the shape and field order of pg's
 * `ConnectionParameters`. Invariants: every value is the one the core resolved and uses
 * (options, connection string, PG* environment and defaults merged); there is no `password`
 * property (this layer never holds the resolved password); a disabled setting is `false` or
 * absent exactly where pg's is.
 */
class ConnectionParameters {
  /** `resolved`: the core's view (lib/options.js parseResolved); `ssl`: the client's `ssl`. */
  constructor(resolved, ssl) {
    this.user = resolved.user
    this.database = resolved.database
    this.port = resolved.port
    this.host = resolved.host
    // Results are always text (README, Known differences).
    this.binary = false
    this.options = resolved.options == null ? undefined : resolved.options
    this.ssl = ssl
    this.sslnegotiation = undefined
    this.client_encoding = ''
    this.replication = resolved.replication == null ? undefined : resolved.replication
    this.isDomainSocket = resolved.host.startsWith('/')
    this.application_name = resolved.applicationName == null ? undefined : resolved.applicationName
    this.fallback_application_name = undefined
    this.statement_timeout = millis(resolved.statement_timeout)
    this.lock_timeout = millis(resolved.lock_timeout)
    this.idle_in_transaction_session_timeout = millis(resolved.idle_in_transaction_session_timeout)
    this.query_timeout = resolved.query_timeout || false
    this.connect_timeout = Math.floor(resolved.connectTimeoutMillis / 1000)
    if (resolved.keepAlive) {
      this.keepalives = 1
      this.keepalives_idle = Math.floor(resolved.keepAliveInitialDelayMillis / 1000)
    }
  }
}

/** A server-side timeout as sent (milliseconds as text), as pg keeps it: a number, or false. */
function millis(sent) {
  return sent == null ? false : Number(sent)
}

/**
 * What pg's `client.ssl` is: false without TLS; the user's own `ssl` object or `true` when
 * that is what they gave; otherwise (a connection string's `sslmode`, `PGSSLMODE`) `true`.
 * The private key stays out of enumeration, as pg hides it.
 */
function sslOf(resolved, options) {
  if (!resolved.ssl) return false
  const given = options == null ? undefined : options.ssl
  if (given == null || typeof given !== 'object') return true
  const copy = Object.assign({}, given)
  if ('key' in given) Object.defineProperty(copy, 'key', { value: given.key, enumerable: false, writable: true, configurable: true })
  return copy
}

/**
 * pg's password-file lookup (`PGPASSFILE`, else `~/.pgpass`), for a pool whose options,
 * connection string and environment give no password: resolves to the matching entry's
 * password, or null.
 */
function passwordFromFile(params) {
  return new Promise((resolve) => pgpass(params, (pass) => resolve(pass === undefined ? null : pass)))
}

module.exports = { ConnectionParameters, sslOf, passwordFromFile }
