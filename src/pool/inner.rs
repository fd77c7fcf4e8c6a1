//! The pool's shared core and its synchronous transitions after an acquire (opening a
//! connection, hand-off to waiters, release, removal, reclaim) and the connection listener;
//! the acquire decision itself is in `acquire.rs`. Everything here runs under the state lock
//! without awaiting; work that must wait (opening a connection, rolling back) is spawned on
//! the pool's runtime handle.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::sync::Notify;

use crate::pg::external::ReadScheduler;

use super::checkout::{Checkout, DropPolicy, Status};
use super::events::{LeakInfo, PoolEvent, PoolEvents, ReclaimReason};
use super::state::{CheckoutMeta, CheckoutRecord, IdleConn, Lease, State, StateLock, Waiter};
use crate::config::PoolConfig;
use crate::error::{Error, Result};
use crate::leak::registry;
use crate::metrics::Metrics;
use crate::pg::{Conn, ConnListener, Statement};

/// Supplies the password for each new connection (pg accepts a string or a function).
pub trait PasswordSource: Send + Sync + 'static {
    fn password(&self) -> Pin<Box<dyn Future<Output = Result<Option<String>>> + Send>>;
}

/// A fixed password (or none).
pub struct StaticPassword(pub Option<String>);

impl PasswordSource for StaticPassword {
    fn password(&self) -> Pin<Box<dyn Future<Output = Result<Option<String>>> + Send>> {
        let p = self.0.clone();
        Box::pin(async move { Ok(p) })
    }
}

/// Shared by the [`Pool`](super::Pool) handle, checkouts (weakly) and background tasks (weakly).
pub struct PoolInner {
    pub config: PoolConfig,
    pub state: StateLock,
    pub events: Arc<dyn PoolEvents>,
    pub password: Arc<dyn PasswordSource>,
    pub runtime: Handle,
    pub metrics: Metrics,
    /// Wakes the reaper when the idle stack goes from empty to non-empty, and at `end()`.
    pub reaper_wake: Arc<Notify>,
    /// Set while the reaper sleeps with no deadline: only then must a new idle connection wake
    /// it (waking it on every release would cost a cross-thread wake-up per checkout).
    pub reaper_parked: Arc<AtomicBool>,
    /// Wakes `end()` when `total` drops.
    pub drained: Notify,
    /// When the pool was created (the epoch of relative times).
    pub started: Instant,
    next_conn: AtomicU64,
    next_checkout: AtomicU64,
    pub(super) next_waiter: AtomicU64,
    pub capture_backtraces: bool,
    /// Who reads plain sockets (see [`ReadScheduler`]); `None`: a reader task per connection.
    pub reads: Option<Arc<dyn ReadScheduler>>,
}

impl PoolInner {
    pub fn new(
        config: PoolConfig,
        events: Arc<dyn PoolEvents>,
        password: Arc<dyn PasswordSource>,
        runtime: Handle,
    ) -> Self {
        let metrics = Metrics::new(&config);
        PoolInner {
            config,
            state: StateLock::default(),
            events,
            password,
            runtime,
            metrics,
            reaper_wake: Arc::new(Notify::new()),
            reaper_parked: Arc::new(AtomicBool::new(false)),
            drained: Notify::new(),
            started: Instant::now(),
            next_conn: AtomicU64::new(1),
            next_checkout: AtomicU64::new(1),
            next_waiter: AtomicU64::new(1),
            capture_backtraces: false,
            reads: None,
        }
    }

    pub(super) fn lifetime_over(&self, conn: &Conn) -> bool {
        matches!(self.config.max_lifetime, Some(l) if conn.shared().created.elapsed() >= l)
    }

    /// Registers a checkout for `lease` (lock held) and builds its handle.
    pub(super) fn checkout_locked(
        self: &Arc<Self>,
        st: &mut State,
        lease: Lease,
        meta: CheckoutMeta,
    ) -> Checkout {
        let id = self.next_checkout.fetch_add(1, Ordering::Relaxed);
        let status = Arc::new(Mutex::new(Status::Active));
        let now = Instant::now();
        let backtrace =
            if self.capture_backtraces && !meta.implicit && self.config.leak.threshold.is_some() {
                Some(backtrace::Backtrace::new_unresolved())
            } else {
                None
            };
        st.checkouts.insert(
            id,
            CheckoutRecord {
                conn: lease.conn.clone(),
                acquired: now,
                meta,
                uses: lease.uses,
                status: status.clone(),
                reported: false,
                held_back: false,
                backtrace,
                queries_before: lease.conn.shared().query_count(),
            },
        );
        self.metrics.acquired();
        Checkout {
            id,
            conn: lease.conn,
            pool: Arc::downgrade(self),
            status,
            is_new: lease.is_new,
            drop_policy: DropPolicy::Release,
        }
    }

