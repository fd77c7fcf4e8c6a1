#!/usr/bin/env node
// Runs node-postgres's own tests against pg.Pool and against LeakDetectingPool (`npm run
// pg-suite`). The tests are taken at run time from a copy of node-postgres — never copied into
// this repository — and run unchanged: pg-pool's mocha suite (packages/pg-pool/test) and pg's
// integration tests that go through pg.Pool (packages/pg/test/integration: connection-pool/ and
// every other file using `pg.Pool`). The Pool class is substituted through module resolution
// (scripts/pg-suite/preload.js); the runners they need are installed from npm into a cache
// outside this repository. Not part of `npm test`: it needs the network and a node-postgres copy.
//
// Usage:
//   node scripts/pg-suite.js [<node-postgres checkout or git dir>] [options]
//   PG_SUITE_REPO=<path> npm run pg-suite
// Options:
//   --rev=<commit>      the commit to read from a git directory (default HEAD)
//   --pool=pg|ours|both which pools to run (default both)
//   --only=<text>       only files whose path contains <text> (repeatable)
//   --json=<file>       also write the results as JSON
//   --output            print the captured output of each file that did not pass fully
//   --keep              keep the temporary tree (its path is printed)
//   --fresh             reinstall the test runners
// The database: DATABASE_URL, else the PG* variables, else 127.0.0.1:5432 as "postgres",
// database "postgres" (what node-postgres's tests default to). Exit code 0 when every test
// that must pass passes with LeakDetectingPool (with --pool=pg: with pg.Pool).
'use strict'

const fs = require('fs')
const os = require('os')
const path = require('path')

const { Source } = require('./pg-suite/source')
const { installRunner, linkModules, projectPackage } = require('./pg-suite/deps')
const { selectFiles } = require('./pg-suite/plan')
const { runFile, alignPlans } = require('./pg-suite/run')
const { buildReport, LABEL } = require('./pg-suite/report')

const root = path.join(__dirname, '..')

function parseArgs(argv) {
  const opts = { repo: process.env.PG_SUITE_REPO || null, rev: null, pools: ['pg', 'ours'], only: [], json: null }
  for (const a of argv) {
    const [key, value] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, null]
    if (key === '--rev') opts.rev = value
    else if (key === '--pool') opts.pools = value === 'both' ? ['pg', 'ours'] : [value]
    else if (key === '--only') opts.only.push(value)
    else if (key === '--json') opts.json = path.resolve(value)
    else if (key === '--output') opts.output = true
    else if (key === '--keep') opts.keep = true
    else if (key === '--fresh') opts.fresh = true
    else if (key === '--help' || key === '-h') opts.help = true
    else if (a.startsWith('-')) throw new Error(`pg-suite: unknown option ${a}`)
    else opts.repo = a
  }
  if (!opts.pools.every((p) => p === 'pg' || p === 'ours')) throw new Error('pg-suite: --pool must be pg, ours or both')
  return opts
}

/** The environment the tests connect with: PG* as node-postgres's tests read them. */
function databaseEnv() {
  const env = { ...process.env }
  if (env.DATABASE_URL) {
    const url = new URL(env.DATABASE_URL)
    if (url.hostname) env.PGHOST = decodeURIComponent(url.hostname)
    if (url.port) env.PGPORT = url.port
    if (url.username) env.PGUSER = decodeURIComponent(url.username)
    if (url.password) env.PGPASSWORD = decodeURIComponent(url.password)
    if (url.pathname.length > 1) env.PGDATABASE = decodeURIComponent(url.pathname.slice(1))
  }
  env.PGHOST = env.PGHOST || '127.0.0.1'
  env.PGPORT = env.PGPORT || '5432'
  env.PGUSER = env.PGUSER || 'postgres'
  env.PGDATABASE = env.PGDATABASE || 'postgres'
  return env
}

