//! A connection: a handle ([`Conn`]) to the tasks (or embedder's thread) that own the socket.
//!
//! A request is encoded (choosing the statement cache plan) and written by the thread that
//! submits it, under the write lock, its `Pending` reply slot pushed *before* its bytes go
//! out: no task hop when the socket takes the bytes at once. When it does not, the writer task
//! finishes the write; it also sends `Terminate` and raw messages, and closes the connection
//! when every handle is gone. The reading side (`read.rs`: a reader task, or an
//! [`ExternalReader`] driven by a [`ReadScheduler`]) routes backend frames to the front pending
//! slot until its `ReadyForQuery`, then sends the reply. Requests may be pipelined; each
//! carries its own `Sync`, so an error in one does not affect the next. Asynchronous messages
//! (notifications, and notices outside a request) go to the [`ConnListener`]; a notice raised
//! by a request is part of its reply. When the socket ends, every pending and later request is
//! answered with "Connection terminated unexpectedly" — a reply is never lost.

use std::collections::{HashMap, VecDeque};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use parking_lot::Mutex;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use tokio::sync::{mpsc, oneshot};

use super::cache::StatementCache;
use super::external::{self, ExternalReader, ReadScheduler};
use super::frames;
use super::read::{reader, ReadLoop};
use super::request::{encode_extended, encode_simple, Plan, Statement};
use super::stream::{self, CancelTarget, PgStream};
use crate::config::ConnectConfig;
use crate::error::{Error, Result};

/// Receives a connection's asynchronous events. Called from the reader task; must not block.
pub trait ConnListener: Send + Sync + 'static {
    fn notification(&self, conn_id: u64, pid: i32, channel: &str, payload: &str);
    fn notice(&self, conn_id: u64, frame: &[u8]);
    /// The socket ended; `error` is `None` when we closed it ourselves.
    fn closed(&self, conn_id: u64, error: Option<Error>);
}

/// State shared by a connection's handle and its tasks.
///
/// Invariants: `txn_status` is the status byte of the last `ReadyForQuery` (`I`, `T` or `E`)
/// and is settled whenever `in_flight` is 0; `closed` never goes back to false.
pub struct ConnShared {
    pub id: u64,
    pub pid: i32,
    secret: i32,
    cancel_target: CancelTarget,
    pub created: Instant,
    pub(super) txn_status: AtomicU8,
    pub(super) closed: AtomicBool,
    pub(super) closing: AtomicBool,
    /// Signalled by [`Conn::abort`]: the reader stops waiting for the server.
    pub(super) abort: tokio::sync::Notify,
    in_flight: AtomicU32,
    queries: AtomicU64,
    /// Milliseconds since `created` at which the last request finished.
    last_done_ms: AtomicU64,
    pub params: Mutex<HashMap<String, String>>,
    pub(super) driver: Mutex<Driver>,
    /// Lock order: `write` before `driver`.
    write: Mutex<Option<WriteSide>>,
    writer_wake: tokio::sync::Notify,
}

/// Reply slot of a request written to the socket and not yet answered.
pub(super) struct Pending {
    pub(super) out: Vec<u8>,
    pub(super) reply: ReplyTo,
    /// `(sql, name)` when this request's Parse will create a cache entry.
    pub(super) cache_insert: Option<(String, String)>,
    /// SQL whose cache entry this request reused (invalidated on stale-plan errors).
    pub(super) cache_reused: Option<String>,
    /// Caller-named statement parsed by this request (forgotten if it fails).
    pub(super) named_parse: Option<String>,
    pub(super) row_description: Option<Vec<u8>>,
    pub(super) error_code: Option<String>,
    pub(super) extended: bool,
    /// The statement, kept when it reused a cache entry: if the server says the cached plan
    /// is stale (0A000 "cached plan must not change result type" after a schema change, or
    /// 26000), it is run again once, re-parsed — pg, which never caches, would have succeeded.
    pub(super) retry: Option<Statement>,
}

/// The locked part shared by the writer and the reader.
pub(super) struct Driver {
    pub(super) pending: VecDeque<Pending>,
    pub(super) cache: StatementCache,
    pub(super) named: HashMap<String, String>,
    pub(super) dead: bool,
}

pub(super) enum Job {
    Raw(BytesMut),
    Close,
}

/// The socket's write half and the bytes not yet written.
///
/// Invariants: bytes are appended to `out` in the order their pending slots were pushed;
/// while `draining` is set the writer task owns flushing `out` (submitters only append).
struct WriteSide {
    half: Box<dyn AsyncWrite + Send + Unpin>,
    out: BytesMut,
    draining: bool,
    open: bool,
    /// The socket, when a [`ReadScheduler`] reads it: `abort` shuts its reading side down.
    raw: Option<Arc<socket2::Socket>>,
}

