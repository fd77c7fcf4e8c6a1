//! The pool's locked state. Every field is changed only under `PoolInner::state`'s mutex and
//! never across an `.await`.
//!
//! Invariants:
//! - `total` = connections being opened + idle + checked out + being cleaned up before reuse;
//!   a connection leaves `total` when its removal starts. `total <= max` always.
//! - `idle` is a stack (pg hands out the most recently released client first); every entry
//!   is counted in `total` and has no checkout.
//! - `waiters` is FIFO; each waiter is served at most once (its sender is consumed). Callers
//!   whose tag is at its limit wait in `tags` instead, and join `waiters` (or are given a
//!   new connection) once their tag has room; `tags.held` counts every tagged waiter in
//!   `waiters`, every tagged connection being opened for a waiter and every tagged checkout.
//! - `checkouts` has exactly one record per active checkout; removing it is what "release"
//!   or "reclaim" means for the registry.
//! - `deferred` is empty whenever the lock is free: callbacks of served waiters and events
//!   are queued there under the lock and run by [`StateGuard`]'s drop once the lock is
//!   released, in the order they were queued, so no caller's code (callback or event sink)
//!   ever runs under the state lock.
//! - `announcing` counts `Removed` events queued and not yet emitted: a removal is finished
//!   (for `end()`) only once its event is out.
//! - `cleaning` holds exactly the connections released with work unfinished whose clean-up
//!   (wait, then `ROLLBACK`) is under way; each is counted in `total`. `removing` holds the
//!   connections whose removal started and whose socket has not ended; none is counted in
//!   `total`. Both keep a handle, so that `end()` can destroy them when it must stop waiting.
//! - A slot is free as soon as its connection's removal starts, as pg-pool frees it when it
//!   calls `client.end()`: a new connection may open while the old socket finishes closing.
//!   So the sockets the pool is responsible for are `total` (at most `max`) plus `removing`,
//!   of which at most `max` wait for the server to end a graceful close (see [`Removal`]).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::{oneshot, Notify};

use super::checkout::{Checkout, Status};
use super::events::{PoolEvent, PoolEvents};
use super::tags::TagBook;
use crate::error::Result;
use crate::pg::Conn;

/// A connection whose removal started and whose socket has not ended yet (an entry of
/// [`State::removing`]).
///
/// Invariants: `held` is set only from a reclaim taking the connection from its holder until
/// that reclaim's `ForceRelease` is out; meanwhile its `Removed` is not announced (a socket
/// that ends sets `ended`, and the reclaim announces it), so `Removed` never overtakes the
/// event that explains it. `graceful` marks a close that waits for the server to end the
/// socket; the others were aborted (the reading side shut down on our side), so they leave at
/// their reader's next turn whatever the server does. At most `max` entries are graceful: a
/// removal that finds `max` graceful closes under way aborts its connection instead, so a
/// server (or network) that never answers a close cannot make `removing` grow past `max` plus
/// the aborted connections not read yet.
pub(super) struct Removal {
    pub(super) conn: Conn,
    pub(super) held: bool,
    pub(super) ended: bool,
    pub(super) graceful: bool,
    /// Its socket ended while it was idle, before its listener spoke: the listener reports it
    /// as an idle connection that died (`IdleError`, then `Removed`).
    pub(super) died_idle: bool,
}

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
pub(super) struct IdleConn {
    pub(super) conn: Conn,
    /// Idle since (what `idleTimeoutMillis` counts from; a health check does not reset it).
    pub(super) since: Instant,
    pub(super) uses: u64,
    /// When it last passed a health check during this idle period (`None`: not yet).
    pub(super) checked: Option<Instant>,
}

/// What a waiter receives: a connection (new or reused) and its use count.
pub(super) struct Lease {
    pub(super) conn: Conn,
    pub(super) uses: u64,
    pub(super) is_new: bool,
}

/// Receives the outcome of a callback-style acquire, exactly once, with no lock held.
pub(super) type CheckoutCallback = Box<dyn FnOnce(Result<Checkout>) + Send>;

/// How a queued `connect()` is answered.
pub(super) enum WaiterTx {
    /// A future awaits the lease and registers the checkout itself (a task wake-up).
    Lease(oneshot::Sender<Result<Lease>>),
    /// The pool registers the checkout at hand-off (under the lock) and runs the callback
    /// right after the lock is released, on the thread that freed the connection: no task.
    Callback(CheckoutCallback),
}

/// A queued `connect()`. `meta` and `started` are used by callback waiters only (a future
/// keeps its own). `tag` is the caller's tag, for callback and future waiters alike: in the
/// pool's queue (or being given a new connection) the waiter holds a slot of that tag, in
/// the tag's queue it waits for one (see `tags.rs`).
pub(super) struct Waiter {
    pub(super) id: u64,
    pub(super) tx: WaiterTx,
    pub(super) meta: CheckoutMeta,
    pub(super) started: Instant,
    pub(super) tag: Option<String>,
}

