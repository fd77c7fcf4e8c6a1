//! The pool: slots, the idle stack, FIFO waiters, lifetimes, and the checkout registry.
//!
//! [`Pool`] is the public API (usable from Rust as from the JS binding); `acquire` decides
//! and serves acquires, `inner` holds the other synchronous transitions, `state` the locked
//! data, `checkout` the RAII handle, `reaper` the
//! idle/lifetime task. Counters change synchronously with the call that changes them.

pub mod acquire;
pub mod checkout;
pub mod events;
pub mod inner;
pub mod reaper;
pub mod state;
pub mod ticker;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;

pub use checkout::{Checkout, DropPolicy, Released};
pub use events::{LeakInfo, NoEvents, PoolEvent, PoolEvents, ReclaimReason};
pub use inner::{PasswordSource, StaticPassword};
pub use state::CheckoutMeta;

use crate::config::PoolConfig;
use crate::error::{Error, Result};
use crate::leak::registry;
use crate::pg::conn::{PartialSink, ReplyFn, ReplyTo};
use crate::pg::external::ReadScheduler;
use crate::pg::{frames, Statement};
use inner::PoolInner;

/// A connection pool. Dropping the last `Pool` handle stops its background tasks and closes
/// its idle connections; checked-out connections close when their checkouts end.
pub struct Pool {
    inner: Arc<PoolInner>,
}

/// Runs `stmt` on an implicit checkout; like pg-pool, a statement that fails destroys the
/// connection it ran on. With a `partial` sink the reply streams (see [`ReplyTo::Streaming`]);
/// the checkout is released before the final part is handed on.
fn run_implicit(c: Checkout, stmt: Statement, partial: Option<PartialSink>, done: ReplyFn) {
    let conn = c.conn.clone();
    let done: ReplyFn = Box::new(move |reply| {
        let failed = frames::first_error_code(&reply).is_some();
        let _ = c.release(failed);
        done(reply)
    });
    let reply = match partial {
        Some(sink) => ReplyTo::Streaming(sink, done),
        None => ReplyTo::Callback(done),
    };
    conn.submit_to(stmt, reply);
}

/// The reply frames of a failed acquire. A server error while connecting (e.g. 28P01) keeps
/// its frame, so the caller gets pg's DatabaseError with every field.
pub fn acquire_error_frames(e: Error) -> Vec<u8> {
    match e {
        Error::Db(db) => db.frame,
        e => frames::client_error(e.code(), &e.to_string()),
    }
}

/// The outcome of [`Pool::try_connect`].
pub enum Acquire<F> {
    Ready(Checkout),
    Failed(Error),
    Pending(F),
}

/// Counts at one instant (taken under the state lock, so consistent with each other).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub total: usize,
    pub idle: usize,
    pub waiting: usize,
    pub active: usize,
    pub expired: usize,
    pub ending: bool,
    pub ended: bool,
}

/// One row of `getPoolStatus().activeConnections`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveCheckout {
    pub id: u64,
    pub conn_id: u64,
    pub held_ms: u64,
    pub idle_ms: u64,
    pub is_potential_leak: bool,
    pub location: Option<String>,
    pub tag: Option<String>,
    pub implicit: bool,
    pub query_count: u64,
    pub in_transaction: bool,
}

impl Pool {
    /// Creates a pool; no connection is opened until the first acquire. Background tasks run
    /// on `runtime`.
    pub fn new(
        config: PoolConfig,
        events: Arc<dyn PoolEvents>,
        password: Arc<dyn PasswordSource>,
        runtime: Handle,
    ) -> Pool {
        Self::with_reads(config, events, password, runtime, None)
    }

