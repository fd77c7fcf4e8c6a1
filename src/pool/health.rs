//! Health checks of idle connections (`healthCheckIntervalMs`, off by default): a connection
//! idle at least that long gets an empty query; one that fails it or leaves it unanswered is
//! evicted, reported as pg reports an idle connection's death (`idleError`, then `removed`).
//! This finds connections a network drop killed silently (no FIN, no RST: the socket looks
//! open) before a caller is handed one. A fifth `impl PoolInner` block and its task.
//!
//! Invariants: at most one check runs per pool at a time (one task, checks in sequence); a
//! connection under check is off the idle stack, so it is never handed out or checked out
//! meanwhile, and stays counted in `total`; it goes back with its idle time unchanged (a
//! check never postpones `idleTimeoutMillis`), or is removed. The task holds a `Weak` while it
//! sleeps and stops when the pool is dropped or has ended.

use std::sync::Arc;
use std::time::Duration;

use super::events::PoolEvent;
use super::inner::PoolInner;
use super::state::{IdleConn, State};
use crate::error::Error;
use crate::pg::{frames, Conn, Statement};

/// The longest a check waits for its answer when `connectionTimeoutMillis` is not set.
const DEFAULT_BOUND: Duration = Duration::from_secs(5);

/// Starts the checker when `healthCheckIntervalMs` is set.
pub(super) fn spawn(pool: &Arc<PoolInner>) {
    let Some(every) = pool.config.health_check_interval else {
        return;
    };
    let weak = Arc::downgrade(pool);
    pool.runtime.spawn(async move {
        // Twice per interval: a connection is checked at most ~1.5 intervals after it went idle.
        let mut tick = tokio::time::interval((every / 2).max(Duration::from_millis(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(p) = weak.upgrade() else { return };
            if p.state.lock().ended {
                return;
            }
            while let Some(idle) = p.take_due(every) {
                let conn = idle.conn.clone();
                if crate::unwind::catch(p.check(idle)).await.is_err() {
                    // The check panicked with the connection off the idle stack: it is
                    // removed (once), so that its slot is never lost, and reported as a
                    // failed check is.
                    p.metrics.health_check(false);
                    let mut st = p.state.lock();
                    let id = conn.id();
                    if !st.idle.iter().any(|i| i.conn.id() == id) && !st.removing.contains_key(&id)
                    {
                        p.evict_checked_locked(
                            &mut st,
                            &conn,
                            Error::Io("the health check failed unexpectedly".into()),
                        );
                    }
                }
            }
        }
    });
}

impl PoolInner {
    /// Takes an idle connection off the idle stack if it has been idle `every` or more since
    /// it went idle or last passed a check (lock held briefly; the stack is at most `max`
    /// long). The stack's bottom holds the longest idle.
    fn take_due(&self, every: Duration) -> Option<IdleConn> {
        let mut st = self.state.lock();
        if st.ending {
            return None;
        }
        let due = st
            .idle
            .iter()
            .position(|i| i.checked.unwrap_or(i.since).elapsed() >= every)?;
        Some(st.idle.remove(due))
    }

    /// Runs the empty query on `idle`, then puts it back or evicts it.
    async fn check(self: &Arc<Self>, idle: IdleConn) {
        self.panics.check("healthCheck");
        let bound = self.config.connection_timeout.unwrap_or(DEFAULT_BOUND);
        let conn = &idle.conn;
        let answer =
            tokio::time::timeout(bound, conn.query(Statement::Simple(String::new()))).await;
        let error = match answer {
            Err(_) => Some(Error::Io(format!(
                "the connection did not answer a health check within {} ms",
                bound.as_millis()
            ))),
            Ok(reply)
                if frames::first_error_code(&reply).is_some() || conn.shared().is_closed() =>
            {
                Some(Error::ConnectionTerminated)
            }
            Ok(_) if conn.shared().txn_status() != b'I' => Some(Error::ConnectionTerminated),
            Ok(_) => None,
        };
        self.metrics.health_check(error.is_none());
        match error {
            None => self.put_back(idle),
            Some(error) => self.evict_checked_locked(&mut self.state.lock(), conn, error),
        }
    }

    /// Removes a connection under check that failed it (lock held), reported as pg reports an
    /// idle connection that died: `idleError`, then `removed`.
    fn evict_checked_locked(self: &Arc<Self>, st: &mut State, conn: &Conn, error: Error) {
        self.metrics.conn_error();
        st.defer_event(PoolEvent::IdleError {
            conn_id: conn.id(),
            pid: conn.pid(),
            error,
        });
        self.remove_locked(st, conn);
    }

    /// Returns a connection that passed its check: to a waiter if one queued meanwhile, else to
    /// the bottom of the idle stack with its idle time kept.
    fn put_back(self: &Arc<Self>, mut idle: IdleConn) {
        idle.checked = Some(std::time::Instant::now());
        let mut st = self.state.lock();
        if st.ending || idle.conn.shared().is_closed() || !st.waiters.is_empty() {
            drop(st);
            return self.return_conn(idle.conn, idle.uses);
        }
        st.idle.insert(0, idle);
    }
}

#[cfg(test)]
mod tests {
    //! On paused time, against fake servers: one answering every query, one never answering.

    use super::*;
    use crate::pg::fake::{one_row_reply, ready_startup, FakeServer};
    use crate::pool::CheckoutMeta;
    use serde_json::json;

    fn pool(port: u16) -> Arc<PoolInner> {
        PoolInner::for_tests(json!({
            "port": port, "healthCheckIntervalMs": 1000, "connectionTimeoutMillis": 300,
            "idleTimeoutMillis": 0,
        }))
    }

    /// Makes the idle connection look idle for `d` already (idle times are wall-clock
    /// instants, which paused time does not move).
    fn age(inner: &PoolInner, d: Duration) {
        let since = &mut inner.state.lock().idle[0].since;
        *since = since.checked_sub(d).expect("representable");
    }

    async fn idle_conn(inner: &Arc<PoolInner>) -> u64 {
        let c = inner
            .acquire(CheckoutMeta::default())
            .await
            .expect("checkout");
        let id = c.conn_id();
        c.release(false).expect("released");
        assert_eq!(inner.counts().idle, 1);
        id
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_answers_goes_back_with_its_idle_time_kept() {
        let server =
            FakeServer::start(ready_startup(), Arc::new(|_, _| (one_row_reply(), false))).await;
        let inner = pool(server.port);
        let id = idle_conn(&inner).await;
        age(&inner, Duration::from_millis(1200));
        let since = inner.state.lock().idle[0].since;
        let idle = inner.take_due(Duration::from_secs(1)).expect("due");
        assert_eq!(inner.counts().idle, 0, "off the idle stack while checked");
        assert_eq!(inner.counts().total, 1, "still counted");
        inner.check(idle).await;
        let st = inner.state.lock();
        assert_eq!((st.idle.len(), st.total), (1, 1));
        assert_eq!(st.idle[0].conn.id(), id);
        assert_eq!(st.idle[0].since, since, "a check does not count as use");
        drop(st);
        assert!(
            inner.take_due(Duration::from_secs(1)).is_none(),
            "not checked again before another interval"
        );
    }

    /// Records the events' kinds and connection ids.
    #[derive(Default)]
    struct Heard(parking_lot::Mutex<Vec<(&'static str, u64)>>);

    impl crate::pool::PoolEvents for Heard {
        fn emit(&self, event: PoolEvent) {
            let seen = match event {
                PoolEvent::IdleError { conn_id, .. } => ("idleError", conn_id),
                PoolEvent::Removed { conn_id, .. } => ("removed", conn_id),
                _ => return,
            };
            self.0.lock().push(seen);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_panic_in_a_check_evicts_the_connection_as_one_that_failed_it() {
        let server =
            FakeServer::start(ready_startup(), Arc::new(|_, _| (one_row_reply(), false))).await;
        let heard = Arc::new(Heard::default());
        let inner = PoolInner::for_tests_with(
            json!({ "port": server.port, "healthCheckIntervalMs": 1000, "idleTimeoutMillis": 0 }),
            heard.clone(),
        );
        let id = idle_conn(&inner).await;
        age(&inner, Duration::from_millis(1200));
        inner.panics.arm("healthCheck");
        spawn(&inner);
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            *heard.0.lock(),
            [("idleError", id), ("removed", id)],
            "reported as pg reports an idle connection that died"
        );
        assert_eq!((inner.counts().idle, inner.counts().total), (0, 0));
        assert_eq!(inner.metrics.counters().health_check_failures, 1);
        let c = inner
            .acquire(CheckoutMeta::default())
            .await
            .expect("the pool still serves");
        c.release(false).expect("released");
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_never_answers_is_evicted_and_reported_idle() {
        let server = FakeServer::silent().await;
        let inner = pool(server.port);
        idle_conn(&inner).await;
        assert!(
            inner.take_due(Duration::from_secs(1)).is_none(),
            "not idle long enough"
        );
        age(&inner, Duration::from_millis(1000));
        let idle = inner.take_due(Duration::from_secs(1)).expect("due");
        let t0 = tokio::time::Instant::now();
        inner.check(idle).await;
        assert!(t0.elapsed() >= Duration::from_millis(300));
        let st = inner.state.lock();
        assert_eq!((st.idle.len(), st.total), (0, 0), "evicted, its slot free");
    }
}