    pub(super) fn spawn_connect(self: &Arc<Self>, w: Waiter) {
        let weak = Arc::downgrade(self);
        let this = self.clone();
        self.runtime.spawn(async move {
            let opening = Instant::now();
            let result = this.open_connection(weak).await;
            match result {
                Ok(conn) => {
                    this.metrics.created();
                    this.metrics.creation_time(opening.elapsed());
                    let lease = Lease {
                        conn,
                        uses: 0,
                        is_new: true,
                    };
                    let mut st = this.state.lock();
                    if let Some(lease) = this.serve_locked(&mut st, w, Ok(lease)) {
                        // The caller gave up (timed out); the connection joins the pool.
                        drop(st);
                        this.return_conn(lease.conn, 0);
                    }
                }
                Err(e) => {
                    this.metrics.connect_error();
                    {
                        let mut st = this.state.lock();
                        st.total -= 1;
                        this.pulse_locked(&mut st);
                        this.serve_locked(&mut st, w, Err(e));
                    }
                    this.drained.notify_waiters();
                }
            }
        });
    }

    async fn open_connection(&self, weak: Weak<PoolInner>) -> Result<Conn> {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let listener = Arc::new(Listener(weak));
        let cfg = &self.config.connect;
        let work = async {
            let password = self.password.password().await?;
            Conn::connect(
                id,
                cfg,
                password.as_deref(),
                self.config.statement_cache_size,
                listener,
                self.reads.as_ref(),
            )
            .await
        };
        match self.config.connection_timeout.or(cfg.connect_timeout) {
            Some(t) => tokio::time::timeout(t, work)
                .await
                .unwrap_or(Err(Error::ConnectTimeout)),
            None => work.await,
        }
    }

    /// Serves waiters from idle connections and opens connections for waiters while there is room.
    pub fn pulse_locked(self: &Arc<Self>, st: &mut State) {
        if st.ending {
            return;
        }
        while !st.waiters.is_empty() && !st.idle.is_empty() {
            let idle = st.idle.pop().expect("non-empty");
            let w = st.waiters.pop_front().expect("non-empty");
            let lease = Lease {
                conn: idle.conn,
                uses: idle.uses,
                is_new: false,
            };
            if let Some(lease) = self.serve_locked(st, w, Ok(lease)) {
                st.idle.push(IdleConn {
                    conn: lease.conn,
                    since: Instant::now(),
                    uses: lease.uses,
                });
            }
        }
        while !st.waiters.is_empty() && st.total < self.config.max {
            let w = st.waiters.pop_front().expect("non-empty");
            st.total += 1;
            self.spawn_connect(w);
        }
    }

    /// Puts a healthy, clean connection back: to the first waiter, else on the idle stack.
    pub fn return_conn(self: &Arc<Self>, conn: Conn, uses: u64) {
        let mut st = self.state.lock();
        if st.ending || conn.shared().is_closed() {
            self.remove_locked(&mut st, &conn);
            return;
        }
        let mut conn = conn;
        while let Some(w) = st.waiters.pop_front() {
            let lease = Lease {
                conn,
                uses,
                is_new: false,
            };
            match self.serve_locked(&mut st, w, Ok(lease)) {
                None => return,
                Some(lease) => conn = lease.conn,
            }
        }
        st.idle.push(IdleConn {
            conn,
            since: Instant::now(),
            uses,
        });
        drop(st);
        if self.reaper_parked.swap(false, Ordering::SeqCst) {
            self.reaper_wake.notify_one();
        }
    }

    /// Starts removing `conn` (lock held): it leaves `total` now; `Removed` fires when its socket ends.
    pub fn remove_locked(self: &Arc<Self>, st: &mut State, conn: &Conn) {
        st.total -= 1;
        self.metrics.destroyed();
        if conn.shared().is_closed() {
            self.events.emit(PoolEvent::Removed { conn_id: conn.id() });
        } else {
            st.removing.insert(conn.id());
            conn.close();
        }
        self.pulse_locked(st);
        self.drained.notify_waiters();
    }

    /// Releases checkout `id` (its handle already marked released).
    /// Returns true when an event about this checkout may still follow (`leakResolved`
    /// because it had been reported, `releasedInTransaction` because it is cleaned first), so
    /// the caller knows whether to remember what it needs to describe it.
    pub fn release(self: &Arc<Self>, id: u64, conn: &Conn, destroy: bool) -> bool {
        let mut st = self.state.lock();
        let Some(rec) = st.checkouts.remove(&id) else {
            return false;
        };
        self.metrics.released(rec.acquired.elapsed());
        if rec.reported {
            self.events.emit(PoolEvent::LeakResolved {
                checkout_id: id,
                held_ms: rec.acquired.elapsed().as_millis() as u64,
                location: rec.meta.location.clone(),
            });
        }
        let uses = rec.uses + 1;
        let spent = matches!(self.config.max_uses, Some(m) if uses >= m);
        if destroy || st.ending || conn.shared().is_closed() || spent || self.lifetime_over(conn) {
            self.remove_locked(&mut st, conn);
            return rec.reported;
        }
        let shared = conn.shared();
        if shared.in_flight() == 0 && shared.txn_status() == b'I' {
            drop(st);
            self.return_conn(conn.clone(), uses);
            return rec.reported;
        }
        // Released with queries in flight or inside a transaction: clean up before reuse.
        // The slot stays counted meanwhile.
        drop(st);
        let this = self.clone();
        let conn = conn.clone();
        let location = if rec.meta.implicit {
            Some("pool.query".to_string())
        } else {
            rec.meta.location.clone()
        };
        let held_ms = rec.acquired.elapsed().as_millis() as u64;
        self.runtime.spawn(async move {
            while conn.shared().in_flight() > 0 && !conn.shared().is_closed() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let status = conn.shared().txn_status();
            if status != b'I' {
                this.events.emit(PoolEvent::ReleasedInTransaction {
                    checkout_id: id,
                    conn_id: conn.id(),
                    status,
                    location,
                    held_ms,
                });
                let reply = conn.query(Statement::Simple("ROLLBACK".into())).await;
                let failed = crate::pg::frames::first_error_code(&reply).is_some();
                if failed || conn.shared().txn_status() != b'I' {
                    let mut st = this.state.lock();
                    this.remove_locked(&mut st, &conn);
                    return;
                }
            }
            this.return_conn(conn, uses);
        });
        true
    }