impl WriteSide {
    fn new(half: Box<dyn AsyncWrite + Send + Unpin>, raw: Option<Arc<socket2::Socket>>) -> Self {
        WriteSide {
            half,
            out: BytesMut::with_capacity(4096),
            draining: false,
            open: true,
            raw,
        }
    }

    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while !self.out.is_empty() {
            match Pin::new(&mut self.half).poll_write(cx, &self.out) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()))
                }
                Poll::Ready(Ok(n)) => {
                    let _ = self.out.split_to(n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Pin::new(&mut self.half).poll_flush(cx)
    }
}

/// A handle to an open connection. Cloning shares it; dropping the last handle closes it.
#[derive(Clone)]
pub struct Conn {
    shared: Arc<ConnShared>,
    tx: mpsc::UnboundedSender<Job>,
}

pub(super) const TERMINATED: &str = "Connection terminated unexpectedly";

impl Conn {
    /// Opens a connection (socket, TLS, startup, auth) and starts its tasks on the current runtime.
    /// With `reads`, a plain TCP or unix socket is read by that scheduler instead of a reader
    /// task (TLS connections always have a reader task).
    pub async fn connect(
        id: u64,
        cfg: &ConnectConfig,
        password: Option<&str>,
        cache_size: usize,
        listener: Arc<dyn ConnListener>,
        reads: Option<&Arc<dyn ReadScheduler>>,
    ) -> Result<Conn> {
        let (mut stream, cancel_target) = stream::open(cfg).await?;
        let startup = super::startup::handshake(&mut stream, cfg, password).await?;
        let shared = Arc::new(ConnShared {
            id,
            pid: startup.pid,
            secret: startup.secret,
            cancel_target,
            created: Instant::now(),
            txn_status: AtomicU8::new(b'I'),
            closed: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            abort: tokio::sync::Notify::new(),
            in_flight: AtomicU32::new(0),
            queries: AtomicU64::new(0),
            last_done_ms: AtomicU64::new(0),
            params: Mutex::new(startup.params),
            driver: Mutex::new(Driver {
                pending: VecDeque::new(),
                cache: StatementCache::new(cache_size),
                named: HashMap::new(),
                dead: false,
            }),
            write: Mutex::new(None),
            writer_wake: tokio::sync::Notify::new(),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let lp = ReadLoop::new(shared.clone(), startup.leftover, listener, &tx);
        match (reads, stream) {
            // A plain socket read by the scheduler's thread: it leaves tokio's reactor.
            (Some(reads), PgStream::Tcp(s)) => {
                let fd = OwnedFd::from(s.into_std()?);
                Self::hand_over(&shared, fd, lp, reads)?;
            }
            (Some(reads), PgStream::Unix(s)) => {
                let fd = OwnedFd::from(s.into_std()?);
                Self::hand_over(&shared, fd, lp, reads)?;
            }
            (_, stream) => {
                let (rd, wr) = tokio::io::split(stream);
                *shared.write.lock() = Some(WriteSide::new(Box::new(wr), None));
                tokio::spawn(reader(lp, rd));
            }
        }
        tokio::spawn(writer(shared.clone(), rx));
        Ok(Conn { shared, tx })
    }

    /// Sets up a connection whose socket `fd` is read by `reads` (see [`ReadScheduler`]).
    fn hand_over(
        shared: &Arc<ConnShared>,
        fd: OwnedFd,
        mut lp: ReadLoop,
        reads: &Arc<dyn ReadScheduler>,
    ) -> Result<()> {
        let (reader, writer) = external::split(fd)?;
        let raw = writer.socket();
        *shared.write.lock() = Some(WriteSide::new(Box::new(writer), Some(raw)));
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
        self.shared.in_flight.fetch_add(1, Ordering::AcqRel);
        self.shared.queries.fetch_add(1, Ordering::Relaxed);
        self.shared.enqueue(stmt, reply);
    }

    /// Runs a statement and waits for its reply.
    pub async fn query(&self, stmt: Statement) -> Vec<u8> {
        self.submit(stmt)
            .await
            .unwrap_or_else(|_| frames::client_error("LDP_CONNECTION_TERMINATED", TERMINATED))
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
        let _ = self.tx.send(Job::Close);
    }

    /// Closes the connection without waiting for the server (a forced release): like
    /// [`close`](Self::close), but the reader stops at once, so requests in flight are answered
    /// "Connection terminated unexpectedly" now and the close does not wait for a busy backend
    /// to finish its statement and read the Terminate.
    pub fn abort(&self) {
        self.close();
        self.shared.abort.notify_one();
        // A socket read elsewhere: its reader sees the end of input at once.
        if let Some(sock) = self
            .shared
            .write
            .lock()
            .as_ref()
            .and_then(|ws| ws.raw.clone())
        {
            let _ = sock.shutdown(std::net::Shutdown::Read);
        }
    }
}

impl ConnShared {
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// `I` idle, `T` in a transaction block, `E` in a failed transaction block.
    pub fn txn_status(&self) -> u8 {
        self.txn_status.load(Ordering::Acquire)
    }

    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Acquire)
    }

