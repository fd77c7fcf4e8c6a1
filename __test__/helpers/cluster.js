'use strict'
/**
 * Throwaway PostgreSQL clusters: private servers in a temp directory on a free port of
 * 127.0.0.1, for the whole run when no server is available (optionally with TLS on), and for
 * tests that must stop, restart or misconfigure a server. The one implementation: the Rust
 * integration tests reach it through `scripts/cluster.js`.
 *
 * Invariants: a cluster is never run as root (an unprivileged OS user owns and runs it when the
 * tests run as root); "local all postgres trust" is the first pg_hba line, so the helper can
 * always administer it through its private unix socket; every cluster still running when the
 * process exits (or gets SIGINT/SIGTERM/SIGHUP) is stopped and its directory removed, and on
 * Linux the kernel sends the postmaster SIGQUIT if the process dies without exit handlers.
 */

const fs = require('node:fs')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')
const { buildUrl, makeConfig, withClient, probe, errText } = require('./conn')
const { findServerBinaries, clusterOsUser, setprivPath, makeTempDir, freePort } = require('./machine')
const { selfSignedCertificate } = require('./cert')

const READY_TIMEOUT_MS = 30000
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------
// process management for throwaway clusters

const live = new Set() // cluster states not yet removed
const extraDirs = new Set() // other temp dirs to remove at exit (initdb templates)
let handlersInstalled = false

function serverEnv() {
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' }
  for (const k of Object.keys(env)) if (/^PG/.test(k)) delete env[k]
  return env
}

function spawnOpts(state, extra) {
  const o = { cwd: state.baseDir, env: serverEnv(), ...extra }
  if (state.runAs) {
    o.uid = state.runAs.uid
    o.gid = state.runAs.gid
  }
  return o
}

/** Run a command as the cluster's OS user; resolves { code, stdout, stderr }. */
function run(state, cmd, args, timeoutMs = 120000) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, spawnOpts(state, { stdio: ['ignore', 'pipe', 'pipe'] }))
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code == null ? -1 : code, signal, stdout, stderr })
    })
  })
}

function cleanupAllSync() {
  for (const state of live) {
    try {
      if (fs.existsSync(path.join(state.dataDir, 'postmaster.pid'))) {
        spawnSync(
          state.bins.pg_ctl,
          ['stop', '-D', state.dataDir, '-m', 'immediate', '-w', '-t', '10'],
          spawnOpts(state, { stdio: 'ignore', timeout: 15000 })
        )
      }
    } catch {
      /* best effort */
    }
    try {
      if (state.child && state.child.exitCode === null && state.child.signalCode === null) state.child.kill('SIGKILL')
    } catch {
      /* best effort */
    }
    try {
      fs.rmSync(state.baseDir, { recursive: true, force: true, maxRetries: 3 })
    } catch {
      /* best effort */
    }
  }
  live.clear()
  for (const dir of extraDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
    } catch {
      /* best effort */
    }
  }
  extraDirs.clear()
}

function installExitHandlers() {
  if (handlersInstalled) return
  handlersInstalled = true
  process.on('exit', cleanupAllSync)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    const onSignal = () => {
      cleanupAllSync()
      process.removeListener(sig, onSignal)
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig) // default action
    }
    process.on(sig, onSignal)
  }
}

function readLog(state) {
  try {
    return fs.readFileSync(state.logFile, 'utf8')
  } catch {
    return ''
  }
}

function logTail(state, n = 20) {
  return readLog(state).trimEnd().split('\n').slice(-n).join('\n')
}

function childAlive(child) {
  return !!child && child.exitCode === null && child.signalCode === null && !child.spawnError
}

function adminConfig(state) {
  // The unix socket lives in our private directory: answering on it proves it is OUR server,
  // and "local all postgres trust" is always the first hba line.
  return { host: state.baseDir, port: state.port, user: 'postgres', database: 'postgres' }
}

