'use strict'
// sslnegotiation=direct (pg 8.22, PostgreSQL 17+): the client starts the TLS handshake at once,
// without SSLRequest, and offers ALPN "postgresql". The test server is older than 17, so the
// direct-TLS side is played by a TLS terminator in front of it that behaves as PostgreSQL 17
// does (it refuses a handshake without ALPN "postgresql") and hands the decrypted bytes to the
// real server; against the server itself, which does not speak direct TLS, the connection fails
// with a clear error instead of hanging.

const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const tls = require('node:tls')
const { assertParity, both, dbConfig, rejection } = require('./helpers/parity')
const { selfSignedCertificate } = require('./helpers/cert')
const { LeakDetectingPool } = require('..')

const TLS_HANDSHAKE = 0x16 // the first byte of a TLS record carrying a ClientHello
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])

/**
 * A direct-TLS front for the shared server. Records, per connection, the first bytes the
 * client sent and the ALPN protocol it negotiated.
 */
async function startDirectTlsFront() {
  const target = await dbConfig()
  const { certPem, keyPem } = selfSignedCertificate('localhost')
  const seen = []
  const sockets = new Set()
  const server = net.createServer((raw) => {
    sockets.add(raw)
    raw.on('close', () => sockets.delete(raw))
    raw.once('data', (first) => {
      const entry = { first: first[0], sslRequest: first.subarray(0, 8).equals(SSL_REQUEST), alpn: null }
      seen.push(entry)
      raw.pause()
      raw.unshift(first)
      if (first[0] !== TLS_HANDSHAKE) return raw.destroy()
      const secure = new tls.TLSSocket(raw, { isServer: true, cert: certPem, key: keyPem, ALPNProtocols: ['postgresql'] })
      secure.on('error', () => raw.destroy())
      secure.once('secure', () => {
        entry.alpn = secure.alpnProtocol
        // PostgreSQL 17 closes a direct TLS connection that did not negotiate "postgresql".
        if (secure.alpnProtocol !== 'postgresql') return secure.destroy()
        const upstream = net.connect(target.port, target.host.startsWith('/') ? '127.0.0.1' : target.host)
        sockets.add(upstream)
        upstream.on('close', () => sockets.delete(upstream))
        upstream.on('error', () => secure.destroy())
        secure.on('close', () => upstream.destroy())
        upstream.on('close', () => secure.destroy())
        secure.pipe(upstream).pipe(secure)
      })
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: server.address().port,
    seen,
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

const base = (front) => ({ connectionString: undefined, host: '127.0.0.1', port: front.port, max: 2 })

test('sslnegotiation=direct: TLS from the first byte, ALPN "postgresql", queries work (parity)', async () => {
  const front = await startDirectTlsFront()
  try {
    const r = await assertParity({ ...base(front), ssl: { rejectUnauthorized: false }, sslnegotiation: 'direct' }, async (pool) => {
      const c = await pool.connect()
      try {
        const rows = (await c.query("SELECT 'direct'::text AS via, 1 + 1 AS two")).rows
        return { rows, sslNegotiation: c.sslNegotiation, param: c.connectionParameters.sslnegotiation }
      } finally {
        c.release()
      }
    })
    assert.deepEqual(r.ours.value, { rows: [{ via: 'direct', two: 2 }], sslNegotiation: 'direct', param: 'direct' })
    assert.equal(front.seen.length, 2, 'one connection per pool')
    for (const s of front.seen) assert.deepEqual(s, { first: TLS_HANDSHAKE, sslRequest: false, alpn: 'postgresql' })
  } finally {
    await front.close()
  }
})

test('sslnegotiation=direct in a connection string turns TLS on by itself (parity)', async () => {
  const front = await startDirectTlsFront()
  try {
    // pg-connection-string: sslnegotiation=direct without any ssl setting enables TLS; the
    // certificate is self-signed, so verification is turned off through the ssl option.
    const url = `postgres://${encodeURIComponent((await dbConfig()).user)}@127.0.0.1:${front.port}/postgres?sslnegotiation=direct&sslmode=no-verify`
    const r = await assertParity({ connectionString: url, host: undefined, port: undefined, database: undefined }, async (pool) => {
      const c = await pool.connect()
      try {
        const rows = (await c.query('SELECT 42 AS answer')).rows
        return { rows, sslNegotiation: c.sslNegotiation, param: c.connectionParameters.sslnegotiation }
      } finally {
        c.release()
      }
    })
    assert.deepEqual(r.ours.value, { rows: [{ answer: 42 }], sslNegotiation: 'direct', param: 'direct' })
    assert.equal(front.seen.length, 2)
    for (const s of front.seen) assert.equal(s.alpn, 'postgresql')
  } finally {
    await front.close()
  }
})

test('the default negotiation still sends SSLRequest first', async () => {
  const front = await startDirectTlsFront()
  try {
    const pool = new LeakDetectingPool({ ...base(front), ssl: { rejectUnauthorized: false }, connectionTimeoutMillis: 2000 })
    // The front speaks only direct TLS, so a client that sends SSLRequest is turned away.
    await rejection(pool.query('SELECT 1'))
    await pool.end()
    assert.equal(front.seen.length, 1)
    assert.equal(front.seen[0].sslRequest, true)
  } finally {
    await front.close()
  }
})

test('against a server without direct TLS (PostgreSQL < 17) the connection fails at once, as with pg', async () => {
  const cfg = await dbConfig()
  const host = cfg.host.startsWith('/') ? '127.0.0.1' : cfg.host
  const r = await both(
    {
      connectionString: undefined,
      host,
      port: cfg.port,
      ssl: { rejectUnauthorized: false },
      sslnegotiation: 'direct',
      connectionTimeoutMillis: 5000,
    },
    async (pool) => {
      const started = Date.now()
      const err = await rejection(pool.query('SELECT 1'))
      return { failed: err instanceof Error, fast: Date.now() - started < 4000, total: pool.totalCount }
    }
  )
  assert.deepEqual(r.ours, r.pg)
  assert.deepEqual(r.ours.value, { failed: true, fast: true, total: 0 })
})

test('the resolved options say how TLS starts', () => {
  const direct = new LeakDetectingPool({ ssl: true, sslnegotiation: 'direct' })
  const plain = new LeakDetectingPool({ ssl: true })
  try {
    assert.equal(JSON.parse(direct._native.resolvedOptions()).sslnegotiation, 'direct')
    assert.equal(JSON.parse(plain._native.resolvedOptions()).sslnegotiation, 'postgres')
  } finally {
    direct.end()
    plain.end()
  }
})

test('sslnegotiation=direct without TLS is refused, naming the option', () => {
  assert.throws(() => new LeakDetectingPool({ sslnegotiation: 'direct', ssl: false }), /sslnegotiation=direct requires SSL to be enabled/)
  assert.throws(() => new LeakDetectingPool({ sslnegotiation: 'sideways' }), /sslnegotiation/)
})