    pub fn query_count(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// When the last request finished (or creation, if none has).
    pub fn last_done(&self) -> Instant {
        self.created + Duration::from_millis(self.last_done_ms.load(Ordering::Relaxed))
    }

    pub(super) fn finish_one(&self) {
        let ms = self.created.elapsed().as_millis() as u64;
        self.last_done_ms.store(ms, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// Encodes and writes a request (already counted in `in_flight`). Writes from the calling
    /// thread when the writer task is not busy; refusals are answered after the locks are released.
    pub(super) fn enqueue(&self, stmt: Statement, reply: ReplyTo) {
        let refused = {
            let mut guard = self.write.lock();
            let Some(ws) = guard.as_mut() else { return };
            let mut d = self.driver.lock();
            let refused = if d.dead || !ws.open {
                Some((reply, "LDP_CONNECTION_TERMINATED", TERMINATED.to_string()))
            } else {
                match encode_job(&mut d, &mut ws.out, stmt, reply) {
                    Ok(p) => {
                        d.pending.push_back(p);
                        None
                    }
                    Err(r) => Some(r),
                }
            };
            drop(d);
            if refused.is_none() && !ws.draining {
                let mut cx = Context::from_waker(std::task::Waker::noop());
                match ws.poll_drain(&mut cx) {
                    Poll::Ready(Ok(())) => {}
                    // The socket is broken: the reader sees it end and answers every pending slot.
                    Poll::Ready(Err(_)) => ws.open = false,
                    Poll::Pending => {
                        ws.draining = true;
                        self.writer_wake.notify_one();
                    }
                }
            }
            refused
        };
        if let Some((reply, code, msg)) = refused {
            self.finish_one();
            fail(reply, code, &msg);
        }
    }

    /// Number of statements in the connection's cache.
    pub fn cached_statements(&self) -> usize {
        self.driver.lock().cache.len()
    }
}

/// Receives the leading part of a long reply while the rest is still arriving (see
/// [`ReplyTo::Streaming`]). Called on a connection task with no lock held; must not block.
pub type PartialSink = Arc<dyn Fn(Vec<u8>) + Send + Sync>;

/// Receives a whole reply, or the last part of a streamed one, exactly once.
pub type ReplyFn = Box<dyn FnOnce(Vec<u8>) + Send>;

/// A streaming reply hands its rows on once this many bytes of whole frames have collected.
pub const STREAM_CHUNK: usize = 128 * 1024;

/// Where a request's reply goes: a channel the caller awaits, or a callback the reader runs
/// (no task to wake). Callbacks run on a connection task with no lock held and must not block.
pub enum ReplyTo {
    Channel(oneshot::Sender<Vec<u8>>),
    Callback(ReplyFn),
    /// Like `Callback`, but while rows arrive, every [`STREAM_CHUNK`] bytes of whole frames
    /// collected so far go to the sink (in order, before the rest); the callback gets what
    /// remains, ending with `ReadyForQuery`. Concatenated, the parts are exactly the reply a
    /// `Callback` would get — except that after a connection loss the final part is the error
    /// alone, as for every reply. Nothing is streamed once the request has an error, and a
    /// request that streamed is never retried.
    Streaming(PartialSink, ReplyFn),
}

impl ReplyTo {
    pub fn send(self, reply: Vec<u8>) {
        match self {
            ReplyTo::Channel(tx) => {
                let _ = tx.send(reply);
            }
            ReplyTo::Callback(f) | ReplyTo::Streaming(_, f) => f(reply),
        }
    }

    pub(super) fn partial_sink(&self) -> Option<&PartialSink> {
        match self {
            ReplyTo::Streaming(sink, _) => Some(sink),
            _ => None,
        }
    }
}

fn fail(reply: ReplyTo, code: &str, message: &str) {
    reply.send(frames::client_error(code, message));
}

/// A request refused before it was written: its reply slot and the error to answer it with.
type Refused = (ReplyTo, &'static str, String);

/// Encodes one query job into `buf` and returns its pending slot, or the refusal to answer
/// once the driver lock is released.
fn encode_job(
    d: &mut Driver,
    buf: &mut BytesMut,
    stmt: Statement,
    reply: ReplyTo,
) -> std::result::Result<Pending, Refused> {
    let mut p = Pending {
        out: Vec::new(),
        reply,
        cache_insert: None,
        cache_reused: None,
        named_parse: None,
        row_description: None,
        error_code: None,
        extended: matches!(stmt, Statement::Extended { .. }),
        retry: None,
    };
    for name in d.cache.to_close.drain(..) {
        postgres_protocol::message::frontend::close(b'S', &name, buf).ok();
    }
    let mark = buf.len();
    let res = match &stmt {
        Statement::Simple(sql) => encode_simple(buf, sql),
        Statement::Extended {
            sql,
            params,
            name: Some(name),
        } => match d.named.get(name) {
            Some(text) if text == sql => encode_extended(buf, sql, params, Plan::Reuse(name), true),
            Some(_) => {
                let msg = format!(
                    "Prepared statements must be unique - '{}' was used for a different statement",
                    name
                );
                buf.truncate(mark);
                return Err((p.reply, "LDP_STATEMENT_NAME_REUSED", msg));
            }
            None => {
                d.named.insert(name.clone(), sql.clone());
                p.named_parse = Some(name.clone());
                encode_extended(buf, sql, params, Plan::ParseNamed(name), true)
            }
        },
        Statement::Extended {
            sql,
            params,
            name: None,
        } => {
            if let Some(e) = d.cache.get(sql) {
                if let Some(rd) = &e.row_description {
                    p.out.extend_from_slice(rd);
                }
                p.cache_reused = Some(sql.clone());
                let name = e.name.clone();
                encode_extended(buf, sql, params, Plan::Reuse(&name), false)
            } else if let Some(name) = d.cache.begin(sql) {
                let r = encode_extended(buf, sql, params, Plan::ParseNamed(&name), true);
                p.cache_insert = Some((sql.clone(), name));
                r
            } else {
                encode_extended(buf, sql, params, Plan::Unnamed, true)
            }
        }
    };
    if let Err(e) = res {
        buf.truncate(mark);
        if let Some((sql, name)) = p.cache_insert.take() {
            d.cache.finish(&sql, name, false, None);
        }
        if let Some(name) = p.named_parse.take() {
            d.named.remove(&name);
        }
        let msg = if e.to_string().contains("nul") || e.to_string().contains("NUL") {
            "query text cannot contain NUL bytes".to_string()
        } else {
            format!("could not encode the query: {}", e)
        };
        return Err((p.reply, "LDP_INVALID_QUERY", msg));
    }
    if p.cache_reused.is_some() {
        p.retry = Some(stmt);
    }
    Ok(p)
}

async fn writer(shared: Arc<ConnShared>, mut rx: mpsc::UnboundedReceiver<Job>) {
    loop {
        let mut shutdown = false;
        tokio::select! {
            _ = shared.writer_wake.notified() => {}
            job = rx.recv() => {
                let mut guard = shared.write.lock();
                let Some(ws) = guard.as_mut() else { return };
                match job {
                    Some(Job::Raw(bytes)) => {
                        if ws.open {
                            ws.out.extend_from_slice(&bytes);
                        }
                    }
                    // A close, or every handle is gone: say goodbye.
                    Some(Job::Close) | None => {
                        if ws.open {
                            postgres_protocol::message::frontend::terminate(&mut ws.out);
                            ws.open = false;
                        }
                        shutdown = true;
                    }
                }
                ws.draining = true;
            }
        }
        let res = std::future::poll_fn(|cx| {
            let mut guard = shared.write.lock();
            let Some(ws) = guard.as_mut() else {
                return Poll::Ready(Ok(()));
            };
            let r = ws.poll_drain(cx);
            if r.is_ready() {
                ws.draining = false;
                if matches!(r, Poll::Ready(Ok(()))) && !ws.open {
                    return Pin::new(&mut ws.half).poll_shutdown(cx);
                }
            }
            r
        })
        .await;
        if res.is_err() {
            if let Some(ws) = shared.write.lock().as_mut() {
                ws.open = false;
                ws.out.clear();
            }
        }
        if shutdown {
            return;
        }
    }
}
