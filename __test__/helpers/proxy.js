'use strict'
/**
 * A fault-injecting TCP proxy (node:net) between a pool and a real server, for the fault
 * suite. Every accepted connection is piped to `target`; what happens to the bytes on the way
 * is the proxy's current mode, which a test switches at any time:
 *
 *   pass()              forward both ways (the initial mode)
 *   delay(ms)           hold every chunk, both ways, `ms` before forwarding it (order kept)
 *   stall()             keep the sockets open but forward nothing; `pass()` flushes what was held
 *   blackhole()         accept and swallow everything forever (held bytes are dropped, new
 *                       connections are accepted and never reach the server)
 *   cutMidMessage(type) at the next server message of `type` (e.g. 'D', a DataRow), forward
 *                       half of it and destroy both sockets
 *   corrupt(fn)         `fn(message, conn)` may return a replacement Buffer for each whole
 *                       server message (type byte + length + body) before it is forwarded
 *   refuse()            new connections are closed at once (existing ones keep their mode)
 *
 * The server-to-client direction is cut into whole protocol messages (the pool talks to the
 * proxy in plain TCP, so after startup every byte is a typed message), so cuts and corruption
 * land at exact places. Invariants: the proxy never keeps the process alive by itself once
 * `close()` ran; `close()` destroys every socket both ways.
 */

const net = require('node:net')

class Link {
  constructor(proxy, client) {
    this.proxy = proxy
    this.client = client
    this.server = net.connect(proxy.target.port, proxy.target.host)
    this.held = [] // [direction, chunk] while stalled
    this.pending = Buffer.alloc(0) // server bytes not yet cut into a whole message
    this.closed = false
    this.cut = false
    for (const s of [client, this.server]) {
      s.on('error', () => this.destroy())
      s.on('close', () => this.destroy())
    }
    client.on('data', (chunk) => this.fromClient(chunk))
    this.server.on('data', (chunk) => this.fromServer(chunk))
  }

  fromClient(chunk) {
    this.route('up', chunk)
  }

  fromServer(chunk) {
    // Whole messages only: type (1) + length (4, counting itself) + body.
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk
    const out = []
    while (this.pending.length >= 5) {
      const len = this.pending.readUInt32BE(1) + 1
      if (this.pending.length < len) break
      out.push(this.pending.subarray(0, len))
      this.pending = this.pending.subarray(len)
    }
    for (const m of out) this.route('down', m)
  }

  route(dir, buf) {
    if (this.closed || this.cut) return
    const mode = this.proxy.mode
    if (mode.kind === 'blackhole') return
    if (mode.kind === 'stall') {
      this.held.push([dir, buf])
      return
    }
    if (dir === 'down' && mode.kind === 'cut' && String.fromCharCode(buf[0]) === mode.type) {
      this.proxy.mode = { kind: 'pass' }
      this.proxy.cuts++
      this.cut = true // nothing after the half message, either way
      this.client.write(buf.subarray(0, Math.max(1, buf.length >> 1)))
      // Let the half message reach the client before the connection drops.
      setImmediate(() => this.destroy())
      return
    }
    if (dir === 'down' && mode.kind === 'corrupt') {
      const replaced = mode.fn(buf, this)
      if (replaced) buf = replaced
    }
    if (mode.kind === 'delay') {
      const t = setTimeout(() => this.write(dir, buf), mode.ms)
      t.unref()
      return
    }
    this.write(dir, buf)
  }

  write(dir, buf) {
    if (this.closed) return
    ;(dir === 'up' ? this.server : this.client).write(buf)
  }

  flush() {
    const held = this.held
    this.held = []
    for (const [dir, buf] of held) this.route(dir, buf)
  }

  destroy() {
    if (this.closed) return
    this.closed = true
    this.client.destroy()
    this.server.destroy()
    this.proxy.links.delete(this)
  }
}

/** Starts a proxy on a free port of 127.0.0.1 forwarding to `target` ({ host, port }). */
async function startProxy(target) {
  const proxy = {
    target,
    mode: { kind: 'pass' },
    links: new Set(),
    accepted: 0,
    cuts: 0,
    refusing: false,
    port: 0,
    pass() {
      this.mode = { kind: 'pass' }
      this.refusing = false
      for (const l of [...this.links]) l.flush()
    },
    delay(ms) {
      this.mode = { kind: 'delay', ms }
    },
    stall() {
      this.mode = { kind: 'stall' }
    },
    blackhole() {
      this.mode = { kind: 'blackhole' }
      for (const l of this.links) l.held = []
    },
    cutMidMessage(type) {
      this.mode = { kind: 'cut', type }
    },
    corrupt(fn) {
      this.mode = { kind: 'corrupt', fn }
    },
    refuse() {
      this.refusing = true
    },
    /** Destroys every proxied connection (both ways) without changing the mode. */
    dropAll() {
      for (const l of [...this.links]) l.destroy()
    },
    close() {
      this.dropAll()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
  const server = net.createServer((client) => {
    proxy.accepted++
    if (proxy.refusing) return client.destroy()
    if (proxy.mode.kind === 'blackhole') {
      client.on('error', () => {})
      client.resume()
      const l = { destroy: () => client.destroy(), flush() {}, held: [] }
      proxy.links.add(l)
      client.on('close', () => proxy.links.delete(l))
      return
    }
    proxy.links.add(new Link(proxy, client))
  })
  server.unref()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  proxy.port = server.address().port
  return proxy
}

module.exports = { startProxy }
