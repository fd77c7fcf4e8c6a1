//! The pool's shared core and its synchronous transitions: opening a connection, hand-off to
//! waiters, return to the idle stack, and the connection listener. The acquire decision is in
//! `acquire.rs`, release and reclaim in `release.rs`, removal in `removal.rs`. Everything here runs
//! under the state lock without awaiting; work that must wait (opening a connection) is
//! spawned on the pool's runtime handle.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::sync::{watch, Notify};

use super::budget::EventBudget;
use super::checkout::{Checkout, DropPolicy, Status};
use super::events::{PoolEvent, PoolEvents};
use super::state::{CheckoutMeta, CheckoutRecord, IdleConn, Lease, State, StateLock, Waiter};
use super::tags::TagBook;
use crate::config::PoolConfig;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::pg::{Conn, ConnListener, ConnOptions, ReadScheduler, TlsSetup};
use crate::unwind::{catch, PanicHooks};

/// Supplies the password for each new connection (pg accepts a string or a function).
pub trait PasswordSource: Send + Sync + 'static {
    /// The password to authenticate the next connection with (`None`: none). Called only when
    /// the server asks a connection for a password, once per connection attempt.
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
///
/// Invariants: everything mutable is in `state` (one lock, see `state.rs`) or atomic; the
/// configuration and the capture switch are fixed before the background tasks start.
pub(super) struct PoolInner {
    pub(super) config: PoolConfig,
    /// The locked state, the event sink and the `drained` signal (see [`StateLock`]).
    pub(super) state: StateLock,
    pub(super) password: Arc<dyn PasswordSource>,
    pub(super) runtime: Handle,
    pub(super) metrics: Metrics,
    /// Wakes the reaper when the idle stack goes from empty to non-empty, and at `end()`.
    pub(super) reaper_wake: Arc<Notify>,
    /// Set while the reaper sleeps with no deadline: only then must a new idle connection wake
    /// it (waking it on every release would cost a cross-thread wake-up per checkout).
    pub(super) reaper_parked: Arc<AtomicBool>,
    next_conn: AtomicU64,
    next_checkout: AtomicU64,
    pub(super) next_waiter: AtomicU64,
    /// Capture an unresolved backtrace at every explicit checkout (Rust callers' reports).
    pub(super) capture_backtraces: bool,
    /// Who reads plain sockets (see [`ReadScheduler`]); `None`: a reader task per connection.
    pub(super) reads: Option<Arc<dyn ReadScheduler>>,
    /// The TLS client configuration every connection shares, built once (`None` without TLS).
    pub(super) tls: Option<TlsSetup>,
    /// Set once `end()` stops waiting: connections still being opened give up (their waiter
    /// is failed, their slot given back) instead of making `end()` wait for the server.
    pub(super) abandon_opens: watch::Sender<bool>,
    /// Sites the tests arm to panic (see `crate::unwind`).
    pub(super) panics: Arc<PanicHooks>,
    /// The bound on notifications and notices waiting for the event sink (`budget.rs`).
    pub(super) event_budget: Arc<EventBudget>,
}

impl PoolInner {
    pub(super) fn new(
        config: PoolConfig,
        events: Arc<dyn PoolEvents>,
        password: Arc<dyn PasswordSource>,
        runtime: Handle,
    ) -> Self {
        let metrics = Metrics::new(config.metrics.history_size);
        let event_budget = EventBudget::new(config.max_queued_events);
        let state = StateLock::new(events);
        state.lock().tags = TagBook::new(&config.tag_limits);
        PoolInner {
            config,
            state,
            password,
            runtime,
            metrics,
            reaper_wake: Arc::new(Notify::new()),
            reaper_parked: Arc::new(AtomicBool::new(false)),
            next_conn: AtomicU64::new(1),
            next_checkout: AtomicU64::new(1),
            next_waiter: AtomicU64::new(1),
            capture_backtraces: false,
            reads: None,
            tls: None,
            abandon_opens: watch::channel(false).0,
            panics: Arc::default(),
            event_budget,
        }
    }

    /// A pool core with `extra` options for an unreachable server, no events, on the current
    /// runtime, with no background task started.
    #[cfg(test)]
    pub(super) fn for_tests(extra: serde_json::Value) -> Arc<PoolInner> {
        Self::for_tests_with(extra, Arc::new(super::NoEvents))
    }

