//! A connection: a handle ([`Conn`]) to the two sides that own the socket.
//!
//! Opening a connection (socket, TLS, startup, authentication) ends here with the socket split
//! in two: the writing side (`write.rs`: writes from the submitting thread, a writer task for
//! back-pressure and goodbye) and the reading side (`read.rs`: a reader task, or an
//! [`ExternalReader`] driven by a [`ReadScheduler`]), which meet only in [`ConnShared`].
//! Requests may be pipelined; each carries its own `Sync`, so an error in one does not affect
//! the next. Asynchronous messages (notifications, and notices outside a request) go to the
//! [`ConnListener`]; a notice raised by a request is part of its reply. When the socket ends,
//! every pending and later request is answered with "Connection terminated unexpectedly" — a
//! reply is never lost.

#[cfg(unix)]
use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::auth::AuthMethod;
use super::external::ReadScheduler;
#[cfg(unix)]
use super::external::{self, ExternalReader};
use super::frames;
use super::queue::ReplyTo;
use super::read::{reader, ReadLoop};
use super::request::Statement;
use super::shared::{ConnListener, ConnShared};
use super::stream;
#[cfg(unix)]
use super::stream::PgStream;
use super::tls::TlsSetup;
use super::write::{Close, WrittenFn};
use crate::config::ConnectConfig;
use crate::error::{Error, Result};
use crate::unwind::PanicHooks;

/// What a connection takes from its pool's options besides where and who.
#[derive(Debug, Clone)]
pub struct ConnOptions {
    /// `statementCacheSize`: prepared statements kept (0: none).
    pub statement_cache_size: usize,
    /// `maxMessageSize`: the most bytes a data-carrying backend message may declare (see
    /// [`MessageLimits`](super::frames::MessageLimits)).
    pub max_message_size: usize,
    /// `maxQueuedEvents`: the most notices one request's reply keeps (later ones are dropped
    /// and reported to the listener).
    pub max_notices: usize,
    /// The pool's test panic sites (see [`crate::unwind`]): `writer` is checked each time the
    /// writer task wakes up.
    pub panics: Option<Arc<PanicHooks>>,
}

impl Default for ConnOptions {
    fn default() -> Self {
        ConnOptions {
            statement_cache_size: 0,
            max_message_size: frames::MessageLimits::DEFAULT_MAX,
            max_notices: 10_000,
            panics: None,
        }
    }
}

/// A handle to an open connection. Cloning shares it; dropping the last handle closes it
/// (the writer task sees its channel end and says goodbye).
#[derive(Clone)]
pub struct Conn {
    shared: Arc<ConnShared>,
    tx: mpsc::UnboundedSender<Close>,
    auth: AuthMethod,
}

impl Conn {
    /// Opens a connection (socket, TLS, startup, auth) and starts its tasks on the current runtime.
    /// With `reads`, a plain TCP or unix socket is read by that scheduler instead of a reader
    /// task (TLS connections always have a reader task).
    /// `password` is called only if the server asks for one (see `startup::handshake`); `tls`
    /// is the pool's TLS setup (see [`stream::open`]).
    #[allow(clippy::too_many_arguments)]
    pub async fn connect<F, Fut>(
        id: u64,
        cfg: &ConnectConfig,
        tls: Option<&TlsSetup>,
        password: F,
        opts: ConnOptions,
        listener: Arc<dyn ConnListener>,
        reads: Option<&Arc<dyn ReadScheduler>>,
    ) -> Result<Conn>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<String>>>,
    {
        let (mut stream, cancel_target) = stream::open(cfg, tls).await?;
        let startup = super::startup::handshake(&mut stream, cfg, password).await?;
        let shared = Arc::new(ConnShared::new(
            id,
            startup.pid,
            startup.secret,
            cancel_target,
            startup.params,
            opts.statement_cache_size,
        ));
        let (tx, rx) = mpsc::unbounded_channel();
        let limits = frames::MessageLimits::connected(opts.max_message_size);
        let lp = ReadLoop::new(
            shared.clone(),
            startup.leftover,
            listener,
            limits,
            opts.max_notices,
        );
        match (reads, stream) {
            // A plain socket read by the scheduler's thread: it leaves tokio's reactor.
            #[cfg(unix)]
            (Some(reads), PgStream::Tcp(s)) => {
                let fd = OwnedFd::from(s.into_std()?);
                Self::hand_over(&shared, fd, lp, reads)?;
            }
            #[cfg(unix)]
            (Some(reads), PgStream::Unix(s)) => {
                let fd = OwnedFd::from(s.into_std()?);
                Self::hand_over(&shared, fd, lp, reads)?;
            }
            (_, stream) => {
                let (rd, wr) = tokio::io::split(stream);
                shared.writes.install(Box::new(wr), None);
                tokio::spawn(reader(lp, rd));
            }
        }
        let writer = shared.clone();
        tokio::spawn(async move {
            if crate::unwind::catch(writer.writes.run(rx, opts.panics))
                .await
                .is_err()
            {
                writer.writes.writer_stopped();
            }
        });
        Ok(Conn {
            shared,
            tx,
            auth: startup.auth,
        })
    }

