//! Counters, distributions and the history of a pool, and the report types built from them.
//!
//! Counters are monotonic atomics (relaxed: each is exact, a snapshot of several is not
//! atomic as a whole). Distributions keep the last `SAMPLES` values in a ring, so percentiles
//! describe recent behaviour and memory stays fixed; their all-time count and sum are kept
//! beside (Prometheus summaries need them). The history is a ring of `metricsHistorySize`
//! samples; the pool takes them (it knows its counts) every `metricsIntervalMs`. This module
//! knows nothing of the pool: the pool records into `Metrics` and reads reports out of it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;

use crate::buffer::Ring;

/// Samples kept per distribution.
pub const SAMPLES: usize = 1024;

/// A distribution: the last `SAMPLES` values (microseconds) plus all-time count and sum.
struct Dist {
    ring: Ring<u32>,
    total: u64,
    sum_us: u64,
}

impl Dist {
    fn new() -> Self {
        Dist {
            ring: Ring::new(SAMPLES),
            total: 0,
            sum_us: 0,
        }
    }
    fn push(&mut self, us: u32) {
        self.ring.push(us);
        self.total += 1;
        self.sum_us = self.sum_us.saturating_add(us as u64);
    }
}

/// The pool's counters, distributions and history (see the module docs); recorded by the
/// pool only.
pub(crate) struct Metrics {
    acquired: AtomicU64,
    released: AtomicU64,
    created: AtomicU64,
    destroyed: AtomicU64,
    connect_errors: AtomicU64,
    conn_errors: AtomicU64,
    timeouts: AtomicU64,
    leaks: AtomicU64,
    forced: AtomicU64,
    health_checks: AtomicU64,
    health_check_failures: AtomicU64,
    notifications_dropped: AtomicU64,
    notices_dropped: AtomicU64,
    wait_us: Mutex<Dist>,
    hold_us: Mutex<Dist>,
    create_us: Mutex<Dist>,
    history: Mutex<Ring<Sample>>,
}

/// p50/p95/p99/max of the recent values of a distribution, in milliseconds, plus the
/// all-time number of observations (`total`) and their sum (`sumMs`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Percentiles {
    /// Values the percentiles are computed from (at most `SAMPLES`).
    pub count: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub total: u64,
    pub sum_ms: f64,
}

/// A copy of every counter (each exact; not one atomic snapshot of all).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Checkouts registered (explicit and implicit), counted at hand-out.
    pub total_acquired: u64,
    /// Checkouts released by their holder (not reclaimed ones).
    pub total_released: u64,
    /// Connections opened.
    pub created: u64,
    /// Connection removals started (by the pool, or after the connection died).
    pub destroyed: u64,
    /// Attempts to open a connection that failed.
    pub connect_errors: u64,
    /// Open connections that failed (idle or checked out).
    pub errors: u64,
    /// Acquires that gave up after `connectionTimeoutMillis`.
    pub timeouts: u64,
    /// Checkouts reported as leaks (threshold passed, or handle dropped unreleased).
    pub leaks_detected: u64,
    /// Checkouts reclaimed by the pool (idle limit, `end()`, handle dropped unreleased).
    pub forced_releases: u64,
    /// Health checks of idle connections run (`healthCheckIntervalMs`).
    pub health_checks: u64,
    /// Of those, the ones that failed (the connection was evicted).
    pub health_check_failures: u64,
    /// Notifications dropped because `maxQueuedEvents` were waiting for the receiver.
    pub notifications_dropped: u64,
    /// Notices dropped: `maxQueuedEvents` were waiting for the receiver, or one query had
    /// already collected that many.
    pub notices_dropped: u64,
}

/// One entry of the metrics history: the counts at one instant (consistent with each other)
/// and the counters then.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// Epoch milliseconds.
    pub at: u64,
    pub total: usize,
    pub idle: usize,
    pub waiting: usize,
    pub active: usize,
    pub total_acquired: u64,
    pub total_released: u64,
    pub leaks_detected: u64,
    pub forced_releases: u64,
    pub timeouts: u64,
    pub errors: u64,
}

/// Size and capacity of one internal collection (`capacity: None` = bounded only by an
/// option that is Infinity, e.g. `maxWaiting`). Invariant: `size <= capacity`.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    pub size: usize,
    pub capacity: Option<usize>,
}

/// Everything `getMetrics()` and `getMemoryUsage()` need from the core, in one call.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub counters: Counters,
    /// From the start of an acquire to its hand-out.
    pub acquire_wait: Percentiles,
    /// From hand-out to release.
    pub hold_time: Percentiles,
    /// Opening a connection (socket, TLS, startup, authentication).
    pub creation: Percentiles,
    /// Oldest first.
    pub history: Vec<Sample>,
    /// Every internal collection of the core, by name.
    pub memory: BTreeMap<&'static str, Usage>,
}