function log(msg) {
  process.stderr.write(`pg-suite: ${msg}\n`)
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  if (opts.help || !opts.repo) {
    process.stdout.write(
      fs
        .readFileSync(__filename, 'utf8')
        .split('\n')
        .slice(1, 23)
        .join('\n')
        .replace(/^\/\/ ?/gm, '') + '\n'
    )
    if (!opts.repo && !opts.help) log('name a node-postgres checkout or git directory (argument or PG_SUITE_REPO)')
    process.exit(opts.help ? 0 : 2)
  }
  const pgDir = projectPackage(root, 'pg')
  if (!pgDir) throw new Error('pg-suite: pg is not installed in this repository (npm install)')
  if (opts.pools.includes('ours') && !fs.existsSync(path.join(root, 'binding.js'))) {
    throw new Error('pg-suite: the addon is not built (npm run build)')
  }

  const source = new Source(opts.repo, opts.rev)
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ldp-pg-suite-'))
  const tree = path.join(work, 'tree')
  try {
    source.extract(tree)
    // pg's tests load pg from their package's lib directory: that is the installed pg, the one
    // LeakDetectingPool and the application share.
    fs.symlinkSync(path.join(pgDir, 'lib'), path.join(tree, 'packages', 'pg', 'lib'), 'junction')
    linkModules(tree, installRunner(source, { fresh: opts.fresh, log }), root)

    const files = selectFiles(tree, fs, opts.only)
    const pgVersion = JSON.parse(fs.readFileSync(path.join(pgDir, 'package.json'), 'utf8')).version
    const env = databaseEnv()
    env.LDP_PG_SUITE_TREE = fs.realpathSync(tree)
    env.LDP_PG_SUITE_PG = pgDir
    env.LDP_PG_SUITE_OURS = root
    const header = [
      `node-postgres tests from ${source.describe()}`,
      `pools: ${opts.pools.map((p) => (p === 'pg' ? `pg.Pool (installed pg ${pgVersion})` : `LeakDetectingPool (${root})`)).join(' and ')}`,
      `database: ${env.PGUSER}@${env.PGHOST}:${env.PGPORT}/${env.PGDATABASE}; ${files.length} files`,
    ]
    log(header.join('\n           '))

    const results = []
    for (const [i, entry] of files.entries()) {
      const runs = {}
      const notes = []
      for (const pool of opts.pools) {
        runs[pool] = await runFile({
          tree: env.LDP_PG_SUITE_TREE,
          entry,
          pool,
          env,
          fileTimeoutMs: 120000,
          exitGraceMs: 5000,
          outDir: work,
        })
        const o = runs[pool]
        const passed = o.tests.filter((t) => t.status === 'pass' || t.status === 'skip').length
        notes.push(`${LABEL[pool]} ${passed}/${o.tests.length}${o.problems.length ? ' !' : ''} (${(o.ms / 1000).toFixed(1)}s)`)
        if (opts.output && (passed < o.tests.length || o.problems.length)) {
          process.stderr.write(`----- ${entry.file} with ${LABEL[pool]}\n${o.output}\n-----\n`)
        }
      }
      alignPlans(runs)
      log(`[${i + 1}/${files.length}] ${entry.file}: ${notes.join(', ')}`)
      results.push({ file: entry.file, runs })
    }

    const { text, summary, ok } = buildReport(results, opts.pools, header)
    process.stdout.write(text + '\n')
    if (opts.json) {
      const slim = results.map((r) => ({
        file: r.file,
        runs: Object.fromEntries(Object.entries(r.runs).map(([p, o]) => [p, { tests: o.tests, problems: o.problems, ms: o.ms }])),
      }))
      fs.writeFileSync(opts.json, JSON.stringify({ header, summary, results: slim }, null, 2))
    }
    process.exitCode = ok ? 0 : 1
  } finally {
    if (opts.keep) log(`kept ${work}`)
    else fs.rmSync(work, { recursive: true, force: true })
  }
}

main().catch((err) => {
  process.stderr.write(`${err.message}\n`)
  process.exit(2)
})
