//! The threshold checker: a task on the pool's runtime that scans active checkouts every
//! `checkIntervalMs`, reports each leak once (honouring `maxLeaksBeforeAlert`) and reclaims
//! checkouts idle longer than `forceReleaseAfterMs`.
//!
//! It holds a `Weak` to the pool and stops when the pool is dropped or ended. A scan costs
//! time proportional to the active checkouts; events are emitted after the lock is dropped,
//! so a slow or throwing listener cannot stall the pool or the next scan.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::leak::registry;
use crate::pool::events::{PoolEvent, ReclaimReason};
use crate::pool::inner::PoolInner;

/// Starts the checker for `pool`.
pub fn spawn(pool: &Arc<PoolInner>) {
    let weak = Arc::downgrade(pool);
    let every = pool.config.leak.check_interval;
    pool.runtime.spawn(run(weak, every));
}

async fn run(pool: Weak<PoolInner>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(p) = pool.upgrade() else { return };
        if p.state.lock().ended {
            return;
        }
        scan(&p);
    }
}

fn ms(d: Option<Duration>) -> Option<u64> {
    d.map(|d| d.as_millis() as u64)
}

/// One pass over the registry. Public for tests.
pub fn scan(p: &Arc<PoolInner>) {
    let now = Instant::now();
    let leak = &p.config.leak;
    let mut reclaim = Vec::new();
    let mut report = Vec::new();
    {
        let mut st = p.state.lock();
        if st.ending {
            return;
        }
        let mut unreported = 0usize;
        for (id, rec) in st.checkouts.iter_mut() {
            if rec.meta.implicit {
                continue;
            }
            let age = now.saturating_duration_since(rec.acquired).as_millis() as u64;
            let threshold = rec.meta.leak_threshold_ms.unwrap_or(ms(leak.threshold));
            if let Some(t) = threshold {
                if t > 0 && !rec.reported && age >= t {
                    rec.held_back = true;
                }
            }
            if rec.held_back {
                unreported += 1;
            }
            let force = rec.meta.force_release_after_ms.unwrap_or(ms(leak.force_release_after));
            if let Some(f) = force {
                if f > 0 && rec.conn.shared().in_flight() == 0 && registry::idle_ms(rec, now) >= f {
                    reclaim.push(*id);
                }
            }
        }
        if unreported > 0 && unreported >= leak.max_leaks_before_alert {
            for (id, rec) in st.checkouts.iter_mut() {
                if rec.held_back {
                    rec.held_back = false;
                    rec.reported = true;
                    report.push(registry::leak_info(*id, rec));
                }
            }
        }
    }
    if !report.is_empty() {
        report.sort_by(|a, b| b.age_ms.cmp(&a.age_ms));
        p.metrics.leaks_detected(report.len() as u64);
        p.events.emit(PoolEvent::LeaksDetected { leaks: report });
    }
    for id in reclaim {
        p.reclaim(id, ReclaimReason::Idle);
    }
}
