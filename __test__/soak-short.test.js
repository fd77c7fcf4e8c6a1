'use strict'
// The soak's short variant (scripts/soak.js; `npm run soak` runs a million checkouts): 20,000
// checkouts with leaks, forced releases, failing statements, destroyed connections and a NOTIFY
// flood. Every internal collection stays within its bound, RSS does not keep growing after the
// warm-up, every leak is reported, every notification arrives. In a child process, so that
// RSS is the soak's own.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFile } = require('node:child_process')

test('soak (20,000 checkouts): bounded collections and RSS, leaks reported, notifications delivered', async () => {
  const script = path.join(__dirname, '..', 'scripts', 'soak.js')
  const r = await new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', script, '--checkouts', '20000', '--rss-growth-mb', '64', '--json'],
      { timeout: 120000 },
      (err, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop()))
        } catch {
          reject(new Error(`the soak printed no figures (${err ? err.message : 'exit 0'}):\n${stdout}\n${stderr.slice(-3000)}`))
        }
      }
    )
  })
  assert.deepEqual(r.violations, [])
  assert.equal(r.checkouts, 20000)
  assert.ok(r.tally.leaks >= 2 && r.tally.leaksDetected >= r.tally.leaks, JSON.stringify(r.tally))
  assert.ok(r.tally.forceReleases >= r.tally.leaks, JSON.stringify(r.tally))
  assert.ok(r.tally.errors >= 100)
  assert.equal(r.tally.notifications + r.tally.notificationsDropped, r.tally.notifySent)
  assert.ok(r.tally.notifications > 0)
  for (const [k, cap] of Object.entries(r.capacities)) {
    if (cap !== null) assert.ok(r.maxSizes[k] <= cap, `${k}: ${r.maxSizes[k]} > ${cap}`)
  }
  // RSS is still rising to its steady state in a run this short (the long soak bounds it at
  // 32 MB after a real warm-up); the heap after GC must already be flat.
  assert.ok(r.rssMb.growth <= 64, `RSS grew ${r.rssMb.growth} MB`)
  const heap = r.series.map((p) => p.heapUsedMb)
  assert.ok(heap[heap.length - 1] - heap[0] <= 4, `the heap after GC grew: ${heap.join(', ')} MB`)
})
