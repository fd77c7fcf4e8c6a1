//! What a connection's handle, its writing side and its reading side share.
//!
//! [`ConnShared`] is the one seam between the two sides: the writing side (`write.rs`) and
//! the reading side (`read.rs`) never name each other; each sees the request queue (`driver`)
//! and the counters here, and the reading side writes (a re-run of a stale cached statement,
//! a `CopyFail`) only through the methods below.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::flow::Flow;
use super::queue::{Driver, ReplyTo};
use super::request::Statement;
use super::stream::CancelTarget;
use super::write::{Writes, WrittenFn};

/// Receives a connection's asynchronous events. Called from the reading side; must not block.
pub trait ConnListener: Send + Sync + 'static {
    fn notification(&self, conn_id: u64, pid: i32, channel: &str, payload: &str);
    fn notice(&self, conn_id: u64, frame: &[u8]);
    /// A notice raised by a request was dropped: the request had already collected its
    /// share (`ConnOptions::max_notices`).
    fn notice_dropped(&self, _conn_id: u64) {}
    /// The socket ended; `error` is `None` when we closed it ourselves.
    fn closed(&self, conn_id: u64, error: Option<crate::error::Error>);
}

/// State shared by a connection's handle and its two sides.
///
/// Invariants: `txn_status` is the status byte of the last `ReadyForQuery` (`I`, `T` or `E`)
/// and is settled whenever `in_flight` is 0; `closed` never goes back to false; every request
/// counted in `in_flight` is answered exactly once, and the answer is what uncounts it;
/// `session` is set from the opening of a raw session until its slot is answered (the
/// reading side looks at it once per read, so connections without sessions pay no lock).
pub struct ConnShared {
    pub id: u64,
    pub pid: i32,
    pub(super) secret: i32,
    pub(super) cancel_target: CancelTarget,
    pub created: Instant,
    pub(super) txn_status: AtomicU8,
    pub(super) closed: AtomicBool,
    pub(super) closing: AtomicBool,
    /// Signalled by an abort: the reader task stops waiting for the server.
    pub(super) abort: Notify,
    /// Set by an abort before a paused reader is resumed: a reader driven from outside
    /// (`ExternalReader`) ends at its next call instead of reading on.
    pub(super) aborted: AtomicBool,
    in_flight: AtomicU32,
    queries: AtomicU64,
    /// Milliseconds since `created` at which the last request finished.
    last_done_ms: AtomicU64,
    /// Set while someone awaits [`until_idle`](Self::until_idle): only then does the request
    /// that empties the connection signal `idle` (the common case pays one load, no wake-up).
    idle_wanted: AtomicBool,
    idle: Notify,
    /// The server's `ParameterStatus` values.
    pub(super) params: Mutex<HashMap<String, String>>,
    pub(super) driver: Mutex<Driver>,
    pub(super) writes: Writes,
    /// A raw session's slot is pending (see [`ReplyTo::Session`]).
    pub(super) session: AtomicBool,
    /// Flow control of a raw session's reply.
    pub(super) flow: Flow,
}

