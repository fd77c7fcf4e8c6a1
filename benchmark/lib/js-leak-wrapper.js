'use strict'
// The "pure-JS wrapper": what home-grown leak detectors around pg.Pool typically look like.
// Every checkout (including the one pg-pool makes inside pool.query) records
// `new Error().stack` and a timestamp in a Map; release() removes the entry; a setInterval
// sweep walks the Map and warns about checkouts held longer than a threshold.

const pg = require('pg')

class StackTrackingPool extends pg.Pool {
  constructor(options = {}) {
    const { leakThresholdMs = 30000, sweepIntervalMs = 1000, onLeak, ...poolOptions } = options
    super(poolOptions)
    this.leakThresholdMs = leakThresholdMs
    this.onLeak = onLeak || ((e) => console.warn(`possible connection leak: held ${e.heldMs} ms\n${e.stack}`))
    this.checkouts = new Map() // client -> { stack, at, reported }
    this.sweeper = setInterval(() => this.sweep(), sweepIntervalMs)
    this.sweeper.unref()
  }

  sweep() {
    const now = Date.now()
    for (const entry of this.checkouts.values()) {
      const heldMs = now - entry.at
      if (!entry.reported && heldMs > this.leakThresholdMs) {
        entry.reported = true
        this.onLeak({ heldMs, stack: entry.stack })
      }
    }
  }

  track(client, stack, at) {
    this.checkouts.set(client, { stack, at, reported: false })
    const release = client.release
    const checkouts = this.checkouts
    client.release = function trackedRelease(err) {
      checkouts.delete(client)
      return release.call(this, err)
    }
    return client
  }

  connect(cb) {
    // Capture here, synchronously, so the stack shows the caller (as the real wrappers do).
    const stack = new Error('checkout').stack
    const at = Date.now()
    const wrap = (client) => this.track(client, stack, at)
    if (typeof cb === 'function') {
      return super.connect((err, client, release) => {
        if (err) return cb(err, client, release)
        wrap(client)
        cb(undefined, client, client.release)
      })
    }
    return super.connect().then(wrap)
  }

  end(cb) {
    clearInterval(this.sweeper)
    return super.end(cb)
  }
}

module.exports = { StackTrackingPool }
