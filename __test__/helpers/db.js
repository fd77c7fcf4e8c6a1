'use strict';
/**
 * Test helpers: find a REAL PostgreSQL server for the tests (never a mock) and
 * start throwaway clusters for tests that must stop, restart or misconfigure a
 * server. Never stop or reconfigure the shared server; start your own cluster.
 *
 * findDatabase() discovery order (each candidate is probed with a real
 * connection running `SELECT 1`, ~2 s timeout; the first that works wins):
 *   0. LDP_TEST_DATABASE_URL   result shared by a global setup (setupSharedDatabase())
 *   1. DATABASE_URL
 *   2. PG* environment (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD), if any is set
 *      (missing parts default to 127.0.0.1, 5432, postgres, "test"-if-it-exists-else-"postgres")
 *   3. 127.0.0.1:5432, user $PGUSER or "postgres" (then the OS user), database
 *      "test" if it exists, else "postgres"
 *   4. a throwaway cluster started from the installed server binaries
 *      (initdb / pg_ctl / postgres); it is removed when the process exits
 *   5. otherwise an Error saying what was tried and what to install.
 * A candidate from 0-2 that does not answer is reported on stderr and skipped.
 *
 * Environment knobs:
 *   LDP_TEST_SKIP_DEFAULT=1    skip step 3 (behave as if nothing listens on 127.0.0.1:5432)
 *   LDP_TEST_NO_THROWAWAY=1    skip step 4
 *   LDP_TEST_PG_BINDIR=dir     directory holding initdb, pg_ctl and postgres (default: search
 *                              `pg_config --bindir`, /usr/lib/postgresql/<ver>/bin, /usr/pgsql-<ver>/bin,
 *                              Homebrew, /usr/local/pgsql/bin, then PATH)
 *   LDP_TEST_PG_OS_USER=name   unprivileged OS user that runs throwaway clusters when the tests
 *                              run as root (initdb/postgres refuse root); default "postgres", then "nobody"
 *   LDP_TEST_TMPDIR=dir        parent directory of throwaway clusters (default os.tmpdir())
 *
 * Exports:
 *   findDatabase()                  -> { connectionString, host, port, user, database, password? }
 *                                      plus non-enumerable `describe` (where it came from). Cached per
 *                                      process; each call returns a fresh copy. Usable by pg.Pool and ours.
 *   startThrowawayCluster(opts?)    -> cluster (see the function's comment)
 *   uniqueAppName(prefix?)          -> application_name unique to this process + call (<= 63 bytes)
 *   killBackends(adminConfig, name) -> number of backends with that application_name terminated
 *   setupSharedDatabase()           -> findDatabase() + export LDP_TEST_DATABASE_URL/_DESCRIBE so
 *                                      child processes (e.g. `node --test` workers) reuse the result
 *   findServerBinaries()            -> { binDir, initdb, pg_ctl, postgres } or throws with install hint
 *   probe(config)                   -> null if `SELECT 1` works, else the Error
 */

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const crypto = require('node:crypto');
const { spawn, spawnSync } = require('node:child_process');

const PROBE_TIMEOUT_MS = 2000;
const READY_TIMEOUT_MS = 30000;
const TAG = '[test db helper]';

const INSTALL_HINT = [
  'Fix one of:',
  '  - point the tests at a server: DATABASE_URL=postgres://user:password@host:5432/dbname',
  '    (or PGHOST / PGPORT / PGUSER / PGPASSWORD / PGDATABASE)',
  '  - run PostgreSQL on 127.0.0.1:5432 with a "postgres" role (trust auth) and a "test" database',
  '  - install the PostgreSQL server binaries so the tests can start a throwaway cluster:',
  '      Debian/Ubuntu: apt-get install postgresql   (binaries land in /usr/lib/postgresql/<ver>/bin)',
  '      Fedora/RHEL:   dnf install postgresql-server',
  '      macOS:         brew install postgresql',
  '    or set LDP_TEST_PG_BINDIR to the directory containing initdb, pg_ctl and postgres.',
].join('\n');

