//! The writing side of a connection: encoding requests and putting their bytes on the socket.
//!
//! A request is encoded (choosing the statement cache plan) and written by the thread that
//! submits it, under the write lock, its [`Pending`] reply slot pushed *before* its bytes go
//! out: no task hop when the socket takes the bytes at once. When it does not, the writer task
//! ([`Writes::run`]) finishes the write; it also sends `Terminate` and closes the socket when
//! the connection is closed or every handle is gone. This side never reads the socket: it
//! reaches the reading side only through the [`Driver`] both share.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BytesMut;
use parking_lot::Mutex;
use tokio::io::AsyncWrite;
use tokio::sync::{mpsc, Notify};

use super::cache::set_result_formats;
use super::queue::{Driver, Pending, ReplyTo};
use super::request::{encode_extended, encode_simple, Plan, Statement};
use crate::error::{Error, SocketError};
use crate::unwind::PanicHooks;

/// Asks the writer task to say goodbye (`Terminate`) and close the socket.
pub(super) struct Close;

/// Runs once the socket has taken the bytes of a session write (see
/// [`Writes::session_write`]), or once they can never be sent. Runs on the writer task with
/// no lock held; must not block.
pub type WrittenFn = Box<dyn FnOnce() + Send>;

/// The socket's write half and the bytes not yet written.
///
/// Invariants: bytes are appended to `out` in the order their pending slots were pushed;
/// while `draining` is set the writer task owns flushing `out` (submitters only append);
/// once `open` is false nothing but `Terminate` is appended; `written` is empty whenever
/// `out` is (each waits for the bytes queued before it, and runs when they are gone).
struct WriteSide {
    half: Box<dyn AsyncWrite + Send + Unpin>,
    out: BytesMut,
    draining: bool,
    open: bool,
    written: Vec<WrittenFn>,
    /// The socket, when a [`ReadScheduler`](super::ReadScheduler) reads it: an abort shuts
    /// its reading side down.
    raw: Option<Arc<socket2::Socket>>,
    /// The first write failure: what the connection's requests are failed with (pg rejects
    /// them with the socket's error, e.g. `write EPIPE`).
    failure: Option<Error>,
}

impl WriteSide {
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

    /// Records a write failure and stops the reading side — a socket read elsewhere has its
    /// reading half shut down, a reader task is woken through `broken` — so that the reader
    /// ends now and answers every request with it, whether or not the server still sends.
    fn failed(&mut self, e: &std::io::Error, broken: &Notify) {
        broken.notify_one();
        self.open = false;
        self.out.clear();
        if self.failure.is_none() {
            self.failure = Some(match SocketError::from_io("write", e) {
                Some(s) => Error::Socket(s),
                None => Error::Io(e.to_string()),
            });
        }
        if let Some(sock) = &self.raw {
            let _ = sock.shutdown(std::net::Shutdown::Read);
        }
    }

    /// Writes what the socket takes now; what it does not take is left to the writer task.
    fn write_now(&mut self, w: &Writes) {
        if self.draining {
            return;
        }
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match self.poll_drain(&mut cx) {
            Poll::Ready(Ok(())) => {}
            // The socket is broken: the reading side ends and answers every pending slot.
            Poll::Ready(Err(e)) => self.failed(&e, &w.broken),
            Poll::Pending => {
                self.draining = true;
                w.wake.notify_one();
            }
        }
    }
}

/// The write lock and the writer task's wake-up. Lock order: this lock before `driver`.
///
/// Invariant: the write side is installed before the connection's handle is handed out, so
/// every submitted request either goes out or is refused (never silently dropped).
#[derive(Default)]
pub(super) struct Writes {
    side: Mutex<Option<WriteSide>>,
    wake: Notify,
    /// Signalled when a write fails: a reader task stops waiting for the server.
    pub(super) broken: Notify,
}

impl Writes {
    /// Installs the socket's write half (`raw`: the socket, when it is read elsewhere).
    pub(super) fn install(
        &self,
        half: Box<dyn AsyncWrite + Send + Unpin>,
        raw: Option<Arc<socket2::Socket>>,
    ) {
        *self.side.lock() = Some(WriteSide {
            half,
            out: BytesMut::with_capacity(4096),
            draining: false,
            open: true,
            written: Vec::new(),
            raw,
            failure: None,
        });
    }

    /// Encodes and writes a request (already counted in flight). Returns the refusal to
    /// answer, after the locks are released, when it cannot be sent.
    pub(super) fn enqueue(
        &self,
        driver: &Mutex<Driver>,
        stmt: Statement,
        reply: ReplyTo,
    ) -> Option<(ReplyTo, Error)> {
        self.queue_and_write(driver, reply, |d, out, reply| {
            let pending = encode_job(d, out, stmt, reply)?;
            d.pending.push_back(pending);
            Ok(())
        })
    }

