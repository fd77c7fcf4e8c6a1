'use strict'
// Measurements in a fresh process: `node benchmark/worker.js '<json spec>'`.
// spec: { subject, conn, sql, expectRows, warmupMs,
//         cases: [{ case, concurrency, seconds }, ...] }
// Each case gets a new pool of the subject (created, warmed up, measured, ended). Prints one
// line `BENCH_RESULT <json>` per case on stdout ({ case, ok, metrics } or { case, ok: false,
// error }); exits 0 when every case succeeded, else 1.

const { subject: findSubject } = require('./subjects')
const { CASES, load } = require('./cases')

const MARK = 'BENCH_RESULT '

async function endWithin(subject, ms, label) {
  const ended = await Promise.race([
    Promise.resolve()
      .then(() => subject.end())
      .then(
        () => true,
        () => false
      ),
    new Promise((resolve) => setTimeout(resolve, ms, false).unref()),
  ])
  if (!ended) process.stderr.write(`worker ${label}: end() did not finish within ${ms} ms\n`)
}

async function measure(spec, item) {
  const c = CASES.find((x) => x.id === item.case)
  if (!c) throw new Error(`unknown case ${item.case}`)
  const s = findSubject(spec.subject)
  const subject = s.create(spec.conn, c.poolOptions)
  try {
    return await load(c).run(subject, {
      sql: spec.sql,
      expectRows: spec.expectRows,
      warmupMs: spec.warmupMs,
      concurrency: item.concurrency || c.concurrency,
      seconds: item.seconds,
    })
  } finally {
    await endWithin(subject, 5000, `${spec.subject}/${item.case}`)
  }
}

async function main() {
  const spec = JSON.parse(process.argv[2])
  let failed = 0
  for (const item of spec.cases) {
    const t0 = Date.now()
    let line
    try {
      const metrics = await measure(spec, item)
      line = { case: item.case, ok: true, wallS: (Date.now() - t0) / 1000, metrics }
    } catch (err) {
      failed++
      process.stderr.write(`worker ${spec.subject}/${item.case}: ${err && err.stack ? err.stack : err}\n`)
      line = { case: item.case, ok: false, error: String((err && err.message) || err) }
    }
    process.stdout.write(`${MARK}${JSON.stringify(line)}\n`)
  }
  return failed
}

main().then(
  (failed) => process.exit(failed ? 1 : 0),
  (err) => {
    process.stderr.write(`${err && err.stack ? err.stack : err}\n`)
    process.exit(1)
  }
)
