'use strict'
// A tiny fake PostgreSQL server for protocol tests (a `net.createServer` speaking just enough
// protocol): it refuses TLS ('N'), answers the startup packet with AuthenticationOk,
// BackendKeyData and ReadyForQuery, and each simple query ('Q') or extended-protocol Sync
// ('S') with what `respond(kind, socket)` writes — kind 'simple' or 'extended'. Works for
// pg.Client and for our pool alike; it checks no password.
//
//   const server = await fakeServer((kind, socket) => socket.write(oneRow(kind)))
//   ... { host: '127.0.0.1', port: server.port } ...
//   await server.close()

const net = require('node:net')

/** A backend message: type, length (counting itself), body. */
function msg(type, body = Buffer.alloc(0)) {
  const head = Buffer.alloc(5)
  head.write(type, 0, 'latin1')
  head.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}

const int16 = (n) => {
  const b = Buffer.alloc(2)
  b.writeInt16BE(n)
  return b
}
const int32 = (n) => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}
const cstr = (s) => Buffer.from(s + '\0')

const rowDescription = () => msg('T', Buffer.concat([int16(1), cstr('x'), int32(0), int16(0), int32(25), int16(-1), int32(-1), int16(0)]))
const dataRow = (v = '1') => msg('D', Buffer.concat([int16(1), int32(Buffer.byteLength(v)), Buffer.from(v)]))
const commandComplete = (tag = 'SELECT 1') => msg('C', cstr(tag))
const readyForQuery = () => msg('Z', Buffer.from('I'))

/** A complete, well-formed answer returning one text row `x = '1'`. */
function oneRow(kind) {
  const parts = kind === 'extended' ? [msg('1'), msg('2')] : []
  return Buffer.concat([...parts, rowDescription(), dataRow(), commandComplete(), readyForQuery()])
}

async function fakeServer(respond) {
  const sockets = new Set()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buf = Buffer.alloc(0)
    let started = false
    socket.on('data', (data) => {
      buf = Buffer.concat([buf, data])
      for (;;) {
        if (!started) {
          if (buf.length < 8) return
          const len = buf.readInt32BE(0)
          if (buf.length < len) return
          const code = buf.readInt32BE(4)
          buf = buf.subarray(len)
          if (code === 80877103) {
            socket.write('N')
            continue
          }
          started = true
          socket.write(Buffer.concat([msg('R', int32(0)), msg('K', Buffer.concat([int32(4242), int32(777)])), readyForQuery()]))
          continue
        }
        if (buf.length < 5) return
        const len = buf.readInt32BE(1) + 1
        if (buf.length < len) return
        const type = String.fromCharCode(buf[0])
        buf = buf.subarray(len)
        if (type === 'Q') respond('simple', socket)
        else if (type === 'S') respond('extended', socket)
      }
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: server.address().port,
    sockets,
    close() {
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}

module.exports = { fakeServer, msg, oneRow, rowDescription, dataRow, commandComplete, readyForQuery, int16, int32 }
