//! Acquiring: the synchronous decision of a `connect()` (serve from the idle stack, open a
//! connection, queue, or fail), handing a lease to a queued caller, and the asynchronous
//! half for Rust callers that await. A second `impl PoolInner` block, so the transitions that
//! only serve acquires live apart from release, removal and reclaim (`inner.rs`).
//!
//! Invariants (with `state.rs`): a waiter is served or timed out exactly once; a callback
//! waiter's checkout is registered under the lock and its callback runs after the lock is
//! released; a lease sent to a future waiter that went away is given back, never lost.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::checkout::Checkout;
use super::inner::PoolInner;
use super::leak::registry;
use super::state::{CheckoutCallback, CheckoutMeta, Lease, State, Waiter, WaiterTx};
use crate::error::{Error, Exhaustion, Result};
use crate::unwind::catch;

/// What [`PoolInner::admit`] decided. `Ready` and `Failed` give back what they did not use;
/// `Waiting` carries the channel of a future waiter and the waiter id when queued (not
/// when a connection is being opened for it).
enum Admitted {
    Ready(Checkout, Option<CheckoutCallback>),
    Failed(Error, CheckoutMeta, Option<CheckoutCallback>),
    Waiting(
        Option<oneshot::Receiver<Result<Lease>>>,
        Option<u64>,
        CheckoutMeta,
    ),
}

/// What the synchronous part of an acquire decided.
pub(super) enum Start {
    Ready(Checkout),
    Wait(oneshot::Receiver<Result<Lease>>, Option<u64>),
    Failed(Error),
}

impl PoolInner {
    /// The synchronous part of `connect()`: counters change before this returns.
    pub(super) fn start_acquire(self: &Arc<Self>, meta: CheckoutMeta) -> (Start, CheckoutMeta) {
        match self.admit(meta, Instant::now(), None) {
            Admitted::Ready(c, _) => (Start::Ready(c), CheckoutMeta::default()),
            Admitted::Failed(e, meta, _) => (Start::Failed(e), meta),
            Admitted::Waiting(rx, id, meta) => (
                Start::Wait(rx.expect("a future waiter has a channel"), id),
                meta,
            ),
        }
    }

    /// `connect()` that returns an idle connection at once when one is free, with `done`
    /// unused; otherwise `done` gets the outcome exactly once, with no lock held — possibly
    /// before this returns — on the thread that frees a connection.
    pub(super) fn try_acquire_with(
        self: &Arc<Self>,
        meta: CheckoutMeta,
        done: CheckoutCallback,
    ) -> Option<(Checkout, CheckoutCallback)> {
        let started = Instant::now();
        match self.admit(meta, started, Some(done)) {
            Admitted::Ready(c, done) => {
                self.metrics.waited(started.elapsed());
                return Some((c, done.expect("given")));
            }
            Admitted::Waiting(Some(_), _, _) => {
                unreachable!("callback acquires are answered through the callback")
            }
            Admitted::Failed(e, _, done) => {
                if let Some(done) = done {
                    done(Err(e))
                }
            }
            Admitted::Waiting(None, Some(id), _) => {
                if let Some(t) = self.config.connection_timeout {
                    self.spawn_waiter_timeout(id, t);
                }
            }
            Admitted::Waiting(None, None, _) => {}
        }
        None
    }

    /// Serves an acquire from the idle stack, or opens a connection for it, or queues it.
    /// With a callback (`done`), a ready checkout is handed to it here and a queued one is
    /// answered by the pool; otherwise the caller gets the checkout or the channel to await.
    fn admit(
        self: &Arc<Self>,
        meta: CheckoutMeta,
        started: Instant,
        done: Option<CheckoutCallback>,
    ) -> Admitted {
        let mut st = self.state.lock();
        if st.ending {
            return Admitted::Failed(Error::PoolEnded, meta, done);
        }
        let tag = meta.tag.clone();
        if let Some(t) = &tag {
            if st.tags.at_limit(t) {
                // Waits for its tag, apart from the pool's queue: never in front of others.
                if let Some(e) = self.queue_full(&st) {
                    return Admitted::Failed(e, meta, done);
                }
                let (w, rx, meta) = self.waiter(meta, started, done, tag.clone());
                let id = w.id;
                st.tags.wait(t, w);
                return Admitted::Waiting(rx, Some(id), meta);
            }
            st.tags.take(t);
        }
        if st.waiters.is_empty() {
            if let Some(idle) = self.pop_usable_idle_locked(&mut st) {
                let lease = Lease {
                    conn: idle.conn,
                    uses: idle.uses,
                    is_new: false,
                };
                let c = self.checkout_locked(&mut st, lease, meta);
                return Admitted::Ready(c, done);
            }
        }
        let opening = st.total < self.config.max && st.waiters.is_empty();
        if !opening {
            if let Some(e) = self.queue_full(&st) {
                if let Some(t) = &tag {
                    st.tags.give_back(t);
                }
                return Admitted::Failed(e, meta, done);
            }
        }
        let (w, rx, meta) = self.waiter(meta, started, done, tag);
        let id = w.id;
        if opening {
            st.total += 1;
            self.spawn_connect(w);
            return Admitted::Waiting(rx, None, meta);
        }
        st.waiters.push_back(w);
        Admitted::Waiting(rx, Some(id), meta)
    }

