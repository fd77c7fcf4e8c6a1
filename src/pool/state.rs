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

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::checkout::Status;
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

/// A queued `connect()`.
pub struct Waiter {
    pub id: u64,
    pub tx: oneshot::Sender<Result<Lease>>,
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
}

impl State {
    /// Number of checked-out connections.
    pub fn active(&self) -> usize {
        self.checkouts.len()
    }
}
