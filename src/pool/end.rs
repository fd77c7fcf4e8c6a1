//! Ending a pool: refuse new work at once, close idle connections, fail queued callers,
//! destroy connections still busy with the work of a holder that released them, wait up to
//! `endTimeoutMs` for checkouts, and finish once every connection's removal has finished and
//! been announced. A fourth `impl PoolInner` block.
//!
//! `endTimeoutMs` bounds everything: when it runs out, the remaining checkouts are reclaimed,
//! connections whose graceful close the server has not answered are destroyed, and connections
//! still being opened give up — so `end()` finishes shortly after, whatever the server does.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::inner::PoolInner;
use crate::error::{Error, ReclaimReason, Result};

/// Once the grace period is over, how often `end()` looks again besides being woken by
/// `drained` (a checkout handed out late is reclaimed on the next look).
const RECHECK: Duration = Duration::from_millis(200);

impl PoolInner {
    /// Starts ending (`Err` if already ending); the future resolves when every connection is
    /// closed and its `Removed` event is out, then marks the pool ended.
    pub(super) fn end(self: Arc<Self>) -> Result<impl Future<Output = ()> + Send + 'static> {
        {
            let mut st = self.state.lock();
            if st.ending {
                return Err(Error::EndCalledTwice);
            }
            st.ending = true;
            let idle: Vec<_> = st.idle.drain(..).collect();
            for i in idle {
                self.remove_locked(&mut st, &i.conn);
            }
            let waiters: Vec<_> = st.waiters.drain(..).collect();
            for w in waiters {
                self.serve_locked(&mut st, w, Err(Error::PoolEnded));
            }
            for mut w in st.tags.drain() {
                // It waited for its tag and holds no slot of it.
                w.tag = None;
                self.serve_locked(&mut st, w, Err(Error::PoolEnded));
            }
            // Released by their holders with a statement running or a transaction open: pg
            // would have them idle and destroy them now; waiting for the statement could take
            // as long as the statement does.
            for conn in st.cleaning.values() {
                self.destroy(conn);
            }
        }
        self.reaper_wake.notify_one();
        let grace = self.config.end_timeout;
        Ok(async move {
            let deadline = tokio::time::Instant::now() + grace;
            let mut gave_up = false;
            loop {
                let notified = self.state.drained.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let (done, active) = {
                    let st = self.state.lock();
                    (
                        st.drained(),
                        st.checkouts.keys().copied().collect::<Vec<_>>(),
                    )
                };
                if done {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    // Every pass: a checkout handed out while this waited (to a caller
                    // served from a connection released meanwhile) is reclaimed too.
                    for id in active {
                        self.reclaim(id, ReclaimReason::End);
                    }
                    if !gave_up {
                        gave_up = true;
                        self.give_up_waiting();
                        continue;
                    }
                }
                let until = if gave_up {
                    tokio::time::Instant::now() + RECHECK
                } else {
                    deadline
                };
                tokio::select! {
                    _ = &mut notified => {},
                    _ = tokio::time::sleep_until(until) => {},
                }
            }
            self.state.lock().ended = true;
            self.reaper_wake.notify_one();
        })
    }

    /// `end()`'s grace period ran out: closes still unfinished are made immediate, and
    /// connections still being opened are abandoned.
    fn give_up_waiting(&self) {
        let stuck: Vec<_> = {
            let st = self.state.lock();
            st.removing
                .values()
                .map(|r| &r.conn)
                .chain(st.cleaning.values())
                .cloned()
                .collect()
        };
        for conn in &stuck {
            self.destroy(conn);
        }
        self.abandon_opens.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    //! `end()`'s bounds on paused time, against a fake server that never finishes a statement
    //! and never closes a socket by itself (`pg::fake`).

    use super::*;
    use crate::pg::fake::{FakeServer, Seen, PID, SECRET};
    use crate::pg::{frames, Statement};
    use crate::pool::CheckoutMeta;
    use serde_json::json;
    use tokio::time::Instant;

    const GRACE: Duration = Duration::from_secs(10);

    fn pool(port: u16) -> Arc<PoolInner> {
        PoolInner::for_tests(json!({ "port": port, "endTimeoutMs": GRACE.as_millis() as u64 }))
    }

    fn sleep_forever() -> Statement {
        Statement::Simple("SELECT pg_sleep(20)".into())
    }

    /// Lets the runtime (and so the fake server) run until `cond` holds, or panics.
    async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
        for _ in 0..200 {
            if cond() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("{what} never happened");
    }

    fn cancelled(server: &FakeServer) -> bool {
        server.seen().contains(&Seen::Cancel(PID, SECRET))
    }

    #[tokio::test(start_paused = true)]
    async fn release_with_an_error_mid_statement_cancels_it_and_end_does_not_wait_for_it() {
        let server = FakeServer::silent().await;
        let inner = pool(server.port);
        let c = inner
            .acquire(CheckoutMeta::default())
            .await
            .expect("checkout");
        let reply = c.submit(sleep_forever()).expect("submitted");
        c.release(true).expect("released");
        assert_eq!(inner.counts().total, 0, "the slot is given back at once");
        let t0 = Instant::now();
        inner.clone().end().expect("first end()").await;
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "end() took {:?}",
            t0.elapsed()
        );
        let reply = reply.await.expect("the statement is answered");
        assert_eq!(
            frames::first_error_code(&reply).as_deref(),
            Some("LDP_CONNECTION_TERMINATED")
        );
        eventually("the cancel request", || cancelled(&server)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_released_mid_statement_is_destroyed_by_end_at_once() {
        let server = FakeServer::silent().await;
        let inner = pool(server.port);
        let c = inner
            .acquire(CheckoutMeta::default())
            .await
            .expect("checkout");
        let _reply = c.submit(sleep_forever()).expect("submitted");
        // A plain release: the connection is cleaned (the statement awaited) before reuse.
        c.release(false).expect("released");
        assert_eq!(inner.state.lock().cleaning.len(), 1);
        assert!(!cancelled(&server));
        let t0 = Instant::now();
        inner.clone().end().expect("first end()").await;
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "end() took {:?}",
            t0.elapsed()
        );
        eventually("the cancel request", || cancelled(&server)).await;
        let st = inner.state.lock();
        assert!(st.cleaning.is_empty() && st.removing.is_empty() && st.total == 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_close_the_server_never_answers_is_cut_short_at_the_grace_period() {
        let server = FakeServer::silent().await;
        let inner = pool(server.port);
        let c = inner
            .acquire(CheckoutMeta::default())
            .await
            .expect("checkout");
        c.release(false).expect("released");
        assert_eq!(inner.counts().idle, 1);
        let t0 = Instant::now();
        // The idle connection is closed gracefully; this server neither reads the Terminate
        // nor closes its end.
        inner.clone().end().expect("first end()").await;
        let took = t0.elapsed();
        assert!(
            took >= GRACE && took < GRACE + Duration::from_secs(1),
            "end() took {took:?}"
        );
        assert!(inner.state.lock().removing.is_empty());
        assert!(
            !cancelled(&server),
            "nothing was running: no cancel request"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_waiting_when_end_starts_is_served_and_its_release_closes_the_connection() {
        // Answers the startup packet one second after it arrives.
        let server = FakeServer::start_after(
            Duration::from_secs(1),
            crate::pg::fake::ready_startup(),
            // Closes the socket on Terminate, as a server does.
            Arc::new(|ty, _| (Vec::new(), ty == b'X')),
        )
        .await;
        let inner = pool(server.port);
        let acquire = tokio::spawn(inner.acquire(CheckoutMeta::default()));
        eventually("the connection attempt", || inner.counts().total == 1).await;
        let t0 = Instant::now();
        let ending = tokio::spawn(inner.clone().end().expect("first end()"));
        // As pg-pool: a caller that asked before end() gets its connection.
        let c = acquire
            .await
            .expect("joined")
            .expect("served after end() started");
        assert!(!ending.is_finished(), "end() waits for the checkout");
        c.release(false).expect("released");
        ending.await.expect("joined");
        let took = t0.elapsed();
        assert!(took < Duration::from_secs(2), "end() took {took:?}");
        assert_eq!(inner.counts().total, 0);
        // The released connection was closed with a Terminate, not returned to the pool.
        eventually("the Terminate", || {
            server.seen().contains(&Seen::Message(b'X'))
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_still_being_opened_is_abandoned_at_the_grace_period() {
        // Accepts the socket, never answers the startup packet.
        let server = FakeServer::start(Vec::new(), Arc::new(|_, _| (Vec::new(), false))).await;
        let inner = pool(server.port);
        let acquire = tokio::spawn(inner.acquire(CheckoutMeta::default()));
        eventually("the connection attempt", || inner.counts().total == 1).await;
        let t0 = Instant::now();
        inner.clone().end().expect("first end()").await;
        let took = t0.elapsed();
        assert!(
            took >= GRACE && took < GRACE + Duration::from_secs(1),
            "end() took {took:?}"
        );
        let err = acquire
            .await
            .expect("joined")
            .err()
            .expect("the acquire fails");
        assert!(matches!(err, Error::PoolEnded), "{err:?}");
        assert_eq!(inner.counts().total, 0);
    }
}