    /// `QueueFull` when `maxWaiting` callers already wait (for the pool or for their tag).
    fn queue_full(&self, st: &State) -> Option<Error> {
        let limit = self.config.max_waiting?;
        (st.waiters.len() + st.tags.queued() >= limit).then_some(Error::QueueFull(limit))
    }

    /// A waiter for this acquire, and what the caller keeps: the channel of a future waiter
    /// and its metadata (a callback waiter's metadata travels with it).
    fn waiter(
        &self,
        meta: CheckoutMeta,
        started: Instant,
        done: Option<CheckoutCallback>,
        tag: Option<String>,
    ) -> (
        Waiter,
        Option<oneshot::Receiver<Result<Lease>>>,
        CheckoutMeta,
    ) {
        let id = self.next_waiter.fetch_add(1, Ordering::Relaxed);
        let (tx, rx, waiter_meta, meta) = match done {
            Some(done) => (
                WaiterTx::Callback(done),
                None,
                meta,
                CheckoutMeta::default(),
            ),
            None => {
                let (tx, rx) = oneshot::channel();
                (WaiterTx::Lease(tx), Some(rx), CheckoutMeta::default(), meta)
            }
        };
        let w = Waiter {
            id,
            tx,
            meta: waiter_meta,
            started,
            tag,
        };
        (w, rx, meta)
    }

    /// Takes queued waiter `id` out, lock held: from the pool's queue (giving its tag slot
    /// back) or from its tag's queue. `Some(true)` when it was waiting for its tag.
    fn take_waiter_locked(self: &Arc<Self>, st: &mut State, id: u64) -> Option<(Waiter, bool)> {
        if let Some(pos) = st.waiters.iter().position(|w| w.id == id) {
            let w = st.waiters.remove(pos).expect("found");
            if let Some(t) = &w.tag {
                st.tags.give_back(t);
                self.pulse_locked(st);
            }
            return Some((w, false));
        }
        st.tags.remove(id).map(|w| (w, true))
    }

    /// Gives `lease` (or the error) to waiter `w`, lock held. A callback waiter gets its
    /// checkout registered now and its callback deferred to the lock's release. Returns the
    /// lease when a future waiter has gone away (timed out), so the caller can keep it.
    pub(super) fn serve_locked(
        self: &Arc<Self>,
        st: &mut State,
        w: Waiter,
        lease: Result<Lease>,
    ) -> Option<Lease> {
        // The tag slot passes to the checkout, or comes back when there is none.
        let give_back = |st: &mut State| {
            if let Some(t) = &w.tag {
                st.tags.give_back(t);
            }
        };
        match w.tx {
            WaiterTx::Lease(tx) => {
                let failed = lease.is_err();
                match tx.send(lease) {
                    Err(Ok(lease)) => {
                        give_back(st);
                        Some(lease)
                    }
                    Err(Err(_)) => {
                        give_back(st);
                        None
                    }
                    Ok(()) => {
                        if failed {
                            give_back(st);
                        }
                        None
                    }
                }
            }
            WaiterTx::Callback(done) => {
                if lease.is_err() {
                    give_back(st);
                }
                let result = lease.map(|l| self.checkout_locked(st, l, w.meta));
                if result.is_ok() {
                    self.metrics.waited(w.started.elapsed());
                }
                st.defer_serve(done, result);
                None
            }
        }
    }

    /// Counts an acquire that gave up and says who held the pool then — or, for a caller
    /// that waited for its tag (`at_tag`), who held that tag.
    fn timed_out(&self, at_tag: Option<&str>) -> Error {
        self.metrics.timed_out();
        let mut st = self.state.lock();
        match at_tag {
            Some(t) => {
                st.tags.timed_out(t);
                Error::TagLimitTimeout(Box::new(registry::tag_exhaustion(&st, t)))
            }
            None => Error::AcquireTimeout(Box::new(registry::exhaustion(&st, self.config.max))),
        }
    }