impl ConnShared {
    pub(super) fn new(
        id: u64,
        pid: i32,
        secret: i32,
        cancel_target: CancelTarget,
        params: HashMap<String, String>,
        cache_size: usize,
    ) -> Self {
        ConnShared {
            id,
            pid,
            secret,
            cancel_target,
            created: Instant::now(),
            txn_status: AtomicU8::new(b'I'),
            closed: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            abort: Notify::new(),
            aborted: AtomicBool::new(false),
            in_flight: AtomicU32::new(0),
            queries: AtomicU64::new(0),
            last_done_ms: AtomicU64::new(0),
            idle_wanted: AtomicBool::new(false),
            idle: Notify::new(),
            params: Mutex::new(params),
            driver: Mutex::new(Driver::new(cache_size)),
            writes: Writes::default(),
            session: AtomicBool::new(false),
            flow: Flow::default(),
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Marks the socket ended without the listener being told yet: what another thread sees
    /// between the reading side's end and its report (tests only).
    #[cfg(test)]
    pub(crate) fn end_unreported(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// `I` idle, `T` in a transaction block, `E` in a failed transaction block.
    pub fn txn_status(&self) -> u8 {
        self.txn_status.load(Ordering::Acquire)
    }

    /// Requests sent and not answered yet.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Requests submitted over the connection's life.
    pub fn query_count(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// When the last request finished (or creation, if none has).
    pub fn last_done(&self) -> Instant {
        self.created + Duration::from_millis(self.last_done_ms.load(Ordering::Relaxed))
    }

    /// Resolves once no request is in flight or the connection has closed. Woken by the
    /// answer that empties the connection (or by its end), never by a timer.
    pub async fn until_idle(&self) {
        // Say "wanted" before looking (both SeqCst, as in `finish_one`): either this sees the
        // last answer's decrement, or that answer sees the flag and signals.
        self.idle_wanted.store(true, Ordering::SeqCst);
        while self.in_flight() > 0 && !self.is_closed() {
            self.idle.notified().await;
        }
        self.idle_wanted.store(false, Ordering::SeqCst);
    }

    /// Counts a request about to be sent.
    pub(super) fn start_one(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.queries.fetch_add(1, Ordering::Relaxed);
    }

    /// Uncounts a request that was answered.
    pub(super) fn finish_one(&self) {
        let ms = self.created.elapsed().as_millis() as u64;
        self.last_done_ms.store(ms, Ordering::Relaxed);
        if self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1
            && self.idle_wanted.load(Ordering::SeqCst)
        {
            // `notify_one` keeps a permit if the waiter is between its check and its await.
            self.idle.notify_one();
        }
    }

    /// Wakes an [`until_idle`](Self::until_idle) waiter because the connection has ended.
    pub(super) fn signal_closed(&self) {
        self.idle.notify_one();
    }

    /// Encodes and writes a request (already counted with `start_one`); a request that cannot
    /// be sent is answered with the reason at once.
    pub(super) fn enqueue(&self, stmt: Statement, reply: ReplyTo) {
        if let Some((reply, e)) = self.writes.enqueue(&self.driver, stmt, reply) {
            self.finish_one();
            reply.fail(&e);
        }
    }

    /// Writes raw frontend messages after what is already queued.
    pub(super) fn send_raw(&self, bytes: &[u8]) {
        self.writes.send_raw(bytes);
    }

    /// The SQL text of caller-named statement `name` parsed (or being parsed) on this
    /// connection, by a statement or by a raw session.
    pub fn named_statement(&self, name: &str) -> Option<String> {
        self.driver.lock().named.get(name).cloned()
    }

    /// Records that a raw session parsed caller-named statement `name` as `sql`, so that a
    /// [`Statement::Extended`] of that name reuses it instead of parsing it again (the
    /// connection has one record of its named statements, as pg's has).
    pub fn note_named_statement(&self, name: &str, sql: &str) {
        self.driver
            .lock()
            .named
            .insert(name.to_string(), sql.to_string());
    }

    /// Whether a raw session is open (its `ReadyForQuery` not yet read).
    pub fn in_session(&self) -> bool {
        self.session.load(Ordering::Acquire)
    }

    /// Opens a raw session (already counted with `start_one`) and writes its first bytes; a
    /// session that cannot be opened is answered with the reason at once.
    /// Ends the raw session (if any): frames go to requests again, and a reader paused by
    /// the session's flow control may read on.
    pub(super) fn end_session(&self) {
        self.session.store(false, Ordering::Release);
        self.flow.reset();
    }

    pub(super) fn open_session(&self, first: &[u8], reply: ReplyTo) {
        self.session.store(true, Ordering::Release);
        if let Some((reply, e)) = self.writes.open_session(&self.driver, first, reply) {
            self.end_session();
            self.finish_one();
            reply.fail(&e);
        }
    }

    /// Writes more of a raw session's messages (see [`Writes::session_write`]).
    pub(super) fn session_write(&self, bytes: &[u8], written: WrittenFn) -> bool {
        self.writes.session_write(bytes, written)
    }
}

#[cfg(test)]
mod tests {
    //! `until_idle` on paused time, with a waker that counts its wake-ups: it must sleep until
    //! the answer that empties the connection, not poll.

    use super::*;
    use std::future::Future;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::task::{Context, Wake, Waker};

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn shared() -> Arc<ConnShared> {
        Arc::new(ConnShared::new(
            1,
            1,
            0,
            CancelTarget::Tcp("127.0.0.1".into(), 1),
            HashMap::new(),
            0,
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn until_idle_sleeps_until_the_last_answer_then_wakes_once() {
        let s = shared();
        s.start_one();
        s.start_one();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let s2 = s.clone();
        let mut fut = Box::pin(async move { s2.until_idle().await });
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            0,
            "woken with requests in flight"
        );
        s.finish_one();
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            0,
            "woken before the last answer"
        );
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        s.finish_one();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(fut.as_mut().poll(&mut cx).is_ready());
        assert!(!s.idle_wanted.load(Ordering::SeqCst));
    }

    #[tokio::test(start_paused = true)]
    async fn until_idle_returns_at_once_when_idle_and_wakes_when_the_connection_ends() {
        let s = shared();
        s.until_idle().await;
        s.start_one();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let s2 = s.clone();
        let mut fut = Box::pin(async move { s2.until_idle().await });
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        s.closed.store(true, Ordering::Release);
        s.signal_closed();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(fut.as_mut().poll(&mut cx).is_ready());
    }
}
