//! The pool's locked state. Every field is changed only under `PoolInner::state`'s mutex and
//! never across an `.await`.
//!
//! Invariants:
//! - `total` = connections being opened + idle + checked out + being cleaned up before reuse;
//!   a connection leaves `total` when its removal starts. `total <= max` always.
//! - `idle` is a stack (pg hands out the most recently released client first); every entry
//!   is counted in `total` and has no checkout.
//! - `waiters` is FIFO; each waiter is served at most once (its sender is consumed).
//! - `checkouts` has exactly one record per active checkout; removing it is what "release"
//!   or "reclaim" means for the registry.
//! - `deferred` is empty whenever the lock is free: callbacks of served waiters are queued
//!   there under the lock and run by [`StateGuard`]'s drop once the lock is released, so no
//!   caller's code ever runs under the state lock.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::oneshot;

use super::checkout::{Checkout, Status};
use crate::error::Result;
use crate::pg::Conn;

/// Per-checkout data the caller may set at `connect()`.
#[derive(Debug, Clone, Default)]
pub struct CheckoutMeta {
    /// A label for reports (`pool.connect({ tag })`).
    pub tag: Option<String>,
    /// The acquisition site (first frame outside the library), for reports and holders.
    pub location: Option<String>,
    /// Overrides the pool's leak threshold for this checkout; `Some(None)` exempts it.
    pub leak_threshold_ms: Option<Option<u64>>,
    /// Overrides `forceReleaseAfterMs` for this checkout; `Some(None)` exempts it.
    pub force_release_after_ms: Option<Option<u64>>,
    /// The implicit checkout of `pool.query` (releases itself; never reported as a leak).
    pub implicit: bool,
}

/// A connection sitting in the idle stack.
pub struct IdleConn {
    pub conn: Conn,
    pub since: Instant,
    pub uses: u64,
}

/// What a waiter receives: a connection (new or reused) and its use count.
pub struct Lease {
    pub conn: Conn,
    pub uses: u64,
    pub is_new: bool,
}

/// Receives the outcome of a callback-style acquire, exactly once, with no lock held.
pub type CheckoutCallback = Box<dyn FnOnce(Result<Checkout>) + Send>;

/// How a queued `connect()` is answered.
pub enum WaiterTx {
    /// A future awaits the lease and registers the checkout itself (a task wake-up).
    Lease(oneshot::Sender<Result<Lease>>),
    /// The pool registers the checkout at hand-off (under the lock) and runs the callback
    /// right after the lock is released, on the thread that freed the connection: no task.
    Callback(CheckoutCallback),
}

/// A queued `connect()`. `meta` and `started` are used by callback waiters only (a future
/// keeps its own).
pub struct Waiter {
    pub id: u64,
    pub tx: WaiterTx,
    pub meta: CheckoutMeta,
    pub started: Instant,
}

/// The registry entry of an active checkout.
pub struct CheckoutRecord {
    pub conn: Conn,
    pub acquired: Instant,
    pub meta: CheckoutMeta,
    pub uses: u64,
    pub status: Arc<Mutex<Status>>,
    /// Reported in `leaksDetected` already (each checkout is reported once).
    pub reported: bool,
    /// Found over threshold but held back by `maxLeaksBeforeAlert`.
    pub held_back: bool,
    /// Rust callers' unresolved backtrace, resolved only for a report.
    pub backtrace: Option<backtrace::Backtrace>,
    /// The connection's query count when this checkout began (queries of this checkout =
    /// current count minus this).
    pub queries_before: u64,
}

/// See the module docs.
#[derive(Default)]
pub struct State {
    pub total: usize,
    pub idle: Vec<IdleConn>,
    pub waiters: VecDeque<Waiter>,
    pub checkouts: HashMap<u64, CheckoutRecord>,
    /// Connections whose removal started (closed by us), awaiting their socket's end.
    pub removing: HashSet<u64>,
    pub ending: bool,
    pub ended: bool,
    pub end_waiters: Vec<oneshot::Sender<()>>,
    /// Callbacks of waiters served under the lock, run when it is released.
    pub deferred: Vec<(CheckoutCallback, Result<Checkout>)>,
}

/// The pool's state mutex. Locking it yields a [`StateGuard`].
#[derive(Default)]
pub struct StateLock(Mutex<State>);

impl StateLock {
    pub fn lock(&self) -> StateGuard<'_> {
        StateGuard(Some(self.0.lock()))
    }
}

/// A held state lock; on drop it releases the lock, then runs the deferred callbacks.
/// Invariant: the inner guard is `Some` until drop.
pub struct StateGuard<'a>(Option<MutexGuard<'a, State>>);

impl std::ops::Deref for StateGuard<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        self.0.as_ref().expect("held until drop")
    }
}

impl std::ops::DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.0.as_mut().expect("held until drop")
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        let Some(mut g) = self.0.take() else { return };
        if g.deferred.is_empty() {
            return;
        }
        let deferred = std::mem::take(&mut g.deferred);
        drop(g);
        for (done, result) in deferred {
            done(result);
        }
    }
}

impl State {
    /// Number of checked-out connections.
    pub fn active(&self) -> usize {
        self.checkouts.len()
    }
}
