//! The pool: slots, the idle stack, FIFO waiters, lifetimes, the checkout registry and leak
//! detection.
//!
//! [`Pool`] is the public API (usable from Rust as from the JS binding), built by
//! [`Pool::new`] or [`Pool::builder`]. Inside, modules depend one way: the API here → the
//! transitions on `PoolInner` (`acquire`, `release`, `end`, `inner`) and what reads
//! the pool (`views`, `leak`) → the locked state (`state`), the RAII handle (`checkout`) and
//! what the pool tells its owner (`events`). `reaper`, `leak::checker`, `health` and the
//! metrics sampler (`views`) are background tasks holding a `Weak`. Counters change synchronously with the
//! call that changes them.

mod acquire;
mod budget;
mod checkout;
mod end;
mod events;
mod health;
mod inner;
mod leak;
mod reaper;
#[cfg(test)]
mod reclaim_tests;
mod release;
mod removal;
mod state;
#[cfg(test)]
mod tag_tests;
mod tags;
mod ticker;
mod views;

use std::future::Future;
use std::sync::Arc;

use tokio::runtime::Handle;

pub use budget::{EventBudget, Ticket};
pub use checkout::{Checkout, DropPolicy, Released, Retired};
pub use events::{LeakInfo, NoEvents, PoolEvent, PoolEvents};
pub use inner::{PasswordSource, StaticPassword};
pub use state::CheckoutMeta;
pub use tags::TagCount;
pub use views::{ActiveCheckout, Counts};

pub use crate::error::ReclaimReason;

use crate::config::{PasswordSpec, PoolConfig, SslConfig};
use crate::error::{Error, Result};
use crate::metrics::Report;
use crate::pg::{
    frames, DefaultRoots, PartialSink, ReadScheduler, ReplyFn, ReplyTo, Statement, TlsSetup,
};
use inner::PoolInner;

/// A connection pool. Dropping the last `Pool` handle stops its background tasks and closes
/// its idle connections; checked-out connections close when their checkouts end.
pub struct Pool {
    inner: Arc<PoolInner>,
}

/// Builds a [`Pool`]. Everything set here is fixed before the pool's background tasks start.
///
/// Defaults: no events ([`NoEvents`]), the configuration's fixed password (if any), a reader
/// task per connection, no backtraces.
pub struct PoolBuilder {
    config: PoolConfig,
    events: Arc<dyn PoolEvents>,
    password: Option<Arc<dyn PasswordSource>>,
    reads: Option<Arc<dyn ReadScheduler>>,
    capture_backtraces: bool,
    roots: DefaultRoots,
}

impl PoolBuilder {
    /// Where the pool's events go.
    pub fn events(mut self, events: Arc<dyn PoolEvents>) -> Self {
        self.events = events;
        self
    }

    /// Where each new connection's password comes from (overrides the configuration's).
    pub fn password(mut self, password: Arc<dyn PasswordSource>) -> Self {
        self.password = Some(password);
        self
    }

    /// Has plain (TCP and unix) sockets read by `reads` instead of a reader task each.
    pub fn read_scheduler(mut self, reads: Arc<dyn ReadScheduler>) -> Self {
        self.reads = Some(reads);
        self
    }

    /// The certificates trusted when `ssl.ca` is not given (default: none, so such a verified
    /// connection fails with a clear error). The JS binding passes what Node's TLS trusts.
    pub fn default_roots(mut self, roots: DefaultRoots) -> Self {
        self.roots = roots;
        self
    }

    /// Captures an unresolved backtrace at every explicit checkout while leak detection is on;
    /// it is resolved only when the checkout is reported ([`LeakInfo::stack`]). Off by
    /// default: capturing costs a stack walk per checkout.
    pub fn capture_backtraces(mut self, on: bool) -> Self {
        self.capture_backtraces = on;
        self
    }