    /// Sets up a connection whose socket `fd` is read by `reads` (see [`ReadScheduler`]).
    #[cfg(unix)]
    fn hand_over(
        shared: &Arc<ConnShared>,
        fd: OwnedFd,
        mut lp: ReadLoop,
        reads: &Arc<dyn ReadScheduler>,
    ) -> Result<()> {
        let (reader, writer) = external::split(fd)?;
        let raw = writer.socket();
        shared.writes.install(Box::new(writer), Some(raw));
        // A paused reader is resumed by its scheduler (weakly held: the scheduler holds
        // readers, and so connections, while it has not started them).
        let scheduler = Arc::downgrade(reads);
        let id = shared.id;
        shared.flow.on_resume(Box::new(move || {
            if let Some(s) = scheduler.upgrade() {
                s.resume(id);
            }
        }));
        // Frames that arrived with the end of the startup go first.
        lp.process();
        reads.adopt(ExternalReader::new(reader, lp));
        Ok(())
    }

    pub fn id(&self) -> u64 {
        self.shared.id
    }

    pub fn pid(&self) -> i32 {
        self.shared.pid
    }

    /// How the server authenticated this connection.
    pub fn auth_method(&self) -> AuthMethod {
        self.auth
    }

    pub fn shared(&self) -> &Arc<ConnShared> {
        &self.shared
    }

    /// Sends a statement; the returned receiver yields the reply frames (never dropped unanswered).
    pub fn submit(&self, stmt: Statement) -> oneshot::Receiver<Vec<u8>> {
        let (tx, rx) = oneshot::channel();
        self.submit_to(stmt, ReplyTo::Channel(tx));
        rx
    }

    /// Sends a statement; `reply` receives the reply frames exactly once.
    pub fn submit_to(&self, stmt: Statement, reply: ReplyTo) {
        self.count_request();
        self.send_counted(stmt, reply);
    }

    /// Counts a request about to be sent ([`ConnShared::in_flight`] goes up now), so that
    /// whoever decides under a lock whether the connection is idle sees it; the request must
    /// then be sent with [`send_counted`](Self::send_counted) or
    /// [`open_counted_session`](Self::open_counted_session), exactly once.
    pub fn count_request(&self) {
        self.shared.start_one();
    }

    /// Sends a statement already counted with [`count_request`](Self::count_request).
    pub fn send_counted(&self, stmt: Statement, reply: ReplyTo) {
        self.shared.enqueue(stmt, reply);
    }

    /// Opens a raw session (see [`ReplyTo::Session`]), already counted with
    /// [`count_request`](Self::count_request), and writes `first`, the caller's first
    /// frontend messages. Until the session's `ReadyForQuery` the caller writes the rest with
    /// [`session_write`](Self::session_write), acknowledges what it consumed with
    /// [`session_ack`](Self::session_ack), and submits nothing else on this connection (a
    /// request written meanwhile would be answered out of order).
    pub fn open_counted_session(&self, first: &[u8], reply: ReplyTo) {
        self.shared.open_session(first, reply);
    }

    /// Writes more of the open session's frontend messages. `true` when the socket took
    /// everything queued at once; otherwise `written` runs once it has (or once the bytes can
    /// never be sent), which is when a producer should write more.
    pub fn session_write(&self, bytes: &[u8], written: WrittenFn) -> bool {
        self.shared.session_write(bytes, written)
    }

    /// The session's consumer has consumed `n` more bytes of what it was handed (reading
    /// pauses while [`WINDOW`](super::flow::WINDOW) bytes are handed on and not acknowledged).
    pub fn session_ack(&self, n: usize) {
        self.shared.flow.ack(n);
    }

    /// Runs a statement and waits for its reply.
    pub async fn query(&self, stmt: Statement) -> Vec<u8> {
        self.submit(stmt)
            .await
            .unwrap_or_else(|_| frames::error_reply(&Error::ConnectionTerminated))
    }

    /// Asks the server to cancel the statement running on this connection.
    pub async fn cancel(&self) -> Result<()> {
        stream::cancel(
            &self.shared.cancel_target,
            self.shared.pid,
            self.shared.secret,
        )
        .await
    }

    /// Closes the connection gracefully (Terminate); queued requests are still answered first.
    pub fn close(&self) {
        self.shared.closing.store(true, Ordering::Release);
        // A reader paused for a session's consumer must go on to see the socket end.
        self.shared.flow.close();
        let _ = self.tx.send(Close);
    }

    /// Closes the connection without waiting for the server (a forced release): like
    /// [`close`](Self::close), but the reading side stops at once, so requests in flight are
    /// answered "Connection terminated unexpectedly" now and the close does not wait for a busy
    /// backend to finish its statement and read the Terminate.
    pub fn abort(&self) {
        // Before close() resumes a paused reader: once resumed, it must see the abort rather
        // than read on (a destroyed session hears nothing more).
        self.shared.aborted.store(true, Ordering::Release);
        self.close();
        self.shared.abort.notify_one();
        // A socket read elsewhere: its reader sees the end of input at once.
        self.shared.writes.shutdown_read();
    }
}
