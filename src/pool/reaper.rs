//! The idle reaper: closes connections idle longer than `idleTimeoutMillis` (while more than
//! `min` exist) and idle connections past `maxLifetimeSeconds`.
//!
//! It holds only a `Weak` to the pool and exits when the pool is dropped or ended. It sleeps
//! until the earliest deadline among idle connections, or until woken when the idle stack
//! becomes non-empty.

use std::sync::atomic::Ordering;
use std::sync::Weak;
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

/// Removes what is due and returns the next deadline, if any.
fn sweep(p: &std::sync::Arc<PoolInner>) -> Option<Instant> {
    let now = Instant::now();
    let idle_timeout = p.config.idle_timeout;
    let lifetime = p.config.max_lifetime;
    let mut st = p.state.lock();
    if st.ending {
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
            p.remove_locked(&mut st, &idle.conn);
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
