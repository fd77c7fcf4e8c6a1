'use strict'
// The example service's HTTP side (express): how a server exposes the pool.
//
//   GET /metrics     Prometheus text exposition (pool.metricsText())
//   GET /health/db   200 with the pool's status while a query answers, else 503
//   GET /leaks       the leak report by call site, each site with the stack of its latest leak
//   GET /dashboard   the leak dashboard: one HTML page (dashboard.html), no build step, no CDN
//
// `createApp(pool, { root })` returns the express app; server.js runs it. Paths under `root`
// (default: the working directory) are shown relative to it in /leaks.

const fs = require('fs')
const path = require('path')
const express = require('express')

const DASHBOARD = fs.readFileSync(path.join(__dirname, 'dashboard.html'), 'utf8')

function createApp(pool, { root = process.cwd() } = {}) {
  const app = express()
  const prefix = root.endsWith(path.sep) ? root : root + path.sep
  const relative = (s) => (s == null ? s : String(s).split(prefix).join(''))

  app.get('/metrics', (req, res) => {
    res.type('text/plain; version=0.0.4; charset=utf-8').send(pool.metricsText())
  })

  app.get('/health/db', async (req, res) => {
    const s = pool.getPoolStatus()
    const body = {
      ok: true,
      utilization: s.utilization,
      total: s.total,
      idle: s.idle,
      active: s.active,
      waiting: s.waiting,
      max: s.max,
      suspects: s.activeConnections.filter((c) => c.isPotentialLeak).map((c) => ({ location: c.location, heldMs: c.heldMs })),
    }
    try {
      await pool.query('SELECT 1')
    } catch (err) {
      body.ok = false
      body.error = err.message
    }
    res.status(body.ok ? 200 : 503).json(body)
  })

  app.get('/leaks', (req, res) => {
    // The latest stack per site, from the alert ring (bounded by alertBufferSize).
    const stacks = new Map()
    for (const a of pool.getAlerts()) {
      if ((a.type === 'leak' || a.type === 'garbage-collected') && a.stack) stacks.set(a.location, relative(a.stack))
    }
    const status = pool.getPoolStatus()
    res.json({
      at: Date.now(),
      sites: pool.getLeakReport().map((s) => ({ ...s, location: relative(s.location), stack: stacks.get(s.location) || null })),
      suspects: status.activeConnections
        .filter((c) => c.isPotentialLeak)
        .map((c) => ({ id: c.id, location: relative(c.location), heldMs: c.heldMs, idleMs: c.idleMs })),
    })
  })

  app.get('/dashboard', (req, res) => {
    res.type('html').send(DASHBOARD)
  })

  return app
}

module.exports = { createApp }
