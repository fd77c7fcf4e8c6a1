#!/usr/bin/env node
// A throwaway PostgreSQL cluster for a process that is not Node (the Rust integration tests,
// tests/common/mod.rs), driven over stdin/stdout so there is one implementation of throwaway
// clusters (__test__/helpers/cluster.js).
//
//   node scripts/cluster.js ['{"settings":{...},"hba":[...],"tls":true,...}']
//
// The optional argument is startThrowawayCluster's options as JSON. Protocol, one JSON object
// per line:
//   -> (on start)  {"ok":true,"host":...,"port":...,"user":...,"database":...,"dataDir":...,"socketDir":...}
//                  or {"ok":false,"error":"..."} and exit 1
//   <- stopServer | startServer | restart       (one command per line on stdin)
//   -> {"ok":true} or {"ok":false,"error":"..."}
// End of stdin (the driving process closed it, or died) stops the server and removes the
// cluster's directory, then this process exits.
'use strict'
const readline = require('readline')
const { startThrowawayCluster } = require('../__test__/helpers/cluster')

const reply = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`)

async function main() {
  const opts = process.argv[2] ? JSON.parse(process.argv[2]) : {}
  let cluster
  try {
    cluster = await startThrowawayCluster(opts)
  } catch (err) {
    reply({ ok: false, error: err.message })
    process.exitCode = 1
    return
  }
  const { host, port, user, database, dataDir, socketDir } = cluster
  reply({ ok: true, host, port, user, database, dataDir, socketDir })

  const commands = {
    stopServer: () => cluster.stopServer(),
    startServer: () => cluster.startServer(),
    restart: () => cluster.restart(),
  }
  const lines = readline.createInterface({ input: process.stdin })
  // Commands run one at a time, in order, as the driver sends them.
  let queue = Promise.resolve()
  lines.on('line', (line) => {
    const cmd = line.trim()
    if (!cmd) return
    queue = queue.then(async () => {
      const f = commands[cmd]
      if (!f) return reply({ ok: false, error: `unknown command ${JSON.stringify(cmd)} (known: ${Object.keys(commands).join(', ')})` })
      try {
        await f()
        reply({ ok: true })
      } catch (err) {
        reply({ ok: false, error: err.message })
      }
    })
  })
  lines.on('close', () => {
    queue = queue.then(() => cluster.stop())
  })
}

main().catch((err) => {
  reply({ ok: false, error: err && err.stack ? err.stack : String(err) })
  process.exitCode = 1
})
