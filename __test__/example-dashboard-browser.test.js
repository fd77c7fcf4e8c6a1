'use strict'
// The leak dashboard in a real browser (Debian's `chromium`, driven by playwright-core): while
// the example service leaks on purpose, the page draws its charts from the polled /metrics
// history and shows the leaking function's file:line with its stack. The screenshot it takes
// is the README's (docs/dashboard.png). Skipped, saying which package to install, where
// Chromium is missing.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { startService } = require('./helpers/service')

const ROOT = path.join(__dirname, '..')
const SCREENSHOT = path.join(ROOT, 'docs', 'dashboard.png')
const WORKLOAD = path.join(ROOT, 'examples', 'service', 'workload.js')
const LEAK_LINE =
  fs
    .readFileSync(WORKLOAD, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes('// LEAKS HERE')) + 1

/** Chromium's executable: CHROMIUM_PATH, else Debian's and other common locations. */
function findChromium() {
  const candidates = [
    process.env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/lib/chromium/chromium',
    '/snap/bin/chromium',
  ]
  return candidates.find((p) => p && fs.existsSync(p)) || null
}

const chromium = findChromium()

test(
  'the dashboard charts the metrics history and names the leaking function while the service leaks',
  { skip: chromium ? false : "Chromium not found: install Debian's `chromium` package (apt-get install chromium) or set CHROMIUM_PATH" },
  async (t) => {
    const { chromium: driver } = require('playwright-core')
    const { url } = await startService(t, { leakEveryMs: 300, concurrency: 3 })
    const browser = await driver.launch({ executablePath: chromium, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
    t.after(() => browser.close())
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } })
    const errors = []
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(`${url}/dashboard?interval=150`)

    // The charts: a path per series, drawn from at least 40 polled samples.
    await page.waitForFunction(
      () => {
        const p = document.querySelector('#utilisation-chart path.series-util')
        return p && Number(p.getAttribute('data-points')) >= 40
      },
      null,
      { timeout: 20000 }
    )
    const util = await page.$eval('#utilisation-chart path.series-util', (p) => p.getAttribute('d'))
    assert.ok(util.split(/[ML]/).filter(Boolean).length >= 40, 'one vertex per sample')
    assert.equal(await page.$$eval('#wait-chart path.series', (ps) => ps.length), 2)
    const box = await page.$eval('#utilisation-chart', (s) => {
      const r = s.getBoundingClientRect()
      return { width: r.width, height: r.height }
    })
    assert.ok(box.width > 200 && box.height > 100, `chart laid out (${box.width}x${box.height})`)

    // The leak report: the leaking function's file:line, and its stack.
    const site = `exportInvoices (examples/service/workload.js:${LEAK_LINE}:`
    await page.waitForFunction((s) => document.getElementById('leak-sites').textContent.includes(s), site, { timeout: 20000 })
    const text = await page.$eval('#leak-sites', (e) => e.textContent)
    assert.match(text, /exportInvoices/)
    assert.ok(Number(await page.$eval('#t-leaks', (e) => e.textContent)) >= 1)
    assert.deepEqual(errors, [])

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    assert.ok(fs.statSync(SCREENSHOT).size > 10000)
  }
)