    /// Opens a raw session (already counted in flight): its reply slot is pushed and its
    /// first bytes written, under the write lock. Returns the refusal to answer, after the
    /// locks are released, when the connection is gone.
    pub(super) fn open_session(
        &self,
        driver: &Mutex<Driver>,
        first: &[u8],
        reply: ReplyTo,
    ) -> Option<(ReplyTo, Error)> {
        self.queue_and_write(driver, reply, |d, out, reply| {
            flush_closes(d, out);
            d.pending.push_back(Pending::new(reply, true));
            out.extend_from_slice(first);
            Ok(())
        })
    }

    /// Under the write lock and the driver's lock (in that order), `queue` registers a reply
    /// slot and appends its bytes; then what the socket takes at once is written. The slot is
    /// registered before its bytes can go out, so the answer always finds it. Returns the
    /// refusal, to answer after the locks are released, when the connection is gone or
    /// `queue` refuses.
    fn queue_and_write(
        &self,
        driver: &Mutex<Driver>,
        reply: ReplyTo,
        queue: impl FnOnce(&mut Driver, &mut BytesMut, ReplyTo) -> Result<(), (ReplyTo, Error)>,
    ) -> Option<(ReplyTo, Error)> {
        let mut guard = self.side.lock();
        let Some(ws) = guard.as_mut() else {
            return Some((reply, Error::ConnectionTerminated));
        };
        let mut d = driver.lock();
        if d.dead || !ws.open {
            return Some((reply, Error::ConnectionTerminated));
        }
        if let Err(refused) = queue(&mut d, &mut ws.out, reply) {
            return Some(refused);
        }
        drop(d);
        ws.write_now(self);
        None
    }

    /// Writes a raw session's frontend messages after what is already queued. `true` when the
    /// socket took everything queued at once (`written` is dropped unrun); otherwise
    /// `written` runs once it has, or once the bytes can never be sent — the caller's
    /// back-pressure.
    pub(super) fn session_write(&self, bytes: &[u8], written: WrittenFn) -> bool {
        let mut guard = self.side.lock();
        let Some(ws) = guard.as_mut().filter(|ws| ws.open) else {
            // Nothing to wait for: the session is answered "connection terminated".
            return true;
        };
        ws.out.extend_from_slice(bytes);
        ws.write_now(self);
        if ws.out.is_empty() || !ws.open {
            return true;
        }
        ws.written.push(written);
        false
    }

    /// Writes raw frontend messages (a `CopyFail`) after what is already queued.
    pub(super) fn send_raw(&self, bytes: &[u8]) {
        let mut guard = self.side.lock();
        if let Some(ws) = guard.as_mut().filter(|ws| ws.open) {
            ws.out.extend_from_slice(bytes);
            ws.write_now(self);
        }
    }

    /// The writer task panicked: nothing more can be written, so the connection fails as one
    /// whose write failed (the reading side ends and answers every request).
    pub(super) fn writer_stopped(&self) {
        let written = match self.side.lock().as_mut() {
            Some(ws) => {
                ws.failed(
                    &std::io::Error::other("the connection's writer stopped"),
                    &self.broken,
                );
                std::mem::take(&mut ws.written)
            }
            None => Vec::new(),
        };
        for f in written {
            f();
        }
    }

    /// The first write failure, if a write failed.
    pub(super) fn failure(&self) -> Option<Error> {
        self.side.lock().as_ref().and_then(|ws| ws.failure.clone())
    }

    /// Shuts the reading side of a socket read elsewhere down, so that its reader sees the end
    /// of input at once.
    pub(super) fn shutdown_read(&self) {
        let raw = self.side.lock().as_ref().and_then(|ws| ws.raw.clone());
        if let Some(sock) = raw {
            let _ = sock.shutdown(std::net::Shutdown::Read);
        }
    }

    /// The writer task: finishes writes the socket could not take at once, and on [`Close`]
    /// (or when every handle is gone) sends `Terminate` and shuts the socket down.
    /// `panics`: the test sites, checked at each wake-up (see [`crate::unwind`]).
    pub(super) async fn run(
        &self,
        mut rx: mpsc::UnboundedReceiver<Close>,
        panics: Option<Arc<PanicHooks>>,
    ) {
        loop {
            let mut shutdown = false;
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = rx.recv() => {
                    let mut guard = self.side.lock();
                    let Some(ws) = guard.as_mut() else { return };
                    if ws.open {
                        postgres_protocol::message::frontend::terminate(&mut ws.out);
                        ws.open = false;
                    }
                    shutdown = true;
                    ws.draining = true;
                }
            }
            if let Some(p) = &panics {
                p.check("writer");
            }
            let mut written = Vec::new();
            let res = std::future::poll_fn(|cx| {
                let mut guard = self.side.lock();
                let Some(ws) = guard.as_mut() else {
                    return Poll::Ready(Ok(()));
                };
                let r = ws.poll_drain(cx);
                if r.is_ready() {
                    ws.draining = false;
                    written.append(&mut ws.written);
                    if matches!(r, Poll::Ready(Ok(()))) && !ws.open {
                        return Pin::new(&mut ws.half).poll_shutdown(cx);
                    }
                }
                r
            })
            .await;
            if let Err(e) = res {
                if let Some(ws) = self.side.lock().as_mut() {
                    ws.failed(&e, &self.broken);
                    written.append(&mut ws.written);
                }
            }
            // With the lock released: a session's writer learns its bytes are gone.
            for f in written {
                f();
            }
            if shutdown {
                return;
            }
        }
    }
}