    /// Creates the pool on `runtime` and starts its background tasks; no connection is
    /// opened until the first acquire.
    pub fn build(self, runtime: Handle) -> Pool {
        let password = self.password.unwrap_or_else(|| {
            Arc::new(StaticPassword(match &self.config.connect.password {
                PasswordSpec::Static(s) => Some(s.expose().to_string()),
                _ => None,
            }))
        });
        let mut inner = PoolInner::new(self.config, self.events, password, runtime.clone());
        inner.reads = self.reads;
        inner.tls = match &inner.config.connect.ssl {
            SslConfig::Enabled(opts) => Some(TlsSetup::new(opts, &self.roots)),
            SslConfig::Disabled => None,
        };
        inner.capture_backtraces = self.capture_backtraces;
        let inner = Arc::new(inner);
        runtime.spawn(reaper::run(Arc::downgrade(&inner)));
        leak::checker::spawn(&inner);
        views::spawn_sampler(&inner);
        health::spawn(&inner);
        Pool { inner }
    }
}

/// The connection an implicit query ran on (what pg's `acquire`/`release` listeners would
/// have been given a client for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    pub conn_id: u64,
    /// The backend's process id.
    pub pid: i32,
    /// Opened for this query (pg emits `connect` for it).
    pub is_new: bool,
}

/// Runs `stmt` on an implicit checkout; like pg-pool, a statement that fails destroys the
/// connection it ran on. With a `partial` sink the reply streams (see [`ReplyTo::Streaming`]);
/// the checkout is released before the final part is handed on.
fn run_implicit(
    c: Checkout,
    stmt: Statement,
    partial: Option<PartialSink>,
    done: impl FnOnce(Result<Vec<u8>>, Option<Served>) + Send + 'static,
) {
    let conn = c.conn.clone();
    let served = Served {
        conn_id: conn.id(),
        pid: conn.pid(),
        is_new: c.is_new(),
    };
    let done: ReplyFn = Box::new(move |reply| {
        let failed = frames::first_error_code(&reply).is_some();
        let _ = c.release(failed);
        done(Ok(reply), Some(served))
    });
    let reply = match partial {
        Some(sink) => ReplyTo::Streaming(sink, done),
        None => ReplyTo::Callback(done),
    };
    conn.submit_to(stmt, reply);
}

impl Pool {
    /// Creates a pool on `runtime` with these events and password source (see
    /// [`builder`](Self::builder) for the other settings); no connection is opened until the
    /// first acquire.
    pub fn new(
        config: PoolConfig,
        events: Arc<dyn PoolEvents>,
        password: Arc<dyn PasswordSource>,
        runtime: Handle,
    ) -> Pool {
        Self::builder(config)
            .events(events)
            .password(password)
            .build(runtime)
    }

    /// A builder with the defaults of [`PoolBuilder`].
    pub fn builder(config: PoolConfig) -> PoolBuilder {
        PoolBuilder {
            config,
            events: Arc::new(NoEvents),
            password: None,
            reads: None,
            capture_backtraces: false,
            roots: DefaultRoots::default(),
        }
    }

    /// The pool's configuration.
    pub fn config(&self) -> &PoolConfig {
        &self.inner.config
    }

