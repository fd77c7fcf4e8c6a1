//! What the pool tells its owner (the JS layer, or a Rust user).
//!
//! Events are delivered through [`PoolEvents::emit`], called from pool tasks or from the
//! thread that made the call that caused them, never with the pool's lock held (events
//! decided under the lock are queued and emitted once it is released). An implementation must
//! not block. Events carry facts (ids, ages, counts, reasons); what to call a checkout's
//! acquisition site, and every message built from them, is the receiver's business.

use super::budget::Ticket;
use crate::error::{Error, ReclaimReason};

/// A leaked (or reclaimed) checkout as reported in `leaksDetected` / `forceRelease`: a
/// snapshot taken under the pool's lock, so its numbers are consistent with each other.
#[derive(Debug, Clone)]
pub struct LeakInfo {
    pub checkout_id: u64,
    pub conn_id: u64,
    /// Milliseconds since checkout.
    pub age_ms: u64,
    /// Milliseconds since the later of checkout and the end of its last query (0 mid-query).
    pub idle_ms: u64,
    /// Statements run during this checkout.
    pub query_count: u64,
    pub in_transaction: bool,
    pub tag: Option<String>,
    pub location: Option<String>,
    /// The backtrace captured at checkout, resolved now: only for pools built with
    /// [`PoolBuilder::capture_backtraces`](super::PoolBuilder::capture_backtraces) (JS keeps
    /// its own stacks by checkout id).
    pub stack: Option<String>,
}

/// One event. See the README's events section for the JS names and payloads.
#[derive(Debug, Clone)]
pub enum PoolEvent {
    /// A connection's removal finished (pg's `remove`); `pid` is its backend's process id.
    Removed { conn_id: u64, pid: i32 },
    /// An idle connection failed; it was removed from the pool first (pg's `error`). `pid`
    /// is its backend's process id.
    IdleError {
        conn_id: u64,
        pid: i32,
        error: Error,
    },
    /// A checked-out connection failed; goes to that client, never to the pool.
    ClientError { conn_id: u64, error: Error },
    /// A `NOTIFY` delivered to a connection that `LISTEN`s. `ticket` holds its place among
    /// the `maxQueuedEvents` that may wait: drop it once the event is taken (see `budget.rs`).
    Notification {
        conn_id: u64,
        pid: i32,
        channel: String,
        payload: String,
        ticket: Ticket,
    },
    /// A notice raised outside any request (`frame`: the raw `NoticeResponse`); `ticket` as
    /// for a notification.
    Notice {
        conn_id: u64,
        frame: Vec<u8>,
        ticket: Ticket,
    },
    /// The first notification or notice this pool dropped (`kind`: `"notification"` or
    /// `"notice"`), because `limit` were waiting or one query had collected that many notices;
    /// announced once per pool, every drop counted in the metrics.
    EventsDropped { kind: &'static str, limit: usize },
    /// Checkouts held past their leak threshold, each reported once.
    LeaksDetected { leaks: Vec<LeakInfo> },
    /// A checkout was reclaimed: its connection destroyed and its slot freed.
    ForceRelease {
        leak: LeakInfo,
        reason: ReclaimReason,
    },
    /// A checkout reported as a leak was released after all.
    LeakResolved {
        checkout_id: u64,
        held_ms: u64,
        location: Option<String>,
    },
    /// A client was released inside a transaction and is rolled back (or destroyed) before
    /// reuse. `status` is the `ReadyForQuery` byte (`T` or `E`); `held_ms` how long the
    /// checkout was held; `implicit` marks the checkout of `Pool::query`.
    ReleasedInTransaction {
        checkout_id: u64,
        conn_id: u64,
        status: u8,
        location: Option<String>,
        implicit: bool,
        held_ms: u64,
    },
}

/// Receives pool events (see the module docs: never under the pool's lock; must not block).
pub trait PoolEvents: Send + Sync + 'static {
    /// Takes one event; called in the order the pool decided them.
    fn emit(&self, event: PoolEvent);
}

/// Discards every event (Rust users who only poll metrics).
pub struct NoEvents;

impl PoolEvents for NoEvents {
    fn emit(&self, _event: PoolEvent) {}
}