    /// [`for_tests`](Self::for_tests) with `events` as the event sink.
    #[cfg(test)]
    pub(super) fn for_tests_with(
        extra: serde_json::Value,
        events: Arc<dyn PoolEvents>,
    ) -> Arc<PoolInner> {
        let mut opts = serde_json::json!({ "host": "127.0.0.1", "port": 1, "user": "nobody", "database": "none" });
        for (k, v) in extra.as_object().expect("an object") {
            opts[k] = v.clone();
        }
        let config = PoolConfig::from_options(&opts, &|_| None).expect("valid options");
        Arc::new(PoolInner::new(
            config,
            events,
            Arc::new(StaticPassword(None)),
            Handle::current(),
        ))
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
        let mut abandon = self.abandon_opens.subscribe();
        self.runtime.spawn(async move {
            let opening = Instant::now();
            let result = tokio::select! {
                // A panic while opening is an error: the slot is given back, the waiter
                // answered (a malformed server reply must never cost a slot, however it is
                // mishandled).
                r = catch(this.open_connection(weak)) => r.unwrap_or_else(|_| Err(Error::Protocol(
                    "opening the connection failed unexpectedly".into(),
                ))),
                _ = abandon.wait_for(|a| *a) => Err(Error::PoolEnded),
            };
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
                    // A caller that asked before `end()` started is still served, as pg-pool
                    // serves it ("finish pending queries"); its release then closes the
                    // connection, and `end()` reclaims it at its deadline if it is not released.
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
                        // Answered first: its tag slot comes back before the pulse.
                        this.serve_locked(&mut st, w, Err(e));
                        this.pulse_locked(&mut st);
                    }
                    this.state.drained.notify_waiters();
                }
            }
        });
    }

    async fn open_connection(&self, weak: Weak<PoolInner>) -> Result<Conn> {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let listener = Arc::new(Listener(weak));
        let cfg = &self.config.connect;
        let work = async {
            Conn::connect(
                id,
                cfg,
                self.tls.as_ref(),
                || self.password.password(),
                ConnOptions {
                    statement_cache_size: self.config.statement_cache_size,
                    max_message_size: self.config.max_message_size,
                    max_notices: self.config.max_queued_events,
                    panics: Some(self.panics.clone()),
                },
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

    /// Lets callers whose tag has room again join the pool's queue, serves waiters from idle
    /// connections and opens connections for waiters while there is room.
    pub(super) fn pulse_locked(self: &Arc<Self>, st: &mut State) {
        if st.ending {
            return;
        }
        // A served waiter that went away gives its tag slot back, which may let another
        // caller of that tag through: repeat until nobody more can pass.
        loop {
            self.pulse_once_locked(st);
            if !st.tags.any_ready() {
                break;
            }
        }
    }

    /// One round of [`pulse_locked`](Self::pulse_locked).
    fn pulse_once_locked(self: &Arc<Self>, st: &mut State) {
        while let Some(w) = st.tags.next_ready() {
            if let Some(t) = &w.tag {
                st.tags.take(t);
            }
            st.waiters.push_back(w);
        }
        while !st.waiters.is_empty() {
            let Some(idle) = self.pop_usable_idle_locked(st) else {
                break;
            };
            // Removing an unusable one pulses the pool, which may have served every waiter.
            let Some(w) = st.waiters.pop_front() else {
                st.idle.push(idle);
                break;
            };
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
                    checked: None,
                });
            }
        }
        while !st.waiters.is_empty() && st.total < self.config.max {
            let w = st.waiters.pop_front().expect("non-empty");
            st.total += 1;
            self.spawn_connect(w);
        }
    }

    /// The most recently idled connection that may be handed out (lock held): one whose
    /// socket has ended (its report not in yet) or whose lifetime is over is removed on the
    /// way. The one rule for acquire and for serving waiters.
    pub(super) fn pop_usable_idle_locked(self: &Arc<Self>, st: &mut State) -> Option<IdleConn> {
        while let Some(idle) = st.idle.pop() {
            if idle.conn.shared().is_closed() || self.lifetime_over(&idle.conn) {
                self.remove_idle_locked(st, &idle.conn);
                continue;
            }
            return Some(idle);
        }
        None
    }

    /// Puts a healthy, clean connection back: to the first waiter, else on the idle stack.
    /// Through [`pulse_locked`](Self::pulse_locked), so a tag slot given back just before
    /// also moves that tag's next caller into the pool's line.
    pub(super) fn return_conn(self: &Arc<Self>, conn: Conn, uses: u64) {
        let mut st = self.state.lock();
        if st.ending || conn.shared().is_closed() {
            self.remove_locked(&mut st, &conn);
            return;
        }
        st.idle.push(IdleConn {
            conn,
            since: Instant::now(),
            uses,
            checked: None,
        });
        self.pulse_locked(&mut st);
        drop(st);
        if self.reaper_parked.swap(false, Ordering::SeqCst) {
            self.reaper_wake.notify_one();
        }
    }

    /// A notification or notice was dropped (see `budget.rs`): counted, and the first one
    /// announced.
    fn event_dropped(&self, kind: &'static str) {
        self.metrics.event_dropped(kind == "notification");
        if self.event_budget.first_drop() {
            self.state.emit(PoolEvent::EventsDropped {
                kind,
                limit: self.event_budget.limit(),
            });
        }
    }
}
/// Forwards a connection's events to its pool, if the pool still exists.
struct Listener(Weak<PoolInner>);

impl ConnListener for Listener {
    fn notification(&self, conn_id: u64, pid: i32, channel: &str, payload: &str) {
        if let Some(p) = self.0.upgrade() {
            match p.event_budget.take() {
                Some(ticket) => p.state.emit(PoolEvent::Notification {
                    conn_id,
                    pid,
                    channel: channel.into(),
                    payload: payload.into(),
                    ticket,
                }),
                None => p.event_dropped("notification"),
            }
        }
    }
    fn notice(&self, conn_id: u64, frame: &[u8]) {
        if let Some(p) = self.0.upgrade() {
            match p.event_budget.take() {
                Some(ticket) => p.state.emit(PoolEvent::Notice {
                    conn_id,
                    frame: frame.to_vec(),
                    ticket,
                }),
                None => p.event_dropped("notice"),
            }
        }
    }
    fn notice_dropped(&self, _conn_id: u64) {
        if let Some(p) = self.0.upgrade() {
            p.event_dropped("notice");
        }
    }
    fn closed(&self, conn_id: u64, error: Option<Error>) {
        if let Some(p) = self.0.upgrade() {
            p.conn_closed(conn_id, error);
        }
    }
}
