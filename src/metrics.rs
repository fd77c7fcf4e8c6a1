//! Counters and distributions of the pool.
//!
//! Counters are monotonic atomics (relaxed: each is exact, a snapshot of several is not
//! atomic as a whole). Distributions keep the last `SAMPLES` values in a ring, so percentiles
//! describe recent behaviour and memory stays fixed.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;

use crate::buffer::Ring;
use crate::config::PoolConfig;

/// Samples kept per distribution.
pub const SAMPLES: usize = 1024;

/// See the module docs.
pub struct Metrics {
    acquired: AtomicU64,
    released: AtomicU64,
    created: AtomicU64,
    destroyed: AtomicU64,
    connect_errors: AtomicU64,
    conn_errors: AtomicU64,
    timeouts: AtomicU64,
    leaks: AtomicU64,
    forced: AtomicU64,
    wait_us: Mutex<Ring<u32>>,
    hold_us: Mutex<Ring<u32>>,
}

/// p50/p95/p99/max of a distribution, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    pub count: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// A consistent-enough copy of every counter.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    pub total_acquired: u64,
    pub total_released: u64,
    pub created: u64,
    pub destroyed: u64,
    pub connect_errors: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub leaks_detected: u64,
    pub forced_releases: u64,
}

fn percentiles(ring: &Mutex<Ring<u32>>) -> Percentiles {
    let mut v: Vec<u32> = ring.lock().iter().copied().collect();
    if v.is_empty() {
        return Percentiles::default();
    }
    v.sort_unstable();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize] as f64 / 1000.0;
    Percentiles { count: v.len(), p50: at(0.5), p95: at(0.95), p99: at(0.99), max: *v.last().unwrap() as f64 / 1000.0 }
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

impl Metrics {
    pub fn new(_config: &PoolConfig) -> Self {
        Metrics {
            acquired: AtomicU64::new(0),
            released: AtomicU64::new(0),
            created: AtomicU64::new(0),
            destroyed: AtomicU64::new(0),
            connect_errors: AtomicU64::new(0),
            conn_errors: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            leaks: AtomicU64::new(0),
            forced: AtomicU64::new(0),
            wait_us: Mutex::new(Ring::new(SAMPLES)),
            hold_us: Mutex::new(Ring::new(SAMPLES)),
        }
    }
    pub fn acquired(&self) {
        self.acquired.fetch_add(1, Relaxed);
    }
    pub fn waited(&self, d: Duration) {
        self.wait_us.lock().push(micros(d));
    }
    pub fn released(&self, held: Duration) {
        self.released.fetch_add(1, Relaxed);
        self.hold_us.lock().push(micros(held));
    }
    pub fn created(&self) {
        self.created.fetch_add(1, Relaxed);
    }
    pub fn destroyed(&self) {
        self.destroyed.fetch_add(1, Relaxed);
    }
    pub fn connect_error(&self) {
        self.connect_errors.fetch_add(1, Relaxed);
    }
    pub fn conn_error(&self) {
        self.conn_errors.fetch_add(1, Relaxed);
    }
    pub fn timed_out(&self) {
        self.timeouts.fetch_add(1, Relaxed);
    }
    pub fn leak_detected(&self) {
        self.leaks.fetch_add(1, Relaxed);
    }
    pub fn leaks_detected(&self, n: u64) {
        self.leaks.fetch_add(n, Relaxed);
    }
    pub fn forced_release(&self) {
        self.forced.fetch_add(1, Relaxed);
    }

    pub fn counters(&self) -> Counters {
        Counters {
            total_acquired: self.acquired.load(Relaxed),
            total_released: self.released.load(Relaxed),
            created: self.created.load(Relaxed),
            destroyed: self.destroyed.load(Relaxed),
            connect_errors: self.connect_errors.load(Relaxed),
            errors: self.conn_errors.load(Relaxed),
            timeouts: self.timeouts.load(Relaxed),
            leaks_detected: self.leaks.load(Relaxed),
            forced_releases: self.forced.load(Relaxed),
        }
    }

    /// Acquire-wait distribution (ms).
    pub fn wait(&self) -> Percentiles {
        percentiles(&self.wait_us)
    }

    /// Hold-time distribution (ms).
    pub fn hold(&self) -> Percentiles {
        percentiles(&self.hold_us)
    }
}
