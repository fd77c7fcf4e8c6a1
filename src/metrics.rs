//! Counters, distributions and the history of the pool.
//!
//! Counters are monotonic atomics (relaxed: each is exact, a snapshot of several is not
//! atomic as a whole). Distributions keep the last `SAMPLES` values in a ring, so percentiles
//! describe recent behaviour and memory stays fixed; their all-time count and sum are kept
//! beside (Prometheus summaries need them). The history is a ring of `metricsHistorySize`
//! samples taken every `metricsIntervalMs` by a task holding a `Weak` to the pool.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use serde::Serialize;
use tokio::task::JoinHandle;

use crate::buffer::Ring;
use crate::config::PoolConfig;
use crate::pool::inner::PoolInner;

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

/// One entry of the metrics history.
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
/// option that is Infinity, e.g. `maxWaiting`).
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
    pub acquire_wait: Percentiles,
    pub hold_time: Percentiles,
    pub creation: Percentiles,
    pub history: Vec<Sample>,
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
    pub fn new(config: &PoolConfig) -> Self {
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
            wait_us: Mutex::new(Dist::new()),
            hold_us: Mutex::new(Dist::new()),
            create_us: Mutex::new(Dist::new()),
            history: Mutex::new(Ring::new(config.metrics.history_size)),
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

    /// Connection-creation-time distribution (ms).
    pub fn creation(&self) -> Percentiles {
        percentiles(&self.create_us)
    }

    /// The history, oldest first.
    pub fn history(&self) -> Vec<Sample> {
        self.history.lock().iter().cloned().collect()
    }

    /// Appends a history sample (evicting the oldest at capacity).
    pub fn record(&self, sample: Sample) {
        self.history.lock().push(sample);
    }

    /// Sizes and capacities of the collections owned by the metrics.
    fn memory(&self, out: &mut BTreeMap<&'static str, Usage>) {
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

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A history sample of `p` now (counts taken under the state lock).
pub fn sample(p: &PoolInner) -> Sample {
    let (total, idle, waiting, active) = {
        let st = p.state.lock();
        (
            st.total,
            st.idle.len(),
            st.waiters.len(),
            st.checkouts.len(),
        )
    };
    let c = p.metrics.counters();
    Sample {
        at: epoch_ms(),
        total,
        idle,
        waiting,
        active,
        total_acquired: c.total_acquired,
        total_released: c.total_released,
        leaks_detected: c.leaks_detected,
        forced_releases: c.forced_releases,
        timeouts: c.timeouts,
        errors: c.errors + c.connect_errors,
    }
}

/// Sizes and capacities of every internal collection of the core.
pub fn memory(p: &PoolInner) -> BTreeMap<&'static str, Usage> {
    let mut out = BTreeMap::new();
    {
        let st = p.state.lock();
        let max = p.config.max;
        out.insert(
            "idle",
            Usage {
                size: st.idle.len(),
                capacity: Some(max),
            },
        );
        out.insert(
            "checkoutRegistry",
            Usage {
                size: st.checkouts.len(),
                capacity: Some(max),
            },
        );
        out.insert(
            "removing",
            Usage {
                size: st.removing.len(),
                capacity: Some(max),
            },
        );
        out.insert(
            "waiters",
            Usage {
                size: st.waiters.len(),
                capacity: p.config.max_waiting,
            },
        );
    }
    p.metrics.memory(&mut out);
    out
}

/// Everything the JS layer shows about `p`'s metrics and memory.
pub fn report(p: &PoolInner) -> Report {
    let m = &p.metrics;
    Report {
        counters: m.counters(),
        acquire_wait: m.wait(),
        hold_time: m.hold(),
        creation: m.creation(),
        history: m.history(),
        memory: memory(p),
    }
}

/// Starts the history sampler (every `metricsIntervalMs`, `metricsHistorySize` kept); it
/// holds a `Weak` and stops when the pool is dropped or ended. `None` when the history is
/// disabled (`metricsHistorySize: 0`).
pub fn spawn_sampler(pool: &Arc<PoolInner>) -> Option<JoinHandle<()>> {
    if pool.config.metrics.history_size == 0 {
        return None;
    }
    Some(crate::pool::ticker::spawn_every(
        pool,
        pool.config.metrics.interval,
        |p| {
            let s = sample(p);
            p.metrics.record(s);
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inner(extra: serde_json::Value) -> Arc<PoolInner> {
        let mut opts = serde_json::json!({ "host": "127.0.0.1", "port": 1, "user": "nobody", "database": "none" });
        for (k, v) in extra.as_object().unwrap() {
            opts[k] = v.clone();
        }
        let config = PoolConfig::from_options(&opts, &|_| None).unwrap();
        Arc::new(PoolInner::new(
            config,
            Arc::new(crate::pool::NoEvents),
            Arc::new(crate::pool::StaticPassword(None)),
            tokio::runtime::Handle::current(),
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn history_is_sampled_on_its_cadence_and_bounded() {
        let p = inner(serde_json::json!({ "metricsHistorySize": 5, "metricsIntervalMs": 1000 }));
        let task = spawn_sampler(&p).expect("history enabled");
        tokio::time::sleep(Duration::from_millis(3500)).await;
        assert_eq!(p.metrics.history().len(), 3, "one sample per interval");
        p.metrics.acquired();
        p.metrics.leaks_detected(2);
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let h = p.metrics.history();
        assert_eq!(h.len(), 4);
        assert_eq!((h[2].total_acquired, h[3].total_acquired), (0, 1));
        assert_eq!(h[3].leaks_detected, 2);
        assert!(h.windows(2).all(|w| w[0].at <= w[1].at), "oldest first");
        tokio::time::sleep(Duration::from_secs(100)).await;
        let mem = memory(&p);
        assert_eq!(
            p.metrics.history().len(),
            5,
            "never beyond metricsHistorySize"
        );
        assert_eq!((mem["history"].size, mem["history"].capacity), (5, Some(5)));
        assert_eq!(p.metrics.history.lock().evicted(), 99);
        drop(p);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(
            task.is_finished(),
            "the sampler stops once the pool is gone"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_history_task_when_disabled() {
        let p = inner(serde_json::json!({ "metricsHistorySize": 0 }));
        assert!(spawn_sampler(&p).is_none());
        p.metrics.record(Sample::default());
        assert!(p.metrics.history().is_empty());
    }

    #[test]
    fn distributions_keep_recent_percentiles_and_all_time_sums() {
        let config = PoolConfig::from_options(&serde_json::json!({}), &|_| None).unwrap();
        let m = Metrics::new(&config);
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