    /// Takes checkout `id` away from its holder: destroys the connection, frees the slot,
    /// marks the handle, and reports it.
    pub fn reclaim(self: &Arc<Self>, id: u64, reason: ReclaimReason) -> Option<LeakInfo> {
        let mut st = self.state.lock();
        let rec = st.checkouts.remove(&id)?;
        let held_ms = rec.acquired.elapsed().as_millis() as u64;
        *rec.status.lock() = Status::Reclaimed {
            reason,
            at: SystemTime::now(),
            held_ms,
        };
        let info = registry::leak_info(id, &rec);
        self.metrics.forced_release();
        if reason == ReclaimReason::GarbageCollected {
            self.metrics.leak_detected();
        }
        // Announced before the connection starts closing: its `removed` event can only follow
        // (the socket may be read on another thread, which would otherwise see the end first
        // and have the holder's client forgotten before it learns it was reclaimed).
        self.events.emit(PoolEvent::ForceRelease {
            leak: info.clone(),
            reason,
        });
        self.remove_locked(&mut st, &rec.conn);
        drop(st);
        // Destroy it for real: a statement still running must neither keep the backend busy
        // nor make the removal (and so `end()`) wait for it to finish.
        if rec.conn.shared().in_flight() > 0 {
            let conn = rec.conn.clone();
            self.runtime.spawn(async move {
                let _ = conn.cancel().await;
            });
        }
        rec.conn.abort();
        Some(info)
    }

    /// pg's timeout message with the current holders appended.
    pub fn holders_message(&self) -> (String, String) {
        let st = self.state.lock();
        let msg = registry::exhaustion_message(&st, self.config.max);
        let holders =
            serde_json::to_string(&registry::holders(&st)).unwrap_or_else(|_| "[]".into());
        (msg, holders)
    }

    fn conn_closed(self: &Arc<Self>, conn_id: u64, error: Option<Error>) {
        let mut st = self.state.lock();
        if st.removing.contains(&conn_id) {
            // Emitted before the removal completes (under the lock), so that `end()`, which
            // resolves once `removing` is empty, never resolves before its `Removed` events.
            self.events.emit(PoolEvent::Removed { conn_id });
            st.removing.remove(&conn_id);
            drop(st);
            self.drained.notify_waiters();
            return;
        }
        if let Some(pos) = st.idle.iter().position(|i| i.conn.id() == conn_id) {
            let idle = st.idle.remove(pos);
            st.total -= 1;
            self.metrics.destroyed();
            self.metrics.conn_error();
            self.pulse_locked(&mut st);
            drop(st);
            self.drained.notify_waiters();
            let error = error.unwrap_or(Error::ConnectionTerminated);
            self.events.emit(PoolEvent::IdleError { conn_id, error });
            self.events.emit(PoolEvent::Removed {
                conn_id: idle.conn.id(),
            });
            return;
        }
        let checked_out = st.checkouts.values().any(|r| r.conn.id() == conn_id);
        drop(st);
        if checked_out {
            self.metrics.conn_error();
            self.events.emit(PoolEvent::ClientError {
                conn_id,
                error: error.unwrap_or(Error::ConnectionTerminated),
            });
        }
    }
}

/// Forwards a connection's events to its pool, if the pool still exists.
struct Listener(Weak<PoolInner>);

impl ConnListener for Listener {
    fn notification(&self, conn_id: u64, pid: i32, channel: &str, payload: &str) {
        if let Some(p) = self.0.upgrade() {
            p.events.emit(PoolEvent::Notification {
                conn_id,
                pid,
                channel: channel.into(),
                payload: payload.into(),
            });
        }
    }
    fn notice(&self, conn_id: u64, frame: &[u8]) {
        if let Some(p) = self.0.upgrade() {
            p.events.emit(PoolEvent::Notice {
                conn_id,
                frame: frame.to_vec(),
            });
        }
    }
    fn closed(&self, conn_id: u64, error: Option<Error>) {
        if let Some(p) = self.0.upgrade() {
            p.conn_closed(conn_id, error);
        }
    }
}
