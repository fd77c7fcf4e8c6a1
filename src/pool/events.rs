//! What the pool tells its owner (the JS layer, or a Rust user).
//!
//! Events are delivered through [`PoolEvents::emit`], called from pool tasks or from the
//! thread that made the call that caused them; an implementation must not block and must not
//! call back into the pool synchronously.

use crate::error::Error;

/// A leaked (or reclaimed) checkout as reported in `leaksDetected` / `forceRelease`.
#[derive(Debug, Clone)]
pub struct LeakInfo {
    pub checkout_id: u64,
    pub conn_id: u64,
    pub age_ms: u64,
    pub idle_ms: u64,
    pub query_count: u64,
    pub in_transaction: bool,
    pub tag: Option<String>,
    pub location: Option<String>,
    /// Rust callers: the resolved backtrace; JS callers keep their own stacks by checkout id.
    pub stack: Option<String>,
}

/// Why a checkout was reclaimed by the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReclaimReason {
    /// Idle within its checkout longer than `forceReleaseAfterMs`.
    Idle,
    /// Still checked out when `end()`'s grace period ran out.
    End,
    /// Its handle was dropped (garbage-collected) without release.
    GarbageCollected,
}

impl ReclaimReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            ReclaimReason::Idle => "idle",
            ReclaimReason::End => "end",
            ReclaimReason::GarbageCollected => "garbage-collected",
        }
    }
}

/// One event. See the README's events section for the JS names and payloads.
#[derive(Debug, Clone)]
pub enum PoolEvent {
    /// A connection's removal finished (pg's `remove`).
    Removed {
        conn_id: u64,
    },
    /// An idle connection failed; it was removed from the pool first (pg's `error`).
    IdleError {
        conn_id: u64,
        error: Error,
    },
    /// A checked-out connection failed; goes to that client, never to the pool.
    ClientError {
        conn_id: u64,
        error: Error,
    },
    Notification {
        conn_id: u64,
        pid: i32,
        channel: String,
        payload: String,
    },
    Notice {
        conn_id: u64,
        frame: Vec<u8>,
    },
    /// Checkouts held past their leak threshold, each reported once.
    LeaksDetected {
        leaks: Vec<LeakInfo>,
    },
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
    /// A client was released inside a transaction and was rolled back (or destroyed).
    /// `held_ms`: how long the checkout was held (`location` is "pool.query" for implicit ones).
    ReleasedInTransaction {
        checkout_id: u64,
        conn_id: u64,
        status: u8,
        location: Option<String>,
        held_ms: u64,
    },
}

/// Receives pool events.
pub trait PoolEvents: Send + Sync + 'static {
    fn emit(&self, event: PoolEvent);
}

/// Discards every event (Rust users who only poll metrics).
pub struct NoEvents;

impl PoolEvents for NoEvents {
    fn emit(&self, _event: PoolEvent) {}
}