    /// `pool.connect()`: the counters change before this returns; the future yields a checkout.
    pub fn connect(
        &self,
        meta: CheckoutMeta,
    ) -> impl Future<Output = Result<Checkout>> + Send + 'static {
        self.inner.acquire(meta)
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
    /// that fails destroys the connection it ran on. Returns the reply frames (a failed
    /// acquire as an error frame).
    pub fn query(&self, stmt: Statement) -> impl Future<Output = Vec<u8>> + Send + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.query_with(stmt, move |reply| {
            let _ = tx.send(reply);
        });
        async move {
            rx.await
                .unwrap_or_else(|_| frames::error_reply(&Error::ConnectionTerminated))
        }
    }

    /// [`query`](Self::query) with a callback instead of a future: when an idle connection is
    /// free nothing is spawned; the connection's reader releases the checkout and calls `done`
    /// with the reply frames (exactly once, possibly before this returns).
    pub fn query_with(&self, stmt: Statement, done: impl FnOnce(Vec<u8>) + Send + 'static) {
        self.query_streaming(stmt, None, move |r, _| {
            done(r.unwrap_or_else(|e| frames::error_reply(&e)))
        })
    }

    /// [`query_with`](Self::query_with) whose long replies stream and whose failed acquire is
    /// an `Err`: with `partial`, the rows collected so far go to it every
    /// [`STREAM_CHUNK`](crate::pg::STREAM_CHUNK) bytes and `done` gets the rest (see
    /// [`ReplyTo::Streaming`]), with the connection the statement ran on (`None` when no
    /// connection was acquired).
    pub fn query_streaming(
        &self,
        stmt: Statement,
        partial: Option<PartialSink>,
        done: impl FnOnce(Result<Vec<u8>>, Option<Served>) + Send + 'static,
    ) {
        let meta = CheckoutMeta {
            implicit: true,
            ..Default::default()
        };
        self.connect_with(meta, move |r| match r {
            Ok(c) => run_implicit(c, stmt, partial, done),
            Err(e) => done(Err(e), None),
        });
    }

    /// The counts, consistent with each other.
    pub fn counts(&self) -> Counts {
        self.inner.counts()
    }

    /// Removes the idle connections past their idle timeout or lifetime now, without waiting
    /// for the reaper to wake up for them: counts read after this never include one.
    pub fn reap_due(&self) {
        reaper::reap_due(&self.inner);
    }

    /// Removes connection `conn_id` now if it is idle (or being cleaned after its release), as
    /// pg-pool removes an idle client that emits `error`: it leaves `idle` and `total` before
    /// this returns, its socket is closed, and `Removed` follows. False if the pool holds no
    /// such connection (checked out, under a health check, or already gone).
    pub fn evict(&self, conn_id: u64) -> bool {
        self.inner.evict(conn_id)
    }

    /// Every active checkout, oldest first.
    pub fn active_checkouts(&self) -> Vec<ActiveCheckout> {
        self.inner.active_checkouts()
    }

    /// Counters, distributions, history and memory usage in one report.
    pub fn metrics_report(&self) -> Report {
        self.inner.report()
    }

    /// The sites the tests arm to panic (see [`crate::unwind`]); not for use outside tests.
    #[doc(hidden)]
    pub fn panic_hooks(&self) -> &crate::unwind::PanicHooks {
        &self.inner.panics
    }

    /// Changes a checkout's metadata after the fact (`client.tag = ...`, `setLeakThreshold`);
    /// `false` if `id` is not an active checkout.
    pub fn update_checkout(&self, id: u64, f: impl FnOnce(&mut CheckoutMeta)) -> bool {
        let mut st = self.inner.state.lock();
        let st = &mut *st;
        let Some(r) = st.checkouts.get_mut(&id) else {
            return false;
        };
        let before = r.meta.tag.clone();
        f(&mut r.meta);
        if r.meta.tag != before {
            // The checkout now counts for its new tag (even past that tag's limit: it holds
            // the connection already); its old tag's next caller may pass.
            if let Some(t) = &r.meta.tag {
                st.tags.take(t);
            }
            if let Some(t) = &before {
                st.tags.give_back(t);
                self.inner.pulse_locked(st);
            }
        }
        true
    }

    /// Sets (`Some`) or removes (`None`) the limit of `tag` (`setTagLimit`). Raising or
    /// removing a limit lets that tag's waiting callers through at once; lowering it below the
    /// connections the tag holds takes none away, only holds new callers back.
    pub fn set_tag_limit(&self, tag: &str, limit: Option<usize>) {
        let mut st = self.inner.state.lock();
        st.tags.set_limit(tag, limit);
        self.inner.pulse_locked(&mut st);
    }

    /// Per tag: slots held, callers waiting for the tag, its limit, its gate timeouts.
    pub fn tag_counts(&self) -> Vec<TagCount> {
        self.inner.state.lock().tags.counts()
    }

    /// Takes checkout `checkout_id` away from its holder now (destroying its connection) and
    /// reports it with `reason`; `None` if it is not active.
    pub fn reclaim(&self, checkout_id: u64, reason: ReclaimReason) -> Option<LeakInfo> {
        self.inner.reclaim(checkout_id, reason)
    }

    /// `pool.end()`: refuses new work at once, closes idle connections, fails queued callers,
    /// waits up to `endTimeoutMs` for checkouts, then destroys the rest (reported with reason
    /// `end`). Resolves when every connection is closed.
    pub fn end(&self) -> Result<impl Future<Output = ()> + Send + 'static> {
        self.inner.clone().end()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.inner.reaper_wake.notify_one();
    }
}
