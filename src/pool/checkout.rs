//! A checked-out connection: the RAII handle a caller holds between acquire and release.
//!
//! Invariants: a checkout is released at most once ([`Checkout::release`] reports a second
//! call); once the pool reclaimed it (forced release, `end()`), queries fail with a message
//! that says so and when, and `release` is a silent no-op. Dropping an unreleased checkout
//! follows its [`DropPolicy`]: Rust callers get an ordinary release, the JS binding (whose
//! handles are dropped only by the garbage collector) gets a reclaim reported as a leak.

use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::inner::PoolInner;
use crate::error::{Error, ReclaimReason, Reclaimed, Result};
use crate::pg::{frames, Conn, ReplyTo, Statement, WrittenFn};

/// Where a checkout stands; shared between the handle and the pool's registry.
#[derive(Debug, Clone, Copy)]
pub(super) enum Status {
    Active,
    Released,
    Reclaimed(Reclaimed),
}

/// What dropping an unreleased [`Checkout`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropPolicy {
    /// Give the connection back as `release(false)` would.
    Release,
    /// Treat it as a certain leak: destroy the connection and report it.
    ReclaimAsLeak,
}

/// What [`Checkout::release_noting`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    /// Released now (false: the pool had already reclaimed it; a silent no-op).
    pub released: bool,
    /// A `leakResolved` (it had been reported as a leak) or `releasedInTransaction` (it is
    /// cleaned before reuse) event about this checkout may still follow.
    pub event_may_follow: bool,
    /// The release retired the connection because of the pool's rules for reuse (pg-pool
    /// logs these removals); `None` when it was kept, or closed for any other reason.
    pub retired: Option<Retired>,
}

/// Why a release retired a connection that could otherwise have been reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retired {
    /// It has served `maxUses` checkouts.
    Spent,
    /// It is older than `maxLifetimeSeconds`.
    Expired,
}

/// See the module docs.
pub struct Checkout {
    pub(super) id: u64,
    pub(super) conn: Conn,
    pub(super) pool: Weak<PoolInner>,
    pub(super) status: Arc<Mutex<Status>>,
    pub(super) is_new: bool,
    pub(super) drop_policy: DropPolicy,
}

impl Checkout {
    /// The checkout's id within its pool (the id events and reports refer to).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The connection's id within its pool (stable across checkouts).
    pub fn conn_id(&self) -> u64 {
        self.conn.id()
    }

    /// The backend process id (pg's `client.processID`).
    pub fn pid(&self) -> i32 {
        self.conn.pid()
    }

    /// How the server authenticated the connection (e.g. whether SCRAM was bound to the TLS
    /// channel): for audits and tests.
    pub fn auth_method(&self) -> crate::pg::AuthMethod {
        self.conn.auth_method()
    }

    /// True when this checkout opened a brand-new connection (pg emits `connect` then).
    pub fn is_new(&self) -> bool {
        self.is_new
    }

    /// What dropping this handle unreleased does (default: [`DropPolicy::Release`]).
    pub fn set_drop_policy(&mut self, p: DropPolicy) {
        self.drop_policy = p;
    }

    /// The error to give a caller who uses this checkout now, if it is no longer active.
    pub fn unusable(&self) -> Option<Error> {
        match *self.status.lock() {
            Status::Active => None,
            Status::Released => Some(Error::QueryAfterRelease),
            Status::Reclaimed(r) => Some(Error::ClientReclaimed(r)),
        }
    }

    /// Counts a request on the connection if this checkout is still active — under the
    /// status lock, under which a reclaim for idleness decides too: that reclaim either sees
    /// the request in flight (and leaves the checkout alone) or has already marked it
    /// reclaimed (and the request is refused). The request must then be sent, once.
    fn begin_request(&self) -> Result<()> {
        let st = self.status.lock();
        match *st {
            Status::Active => {
                self.conn.count_request();
                Ok(())
            }
            Status::Released => Err(Error::QueryAfterRelease),
            Status::Reclaimed(r) => Err(Error::ClientReclaimed(r)),
        }
    }