/// Writes a `Close` for every statement the cache evicted, ahead of the next request.
fn flush_closes(d: &mut Driver, buf: &mut BytesMut) {
    for name in d.cache.to_close.drain(..) {
        postgres_protocol::message::frontend::close(b'S', &name, buf).ok();
    }
}

/// Encodes one request into `buf` and returns its pending slot, or the refusal to answer
/// once the locks are released.
fn encode_job(
    d: &mut Driver,
    buf: &mut BytesMut,
    stmt: Statement,
    reply: ReplyTo,
) -> std::result::Result<Pending, (ReplyTo, Error)> {
    let mut p = Pending::new(reply, matches!(stmt, Statement::Extended { .. }));
    p.binary = matches!(stmt, Statement::Extended { binary: true, .. });
    flush_closes(d, buf);
    let mark = buf.len();
    let res = match &stmt {
        Statement::Simple(sql) => encode_simple(buf, sql),
        Statement::Extended {
            sql,
            params,
            name: Some(name),
            binary,
        } => match d.named.get(name) {
            Some(text) if text == sql => {
                encode_extended(buf, sql, params, Plan::Reuse(name), true, *binary)
            }
            Some(_) => {
                buf.truncate(mark);
                return Err((p.reply, Error::StatementNameReused(name.clone())));
            }
            None => {
                d.named.insert(name.clone(), sql.clone());
                p.named_parse = Some(name.clone());
                encode_extended(buf, sql, params, Plan::ParseNamed(name), true, *binary)
            }
        },
        Statement::Extended {
            sql,
            params,
            name: None,
            binary,
        } => {
            if let Some(e) = d.cache.get(sql) {
                if let Some(rd) = &e.row_description {
                    // Stored as text results describe it (see cache.rs).
                    let at = p.out.len();
                    p.out.extend_from_slice(rd);
                    if *binary {
                        set_result_formats(&mut p.out[at..], 1);
                    }
                }
                p.cache_reused = Some(sql.clone());
                let name = e.name.clone();
                encode_extended(buf, sql, params, Plan::Reuse(&name), false, *binary)
            } else if let Some(name) = d.cache.begin(sql) {
                let r = encode_extended(buf, sql, params, Plan::ParseNamed(&name), true, *binary);
                p.cache_insert = Some((sql.clone(), name));
                r
            } else {
                encode_extended(buf, sql, params, Plan::Unnamed, true, *binary)
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
        return Err((p.reply, e));
    }
    if p.cache_reused.is_some() {
        p.retry = Some(stmt);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    //! A write that fails while the server keeps its side open and silent: the reading side
    //! must end at once and answer the request with the write's error, not wait for a server
    //! that will never be asked anything.

    use std::collections::HashMap;
    use std::io;
    use std::time::Duration;

    use tokio::sync::oneshot;

    use super::*;
    use crate::pg::fake::Closed;
    use crate::pg::frames;
    use crate::pg::read::{reader, ReadLoop};
    use crate::pg::shared::ConnShared;
    use crate::pg::stream::CancelTarget;

    /// A socket whose every write fails with EPIPE.
    struct Broken;

    impl AsyncWrite for Broken {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Err(io::Error::from_raw_os_error(32)))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_write_ends_the_reading_side_and_answers_the_request() {
        let shared = Arc::new(ConnShared::new(
            1,
            1,
            0,
            CancelTarget::Tcp("127.0.0.1".into(), 1),
            HashMap::new(),
            0,
        ));
        shared.writes.install(Box::new(Broken), None);
        // The server's end stays open and never sends anything.
        let (ours, _server) = tokio::io::duplex(1024);
        let listener = Arc::new(Closed::default());
        let lp = ReadLoop::new(
            shared.clone(),
            BytesMut::new(),
            listener.clone(),
            frames::MessageLimits::NONE,
            usize::MAX,
        );
        let task = tokio::spawn(reader(lp, ours));
        shared.start_one();
        let (tx, rx) = oneshot::channel();
        shared.enqueue(Statement::Simple("SELECT 1".into()), ReplyTo::Channel(tx));
        let reply = tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .expect("the request was never answered")
            .expect("answered");
        assert_eq!(frames::first_error_code(&reply).as_deref(), Some("EPIPE"));
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the reader task kept waiting for the server")
            .expect("joined");
        assert!(shared.is_closed());
        assert_eq!(shared.in_flight(), 0);
        let closed = listener.0.lock().clone();
        assert!(
            matches!(closed.as_slice(), [Some(Error::Socket(s))] if s.code == "EPIPE"),
            "{closed:?}"
        );
    }
}