function spawnPostgres(state) {
  const logFd = fs.openSync(state.logFile, 'a', 0o600)
  try {
    if (state.runAs) fs.fchownSync(logFd, state.runAs.uid, state.runAs.gid)
    let cmd = state.bins.postgres
    let args = ['-D', state.dataDir]
    const sp = setprivPath()
    if (sp) {
      // If this Node process dies without running its exit handlers (SIGKILL, crash), the kernel
      // sends the postmaster SIGQUIT (immediate shutdown) so no server is left behind.
      args = ['--pdeathsig', 'SIGQUIT', '--', cmd, ...args]
      cmd = sp
    }
    const child = spawn(cmd, args, spawnOpts(state, { stdio: ['ignore', logFd, logFd] }))
    child.on('error', (err) => {
      child.spawnError = err
    })
    child.unref() // never keep the test process alive; the exit handler stops the server
    state.child = child
    return child
  } finally {
    fs.closeSync(logFd)
  }
}

async function waitReady(state, child, logOffset) {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    if (!childAlive(child)) {
      const log = readLog(state).slice(logOffset)
      const err = new Error(
        `postgres exited during startup (${child.spawnError ? child.spawnError.message : `code ${child.exitCode}, signal ${child.signalCode}`}); log:\n${log.trim().split('\n').slice(-20).join('\n')}`
      )
      err.bindFailure = /could not bind|could not create any TCP\/IP sockets|Address already in use/i.test(log)
      throw err
    }
    const err = await probe(adminConfig(state), 1000)
    if (!err) return
    if (Date.now() > deadline) {
      throw new Error(`postgres did not become ready within ${READY_TIMEOUT_MS} ms (${errText(err)}); log:\n${logTail(state)}`)
    }
    await sleep(50)
  }
}

async function startServer(state) {
  if (state.removed) throw new Error('cluster already stopped and removed')
  if (childAlive(state.child) || fs.existsSync(path.join(state.dataDir, 'postmaster.pid'))) {
    const err = await probe(adminConfig(state), 1000)
    if (!err) return // already running
  }
  const offset = readLog(state).length
  const child = spawnPostgres(state)
  try {
    await waitReady(state, child, offset)
  } catch (err) {
    if (childAlive(child)) child.kill('SIGKILL')
    throw err
  }
}

async function stopServer(state, mode = 'fast') {
  if (fs.existsSync(path.join(state.dataDir, 'postmaster.pid'))) {
    await run(state, state.bins.pg_ctl, ['stop', '-D', state.dataDir, '-m', mode, '-w', '-t', '60']).catch(() => {})
  }
  const child = state.child
  if (childAlive(child)) {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    const timedOut = await Promise.race([exited.then(() => false), sleep(10000).then(() => true)])
    if (timedOut) {
      child.kill('SIGKILL')
      await exited
    }
  }
}

async function initdb(state, dataDir, extraArgs = []) {
  const args = ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '-N', ...extraArgs]
  const r = await run(state, state.bins.initdb, args)
  if (r.code !== 0) {
    const who = state.runAs ? `, as OS user ${state.runAs.name}` : ''
    throw new Error(`initdb failed (exit ${r.code}${who}):\n${`${r.stdout}\n${r.stderr}`.trim()}`)
  }
}

// initdb takes about a second; later clusters of this process copy a pristine template instead.
const templates = new Map() // OS user -> Promise<template data dir>

async function initDataDir(state, initdbArgs) {
  if (initdbArgs && initdbArgs.length) return initdb(state, state.dataDir, initdbArgs)
  const key = state.runAs ? state.runAs.name : ''
  let tpl = templates.get(key)
  if (!tpl) {
    tpl = (async () => {
      const dir = makeTempDir(state.runAs)
      extraDirs.add(dir)
      await initdb({ ...state, baseDir: dir }, path.join(dir, 'template'))
      return path.join(dir, 'template')
    })()
    templates.set(key, tpl)
    tpl.catch(() => templates.delete(key))
  }
  const tplDir = await tpl
  const cp = await run(state, 'cp', ['-a', tplDir, state.dataDir]).catch((err) => ({ code: -1, stderr: err.message }))
  if (cp.code !== 0) {
    fs.rmSync(state.dataDir, { recursive: true, force: true })
    await initdb(state, state.dataDir)
  }
}

