'use strict'
// Which of node-postgres's test files a run takes, and which of their tests are outside the
// "must pass" count because they reach into pg's private internals.

const path = require('path')

/** pg-pool's suite: every file under packages/pg-pool/test that defines mocha tests. */
const POOL_DIR = 'packages/pg-pool/test'
/** pg's integration tests: the connection-pool directory, and every other file using pg.Pool. */
const PG_DIR = 'packages/pg/test/integration'
const USES_POOL = /\.Pool\b/

/**
 * Tests that cannot pass against any pool but pg-pool itself: they read or patch pg's private
 * state, or inject a client class of their own. Keyed by file (relative to the repository) and
 * the test's full name; each entry says what the test reaches into.
 */
const PRIVATE = [
  {
    file: 'packages/pg-pool/test/connection-strings.js',
    name: 'Connection strings pool delegates connectionString property to client',
    reason: 'injects a fake Client class through the Client option',
  },
  {
    file: 'packages/pg-pool/test/connection-timeout.js',
    name: 'connection timeout continues processing after a connection failure',
    reason: "patches pg's Client.prototype.connect and injects that Client class",
  },
  {
    file: 'packages/pg-pool/test/connection-timeout.js',
    name: 'connection timeout releases newly connected clients if the queued already timed out',
    reason: "patches pg's Client.prototype.connect and injects that Client class",
  },
  {
    file: 'packages/pg-pool/test/connection-timeout.js',
    name: 'connection timeout should connect if timeout is passed, but native client in connected state',
    reason: "patches pg-native's Client (private _connected) and injects it",
  },
  {
    file: 'packages/pg-pool/test/error-handling.js',
    name: 'pool error handling handles post-checkout client failures in pool.query',
    reason: "ends the pool's private client list entry pool._clients[0]",
  },
  {
    file: 'packages/pg-pool/test/events.js',
    name: 'events emits "connect" only with a successful connection',
    reason: 'injects a mock Client class through the Client option',
  },
  {
    file: 'packages/pg-pool/test/index.js',
    name: 'pool with callbacks removes client if it errors in background',
    reason: "waits on the client's private socket, err.client.connection.stream",
  },
  {
    file: 'packages/pg-pool/test/max-uses.js',
    name: 'maxUses getting a connection a second time returns the same connection and releasing it also closes it',
    reason: "reads the client's private client._ending flag",
  },
  {
    file: 'packages/pg-pool/test/releasing-clients.js',
    name: 'releasing clients removes a client which cannot be queried',
    reason: "severs the client's private connection, client.connection.end()",
  },
  {
    file: 'packages/pg/test/integration/connection-pool/error-tests.js',
    name: 'handles socket error during pool.query and destroys it immediately',
    reason: 'emits an error on pool._clients[0].connection.stream (private client list and socket)',
  },
]

/** `{ file, name } → reason` or undefined. */
function privateReason(file, name) {
  const hit = PRIVATE.find((p) => p.file === file && p.name === name)
  return hit && hit.reason
}

/** The test files to run, as repository-relative paths, pg-pool's first; `only` filters them. */
function selectFiles(tree, fs, only) {
  const list = []
  for (const name of fs.readdirSync(path.join(tree, POOL_DIR)).sort()) {
    if (!name.endsWith('.js')) continue
    const text = fs.readFileSync(path.join(tree, POOL_DIR, name), 'utf8')
    if (/\bdescribe\s*\(/.test(text)) list.push({ file: `${POOL_DIR}/${name}`, runner: 'mocha' })
  }
  for (const rel of walk(fs, path.join(tree, PG_DIR), '').sort()) {
    if (!rel.endsWith('-tests.js')) continue
    const text = fs.readFileSync(path.join(tree, PG_DIR, rel), 'utf8')
    if (rel.startsWith('connection-pool/') || USES_POOL.test(text)) list.push({ file: `${PG_DIR}/${rel}`, runner: 'suite' })
  }
  return only.length ? list.filter((f) => only.some((o) => f.file.includes(o))) : list
}

function walk(fs, dir, prefix) {
  const out = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name
    if (entry.isDirectory()) out.push(...walk(fs, path.join(dir, entry.name), rel))
    else out.push(rel)
  }
  return out
}

module.exports = { PRIVATE, privateReason, selectFiles }
