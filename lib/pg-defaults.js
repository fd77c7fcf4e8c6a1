'use strict'
// pg's global defaults (`pg.defaults`), read once, when a pool is constructed: the layer pg
// puts beneath the options and the PG* environment. This package does not depend on pg, and
// never loads it: an app can only have changed pg.defaults if it loaded pg, so pg's defaults
// module is looked up among the modules already loaded (`require.cache`; an ES module import
// of pg loads the same CommonJS module). With several copies of pg loaded, the first one
// loaded wins.
//
// Only the keys whose value differs from pg's stock default make up the layer, so that nothing
// changes for an app that never touches pg.defaults. The core resolves the layer with the
// options (src/config/connect/: option or connection-string key > PG* variable > pg.defaults
// > stock default) and validates it, naming a bad value `pg.defaults.<key>`; only
// `parseInputDatesAsUTC` is read here, as the default of the pool option of that name.

const path = require('path')

const DEFAULTS_FILE = `${path.sep}pg${path.sep}lib${path.sep}defaults.js`

/**
 * The keys read, with pg's stock values (pg/lib/defaults.js). pg-pool reads none of its own
 * (`max`, `idleTimeoutMillis`) from pg.defaults, and neither does this pool.
 */
const STOCK = {
  host: 'localhost',
  user: undefined, // process.env.USER (USERNAME on Windows): see stockUser
  database: undefined,
  password: null,
  port: 5432,
  binary: false,
  client_encoding: '',
  ssl: false,
  sslnegotiation: undefined,
  application_name: undefined,
  fallback_application_name: undefined,
  options: undefined,
  statement_timeout: false,
  lock_timeout: false,
  idle_in_transaction_session_timeout: false,
  query_timeout: false,
  parseInputDatesAsUTC: false,
}

/**
 * pg's stock `user`, which pg captures from the environment when it loads. Compared with the
 * variable as it is now: a `pg.defaults.user` equal to it decides nothing the core would not
 * (it reads the variable itself), one that differs is passed on.
 */
function stockUser(env) {
  return process.platform === 'win32' ? env.USERNAME : env.USER
}

/** The exports of the first loaded `pg/lib/defaults.js` in `cache`, or null when pg is not loaded. */
function findPgDefaults(cache = require.cache) {
  for (const file of Object.keys(cache)) {
    if (!file.endsWith(DEFAULTS_FILE)) continue
    const exports = cache[file] && cache[file].exports
    if (exports != null && typeof exports === 'object') return exports
  }
  return null
}

/**
 * The pg.defaults layer: `{ key: value }` for each key read whose value in `defaults` (pg's
 * defaults object, or null) differs from pg's stock one. Values are the app's own (an `ssl`
 * object, a password function): encoded for the core by lib/options.js.
 */
function pgDefaultsLayer(defaults = findPgDefaults(), env = process.env) {
  const layer = {}
  if (defaults == null) return layer
  for (const key of Object.keys(STOCK)) {
    const stock = key === 'user' ? stockUser(env) : STOCK[key]
    const v = defaults[key]
    if (v !== stock) layer[key] = v
  }
  return layer
}

module.exports = { findPgDefaults, pgDefaultsLayer }