    /// Runs a statement on this checkout's connection; the reply frames, or a client error.
    pub async fn query(&self, stmt: Statement) -> Vec<u8> {
        match self.submit(stmt) {
            Ok(rx) => rx
                .await
                .unwrap_or_else(|_| frames::error_reply(&Error::ConnectionTerminated)),
            Err(e) => frames::error_reply(&e),
        }
    }

    /// Starts a statement without waiting (pg lets callers queue several queries).
    pub fn submit(
        &self,
        stmt: Statement,
    ) -> std::result::Result<tokio::sync::oneshot::Receiver<Vec<u8>>, Error> {
        self.begin_request()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.conn.send_counted(stmt, ReplyTo::Channel(tx));
        Ok(rx)
    }

    /// Starts a statement; `reply` receives the reply frames (or this checkout's error) once.
    pub fn submit_to(&self, stmt: Statement, reply: ReplyTo) {
        match self.begin_request() {
            Err(e) => reply.fail(&e),
            Ok(()) => self.conn.send_counted(stmt, reply),
        }
    }

    /// Opens a raw session on this checkout's connection (see [`Conn::open_counted_session`]); an
    /// unusable checkout answers `reply` with its error at once.
    pub fn open_session(&self, first: &[u8], reply: ReplyTo) {
        match self.begin_request() {
            Err(e) => reply.fail(&e),
            Ok(()) => self.conn.open_counted_session(first, reply),
        }
    }

    /// Writes more of the open session's messages (see [`Conn::session_write`]). A checkout
    /// no longer held writes nothing (its session was answered with the reason) and returns
    /// `true`.
    pub fn session_write(&self, bytes: &[u8], written: WrittenFn) -> bool {
        if self.unusable().is_some() {
            return true;
        }
        self.conn.session_write(bytes, written)
    }

    /// The SQL text of caller-named statement `name` parsed on this checkout's connection (by
    /// a statement or a raw session), if any.
    pub fn named_statement(&self, name: &str) -> Option<String> {
        self.conn.shared().named_statement(name)
    }

    /// Records statement `name` as parsed with `sql` by a raw session on this checkout's
    /// connection.
    pub fn note_named_statement(&self, name: &str, sql: &str) {
        self.conn.shared().note_named_statement(name, sql);
    }

    /// The session's consumer has consumed `n` more bytes (see [`Conn::session_ack`]).
    pub fn session_ack(&self, n: usize) {
        self.conn.session_ack(n);
    }

    /// Gives the connection back (`destroy`: close it instead of reusing it; a connection
    /// whose raw session has not ended is always closed — it is in the middle of a protocol
    /// exchange only its caller knew how to finish).
    ///
    /// Returns `Ok(false)` if the pool had already reclaimed this checkout (a silent no-op),
    /// and an error if it was already released.
    pub fn release(&self, destroy: bool) -> Result<bool> {
        self.release_noting(destroy).map(|r| r.released)
    }

    /// [`release`](Self::release), also saying whether an event about this checkout may still
    /// follow (see [`Released`]).
    pub fn release_noting(&self, destroy: bool) -> Result<Released> {
        {
            let mut st = self.status.lock();
            match *st {
                Status::Released => return Err(Error::ReleasedTwice),
                Status::Reclaimed(_) => {
                    return Ok(Released {
                        released: false,
                        event_may_follow: false,
                        retired: None,
                    })
                }
                Status::Active => *st = Status::Released,
            }
        }
        Ok(match self.pool.upgrade() {
            Some(pool) => pool.release(self.id, &self.conn, destroy),
            None => {
                self.conn.close();
                Released {
                    released: true,
                    event_may_follow: false,
                    retired: None,
                }
            }
        })
    }

    /// Asks the server to cancel the statement running on this checkout's connection.
    pub async fn cancel(&self) -> Result<()> {
        self.conn.cancel().await
    }

    /// Whether the handle is still checked out.
    pub fn is_active(&self) -> bool {
        matches!(*self.status.lock(), Status::Active)
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        if !self.is_active() {
            return;
        }
        match self.drop_policy {
            DropPolicy::Release => {
                let _ = self.release(false);
            }
            DropPolicy::ReclaimAsLeak => {
                if let Some(pool) = self.pool.upgrade() {
                    pool.reclaim(self.id, ReclaimReason::GarbageCollected);
                } else {
                    self.conn.close();
                }
            }
        }
    }
}