/// The registry entry of an active checkout.
pub(super) struct CheckoutRecord {
    pub(super) conn: Conn,
    pub(super) acquired: Instant,
    pub(super) meta: CheckoutMeta,
    pub(super) uses: u64,
    pub(super) status: Arc<Mutex<Status>>,
    /// Reported in `leaksDetected` already (each checkout is reported once).
    pub(super) reported: bool,
    /// Found over threshold but held back by `maxLeaksBeforeAlert`.
    pub(super) held_back: bool,
    /// Rust callers' unresolved backtrace, resolved only for a report.
    pub(super) backtrace: Option<backtrace::Backtrace>,
    /// The connection's query count when this checkout began (queries of this checkout =
    /// current count minus this).
    pub(super) queries_before: u64,
}

/// Work queued under the lock for right after it is released.
pub(super) enum Deferred {
    /// A served callback waiter: its callback and its outcome.
    Serve(CheckoutCallback, Result<Checkout>),
    /// An event for the pool's sink.
    Emit(PoolEvent),
    /// `Removed` for a connection (id, backend pid) whose removal has finished; counted in
    /// `announcing` until emitted.
    Removed(u64, i32),
}

/// See the module docs.
#[derive(Default)]
pub(super) struct State {
    pub(super) total: usize,
    pub(super) idle: Vec<IdleConn>,
    pub(super) waiters: VecDeque<Waiter>,
    /// Slots held per tag, tag limits, and callers waiting for their tag (see `tags.rs`).
    pub(super) tags: TagBook,
    pub(super) checkouts: HashMap<u64, CheckoutRecord>,
    /// Connections whose removal started (closed by us), awaiting their socket's end.
    pub(super) removing: HashMap<u64, Removal>,
    /// Connections released with work unfinished, being cleaned before reuse.
    pub(super) cleaning: HashMap<u64, Conn>,
    /// `Removed` events queued in `deferred` and not emitted yet.
    pub(super) announcing: usize,
    pub(super) ending: bool,
    pub(super) ended: bool,
    /// What runs once the lock is released (see the module docs).
    deferred: Vec<Deferred>,
}

impl State {
    /// Queues `done(result)` for when the lock is released.
    pub(super) fn defer_serve(&mut self, done: CheckoutCallback, result: Result<Checkout>) {
        self.deferred.push(Deferred::Serve(done, result));
    }

    /// Queues an event for when the lock is released.
    pub(super) fn defer_event(&mut self, event: PoolEvent) {
        self.deferred.push(Deferred::Emit(event));
    }

    /// Queues `Removed` for `conn_id`, whose removal has finished; until it is emitted the
    /// pool does not count as drained.
    pub(super) fn defer_removed(&mut self, conn_id: u64, pid: i32) {
        self.announcing += 1;
        self.deferred.push(Deferred::Removed(conn_id, pid));
    }

    /// Every connection's removal finished and announced (what `end()` waits for).
    pub(super) fn drained(&self) -> bool {
        self.total == 0 && self.removing.is_empty() && self.announcing == 0
    }
}

/// The pool's state mutex, the sink its events go to once the lock is released, and the
/// signal that a connection's removal has finished. Locking it yields a [`StateGuard`].
pub(super) struct StateLock {
    state: Mutex<State>,
    events: Arc<dyn PoolEvents>,
    /// Notified whenever `total` drops or a removal finishes (`end()` waits on it).
    pub(super) drained: Notify,
}

impl StateLock {
    pub(super) fn new(events: Arc<dyn PoolEvents>) -> Self {
        StateLock {
            state: Mutex::default(),
            events,
            drained: Notify::new(),
        }
    }

    pub(super) fn lock(&self) -> StateGuard<'_> {
        StateGuard {
            lock: self,
            guard: Some(self.state.lock()),
        }
    }

    /// Emits an event now. Only ever called with the lock free; under the lock, events are
    /// queued with [`State::defer_event`].
    pub(super) fn emit(&self, event: PoolEvent) {
        self.events.emit(event);
    }
}

/// A held state lock; on drop it releases the lock, then runs what was deferred, in order.
/// Invariant: `guard` is `Some` until drop.
pub(super) struct StateGuard<'a> {
    lock: &'a StateLock,
    guard: Option<MutexGuard<'a, State>>,
}

impl std::ops::Deref for StateGuard<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        self.guard.as_ref().expect("held until drop")
    }
}

impl std::ops::DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.guard.as_mut().expect("held until drop")
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        let Some(mut g) = self.guard.take() else {
            return;
        };
        if g.deferred.is_empty() {
            return;
        }
        let deferred = std::mem::take(&mut g.deferred);
        drop(g);
        for d in deferred {
            match d {
                Deferred::Serve(done, result) => done(result),
                Deferred::Emit(event) => self.lock.events.emit(event),
                Deferred::Removed(conn_id, pid) => {
                    self.lock.events.emit(PoolEvent::Removed { conn_id, pid });
                    self.lock.state.lock().announcing -= 1;
                    self.lock.drained.notify_waiters();
                }
            }
        }
    }
}
