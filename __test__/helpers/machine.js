'use strict'
/**
 * Where the PostgreSQL server programs are and who may run them: the pieces a throwaway
 * cluster needs from the machine (server binaries, an unprivileged OS user when the tests run
 * as root, a private directory, a free port, a parent-death signal).
 *
 * Environment knobs:
 *   LDP_TEST_PG_BINDIR=dir     directory holding initdb, pg_ctl and postgres (default: search
 *                              `pg_config --bindir`, /usr/lib/postgresql/<ver>/bin, /usr/pgsql-<ver>/bin,
 *                              Homebrew, /usr/local/pgsql/bin, then PATH)
 *   LDP_TEST_PG_OS_USER=name   unprivileged OS user that runs throwaway clusters when the tests
 *                              run as root (initdb/postgres refuse root); default "postgres", then "nobody"
 *   LDP_TEST_TMPDIR=dir        parent directory of throwaway clusters (default os.tmpdir())
 */

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const net = require('node:net')
const { spawnSync } = require('node:child_process')

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0
}

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK)
    return fs.statSync(p).isFile()
  } catch {
    return false
  }
}

function versionDirs(parent, re, suffix) {
  try {
    return fs
      .readdirSync(parent)
      .filter((n) => re.test(n))
      .sort((a, b) => (parseFloat(b.replace(/^\D+/, '')) || 0) - (parseFloat(a.replace(/^\D+/, '')) || 0))
      .map((n) => path.join(parent, n, suffix))
  } catch {
    return []
  }
}

let binaries = null

/** Locate initdb, pg_ctl and postgres (all three in one directory). */
function findServerBinaries() {
  if (binaries) return binaries
  const dirs = []
  if (process.env.LDP_TEST_PG_BINDIR) dirs.push(process.env.LDP_TEST_PG_BINDIR)
  try {
    const r = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    if (r.status === 0 && r.stdout.trim()) dirs.push(r.stdout.trim())
  } catch {
    /* no pg_config */
  }
  dirs.push(...versionDirs('/usr/lib/postgresql', /^\d+(\.\d+)?$/, 'bin'))
  dirs.push(...versionDirs('/usr', /^pgsql-\d+/, 'bin'))
  dirs.push(...versionDirs('/opt/homebrew/opt', /^postgresql(@\d+)?$/, 'bin'))
  dirs.push(...versionDirs('/usr/local/opt', /^postgresql(@\d+)?$/, 'bin'))
  dirs.push('/usr/local/pgsql/bin')
  for (const d of (process.env.PATH || '').split(path.delimiter).filter(Boolean)) {
    const initdb = path.join(d, 'initdb')
    if (isExecutable(initdb)) {
      dirs.push(d)
      try {
        dirs.push(path.dirname(fs.realpathSync(initdb))) // e.g. /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin
      } catch {
        /* dangling link */
      }
    }
  }
  const uniq = [...new Set(dirs)]
  for (const dir of uniq) {
    const b = { binDir: dir, initdb: path.join(dir, 'initdb'), pg_ctl: path.join(dir, 'pg_ctl'), postgres: path.join(dir, 'postgres') }
    if (isExecutable(b.initdb) && isExecutable(b.pg_ctl) && isExecutable(b.postgres)) {
      binaries = b
      return b
    }
  }
  throw new Error(
    'PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; looked in: ' +
      (uniq.join(', ') || '(nowhere)') +
      '. Install them (Debian/Ubuntu: apt-get install postgresql; Fedora/RHEL: dnf install postgresql-server; ' +
      'macOS: brew install postgresql) or set LDP_TEST_PG_BINDIR.'
  )
}

function lookupOsUser(name) {
  const id = (flag) => {
    const r = spawnSync('id', [flag, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    return r.status === 0 ? Number(r.stdout.trim()) : NaN
  }
  let uid = id('-u')
  let gid = id('-g')
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) {
    try {
      const line = fs
        .readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .find((l) => l.split(':')[0] === name)
      if (!line) return null
      const parts = line.split(':')
      uid = Number(parts[2])
      gid = Number(parts[3])
    } catch {
      return null
    }
  }
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid === 0) return null
  return { name, uid, gid }
}

/** null when not root; else the unprivileged user that must own and run the cluster. */
function clusterOsUser() {
  if (!isRoot()) return null
  const names = process.env.LDP_TEST_PG_OS_USER ? [process.env.LDP_TEST_PG_OS_USER] : ['postgres', 'nobody']
  for (const n of names) {
    const u = lookupOsUser(n)
    if (u) return u
  }
  throw new Error(
    `running as root, and initdb/postgres refuse to run as root, but no unprivileged user was found (tried ${names.join(', ')}). ` +
      'Create one (useradd --system postgres; the postgresql package does this) or set LDP_TEST_PG_OS_USER.'
  )
}

let setpriv
/** Path of a setpriv that supports --pdeathsig (Linux), else null. */
function setprivPath() {
  if (setpriv !== undefined) return setpriv
  setpriv = null
  if (process.platform !== 'linux') return null
  const dirs = [...(process.env.PATH || '').split(path.delimiter), '/usr/bin', '/bin']
  for (const d of dirs) {
    const p = path.join(d, 'setpriv')
    if (!isExecutable(p)) continue
    const r = spawnSync(p, ['--help'], { encoding: 'utf8' })
    if (`${r.stdout}${r.stderr}`.includes('--pdeathsig')) setpriv = p
    break
  }
  return setpriv
}

function traversableByOthers(dir) {
  let d = path.resolve(dir)
  for (;;) {
    try {
      if ((fs.statSync(d).mode & 0o001) === 0) return false
    } catch {
      return false
    }
    const parent = path.dirname(d)
    if (parent === d) return true
    d = parent
  }
}

function makeTempDir(runAs) {
  let parent = process.env.LDP_TEST_TMPDIR || os.tmpdir()
  if (runAs && !traversableByOthers(parent)) parent = '/tmp'
  let dir = fs.mkdtempSync(path.join(parent, 'ldp-pg-'))
  // unix socket paths are limited to ~107 bytes
  if (Buffer.byteLength(dir) + '/.s.PGSQL.65535'.length > 100 && parent !== '/tmp') {
    fs.rmSync(dir, { recursive: true, force: true })
    dir = fs.mkdtempSync('/tmp/ldp-pg-')
  }
  fs.chmodSync(dir, 0o700)
  if (runAs) fs.chownSync(dir, runAs.uid, runAs.gid)
  return dir
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

module.exports = { isRoot, isExecutable, findServerBinaries, clusterOsUser, setprivPath, makeTempDir, freePort }
