//! The idle reaper: closes connections idle longer than `idleTimeoutMillis` (while more than
//! `min` exist) and idle connections past `maxLifetimeSeconds`.
//!
//! It holds only a `Weak` to the pool and exits when the pool is dropped or ended. It sleeps
//! until the earliest deadline among idle connections, or until woken when the idle stack
//! becomes non-empty. [`reap_due`] does the same on demand (before the JS layer's counts), so
//! the counts never depend on how late this task wakes up.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::inner::PoolInner;

/// Runs until the pool is gone or ended.
pub async fn run(pool: Weak<PoolInner>) {
    let Some((wake, parked)) = pool
        .upgrade()
        .map(|p| (p.reaper_wake.clone(), p.reaper_parked.clone()))
    else {
        return;
    };
    loop {
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        // Say "parked" before looking, so that a connection made idle meanwhile either is seen
        // by this sweep or wakes us (see `PoolInner::return_conn`).
        parked.store(true, Ordering::SeqCst);
        let next = {
            let Some(p) = pool.upgrade() else { return };
            if p.state.lock().ended {
                return;
            }
            sweep(&p)
        };
        if next.is_some() {
            parked.store(false, Ordering::SeqCst);
        }
        // Only the Notify is held while sleeping, never the pool.
        match next {
            Some(at) => {
                tokio::select! {
                    _ = &mut notified => {},
                    _ = tokio::time::sleep_until(at.into()) => {},
                }
            }
            None => notified.await,
        }
    }
}

/// Removes what is due now, without waiting for the reaper to wake up: counts read after it
/// never include a connection past its deadline (pg-pool's timers remove such a client on
/// the JS thread, before any later timer can look at the counts).
pub(super) fn reap_due(p: &Arc<PoolInner>) {
    if p.config.idle_timeout.is_some() || p.config.max_lifetime.is_some() {
        sweep(p);
    }
}

/// Removes what is due and returns the next deadline, if any.
fn sweep(p: &Arc<PoolInner>) -> Option<Instant> {
    let now = Instant::now();
    let idle_timeout = p.config.idle_timeout;
    let lifetime = p.config.max_lifetime;
    let mut st = p.state.lock();
    if st.ending || st.idle.is_empty() {
        return None;
    }
    let mut next: Option<Instant> = None;
    let mut i = 0;
    while i < st.idle.len() {
        let (since, created) = (st.idle[i].since, st.idle[i].conn.shared().created);
        let idle_due = idle_timeout.map(|t| since + t);
        let life_due = lifetime.map(|l| created + l);
        let expired_life = matches!(life_due, Some(d) if d <= now);
        let expired_idle = matches!(idle_due, Some(d) if d <= now) && st.total > p.config.min;
        if expired_life || expired_idle {
            let idle = st.idle.remove(i);
            p.remove_idle_locked(&mut st, &idle.conn);
            continue;
        }
        for d in [idle_due, life_due].into_iter().flatten() {
            if d > now {
                next = Some(next.map_or(d, |n: Instant| n.min(d)));
            }
        }
        i += 1;
    }
    // An idle connection kept only by `min` is re-checked later.
    next.map(|n| n.max(now + Duration::from_millis(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::fake::{one_row_reply, ready_startup, FakeServer};
    use crate::pool::CheckoutMeta;
    use serde_json::json;

    /// An idle connection made to look idle for `d` already (idle times are wall-clock
    /// instants, which paused time does not move).
    fn age(p: &PoolInner, d: Duration) {
        let since = &mut p.state.lock().idle[0].since;
        *since = since.checked_sub(d).expect("representable");
    }

    #[tokio::test(start_paused = true)]
    async fn reading_the_counts_removes_what_is_due_without_the_reaper() {
        let server =
            FakeServer::start(ready_startup(), Arc::new(|_, _| (one_row_reply(), false))).await;
        let p = PoolInner::for_tests(json!({ "port": server.port, "idleTimeoutMillis": 1000 }));
        let c = p.acquire(CheckoutMeta::default()).await.expect("checkout");
        c.release(false).expect("released");
        reap_due(&p);
        assert_eq!(p.counts().total, 1, "not due yet");
        age(&p, Duration::from_millis(1001));
        reap_due(&p);
        assert_eq!((p.counts().idle, p.counts().total), (0, 0));
    }
}
