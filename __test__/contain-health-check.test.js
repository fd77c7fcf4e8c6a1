'use strict'
// Health checks of idle connections (healthCheckIntervalMs): a network drop that kills idle
// connections silently (no FIN, no RST: a proxy that stops forwarding) is found by the check,
// the dead connections are evicted as pg reports an idle connection's death (`error` with
// err.client, then `remove`), and the next request gets a live connection instead of an
// error or a hang. Without the option, nothing is sent on idle connections.

const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { makePool, waitUntil } = require('./helpers/leak')
const { findDatabase } = require('./helpers/db')

/** A TCP proxy to the test server whose `cut()` silently stops forwarding on every link so far. */
async function silentDropProxy(db) {
  const links = []
  const server = net.createServer((client) => {
    const upstream = db.host.startsWith('/') ? net.connect(`${db.host}/.s.PGSQL.${db.port}`) : net.connect(db.port, db.host)
    const link = { client, upstream, cut: false }
    links.push(link)
    client.on('data', (d) => link.cut || upstream.write(d))
    upstream.on('data', (d) => link.cut || client.write(d))
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: server.address().port,
    cut() {
      for (const l of links) l.cut = true
    },
    async close() {
      for (const l of links) {
        l.client.destroy()
        l.upstream.destroy()
      }
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

async function throughProxy(t, opts) {
  const db = await findDatabase()
  const proxy = await silentDropProxy(db)
  t.after(() => proxy.close())
  // makePool spreads the database config first: its connectionString must not win.
  const pool = await makePool({ connectionString: undefined, host: '127.0.0.1', port: proxy.port, ...opts }, t)
  return { pool, proxy }
}

test('a silently dropped idle connection is replaced before a request gets it', async (t) => {
  const { pool, proxy } = await throughProxy(t, { healthCheckIntervalMs: 100, connectionTimeoutMillis: 400 })
  const errors = []
  const removed = []
  pool.on('error', (err, client) => errors.push({ err, client }))
  pool.on('remove', (client) => removed.push(client))
  const c = await pool.connect()
  const pid = c.processID
  c.release()
  assert.equal(pool.idleCount, 1)

  proxy.cut()
  await waitUntil(() => removed.length === 1, 5000, 'the dead idle connection to be evicted')
  assert.equal(errors.length, 1, 'reported as pg reports an idle connection that died')
  assert.equal(errors[0].err.client, errors[0].client)
  assert.equal(errors[0].client.processID, pid)
  assert.equal(pool.totalCount, 0)

  const t0 = Date.now()
  const r = await pool.query('SELECT pg_backend_pid() AS pid')
  assert.notEqual(r.rows[0].pid, pid, 'a new, live connection')
  assert.ok(Date.now() - t0 < 400, 'served at once, not after a timeout')
  const m = pool.getMetrics().stats
  assert.ok(m.healthChecks >= 1)
  assert.equal(m.healthCheckFailures, 1)
  assert.match(pool.metricsText(), /^ldp_health_check_failures_total\{pool="[^"]*"\} 1$/m)
})

test('live idle connections pass their checks and are kept; checked-out ones are never checked', async (t) => {
  const { pool } = await throughProxy(t, { healthCheckIntervalMs: 50 })
  const removed = []
  pool.on('remove', (client) => removed.push(client))
  const held = await pool.connect()
  const idle = await pool.connect()
  idle.release()
  await waitUntil(() => pool.getMetrics().stats.healthChecks >= 3, 3000, 'a few checks')
  // The held client's connection ran no statement it did not send (checks count as queries).
  assert.equal(pool.getPoolStatus().activeConnections[0].queryCount, 0)
  held.release()
  assert.equal(removed.length, 0)
  assert.equal(pool.getMetrics().stats.healthCheckFailures, 0)
  assert.equal(pool.totalCount, 2)
})

test('without healthCheckIntervalMs nothing is sent on idle connections', async (t) => {
  const { pool } = await throughProxy(t, {})
  const c = await pool.connect()
  c.release()
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(pool.getMetrics().stats.healthChecks, 0)
})

test('without health checks the same drop costs the next request (the case the checks prevent)', async (t) => {
  const { pool, proxy } = await throughProxy(t, { query_timeout: 300 })
  const c = await pool.connect()
  c.release()
  proxy.cut()
  await new Promise((r) => setTimeout(r, 200))
  await assert.rejects(pool.query('SELECT 1'), (e) => e.code === 'LDP_QUERY_TIMEOUT')
})
