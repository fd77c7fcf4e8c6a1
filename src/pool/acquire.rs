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
use crate::error::{Error, Result};

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
        if st.waiters.is_empty() {
            while let Some(idle) = st.idle.pop() {
                if idle.conn.shared().is_closed() || self.lifetime_over(&idle.conn) {
                    self.remove_locked(&mut st, &idle.conn);
                    continue;
                }
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
            if let Some(limit) = self.config.max_waiting {
                if st.waiters.len() >= limit {
                    return Admitted::Failed(Error::QueueFull(limit), meta, done);
                }
            }
        }
        let id = self.next_waiter.fetch_add(1, Ordering::Relaxed);
        let (tx, rx, meta) = match done {
            Some(done) => (WaiterTx::Callback(done), None, meta),
            None => {
                let (tx, rx) = oneshot::channel();
                (WaiterTx::Lease(tx), Some(rx), meta)
            }
        };
        let (waiter_meta, meta) = match &tx {
            WaiterTx::Callback(_) => (meta, CheckoutMeta::default()),
            WaiterTx::Lease(_) => (CheckoutMeta::default(), meta),
        };
        let w = Waiter {
            id,
            tx,
            meta: waiter_meta,
            started,
        };
        if opening {
            st.total += 1;
            self.spawn_connect(w);
            return Admitted::Waiting(rx, None, meta);
        }
        st.waiters.push_back(w);
        Admitted::Waiting(rx, Some(id), meta)
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
        match w.tx {
            WaiterTx::Lease(tx) => match tx.send(lease) {
                Err(Ok(lease)) => Some(lease),
                _ => None,
            },
            WaiterTx::Callback(done) => {
                let result = lease.map(|l| self.checkout_locked(st, l, w.meta));
                if result.is_ok() {
                    self.metrics.waited(w.started.elapsed());
                }
                st.defer_serve(done, result);
                None
            }
        }
    }

    /// Counts an acquire that gave up and says who held the pool then.
    fn timed_out(&self) -> Error {
        self.metrics.timed_out();
        let st = self.state.lock();
        Error::AcquireTimeout(Box::new(registry::exhaustion(&st, self.config.max)))
    }

    /// Fails callback waiter `id` with the acquire timeout if it is still queued after `t`.
    fn spawn_waiter_timeout(self: &Arc<Self>, id: u64, t: Duration) {
        let weak = Arc::downgrade(self);
        self.runtime.spawn(async move {
            tokio::time::sleep(t).await;
            let Some(this) = weak.upgrade() else { return };
            let w = {
                let mut st = this.state.lock();
                match st.waiters.iter().position(|w| w.id == id) {
                    Some(pos) => st.waiters.remove(pos),
                    None => None,
                }
            };
            if let Some(w) = w {
                let e = this.timed_out();
                if let WaiterTx::Callback(done) = w.tx {
                    done(Err(e));
                }
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
                        let removed = {
                            let mut st = this.state.lock();
                            match st.waiters.iter().position(|w| w.id == id) {
                                Some(pos) => st.waiters.remove(pos).is_some(),
                                None => false,
                            }
                        };
                        if removed {
                            return Err(this.timed_out());
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