    /// Fails callback waiter `id` with the acquire timeout if it is still queued after `t`.
    /// The waiter, once taken out, is answered even if saying who held the pool panics (a
    /// lost callback would leave its `connect()` unsettled for good): then with the timeout
    /// alone.
    fn spawn_waiter_timeout(self: &Arc<Self>, id: u64, t: Duration) {
        let weak = Arc::downgrade(self);
        self.runtime.spawn(async move {
            tokio::time::sleep(t).await;
            let Some(this) = weak.upgrade() else { return };
            let Some((w, at_tag)) = this.take_waiter_locked(&mut this.state.lock(), id) else {
                return;
            };
            let tag = w.tag.as_deref().filter(|_| at_tag);
            let e = catch(async {
                this.panics.check("acquireTimeout");
                this.timed_out(tag)
            })
            .await
            .unwrap_or_else(|_| {
                Error::AcquireTimeout(Box::new(Exhaustion {
                    in_use: 0,
                    max: this.config.max,
                    holders: Vec::new(),
                    tag: None,
                }))
            });
            if let WaiterTx::Callback(done) = w.tx {
                done(Err(e));
            }
        });
    }

    /// `connect()`: resolves to a checkout, or fails (ended, queue full, timeout, connect error).
    pub(super) fn acquire(
        self: &Arc<Self>,
        meta: CheckoutMeta,
    ) -> impl Future<Output = Result<Checkout>> + Send + 'static {
        let started = Instant::now();
        let (start, meta) = self.start_acquire(meta);
        self.clone().finish_acquire(start, meta, started)
    }

    /// The asynchronous part of an acquire started with [`start_acquire`](Self::start_acquire).
    pub(super) fn finish_acquire(
        self: Arc<Self>,
        start: Start,
        meta: CheckoutMeta,
        started: Instant,
    ) -> impl Future<Output = Result<Checkout>> + Send + 'static {
        let this = self;
        async move {
            let (rx, waiter) = match start {
                Start::Ready(c) => {
                    this.metrics.waited(started.elapsed());
                    return Ok(c);
                }
                Start::Failed(e) => return Err(e),
                Start::Wait(rx, waiter) => (rx, waiter),
            };
            let mut rx = rx;
            let lease = match (this.config.connection_timeout, waiter) {
                (Some(t), Some(id)) => tokio::select! {
                    biased;
                    r = &mut rx => r,
                    _ = tokio::time::sleep(t) => {
                        let removed = this.take_waiter_locked(&mut this.state.lock(), id);
                        if let Some((w, at_tag)) = removed {
                            return Err(this.timed_out(w.tag.as_deref().filter(|_| at_tag)));
                        }
                        // Served while timing out: the lease is in the channel (never lost).
                        rx.await
                    }
                },
                _ => rx.await,
            };
            let lease = lease.unwrap_or(Err(Error::PoolEnded))?;
            let c = {
                let mut st = this.state.lock();
                this.checkout_locked(&mut st, lease, meta)
            };
            this.metrics.waited(started.elapsed());
            Ok(c)
        }
    }
}

#[cfg(test)]
mod tests {
    //! The timer of a queued callback acquire, on paused time against a fake server.

    use std::time::Duration;

    use parking_lot::Mutex;
    use serde_json::json;

    use super::*;
    use crate::pg::fake::FakeServer;

    #[tokio::test(start_paused = true)]
    async fn a_panic_in_the_timer_of_a_queued_acquire_still_fails_it_with_the_timeout() {
        let server = FakeServer::silent().await;
        let p = PoolInner::for_tests(
            json!({ "port": server.port, "max": 1, "connectionTimeoutMillis": 100 }),
        );
        let held = p.acquire(CheckoutMeta::default()).await.expect("checkout");
        p.panics.arm("acquireTimeout");
        let answer = Arc::new(Mutex::new(None));
        let slot = answer.clone();
        let ready = p.try_acquire_with(
            CheckoutMeta::default(),
            Box::new(move |r| *slot.lock() = Some(r.map(|c| c.id()))),
        );
        assert!(ready.is_none(), "queued");
        tokio::time::sleep(Duration::from_millis(150)).await;
        let answer = answer
            .lock()
            .take()
            .expect("answered, not lost to the panic");
        assert!(
            matches!(answer, Err(Error::AcquireTimeout(_))),
            "{answer:?}"
        );
        assert_eq!(p.counts().waiting, 0);
        held.release(false).expect("released");
    }
}
