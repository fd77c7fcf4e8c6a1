//! The threshold checker: a task on the pool's runtime that scans active checkouts every
//! `checkIntervalMs`, reports each leak once (honouring `maxLeaksBeforeAlert`) and reclaims
//! checkouts idle longer than `forceReleaseAfterMs`.
//!
//! It holds a `Weak` to the pool and stops when the pool is dropped or ended. A scan costs
//! time proportional to the active checkouts; what to do is decided by the pure functions of
//! `policy.rs`; events are emitted after the lock is dropped, so a slow or throwing listener
//! cannot stall the pool or the next scan.

use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinHandle;

use super::policy::{effective_ms, plan, Facts, Marks};
use super::registry;
use crate::config::LeakConfig;
use crate::pool::events::PoolEvent;
use crate::pool::inner::PoolInner;
use crate::pool::state::CheckoutRecord;

/// The facts of a registry record at `now`.
pub fn facts_of(rec: &CheckoutRecord, now: Instant, leak: &LeakConfig) -> Facts {
    let in_flight = rec.conn.shared().in_flight() > 0;
    Facts {
        age_ms: now.saturating_duration_since(rec.acquired).as_millis() as u64,
        idle_ms: registry::idle_ms(rec, now),
        in_flight,
        implicit: rec.meta.implicit,
        threshold_ms: effective_ms(rec.meta.leak_threshold_ms, leak.threshold),
        force_after_ms: effective_ms(rec.meta.force_release_after_ms, leak.force_release_after),
    }
}

/// Starts the checker for `pool`; the task ends when the pool is dropped or ended.
pub fn spawn(pool: &Arc<PoolInner>) -> JoinHandle<()> {
    crate::pool::ticker::spawn_every(pool, pool.config.leak.check_interval, scan)
}

/// One pass over the registry.
pub fn scan(p: &Arc<PoolInner>) {
    let now = Instant::now();
    let leak = &p.config.leak;
    let (plan, report) = {
        let mut st = p.state.lock();
        if st.ending || st.checkouts.is_empty() {
            return;
        }
        let mut entries: Vec<(u64, Facts, Marks)> = st
            .checkouts
            .iter()
            .filter(|(_, rec)| !rec.meta.implicit)
            .map(|(id, rec)| {
                (
                    *id,
                    facts_of(rec, now, leak),
                    Marks {
                        reported: rec.reported,
                        held_back: rec.held_back,
                    },
                )
            })
            .collect();
        let plan = plan(&mut entries, leak.max_leaks_before_alert);
        for (id, _, marks) in &entries {
            if let Some(rec) = st.checkouts.get_mut(id) {
                rec.reported = marks.reported;
                rec.held_back = marks.held_back;
            }
        }
        let report: Vec<_> = plan
            .report
            .iter()
            .filter_map(|id| st.checkouts.get(id).map(|rec| registry::snapshot(*id, rec)))
            .collect();
        (plan, report)
    };
    if !report.is_empty() {
        let report: Vec<_> = report
            .into_iter()
            .map(registry::Snapshot::resolve)
            .collect();
        p.metrics.leaks_detected(report.len() as u64);
        p.state.emit(PoolEvent::LeaksDetected { leaks: report });
    }
    for id in plan.reclaim {
        // Decided again under the locks: a query may have started since the plan.
        p.reclaim_idle(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn the_task_stops_when_the_pool_is_dropped() {
        let p = PoolInner::for_tests(serde_json::json!({ "checkIntervalMs": 20 }));
        let task = spawn(&p);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !task.is_finished(),
            "the checker must run while the pool lives"
        );
        drop(p);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            task.is_finished(),
            "the checker must stop once the pool is gone (it holds a Weak)"
        );
    }

    /// The checker chose a checkout idle past `forceReleaseAfterMs`; before its reclaim ran,
    /// the holder submitted a query. The reclaim must leave the checkout and its query alone.
    /// (Idleness is measured on the registry's clock, `std::time::Instant`, which paused
    /// tokio time does not move: this test waits a few real milliseconds.)
    #[tokio::test]
    async fn a_checkout_that_starts_a_query_after_being_chosen_is_not_reclaimed() {
        use crate::error::ReclaimReason;
        use crate::pg::fake::FakeServer;
        use crate::pg::Statement;
        use crate::pool::CheckoutMeta;

        let server = FakeServer::silent().await;
        let p = PoolInner::for_tests(serde_json::json!({
            "port": server.port, "forceReleaseAfterMs": 20, "leakThresholdMs": 0
        }));
        let c = p.acquire(CheckoutMeta::default()).await.expect("checkout");
        tokio::time::sleep(Duration::from_millis(40)).await;
        let chosen = {
            let st = p.state.lock();
            let rec = st.checkouts.get(&c.id()).expect("registered");
            super::super::policy::idle_too_long(&facts_of(rec, Instant::now(), &p.config.leak))
        };
        assert!(chosen, "idle past its limit: the checker would reclaim it");
        let reply = c
            .submit(Statement::Simple("SELECT 1".into()))
            .expect("submitted");
        assert!(
            p.reclaim_idle(c.id()).is_none(),
            "reclaimed with a query in flight"
        );
        assert!(c.is_active());
        assert!(!c.conn.shared().is_closed(), "the connection was destroyed");
        tokio::time::sleep(Duration::from_millis(10)).await;
        let mut reply = reply;
        assert!(reply.try_recv().is_err(), "the query was answered (killed)");
        // An explicit reclaim (end(), a dropped handle) is not second-guessed.
        assert!(p.reclaim(c.id(), ReclaimReason::End).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn the_task_stops_when_the_pool_has_ended() {
        let p = PoolInner::for_tests(serde_json::json!({ "checkIntervalMs": 20 }));
        let task = spawn(&p);
        tokio::time::sleep(Duration::from_millis(100)).await;
        p.state.lock().ended = true;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(task.is_finished());
        drop(p);
    }
}
