'use strict'
// pg's ConnectionParameters, the object pg hands a password function (`password(params)`):
// the fields pg computes come from the core's resolved view (options, connection string, PG*
// environment and defaults merged once, in the core); the fields pg copies from the options
// unchanged are copied from the options. And the password function itself, called as pg
// calls it.

/** A startup parameter sent as text, back as pg holds it: a number when the option was one. */
function startupValue(params, key) {
  const v = params[key]
  if (v === undefined) return undefined
  return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v
}

/**
 * A fresh object shaped like pg's `ConnectionParameters` for the pool's connections
 * (`options`: what the user passed; `resolved`: the core's view, lib/options.js). Like pg's,
 * its `password` is not enumerable (here: the password function itself, as in pg), and an
 * `ssl.key` is hidden.
 */
function connectionParameters(options, resolved) {
  const o = options || {}
  const startup = Object.fromEntries(resolved.startupParams)
  const p = {
    user: resolved.user,
    database: resolved.database,
    port: resolved.port,
    host: resolved.host,
  }
  Object.defineProperty(p, 'password', { configurable: true, enumerable: false, writable: true, value: o.password })
  p.binary = o.binary || false
  p.options = startup.options
  p.ssl = resolved.ssl ? sslOf(o.ssl) : false
  p.sslnegotiation = resolved.sslnegotiation === 'direct' ? 'direct' : o.sslnegotiation
  p.client_encoding = o.client_encoding || ''
  p.replication = startup.replication
  p.isDomainSocket = resolved.host.startsWith('/')
  p.application_name = resolved.applicationName === null ? undefined : resolved.applicationName
  p.fallback_application_name = o.fallback_application_name
  p.statement_timeout = startupValue(startup, 'statement_timeout')
  p.lock_timeout = startupValue(startup, 'lock_timeout')
  p.idle_in_transaction_session_timeout = startupValue(startup, 'idle_in_transaction_session_timeout')
  p.query_timeout = resolved.query_timeout || undefined
  p.connect_timeout = Math.floor(resolved.connectionTimeoutMillis / 1000)
  if (o.keepAlive === false) p.keepalives = 0
  else if (o.keepAlive === true) p.keepalives = 1
  if (typeof o.keepAliveInitialDelayMillis === 'number') p.keepalives_idle = Math.floor(o.keepAliveInitialDelayMillis / 1000)
  return p
}

/** pg's `ssl` value: the user's object (its key hidden) or `true`. */
function sslOf(ssl) {
  if (ssl === null || typeof ssl !== 'object') return true
  const copy = { ...ssl }
  if ('key' in ssl) Object.defineProperty(copy, 'key', { value: ssl.key, enumerable: false, writable: true, configurable: true })
  return copy
}

/**
 * The password source the core calls when the server asks a new connection for a password:
 * `fn(connectionParameters)` as pg calls it (sync or async); a string is the password,
 * `undefined` means none, anything else fails the connection with pg's TypeError.
 */
function passwordSource(fn, params) {
  return () =>
    Promise.resolve()
      .then(() => fn(params()))
      .then((pass) => {
        if (pass === undefined) return null
        if (typeof pass !== 'string') throw new TypeError('Password must be a string')
        return pass
      })
}

module.exports = { connectionParameters, passwordSource }
