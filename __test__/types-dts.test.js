'use strict'
// index.d.ts compiles under `strict` with `skipLibCheck: false` (SPEC §5) for the ways users
// import the package, and rejects wrong usage. The fixtures in __test__/fixtures/dts/ are
// realistic server code after the swap from pg; they import the package by its own name, which
// TypeScript resolves through package.json "exports" -> "types": ./index.d.ts (self-reference),
// exactly as an installed copy would be resolved. Lines marked `@ts-expect-error` must fail to
// compile, so a declaration that turns too loose fails this test too. No database needed.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')

const root = path.join(__dirname, '..')
const fixtures = path.join(__dirname, 'fixtures', 'dts')
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')

/** Runs the project's tsc on a fixture tsconfig; resolves to { code, output }. */
function compile(project) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', path.join(fixtures, project), '--pretty', 'false'], { cwd: root })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
  })
}

// Two compilations (each takes seconds): start them together. tsconfig.json holds the good
// fixtures and bad-option.cts, whose one error must be the only one (one program, not two, to
// keep the suite fast: most of the time goes to checking @types/node).
const runs = fs.existsSync(tsc) ? { nodenext: compile('tsconfig.json'), bundler: compile('tsconfig.bundler.json') } : null

function requireTsc() {
  assert.ok(runs, `TypeScript is missing at ${tsc}: run \`npm install\` (typescript is a devDependency)`)
}

function errorsOf(output) {
  return output.split('\n').filter((l) => /error TS\d+/.test(l))
}

test('the fixtures use strict mode without skipLibCheck', () => {
  for (const project of ['tsconfig.json', 'tsconfig.bundler.json']) {
    const cfg = JSON.parse(fs.readFileSync(path.join(fixtures, project), 'utf8')).compilerOptions
    assert.equal(cfg.strict, true, project)
    assert.equal(cfg.skipLibCheck, false, project)
    assert.equal(cfg.noEmit, true, project)
  }
})

test('index.d.ts declares every runtime export of index.js and index.mjs', async () => {
  const dts = fs.readFileSync(path.join(root, 'index.d.ts'), 'utf8')
  const cjs = Object.keys(require('..'))
  const esm = Object.keys(await import(path.join(root, 'index.mjs')))
  for (const name of new Set([...cjs, ...esm])) {
    const declared =
      name === 'default'
        ? /^export default LeakDetectingPool$/m.test(dts)
        : new RegExp(`^export (declare (class|const|function) ${name}\\b|\\{ LeakDetectingPool as ${name} \\})`, 'm').test(dts)
    assert.ok(declared, `index.d.ts has no declaration for the export "${name}"`)
  }
})

test('CommonJS and ESM consumers compile (module: nodenext)', { timeout: 300_000 }, async () => {
  requireTsc()
  const { output } = await runs.nodenext
  const others = errorsOf(output).filter((l) => !l.includes('bad-option.cts'))
  assert.deepEqual(others, [], `tsc reported errors in server.cts / server.mts / compat.cts:\n${output}`)
})

test('a wrong option type does not compile', { timeout: 300_000 }, async () => {
  requireTsc()
  const { code, output } = await runs.nodenext
  assert.notEqual(code, 0, 'bad-option.cts ({ leakThresholdMs: "x" }) compiled, but must not')
  const bad = errorsOf(output).filter((l) => l.includes('bad-option.cts'))
  assert.equal(bad.length, 1, `expected exactly the one error on leakThresholdMs, got:\n${output}`)
  assert.match(bad[0], /bad-option\.cts\(5,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/)
})

test('bundler consumers compile, default import included (moduleResolution: bundler)', { timeout: 300_000 }, async () => {
  requireTsc()
  const { code, output } = await runs.bundler
  assert.equal(code, 0, `tsc failed on bundler.ts:\n${output}`)
})