fn percentiles(dist: &Mutex<Dist>) -> Percentiles {
    let d = dist.lock();
    let (total, sum_ms) = (d.total, d.sum_us as f64 / 1000.0);
    let mut v: Vec<u32> = d.ring.iter().copied().collect();
    drop(d);
    if v.is_empty() {
        return Percentiles {
            total,
            sum_ms,
            ..Default::default()
        };
    }
    v.sort_unstable();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize] as f64 / 1000.0;
    Percentiles {
        count: v.len(),
        p50: at(0.5),
        p95: at(0.95),
        p99: at(0.99),
        max: *v.last().unwrap() as f64 / 1000.0,
        total,
        sum_ms,
    }
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

impl Metrics {
    /// Empty metrics whose history keeps `history_size` samples.
    pub fn new(history_size: usize) -> Self {
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
            health_checks: AtomicU64::new(0),
            health_check_failures: AtomicU64::new(0),
            notifications_dropped: AtomicU64::new(0),
            notices_dropped: AtomicU64::new(0),
            wait_us: Mutex::new(Dist::new()),
            hold_us: Mutex::new(Dist::new()),
            create_us: Mutex::new(Dist::new()),
            history: Mutex::new(Ring::new(history_size)),
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
    /// How long opening a connection took (HikariCP's "creation" time).
    pub fn creation_time(&self, d: Duration) {
        self.create_us.lock().push(micros(d));
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
    pub fn health_check(&self, passed: bool) {
        self.health_checks.fetch_add(1, Relaxed);
        if !passed {
            self.health_check_failures.fetch_add(1, Relaxed);
        }
    }

    pub fn event_dropped(&self, notification: bool) {
        if notification {
            self.notifications_dropped.fetch_add(1, Relaxed);
        } else {
            self.notices_dropped.fetch_add(1, Relaxed);
        }
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
            health_checks: self.health_checks.load(Relaxed),
            health_check_failures: self.health_check_failures.load(Relaxed),
            notifications_dropped: self.notifications_dropped.load(Relaxed),
            notices_dropped: self.notices_dropped.load(Relaxed),
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

    /// Connection-creation-time distribution (ms).
    pub fn creation(&self) -> Percentiles {
        percentiles(&self.create_us)
    }

    /// The history, oldest first.
    pub fn history(&self) -> Vec<Sample> {
        self.history.lock().iter().cloned().collect()
    }

    /// History samples pushed out so far.
    #[cfg(test)]
    pub fn evicted_samples(&self) -> u64 {
        self.history.lock().evicted()
    }

    /// Appends a history sample (evicting the oldest at capacity).
    pub fn record(&self, sample: Sample) {
        self.history.lock().push(sample);
    }

    /// Sizes and capacities of the collections owned by the metrics.
    pub fn memory(&self, out: &mut BTreeMap<&'static str, Usage>) {
        let h = self.history.lock();
        out.insert(
            "history",
            Usage {
                size: h.len(),
                capacity: Some(h.capacity()),
            },
        );
        drop(h);
        for (name, d) in [
            ("acquireWaitSamples", &self.wait_us),
            ("holdTimeSamples", &self.hold_us),
            ("creationSamples", &self.create_us),
        ] {
            let d = d.lock();
            out.insert(
                name,
                Usage {
                    size: d.ring.len(),
                    capacity: Some(d.ring.capacity()),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_keep_recent_percentiles_and_all_time_sums() {
        let m = Metrics::new(100);
        let empty = m.wait();
        assert_eq!((empty.count, empty.total, empty.p99), (0, 0, 0.0));
        for i in 1..=3000u64 {
            m.waited(Duration::from_micros(i * 1000));
        }
        let w = m.wait();
        assert_eq!(
            w.count, SAMPLES,
            "percentiles come from the last {SAMPLES} values"
        );
        assert_eq!(w.total, 3000);
        assert_eq!(w.max, 3000.0);
        assert!(w.p50 > 2400.0 && w.p50 < 2600.0, "{w:?}");
        assert!(w.p50 <= w.p95 && w.p95 <= w.p99 && w.p99 <= w.max, "{w:?}");
        assert_eq!(w.sum_ms, (3000.0 * 3001.0) / 2.0);
        let mut mem = BTreeMap::new();
        m.memory(&mut mem);
        assert_eq!(mem["acquireWaitSamples"].size, SAMPLES);
        assert!(mem.values().all(|u| u.capacity.is_none_or(|c| u.size <= c)));
    }
}
