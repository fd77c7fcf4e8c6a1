//! What the pool shows of itself: counts, active checkouts, the metrics report with the sizes
//! of its collections, and the task that samples the metrics history. Each view is taken
//! under the state lock once, so its numbers are consistent with each other.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::task::JoinHandle;

use super::inner::PoolInner;
use super::leak::registry;
use crate::metrics::{Report, Sample, Usage};

/// Counts at one instant (taken under the state lock, so consistent with each other).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Connections being opened, idle, checked out or being cleaned before reuse (`<= max`).
    pub total: usize,
    /// Connections in the idle stack.
    pub idle: usize,
    /// Queued `connect()` callers (those waiting for their tag included).
    pub waiting: usize,
    /// Active checkouts.
    pub active: usize,
    /// Checked-out connections past `maxLifetimeSeconds` (removed when released).
    pub expired: usize,
    pub ending: bool,
    pub ended: bool,
}

/// One active checkout (a row of `getPoolStatus().activeConnections`).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveCheckout {
    pub id: u64,
    pub conn_id: u64,
    /// Milliseconds since checkout.
    pub held_ms: u64,
    /// Milliseconds since the later of checkout and the end of its last query (0 mid-query).
    pub idle_ms: u64,
    /// Over its leak threshold (reported, or held back by `maxLeaksBeforeAlert`).
    pub is_potential_leak: bool,
    pub location: Option<String>,
    pub tag: Option<String>,
    /// The implicit checkout of `Pool::query`.
    pub implicit: bool,
    /// Statements run during this checkout.
    pub query_count: u64,
    pub in_transaction: bool,
}

pub(super) fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl PoolInner {
    /// The counts, consistent with each other.
    pub(super) fn counts(&self) -> Counts {
        let st = self.state.lock();
        let expired = match self.config.max_lifetime {
            Some(l) => st
                .checkouts
                .values()
                .filter(|r| r.conn.shared().created.elapsed() >= l)
                .count(),
            None => 0,
        };
        Counts {
            total: st.total,
            idle: st.idle.len(),
            waiting: st.waiters.len() + st.tags.queued(),
            active: st.checkouts.len(),
            expired,
            ending: st.ending,
            ended: st.ended,
        }
    }

    /// Every active checkout, oldest first.
    pub(super) fn active_checkouts(&self) -> Vec<ActiveCheckout> {
        let now = Instant::now();
        let st = self.state.lock();
        let mut v: Vec<ActiveCheckout> = st
            .checkouts
            .iter()
            .map(|(id, r)| ActiveCheckout {
                id: *id,
                conn_id: r.conn.id(),
                held_ms: now.saturating_duration_since(r.acquired).as_millis() as u64,
                idle_ms: registry::idle_ms(r, now),
                is_potential_leak: r.reported || r.held_back,
                location: r.meta.location.clone(),
                tag: r.meta.tag.clone(),
                implicit: r.meta.implicit,
                query_count: registry::query_count(r),
                in_transaction: r.conn.shared().txn_status() != b'I',
            })
            .collect();
        v.sort_by_key(|a| std::cmp::Reverse(a.held_ms));
        v
    }

    /// A history sample now.
    fn sample(&self) -> Sample {
        let (total, idle, waiting, active) = {
            let st = self.state.lock();
            (
                st.total,
                st.idle.len(),
                st.waiters.len() + st.tags.queued(),
                st.checkouts.len(),
            )
        };
        let c = self.metrics.counters();
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
    pub(super) fn memory(&self) -> BTreeMap<&'static str, Usage> {
        let mut out = BTreeMap::new();
        {
            let st = self.state.lock();
            let max = self.config.max;
            let bounded = |size| Usage {
                size,
                capacity: Some(max),
            };
            out.insert("idle", bounded(st.idle.len()));
            out.insert("checkoutRegistry", bounded(st.checkouts.len()));
            out.insert("removing", bounded(st.removing.len()));
            out.insert("cleaning", bounded(st.cleaning.len()));
            out.insert(
                "waiters",
                Usage {
                    size: st.waiters.len(),
                    capacity: self.config.max_waiting,
                },
            );
            let (tags, queued) = st.tags.sizes();
            out.insert(
                "tagWaiters",
                Usage {
                    size: queued,
                    capacity: self.config.max_waiting,
                },
            );
            // One entry per tag held or waited for: bounded by the checkouts and waiters.
            out.insert(
                "tags",
                Usage {
                    size: tags,
                    capacity: self.config.max_waiting.map(|w| w + max),
                },
            );
        }
        self.metrics.memory(&mut out);
        out
    }

    /// Counters, distributions, history and memory usage in one report.
    pub(super) fn report(&self) -> Report {
        let m = &self.metrics;
        Report {
            counters: m.counters(),
            acquire_wait: m.wait(),
            hold_time: m.hold(),
            creation: m.creation(),
            history: m.history(),
            memory: self.memory(),
        }
    }
}

/// Starts the history sampler (every `metricsIntervalMs`, `metricsHistorySize` kept); it
/// holds a `Weak` and stops when the pool is dropped or ended. `None` when the history is
/// disabled (`metricsHistorySize: 0`).
pub(super) fn spawn_sampler(pool: &Arc<PoolInner>) -> Option<JoinHandle<()>> {
    if pool.config.metrics.history_size == 0 {
        return None;
    }
    Some(super::ticker::spawn_every(
        pool,
        pool.config.metrics.interval,
        |p| p.metrics.record(p.sample()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn history_is_sampled_on_its_cadence_and_bounded() {
        let p = PoolInner::for_tests(
            serde_json::json!({ "metricsHistorySize": 5, "metricsIntervalMs": 1000 }),
        );
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
        let mem = p.memory();
        assert_eq!(
            p.metrics.history().len(),
            5,
            "never beyond metricsHistorySize"
        );
        assert_eq!((mem["history"].size, mem["history"].capacity), (5, Some(5)));
        assert_eq!(p.metrics.evicted_samples(), 99);
        drop(p);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(
            task.is_finished(),
            "the sampler stops once the pool is gone"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_history_task_when_disabled() {
        let p = PoolInner::for_tests(serde_json::json!({ "metricsHistorySize": 0 }));
        assert!(spawn_sampler(&p).is_none());
        p.metrics.record(Sample::default());
        assert!(p.metrics.history().is_empty());
    }
}