    /// [`new`](Self::new), with plain sockets read by `reads` instead of reader tasks.
    pub fn with_reads(
        config: PoolConfig,
        events: Arc<dyn PoolEvents>,
        password: Arc<dyn PasswordSource>,
        runtime: Handle,
        reads: Option<Arc<dyn ReadScheduler>>,
    ) -> Pool {
        let mut inner = PoolInner::new(config, events, password, runtime.clone());
        inner.reads = reads;
        let inner = Arc::new(inner);
        runtime.spawn(reaper::run(Arc::downgrade(&inner)));
        crate::leak::checker::spawn(&inner);
        crate::metrics::spawn_sampler(&inner);
        Pool { inner }
    }

    /// Captures an unresolved Rust backtrace at every explicit checkout (resolved only for a
    /// report). Off by default: the JS layer captures JS stacks instead.
    pub fn capture_backtraces(&mut self, on: bool) {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.capture_backtraces = on;
        }
    }

    pub fn config(&self) -> &PoolConfig {
        &self.inner.config
    }

    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    /// Counters, distributions, history and memory usage in one report.
    pub fn metrics_report(&self) -> crate::metrics::Report {
        crate::metrics::report(&self.inner)
    }

    /// `pool.connect()`: the counters change before this returns; the future yields a checkout.
    pub fn connect(
        &self,
        meta: CheckoutMeta,
    ) -> impl Future<Output = Result<Checkout>> + Send + 'static {
        self.inner.acquire(meta)
    }

    /// `pool.connect()` that hands out an idle connection at once when one is free (no task,
    /// no wake-up); otherwise the future of the wait. Counters change before this returns.
    pub fn try_connect(
        &self,
        meta: CheckoutMeta,
    ) -> Acquire<impl Future<Output = Result<Checkout>> + Send + 'static> {
        let started = std::time::Instant::now();
        let (start, meta) = self.inner.start_acquire(meta);
        match start {
            acquire::Start::Ready(c) => {
                self.inner.metrics.waited(started.elapsed());
                Acquire::Ready(c)
            }
            acquire::Start::Failed(e) => Acquire::Failed(e),
            wait => Acquire::Pending(self.inner.clone().finish_acquire(wait, meta, started)),
        }
    }

    /// `pool.connect()` with a callback instead of a future: `done` gets the checkout or the
    /// error exactly once, with no lock held — at once when an idle connection is free, else
    /// on the thread that frees one (a release, a connection's reader) with no task between.
    pub fn connect_with(
        &self,
        meta: CheckoutMeta,
        done: impl FnOnce(Result<Checkout>) + Send + 'static,
    ) {
        if let Some((c, done)) = self.inner.try_acquire_with(meta, Box::new(done)) {
            done(Ok(c));
        }
    }

    /// [`connect_with`](Self::connect_with) that returns an idle connection directly when one
    /// is free (then `done` is never called).
    pub fn try_connect_with(
        &self,
        meta: CheckoutMeta,
        done: impl FnOnce(Result<Checkout>) + Send + 'static,
    ) -> Option<Checkout> {
        self.inner
            .try_acquire_with(meta, Box::new(done))
            .map(|(c, _)| c)
    }

    /// `pool.query()`: an implicit checkout around one statement. Like pg-pool, a statement
    /// that fails destroys the connection it ran on. Returns the reply frames.
    pub fn query(&self, stmt: Statement) -> impl Future<Output = Vec<u8>> + Send + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.query_with(stmt, move |reply| {
            let _ = tx.send(reply);
        });
        async move {
            rx.await.unwrap_or_else(|_| {
                frames::client_error(
                    "LDP_CONNECTION_TERMINATED",
                    "Connection terminated unexpectedly",
                )
            })
        }
    }

    /// [`query`](Self::query) with a callback instead of a future: when an idle connection is
    /// free nothing is spawned; the connection's reader releases the checkout and calls `done`
    /// with the reply frames (exactly once, possibly before this returns).
    pub fn query_with(&self, stmt: Statement, done: impl FnOnce(Vec<u8>) + Send + 'static) {
        self.query_streaming(stmt, None, done)
    }

    /// [`query_with`](Self::query_with) whose long replies stream: with `partial`, the rows
    /// collected so far go to it every [`STREAM_CHUNK`](crate::pg::conn::STREAM_CHUNK) bytes
    /// and `done` gets the rest (see [`ReplyTo::Streaming`]).
    pub fn query_streaming(
        &self,
        stmt: Statement,
        partial: Option<PartialSink>,
        done: impl FnOnce(Vec<u8>) + Send + 'static,
    ) {
        let meta = CheckoutMeta {
            implicit: true,
            ..Default::default()
        };
        self.connect_with(meta, move |r| match r {
            Ok(c) => run_implicit(c, stmt, partial, Box::new(done)),
            Err(e) => done(acquire_error_frames(e)),
        });
    }

    /// The counts, consistent with each other.
    pub fn counts(&self) -> Counts {
        let st = self.inner.state.lock();
        let expired = match self.inner.config.max_lifetime {
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
            waiting: st.waiters.len(),
            active: st.checkouts.len(),
            expired,
            ending: st.ending,
            ended: st.ended,
        }
    }

    /// Every active checkout, oldest first.
    pub fn active_checkouts(&self) -> Vec<ActiveCheckout> {
        let now = Instant::now();
        let st = self.inner.state.lock();
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

    /// Who holds the pool, grouped by acquisition site.
    pub fn holders(&self) -> Vec<registry::Holder> {
        registry::holders(&self.inner.state.lock())
    }

    /// Changes a checkout's metadata after the fact (`client.tag = ...`, `setLeakThreshold`).
    pub fn update_checkout(&self, id: u64, f: impl FnOnce(&mut CheckoutMeta)) -> bool {
        let mut st = self.inner.state.lock();
        match st.checkouts.get_mut(&id) {
            Some(r) => {
                f(&mut r.meta);
                true
            }
            None => false,
        }
    }

    /// Reclaims a checkout now (used for garbage-collected JS clients).
    pub fn reclaim(&self, checkout_id: u64, reason: ReclaimReason) -> Option<LeakInfo> {
        self.inner.reclaim(checkout_id, reason)
    }

    /// `pool.end()`: refuses new work at once, closes idle connections, fails queued callers,
    /// waits up to `endTimeoutMs` for checkouts, then destroys the rest (reported with reason
    /// `end`). Resolves when every connection is closed.
    pub fn end(&self) -> Result<impl Future<Output = ()> + Send + 'static> {
        let inner = self.inner.clone();
        {
            let mut st = inner.state.lock();
            if st.ending {
                return Err(Error::EndCalledTwice);
            }
            st.ending = true;
            let idle: Vec<_> = st.idle.drain(..).collect();
            for i in idle {
                inner.remove_locked(&mut st, &i.conn);
            }
            let waiters: Vec<_> = st.waiters.drain(..).collect();
            for w in waiters {
                inner.serve_locked(&mut st, w, Err(Error::PoolEnded));
            }
        }
        inner.reaper_wake.notify_one();
        let grace = inner.config.end_timeout;
        Ok(async move {
            let deadline = tokio::time::Instant::now() + grace;
            let mut reclaimed = false;
            loop {
                let notified = inner.drained.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let (done, active) = {
                    let st = inner.state.lock();
                    (
                        st.total == 0 && st.removing.is_empty(),
                        st.checkouts.keys().copied().collect::<Vec<_>>(),
                    )
                };
                if done {
                    break;
                }
                if !reclaimed && tokio::time::Instant::now() >= deadline {
                    reclaimed = true;
                    for id in active {
                        inner.reclaim(id, ReclaimReason::End);
                    }
                    continue;
                }
                let until = if reclaimed {
                    tokio::time::Instant::now() + Duration::from_millis(200)
                } else {
                    deadline
                };
                tokio::select! {
                    _ = &mut notified => {},
                    _ = tokio::time::sleep_until(until) => {},
                }
            }
            inner.state.lock().ended = true;
            inner.reaper_wake.notify_one();
        })
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.inner.reaper_wake.notify_one();
    }
}
