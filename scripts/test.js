#!/usr/bin/env node
// The one test entry point (`npm test`). Stages, in order:
//   build     the addon, when it is missing or older than a Rust source (scripts/build.js)
//   database  found or started ONCE (__test__/helpers/discover.js: DATABASE_URL / PG* env, the
//             default server 127.0.0.1:5432, else a throwaway cluster with TLS on, kept alive
//             until this process exits) and handed to the next stages through the environment
//             (LDP_TEST_DATABASE_URL, read by __test__/helpers/db.js and tests/common)
//   rust      cargo test --no-default-features (the core: unit and integration tests)
//   js        node --test over __test__/
//   lint      formatting and lints: cargo fmt --check, prettier --check, cargo clippy -D warnings
//             with and without the napi feature
// A failing build or database stops the run; the test and lint stages all run, and the exit
// code is non-zero if any failed.
//
// Usage:
//   node scripts/test.js                          every stage
//   node scripts/test.js __test__/a.test.js ...   build, database, and node --test over these files only
//   --rust / --rust=<target>                      also (or, with files, only) run Rust; a target is a
//                                                 tests/<target>.rs integration test (repeatable)
//   --no-rust, --no-js, --no-build, --no-lint     skip a stage (naming files skips the lint too)
//   any other -flag                               passed to node --test (e.g. --test-name-pattern=x)
'use strict'
const path = require('path')
const fs = require('fs')
const { spawn } = require('child_process')

const root = path.join(__dirname, '..')

function parseArgs(argv) {
  const plan = { build: true, rust: null, js: true, lint: null, rustTargets: [], files: [], nodeFlags: [] }
  for (const a of argv) {
    if (a === '--rust') plan.rust = true
    else if (a.startsWith('--rust=')) {
      plan.rust = true
      plan.rustTargets.push(a.slice('--rust='.length))
    } else if (a === '--no-rust') plan.rust = false
    else if (a === '--no-js') plan.js = false
    else if (a === '--no-build') plan.build = false
    else if (a === '--no-lint') plan.lint = false
    else if (a.startsWith('-')) plan.nodeFlags.push(a)
    else plan.files.push(a)
  }
  // Naming test files asks for those files; Rust then runs only when asked for as well.
  if (plan.rust === null) plan.rust = plan.files.length === 0
  if (plan.lint === null) plan.lint = plan.files.length === 0 && plan.rustTargets.length === 0
  return plan
}

/** Runs a child with inherited stdio; resolves its exit code (1 when killed by a signal). */
function run(cmd, args, env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', env })
    child.on('error', (err) => {
      process.stderr.write(`tests: cannot run ${cmd}: ${err.message}\n`)
      resolve(1)
    })
    child.on('exit', (code) => resolve(code === null ? 1 : code))
  })
}

function jsFiles() {
  return fs
    .readdirSync(path.join(root, '__test__'), { recursive: true })
    .filter((f) => f.endsWith('.test.js') || f.endsWith('.test.mjs'))
    .map((f) => path.join('__test__', f))
    .sort()
}

// Each stage: { name, when(plan), fatal, run(plan, env) -> exit code }. `env` is the
// environment every child gets; the database stage adds the handed-down database to it.
const STAGES = [
  {
    name: 'build',
    when: (plan) => plan.build && plan.js,
    fatal: true,
    run: (plan, env) => run(process.execPath, [path.join(__dirname, 'build.js')], env),
  },
  {
    name: 'database',
    when: (plan) => plan.rust || plan.js,
    fatal: true,
    async run(plan, env) {
      const { discover } = require('../__test__/helpers/discover')
      const { handDown } = require('../__test__/helpers/db')
      try {
        const { config, notes } = await discover({ log: (line) => process.stderr.write(`tests: ${line}\n`) })
        for (const n of notes) process.stderr.write(`tests: tried ${n}\n`)
        process.stderr.write(`tests: database ${config.describe || config.connectionString}\n`)
        Object.assign(env, handDown(config))
        return 0
      } catch (err) {
        process.stderr.write(`${err.message}\n`)
        return 1
      }
    },
  },
  {
    name: 'rust',
    when: (plan) => plan.rust,
    run(plan, env) {
      const targets = plan.rustTargets.flatMap((t) => ['--test', t])
      return run('cargo', ['test', '--no-default-features', ...targets], env)
    },
  },
  {
    name: 'js',
    when: (plan) => plan.js,
    run(plan, env) {
      const files = plan.files.length ? plan.files : jsFiles()
      return run(process.execPath, ['--expose-gc', '--test', '--test-concurrency=2', ...plan.nodeFlags, ...files], env)
    },
  },
  {
    name: 'lint',
    when: (plan) => plan.lint,
    async run(plan, env) {
      const prettier = path.join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs')
      const steps = [
        ['cargo', ['fmt', '--check']],
        [process.execPath, [prettier, '--check', '--log-level', 'warn', '.']],
        ['cargo', ['clippy', '--all-targets', '--no-default-features', '--', '-D', 'warnings']],
        ['cargo', ['clippy', '--all-targets', '--', '-D', 'warnings']],
      ]
      let failed = 0
      for (const [cmd, args] of steps) if ((await run(cmd, args, env)) !== 0) failed = 1
      return failed
    },
  },
]

async function main() {
  const plan = parseArgs(process.argv.slice(2))
  // Children find node (tests/common's throwaway clusters run scripts/cluster.js) as this one.
  const env = { ...process.env, LDP_TEST_NODE: process.execPath }
  // Started from inside a `node --test` run, the children would inherit its child-process
  // protocol and report to a parent that is not listening.
  delete env.NODE_TEST_CONTEXT
  const results = []
  for (const stage of STAGES) {
    if (!stage.when(plan)) continue
    const started = Date.now()
    const code = await stage.run(plan, env)
    results.push({ name: stage.name, code, secs: (Date.now() - started) / 1000 })
    if (code !== 0 && stage.fatal) break
  }
  const summary = results.map((r) => `${r.name} ${r.code === 0 ? 'ok' : `FAILED (exit ${r.code})`} ${r.secs.toFixed(1)}s`)
  process.stderr.write(`tests: ${summary.join(', ')}\n`)
  process.exitCode = results.some((r) => r.code !== 0) ? 1 : 0
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err)
  process.exitCode = 1
})