/**
 * Writes a fresh key and certificate next to the data directory, owned by the cluster's OS
 * user with mode 0600 (the server refuses a key others can read), and turns TLS on.
 */
function writeCertificate(state, given) {
  const { certPem, keyPem } = given && given.certPem ? given : selfSignedCertificate('localhost')
  const certFile = path.join(state.baseDir, 'server.crt')
  const keyFile = path.join(state.baseDir, 'server.key')
  fs.writeFileSync(certFile, certPem, { mode: 0o600 })
  fs.writeFileSync(keyFile, keyPem, { mode: 0o600 })
  if (state.runAs) for (const f of [certFile, keyFile]) fs.chownSync(f, state.runAs.uid, state.runAs.gid)
  state.settings = { ssl: true, ssl_cert_file: certFile, ssl_key_file: keyFile, ...state.settings }
  return certPem
}

function writeServerConf(state) {
  const quote = (v) =>
    typeof v === 'number' ? String(v) : typeof v === 'boolean' ? (v ? 'on' : 'off') : `'${String(v).replace(/'/g, "''")}'`
  const settings = {
    listen_addresses: '127.0.0.1',
    port: state.port,
    unix_socket_directories: state.baseDir,
    fsync: false,
    synchronous_commit: false,
    full_page_writes: false,
    logging_collector: false,
    ...state.settings,
  }
  const body = Object.entries(settings)
    .map(([k, v]) => `${k} = ${quote(v)}`)
    .join('\n')
  fs.writeFileSync(path.join(state.dataDir, 'ldp_test.conf'), `# written by __test__/helpers/cluster.js\n${body}\n`)
}

function writeHba(state, opts) {
  const lines = ['# written by __test__/helpers/cluster.js', 'local all postgres trust']
  for (const u of state.passwordUsers) {
    lines.push(`host all "${u.name}" 127.0.0.1/32 ${u.method}`, `host all "${u.name}" ::1/128 ${u.method}`)
  }
  if (opts.hba) {
    lines.push(...(Array.isArray(opts.hba) ? opts.hba : String(opts.hba).split('\n')))
  } else {
    lines.push('local all all trust', 'host all all 127.0.0.1/32 trust', 'host all all ::1/128 trust')
  }
  fs.writeFileSync(path.join(state.dataDir, 'pg_hba.conf'), `${lines.join('\n')}\n`)
}

/**
 * Start a private PostgreSQL cluster in a fresh temp directory, listening on a free port on
 * 127.0.0.1 (unix socket in that directory). Safe to stop/restart/misconfigure.
 *
 * opts:
 *   settings:     { name: value } extra postgresql.conf settings, e.g. { max_connections: 5, ssl: 'off' }
 *   hba:          array of pg_hba.conf lines replacing the default trust lines
 *                 ("local all postgres trust" always stays first so the helper can administer it)
 *   passwordUser: { name, password, method: 'scram-sha-256' | 'md5' | 'password' } (or an array):
 *                 creates that login role with the password stored for the method, and requires
 *                 the method for it over TCP; the "postgres" role stays trust.
 *   tls:          true: ssl = on with a certificate made for this cluster (CN and DNS name
 *                 "localhost", self-signed; see cert.js); its PEM is `cluster.certPem`.
 *                 `settings` may still override ssl_* (e.g. { ssl: 'off' }).
 *                 { certPem, keyPem }: ssl = on with that certificate (e.g. one a private CA
 *                 issued, see cert.js).
 *   initdbArgs:   extra initdb arguments (e.g. ['-k']); otherwise a per-process template made by
 *                 the first initdb is copied, which is much faster.
 *
 * Returns { host, port, user, database, connectionString, dataDir, baseDir, socketDir, logFile, binDir,
 *   osUser, tls, certPem (null without `tls`),
 *   config(overrides?)  config object like findDatabase() (e.g. config({ user, password })),
 *   stop()              stop (fast) and remove the directory (idempotent),
 *   restart()           stop and start again on the same port,
 *   stopServer()/startServer()  stop or start without removing anything (for "server is down" tests),
 *   pgCtl(args)         run pg_ctl -D dataDir ...args as the cluster's OS user -> { code, stdout, stderr },
 *   isRunning(), readLog() }
 * Servers still running at process exit (or SIGINT/SIGTERM/SIGHUP) are stopped and removed.
 */