// ---------------------------------------------------------------------------
// small utilities

function loadPg() {
  try {
    return require('pg');
  } catch (err) {
    throw new Error(
      `${TAG} the "pg" package is needed to probe servers (it is a devDependency: run \`npm install\`): ${err.message}`,
    );
  }
}

function envFlag(name) {
  const v = process.env[name];
  return v != null && v !== '' && v !== '0' && v.toLowerCase() !== 'false' && v.toLowerCase() !== 'no';
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function encodeHost(host) {
  if (host.startsWith('/')) return encodeURIComponent(host); // unix socket directory
  if (host.includes(':') && !host.startsWith('[')) return `[${host}]`; // IPv6 literal
  return host;
}

function buildUrl({ host, port, user, database, password }) {
  const auth = encodeURIComponent(user) + (password != null ? `:${encodeURIComponent(password)}` : '');
  return `postgres://${auth}@${encodeHost(host)}:${port}/${encodeURIComponent(database)}`;
}

function redactUrl(url) {
  return String(url).replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

/** Parse a libpq-style URL into fields (best effort; pg parses the real thing). */
function parseUrl(connectionString) {
  const fields = {};
  try {
    const u = new URL(connectionString);
    const qHost = u.searchParams.get('host');
    let host = qHost || decodeURIComponent(u.hostname || '');
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    fields.host = host || 'localhost';
    fields.port = Number(u.searchParams.get('port') || u.port || 5432);
    fields.user = decodeURIComponent(u.username || '') || process.env.PGUSER || os.userInfo().username;
    fields.database = decodeURIComponent((u.pathname || '').replace(/^\//, '')) || fields.user;
    if (u.password) fields.password = decodeURIComponent(u.password);
  } catch {
    /* unparseable: leave the fields out, pg will report the problem */
  }
  return fields;
}

function makeConfig(fields, describe) {
  const cfg = {
    connectionString: fields.connectionString || buildUrl(fields),
    host: fields.host,
    port: fields.port,
    user: fields.user,
    database: fields.database,
  };
  if (fields.password != null) cfg.password = fields.password;
  // Non-enumerable so `{ ...config }` / strict option validation never sees it.
  Object.defineProperty(cfg, 'describe', { value: describe, enumerable: false, writable: true, configurable: true });
  return cfg;
}

function copyConfig(cfg) {
  return makeConfig({ ...cfg }, cfg.describe);
}

/** Enumerable connection fields only (what a pg.Client understands). */
function clientConfig(cfg) {
  if (typeof cfg === 'string') return { connectionString: cfg };
  const out = {};
  for (const k of ['connectionString', 'host', 'port', 'user', 'database', 'password', 'ssl']) {
    if (cfg[k] != null) out[k] = cfg[k];
  }
  return out;
}

async function withClient(cfg, fn, extra = {}) {
  const pg = loadPg();
  const client = new pg.Client({ ...clientConfig(cfg), ...extra });
  client.on('error', () => {}); // errors surface through the awaited calls
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Returns null if `SELECT 1` works through `cfg`, else the Error. */
async function probe(cfg, timeoutMs = PROBE_TIMEOUT_MS) {
  try {
    await withClient(cfg, (c) => c.query('SELECT 1'), {
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
    });
    return null;
  } catch (err) {
    return err;
  }
}

function errText(err) {
  if (!err) return 'ok';
  const msg = err.message || String(err);
  return err.code && !msg.includes(err.code) ? `${msg} [${err.code}]` : msg;
}

function isUnreachable(err) {
  const code = err && err.code;
  return (
    ['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ENOENT'].includes(code) ||
    /timeout/i.test((err && err.message) || '')
  );
}

// ---------------------------------------------------------------------------
// discovery

/**
 * Probe host/port with each user (in order) and database "test"-then-"postgres"
 * (or the given database). Returns a config or null; pushes notes onto `tried`.
 */
async function probeServer({ host, port, users, databases, password }, label, tried) {
  const seen = new Set();
  for (const user of users) {
    for (const database of databases) {
      const key = `${user}@${database}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const fields = { host, port, user, database };
      if (password != null) fields.password = password;
      const err = await probe(fields);
      if (!err) return makeConfig(fields, `${label} (${redactUrl(buildUrl(fields))})`);
      tried.push(`${label} as ${user}, database ${database}: ${errText(err)}`);
      if (isUnreachable(err)) return null; // nothing listening: no point trying other users
      if (err.code !== '3D000') break; // not "database does not exist": try the next user
    }
  }
  return null;
}

async function discover() {
  const tried = [];
  const warn = (what, err) =>
    process.stderr.write(`${TAG} ${what} did not answer (${errText(err)}); trying the next option\n`);

  // 0. a result shared by a global setup
  const shared = process.env.LDP_TEST_DATABASE_URL;
  if (shared) {
    const cfg = makeConfig(
      { connectionString: shared, ...parseUrl(shared) },
      process.env.LDP_TEST_DATABASE_DESCRIBE || `shared test database from LDP_TEST_DATABASE_URL (${redactUrl(shared)})`,
    );
    const err = await probe(cfg);
    if (!err) return cfg;
    warn(`LDP_TEST_DATABASE_URL=${redactUrl(shared)}`, err);
    tried.push(`LDP_TEST_DATABASE_URL=${redactUrl(shared)}: ${errText(err)}`);
  }

  // 1. DATABASE_URL
  const url = process.env.DATABASE_URL;
  if (url) {
    const cfg = makeConfig({ connectionString: url, ...parseUrl(url) }, `DATABASE_URL (${redactUrl(url)})`);
    const err = await probe(cfg);
    if (!err) return cfg;
    warn(`DATABASE_URL=${redactUrl(url)}`, err);
    tried.push(`DATABASE_URL=${redactUrl(url)}: ${errText(err)}`);
  } else {
    tried.push('DATABASE_URL: not set');
  }

  // 2. PG* environment
  const pgVars = ['PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE', 'PGPASSWORD'].filter((k) => process.env[k]);
  if (pgVars.length) {
    const e = process.env;
    const label = `PG* environment (${pgVars.map((k) => (k === 'PGPASSWORD' ? 'PGPASSWORD=***' : `${k}=${e[k]}`)).join(' ')})`;
    const notes = [];
    const cfg = await probeServer(
      {
        host: e.PGHOST || '127.0.0.1',
        port: Number(e.PGPORT || 5432),
        users: [e.PGUSER || 'postgres'],
        databases: e.PGDATABASE ? [e.PGDATABASE] : ['test', 'postgres'],
        password: e.PGPASSWORD,
      },
      label,
      notes,
    );
    if (cfg) return cfg;
    warn(label, { message: notes[notes.length - 1] || 'no answer' });
    tried.push(...notes);
  } else {
    tried.push('PG* environment: none of PGHOST/PGPORT/PGUSER/PGDATABASE/PGPASSWORD set');
  }

  // 3. the conventional local server
  if (envFlag('LDP_TEST_SKIP_DEFAULT')) {
    tried.push('127.0.0.1:5432: skipped (LDP_TEST_SKIP_DEFAULT is set)');
  } else {
    let osUser = null;
    try {
      osUser = os.userInfo().username;
    } catch {
      /* no passwd entry */
    }
    const cfg = await probeServer(
      {
        host: '127.0.0.1',
        port: 5432,
        users: [process.env.PGUSER || 'postgres', osUser].filter(Boolean),
        databases: ['test', 'postgres'],
        password: process.env.PGPASSWORD,
      },
      'local server at 127.0.0.1:5432',
      tried,
    );
    if (cfg) return cfg;
  }

  // 4. a throwaway cluster, alive until this process exits
  if (envFlag('LDP_TEST_NO_THROWAWAY')) {
    tried.push('throwaway cluster: skipped (LDP_TEST_NO_THROWAWAY is set)');
  } else {
    try {
      const cluster = await startThrowawayCluster();
      const cfg = cluster.config();
      cfg.describe =
        `throwaway cluster at 127.0.0.1:${cluster.port} (data ${cluster.dataDir}, ` +
        `binaries ${cluster.binDir}; removed when this process exits)`;
      return cfg;
    } catch (err) {
      tried.push(`throwaway cluster: ${errText(err)}`);
    }
  }

  throw new Error(
    `${TAG} no PostgreSQL server is available for the tests.\nTried:\n` +
      tried.map((t) => `  - ${t.replace(/\n/g, '\n    ')}`).join('\n') +
      `\n${INSTALL_HINT}`,
  );
}

let discovery = null;

/** Find a working server (see the top of this file). Cached per process. */
async function findDatabase() {
  if (!discovery) {
    discovery = discover();
    discovery.catch(() => {
      discovery = null; // do not cache failures
    });
  }
  return copyConfig(await discovery);
}

/** For a global setup: discover once and share the result with child processes via env. */
async function setupSharedDatabase() {
  const cfg = await findDatabase();
  process.env.LDP_TEST_DATABASE_URL = cfg.connectionString;
  process.env.LDP_TEST_DATABASE_DESCRIBE = cfg.describe;
  return cfg;
}

// ---------------------------------------------------------------------------
// server binaries and the unprivileged OS user

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function versionDirs(parent, re, suffix) {
  try {
    return fs
      .readdirSync(parent)
      .filter((n) => re.test(n))
      .sort((a, b) => (parseFloat(b.replace(/^\D+/, '')) || 0) - (parseFloat(a.replace(/^\D+/, '')) || 0))
      .map((n) => path.join(parent, n, suffix));
  } catch {
    return [];
  }
}

let binaries = null;

/** Locate initdb, pg_ctl and postgres (all three in one directory). */
function findServerBinaries() {
  if (binaries) return binaries;
  const dirs = [];
  if (process.env.LDP_TEST_PG_BINDIR) dirs.push(process.env.LDP_TEST_PG_BINDIR);
  try {
    const r = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    if (r.status === 0 && r.stdout.trim()) dirs.push(r.stdout.trim());
  } catch {
    /* no pg_config */
  }
  dirs.push(...versionDirs('/usr/lib/postgresql', /^\d+(\.\d+)?$/, 'bin'));
  dirs.push(...versionDirs('/usr', /^pgsql-\d+/, 'bin'));
  dirs.push(...versionDirs('/opt/homebrew/opt', /^postgresql(@\d+)?$/, 'bin'));
  dirs.push(...versionDirs('/usr/local/opt', /^postgresql(@\d+)?$/, 'bin'));
  dirs.push('/usr/local/pgsql/bin');
  for (const d of (process.env.PATH || '').split(path.delimiter).filter(Boolean)) {
    const initdb = path.join(d, 'initdb');
    if (isExecutable(initdb)) {
      dirs.push(d);
      try {
        dirs.push(path.dirname(fs.realpathSync(initdb))); // e.g. /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin
      } catch {
        /* dangling link */
      }
    }
  }
  const uniq = [...new Set(dirs)];
  for (const dir of uniq) {
    const b = { binDir: dir, initdb: path.join(dir, 'initdb'), pg_ctl: path.join(dir, 'pg_ctl'), postgres: path.join(dir, 'postgres') };
    if (isExecutable(b.initdb) && isExecutable(b.pg_ctl) && isExecutable(b.postgres)) {
      binaries = b;
      return b;
    }
  }
  throw new Error(
    'PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; looked in: ' +
      (uniq.join(', ') || '(nowhere)') +
      '. Install them (Debian/Ubuntu: apt-get install postgresql; Fedora/RHEL: dnf install postgresql-server; ' +
      'macOS: brew install postgresql) or set LDP_TEST_PG_BINDIR.',
  );
}

function lookupOsUser(name) {
  const id = (flag) => {
    const r = spawnSync('id', [flag, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return r.status === 0 ? Number(r.stdout.trim()) : NaN;
  };
  let uid = id('-u');
  let gid = id('-g');
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) {
    try {
      const line = fs
        .readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .find((l) => l.split(':')[0] === name);
      if (!line) return null;
      const parts = line.split(':');
      uid = Number(parts[2]);
      gid = Number(parts[3]);
    } catch {
      return null;
    }
  }
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid === 0) return null;
  return { name, uid, gid };
}

/** null when not root; else the unprivileged user that must own and run the cluster. */
function clusterOsUser() {
  if (!isRoot()) return null;
  const names = process.env.LDP_TEST_PG_OS_USER ? [process.env.LDP_TEST_PG_OS_USER] : ['postgres', 'nobody'];
  for (const n of names) {
    const u = lookupOsUser(n);
    if (u) return u;
  }
  throw new Error(
    `running as root, and initdb/postgres refuse to run as root, but no unprivileged user was found (tried ${names.join(', ')}). ` +
      'Create one (useradd --system postgres; the postgresql package does this) or set LDP_TEST_PG_OS_USER.',
  );
}

let setpriv;
/** Path of a setpriv that supports --pdeathsig (Linux), else null. */
function setprivPath() {
  if (setpriv !== undefined) return setpriv;
  setpriv = null;
  if (process.platform !== 'linux') return null;
  const dirs = [...(process.env.PATH || '').split(path.delimiter), '/usr/bin', '/bin'];
  for (const d of dirs) {
    const p = path.join(d, 'setpriv');
    if (!isExecutable(p)) continue;
    const r = spawnSync(p, ['--help'], { encoding: 'utf8' });
    if (`${r.stdout}${r.stderr}`.includes('--pdeathsig')) setpriv = p;
    break;
  }
  return setpriv;
}

function traversableByOthers(dir) {
  let d = path.resolve(dir);
  for (;;) {
    try {
      if ((fs.statSync(d).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    const parent = path.dirname(d);
    if (parent === d) return true;
    d = parent;
  }
}

function makeTempDir(runAs) {
  let parent = process.env.LDP_TEST_TMPDIR || os.tmpdir();
  if (runAs && !traversableByOthers(parent)) parent = '/tmp';
  let dir = fs.mkdtempSync(path.join(parent, 'ldp-pg-'));
  // unix socket paths are limited to ~107 bytes
  if (Buffer.byteLength(dir) + '/.s.PGSQL.65535'.length > 100 && parent !== '/tmp') {
    fs.rmSync(dir, { recursive: true, force: true });
    dir = fs.mkdtempSync('/tmp/ldp-pg-');
  }
  fs.chmodSync(dir, 0o700);
  if (runAs) fs.chownSync(dir, runAs.uid, runAs.gid);
  return dir;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------
// process management for throwaway clusters

const live = new Set(); // cluster states not yet removed
const extraDirs = new Set(); // other temp dirs to remove at exit (initdb templates)
let handlersInstalled = false;

function serverEnv() {
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  for (const k of Object.keys(env)) if (/^PG/.test(k)) delete env[k];
  return env;
}

function spawnOpts(state, extra) {
  const o = { cwd: state.baseDir, env: serverEnv(), ...extra };
  if (state.runAs) {
    o.uid = state.runAs.uid;
    o.gid = state.runAs.gid;
  }
  return o;
}

/** Run a command as the cluster's OS user; resolves { code, stdout, stderr }. */
function run(state, cmd, args, timeoutMs = 120000) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, spawnOpts(state, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code == null ? -1 : code, signal, stdout, stderr });
    });
  });
}

function cleanupAllSync() {
  for (const state of live) {
    try {
      if (fs.existsSync(path.join(state.dataDir, 'postmaster.pid'))) {
        spawnSync(state.bins.pg_ctl, ['stop', '-D', state.dataDir, '-m', 'immediate', '-w', '-t', '10'], spawnOpts(state, { stdio: 'ignore', timeout: 15000 }));
      }
    } catch {
      /* best effort */
    }
    try {
      if (state.child && state.child.exitCode === null && state.child.signalCode === null) state.child.kill('SIGKILL');
    } catch {
      /* best effort */
    }
    try {
      fs.rmSync(state.baseDir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      /* best effort */
    }
  }
  live.clear();
  for (const dir of extraDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      /* best effort */
    }
  }
  extraDirs.clear();
}

function installExitHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', cleanupAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    const onSignal = () => {
      cleanupAllSync();
      process.removeListener(sig, onSignal);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig); // default action
    };
    process.on(sig, onSignal);
  }
}

function readLog(state) {
  try {
    return fs.readFileSync(state.logFile, 'utf8');
  } catch {
    return '';
  }
}

function logTail(state, n = 20) {
  return readLog(state).trimEnd().split('\n').slice(-n).join('\n');
}

function childAlive(child) {
  return !!child && child.exitCode === null && child.signalCode === null && !child.spawnError;
}

function adminConfig(state) {
  // The unix socket lives in our private directory: answering on it proves it is OUR server,
  // and "local all postgres trust" is always the first hba line.
  return { host: state.baseDir, port: state.port, user: 'postgres', database: 'postgres' };
}

function spawnPostgres(state) {
  const logFd = fs.openSync(state.logFile, 'a', 0o600);
  try {
    if (state.runAs) fs.fchownSync(logFd, state.runAs.uid, state.runAs.gid);
    let cmd = state.bins.postgres;
    let args = ['-D', state.dataDir];
    const sp = setprivPath();
    if (sp) {
      // If this Node process dies without running its exit handlers (SIGKILL, crash), the kernel
      // sends the postmaster SIGQUIT (immediate shutdown) so no server is left behind.
      args = ['--pdeathsig', 'SIGQUIT', '--', cmd, ...args];
      cmd = sp;
    }
    const child = spawn(cmd, args, spawnOpts(state, { stdio: ['ignore', logFd, logFd] }));
    child.on('error', (err) => {
      child.spawnError = err;
    });
    child.unref(); // never keep the test process alive; the exit handler stops the server
    state.child = child;
    return child;
  } finally {
    fs.closeSync(logFd);
  }
}

async function waitReady(state, child, logOffset) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (!childAlive(child)) {
      const log = readLog(state).slice(logOffset);
      const err = new Error(
        `postgres exited during startup (${child.spawnError ? child.spawnError.message : `code ${child.exitCode}, signal ${child.signalCode}`}); log:\n${log.trim().split('\n').slice(-20).join('\n')}`,
      );
      err.bindFailure = /could not bind|could not create any TCP\/IP sockets|Address already in use/i.test(log);
      throw err;
    }
    const err = await probe(adminConfig(state), 1000);
    if (!err) return;
    if (Date.now() > deadline) {
      throw new Error(`postgres did not become ready within ${READY_TIMEOUT_MS} ms (${errText(err)}); log:\n${logTail(state)}`);
    }
    await sleep(50);
  }
}

async function startServer(state) {
  if (state.removed) throw new Error('cluster already stopped and removed');
  if (childAlive(state.child) || fs.existsSync(path.join(state.dataDir, 'postmaster.pid'))) {
    const err = await probe(adminConfig(state), 1000);
    if (!err) return; // already running
  }
  const offset = readLog(state).length;
  const child = spawnPostgres(state);
  try {
    await waitReady(state, child, offset);
  } catch (err) {
    if (childAlive(child)) child.kill('SIGKILL');
    throw err;
  }
}

async function stopServer(state, mode = 'fast') {
  if (fs.existsSync(path.join(state.dataDir, 'postmaster.pid'))) {
    await run(state, state.bins.pg_ctl, ['stop', '-D', state.dataDir, '-m', mode, '-w', '-t', '60']).catch(() => {});
  }
  const child = state.child;
  if (childAlive(child)) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const timedOut = await Promise.race([exited.then(() => false), sleep(10000).then(() => true)]);
    if (timedOut) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

async function initdb(state, dataDir, extraArgs = []) {
  const args = ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '-N', ...extraArgs];
  const r = await run(state, state.bins.initdb, args);
  if (r.code !== 0) {
    const who = state.runAs ? `, as OS user ${state.runAs.name}` : '';
    throw new Error(`initdb failed (exit ${r.code}${who}):\n${`${r.stdout}\n${r.stderr}`.trim()}`);
  }
}

// initdb takes about a second; later clusters of this process copy a pristine template instead.
const templates = new Map(); // OS user -> Promise<template data dir>

async function initDataDir(state, initdbArgs) {
  if (initdbArgs && initdbArgs.length) return initdb(state, state.dataDir, initdbArgs);
  const key = state.runAs ? state.runAs.name : '';
  let tpl = templates.get(key);
  if (!tpl) {
    tpl = (async () => {
      const dir = makeTempDir(state.runAs);
      extraDirs.add(dir);
      await initdb({ ...state, baseDir: dir }, path.join(dir, 'template'));
      return path.join(dir, 'template');
    })();
    templates.set(key, tpl);
    tpl.catch(() => templates.delete(key));
  }
  const tplDir = await tpl;
  const cp = await run(state, 'cp', ['-a', tplDir, state.dataDir]).catch((err) => ({ code: -1, stderr: err.message }));
  if (cp.code !== 0) {
    fs.rmSync(state.dataDir, { recursive: true, force: true });
    await initdb(state, state.dataDir);
  }
}

function writeServerConf(state) {
  const quote = (v) => (typeof v === 'number' ? String(v) : typeof v === 'boolean' ? (v ? 'on' : 'off') : `'${String(v).replace(/'/g, "''")}'`);
  const settings = {
    listen_addresses: '127.0.0.1',
    port: state.port,
    unix_socket_directories: state.baseDir,
    fsync: false,
    synchronous_commit: false,
    full_page_writes: false,
    logging_collector: false,
    ...state.settings,
  };
  const body = Object.entries(settings)
    .map(([k, v]) => `${k} = ${quote(v)}`)
    .join('\n');
  fs.writeFileSync(path.join(state.dataDir, 'ldp_test.conf'), `# written by __test__/helpers/db.js\n${body}\n`);
}

function writeHba(state, opts) {
  const lines = ['# written by __test__/helpers/db.js', 'local all postgres trust'];
  for (const u of state.passwordUsers) {
    lines.push(`host all "${u.name}" 127.0.0.1/32 ${u.method}`, `host all "${u.name}" ::1/128 ${u.method}`);
  }
  if (opts.hba) {
    lines.push(...(Array.isArray(opts.hba) ? opts.hba : String(opts.hba).split('\n')));
  } else {
    lines.push('local all all trust', 'host all all 127.0.0.1/32 trust', 'host all all ::1/128 trust');
  }
  fs.writeFileSync(path.join(state.dataDir, 'pg_hba.conf'), `${lines.join('\n')}\n`);
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
 *   initdbArgs:   extra initdb arguments (e.g. ['-k']); otherwise a per-process template made by
 *                 the first initdb is copied, which is much faster.
 *
 * Returns { host, port, user, database, connectionString, dataDir, baseDir, socketDir, logFile, binDir,
 *   config(overrides?)  config object like findDatabase() (e.g. config({ user, password })),
 *   stop()              stop (fast) and remove the directory (idempotent),
 *   restart()           stop and start again on the same port,
 *   stopServer()/startServer()  stop or start without removing anything (for "server is down" tests),
 *   pgCtl(args)         run pg_ctl -D dataDir ...args as the cluster's OS user -> { code, stdout, stderr },
 *   isRunning(), readLog() }
 * Servers still running at process exit (or SIGINT/SIGTERM/SIGHUP) are stopped and removed.
 */
async function startThrowawayCluster(opts = {}) {
  const bins = findServerBinaries();
  const runAs = clusterOsUser();
  const passwordUsers = (Array.isArray(opts.passwordUser) ? opts.passwordUser : opts.passwordUser ? [opts.passwordUser] : []).map(
    (u) => {
      if (!u.name || u.password == null) throw new Error('passwordUser needs { name, password }');
      const method = u.method || 'scram-sha-256';
      if (!['scram-sha-256', 'md5', 'password'].includes(method)) throw new Error(`unsupported passwordUser.method ${method}`);
      return { name: u.name, password: String(u.password), method };
    },
  );
  const baseDir = makeTempDir(runAs);
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
  };
  installExitHandlers();
  live.add(state);

  const remove = async () => {
    if (state.removed) return;
    await stopServer(state);
    state.removed = true;
    live.delete(state);
    fs.rmSync(state.baseDir, { recursive: true, force: true, maxRetries: 3 });
  };

  try {
    await initDataDir(state, opts.initdbArgs);
    fs.appendFileSync(path.join(state.dataDir, 'postgresql.conf'), "\ninclude 'ldp_test.conf'\n");
    writeHba(state, opts);
    for (let attempt = 1; ; attempt++) {
      state.port = await freePort();
      writeServerConf(state);
      try {
        await startServer(state);
        break;
      } catch (err) {
        if (!err.bindFailure || attempt >= 5) throw err; // lost a port race: pick another port
      }
    }
    for (const u of passwordUsers) {
      await withClient(adminConfig(state), async (c) => {
        await c.query(`SET password_encryption = '${u.method === 'md5' ? 'md5' : 'scram-sha-256'}'`);
        await c.query(`CREATE ROLE ${c.escapeIdentifier(u.name)} LOGIN PASSWORD ${c.escapeLiteral(u.password)}`);
        await c.query(`GRANT ALL ON SCHEMA public TO ${c.escapeIdentifier(u.name)}`);
      });
    }
  } catch (err) {
    await remove().catch(() => {});
    throw err;
  }

  const fields = { host: '127.0.0.1', port: state.port, user: 'postgres', database: 'postgres' };
  return {
    ...fields,
    connectionString: buildUrl(fields),
    dataDir: state.dataDir,
    baseDir: state.baseDir,
    socketDir: state.baseDir,
    logFile: state.logFile,
    binDir: bins.binDir,
    osUser: runAs ? runAs.name : null,
    config(overrides = {}) {
      const f = { ...fields, ...overrides };
      return makeConfig(f, `throwaway cluster at 127.0.0.1:${state.port} (data ${state.dataDir})`);
    },
    stop: remove,
    async restart() {
      await stopServer(state);
      await startServer(state);
    },
    stopServer: (mode) => stopServer(state, mode),
    startServer: () => startServer(state),
    async pgCtl(args) {
      const a = [...args];
      if (['start', 'restart'].includes(a[0]) && !a.includes('-l')) a.push('-l', state.logFile);
      return run(state, bins.pg_ctl, ['-D', state.dataDir, ...a]);
    },
    isRunning: () => fs.existsSync(path.join(state.dataDir, 'postmaster.pid')),
    readLog: () => readLog(state),
  };
}

// ---------------------------------------------------------------------------
// backends

let appCounter = 0;

/** An application_name unique to this process and call (ASCII, <= 63 bytes so the server keeps it whole). */
function uniqueAppName(prefix = 'ldp-test') {
  const suffix = `-${process.pid}-${++appCounter}-${crypto.randomBytes(3).toString('hex')}`;
  const clean = String(prefix).replace(/[^\x20-\x7e]/g, '_');
  return clean.slice(0, 63 - suffix.length) + suffix;
}

/**
 * Terminate every backend whose application_name is exactly `appName` (never the admin
 * connection itself), wait until they are gone, and return how many were terminated.
 */
async function killBackends(adminCfg, appName) {
  return withClient(adminCfg, async (c) => {
    const { rows } = await c.query(
      'SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
      [appName],
    );
    let killed = 0;
    for (const { pid } of rows) {
      const r = await c.query('SELECT pg_terminate_backend($1) AS ok', [pid]);
      if (r.rows[0].ok) killed++;
    }
    const pids = rows.map((r) => r.pid);
    const deadline = Date.now() + 5000;
    while (pids.length && Date.now() < deadline) {
      const r = await c.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])', [pids]);
      if (r.rows[0].n === 0) break;
      await sleep(20);
    }
    return killed;
  }, { application_name: 'ldp-test-killer' });
}

module.exports = {
  findDatabase,
  setupSharedDatabase,
  startThrowawayCluster,
  uniqueAppName,
  killBackends,
  findServerBinaries,
  probe,
};