async function startThrowawayCluster(opts = {}) {
  const bins = findServerBinaries()
  const runAs = clusterOsUser()
  const passwordUsers = (Array.isArray(opts.passwordUser) ? opts.passwordUser : opts.passwordUser ? [opts.passwordUser] : []).map((u) => {
    if (!u.name || u.password == null) throw new Error('passwordUser needs { name, password }')
    const method = u.method || 'scram-sha-256'
    if (!['scram-sha-256', 'md5', 'password'].includes(method)) throw new Error(`unsupported passwordUser.method ${method}`)
    return { name: u.name, password: String(u.password), method }
  })
  const baseDir = makeTempDir(runAs)
  const state = {
    baseDir,
    dataDir: path.join(baseDir, 'data'),
    logFile: path.join(baseDir, 'postgres.log'),
    bins,
    runAs,
    settings: opts.settings || {},
    passwordUsers,
    port: 0,
    child: null,
    removed: false,
  }
  installExitHandlers()
  live.add(state)

  const remove = async () => {
    if (state.removed) return
    await stopServer(state)
    state.removed = true
    live.delete(state)
    fs.rmSync(state.baseDir, { recursive: true, force: true, maxRetries: 3 })
  }

  try {
    await initDataDir(state, opts.initdbArgs)
    if (opts.tls) state.certPem = writeCertificate(state, opts.tls)
    fs.appendFileSync(path.join(state.dataDir, 'postgresql.conf'), "\ninclude 'ldp_test.conf'\n")
    writeHba(state, opts)
    for (let attempt = 1; ; attempt++) {
      state.port = await freePort()
      writeServerConf(state)
      try {
        await startServer(state)
        break
      } catch (err) {
        if (!err.bindFailure || attempt >= 5) throw err // lost a port race: pick another port
      }
    }
    for (const u of passwordUsers) {
      await withClient(adminConfig(state), async (c) => {
        await c.query(`SET password_encryption = '${u.method === 'md5' ? 'md5' : 'scram-sha-256'}'`)
        await c.query(`CREATE ROLE ${c.escapeIdentifier(u.name)} LOGIN PASSWORD ${c.escapeLiteral(u.password)}`)
        await c.query(`GRANT ALL ON SCHEMA public TO ${c.escapeIdentifier(u.name)}`)
      })
    }
  } catch (err) {
    await remove().catch(() => {})
    throw err
  }

  const fields = { host: '127.0.0.1', port: state.port, user: 'postgres', database: 'postgres' }
  return {
    ...fields,
    connectionString: buildUrl(fields),
    dataDir: state.dataDir,
    baseDir: state.baseDir,
    socketDir: state.baseDir,
    logFile: state.logFile,
    binDir: bins.binDir,
    osUser: runAs ? runAs.name : null,
    tls: !!state.certPem,
    certPem: state.certPem || null,
    config(overrides = {}) {
      const f = { ...fields, ...overrides }
      return makeConfig(f, `throwaway cluster at 127.0.0.1:${state.port} (data ${state.dataDir})`)
    },
    stop: remove,
    async restart() {
      await stopServer(state)
      await startServer(state)
    },
    stopServer: (mode) => stopServer(state, mode),
    startServer: () => startServer(state),
    async pgCtl(args) {
      const a = [...args]
      if (['start', 'restart'].includes(a[0]) && !a.includes('-l')) a.push('-l', state.logFile)
      return run(state, bins.pg_ctl, ['-D', state.dataDir, ...a])
    },
    isRunning: () => fs.existsSync(path.join(state.dataDir, 'postmaster.pid')),
    readLog: () => readLog(state),
  }
}

module.exports = { startThrowawayCluster }
