//! The reading side of a connection: routing backend frames to the pending requests.
//!
//! Whoever reads the socket — a reader task ([`reader`]) or an embedder's thread through an
//! `ExternalReader` — feeds a [`ReadLoop`]: result frames go to the front pending request
//! until its `ReadyForQuery` (a long reply in [`STREAM_CHUNK`] parts; a raw session's every
//! frame, in a part per read, under flow control), notifications and notices outside a
//! request to the [`ConnListener`], and when the socket ends every pending request is answered
//! "Connection terminated unexpectedly". This side never writes to the socket itself: what
//! it must send goes through [`ConnShared`].

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::cache::set_result_formats;
use super::frames::{self, Framing, MessageLimits, HEADER};
use super::queue::{Driver, Pending, STREAM_CHUNK};
use super::shared::{ConnListener, ConnShared};
use crate::error::{Error, SocketError};

/// The reading side of a connection, whoever drives it: frames already read wait in `buf`.
///
/// Invariant: [`finish`](Self::finish) runs once, after which the connection is closed and
/// every request was answered.
pub(crate) struct ReadLoop {
    shared: Arc<ConnShared>,
    pub(crate) buf: BytesMut,
    listener: Arc<dyn ConnListener>,
    /// An ErrorResponse that arrived with no request pending (e.g. FATAL "terminating
    /// connection due to administrator command"): reported as the reason the connection
    /// closed, as pg does.
    unsolicited: Option<Vec<u8>>,
    /// How large a message the server may send (`maxMessageSize`); one that declares more
    /// fails the connection at its header, before its body is buffered.
    limits: MessageLimits,
    /// The most notices one request's reply keeps.
    max_notices: usize,
    /// The server announced the end of the session (an ErrorResponse of severity FATAL or
    /// PANIC): its close follows.
    server_ended: bool,
    finished: bool,
}

impl ReadLoop {
    pub(super) fn new(
        shared: Arc<ConnShared>,
        buf: BytesMut,
        listener: Arc<dyn ConnListener>,
        limits: MessageLimits,
        max_notices: usize,
    ) -> Self {
        ReadLoop {
            shared,
            buf,
            listener,
            limits,
            max_notices,
            unsolicited: None,
            server_ended: false,
            finished: false,
        }
    }

    /// Routes every complete frame in `buf`; what a raw session collected is handed on. A
    /// frame that breaks the protocol (malformed, or answering no request) ends the connection
    /// here: [`finish`](Self::finish) runs with the violation as the reason, and the rest of
    /// the input is ignored.
    pub(crate) fn process(&mut self) {
        while !self.finished {
            let len = match frames::framing_within(&self.buf, &self.limits) {
                Framing::Complete(len) => len,
                Framing::Incomplete => break,
                Framing::TooLarge { len, limit } => {
                    let e = self.limits.error(self.buf[0], len, limit);
                    // What arrived of it is dropped now: memory stays what it was.
                    self.buf = BytesMut::new();
                    self.finish(Ended::Violation(e));
                    return;
                }
                Framing::Malformed(len) => {
                    let ty = frames::message_name(self.buf[0]);
                    let e = format!("Received malformed {ty} message from backend (length {len}).");
                    self.finish(Ended::Violation(Error::Protocol(e)));
                    return;
                }
            };
            let frame = self.buf.split_to(len);
            if frame[0] == b'E' && frames::is_fatal(&frame) {
                self.server_ended = true;
            }
            match handle_frame(&self.shared, &frame, &*self.listener, self.max_notices) {
                Ok(None) => {}
                Ok(Some(e)) => {
                    self.unsolicited.get_or_insert(e);
                }
                Err(violation) => self.finish(Ended::Violation(violation)),
            }
        }
        if !self.finished && self.shared.session.load(Ordering::Acquire) {
            flush_session(&self.shared);
        }
    }

    /// Whether the connection was aborted (destroyed): nothing more is to be read.
    pub(crate) fn aborted(&self) -> bool {
        self.shared.aborted.load(Ordering::Acquire)
    }

    /// Whether reading must wait: a raw session's consumer holds too much (see `flow`).
    pub(crate) fn paused(&self) -> bool {
        self.shared.flow.paused()
    }

    /// Makes room for the next read.
    pub(crate) fn reserve(&mut self) {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(64 * 1024);
        }
    }

    pub(crate) fn conn_id(&self) -> u64 {
        self.shared.id
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }

    /// The connection's reading side ended (see [`Ended`]): answers every pending request
    /// and tells the listener. Only the first call does anything.
    pub(crate) fn finish(&mut self, how: Ended) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let shared = &self.shared;
        shared.closed.store(true, Ordering::Release);
        shared.end_session();
        let pending: Vec<Pending> = {
            let mut d = shared.driver.lock();
            d.dead = true;
            d.pending.drain(..).collect()
        };
        let ours = shared.closing.load(Ordering::Acquire);
        // What failed, as pg reports it: a write that failed first, else how reading ended.
        // A connection we closed ourselves failed nobody.
        let failure = match (ours, shared.writes.failure(), how) {
            (true, _, _) => None,
            (false, Some(e), Ended::Eof | Ended::Failed(_)) => Some(e),
            (false, _, Ended::Failed(e)) => Some(e),
            (false, _, Ended::Violation(e)) => Some(e),
            (false, _, Ended::Eof) => None,
        };
        // Once the server has announced the end of the session, a reset or a failed write is
        // only the echo of its close (it left requests we had already sent unread); pg, which
        // sends nothing more while a query runs, sees the same close as a clean end.
        let failure = match failure {
            Some(Error::Socket(_)) if self.server_ended => None,
            f => f,
        };
        // Requests in flight get what failed (pg rejects its queries with the socket's or the
        // protocol's error); after a clean end, "Connection terminated unexpectedly".
        let answer = match &failure {
            Some(e @ (Error::Socket(_) | Error::Protocol(_))) => e.clone(),
            _ => Error::ConnectionTerminated,
        };
        for p in pending {
            shared.finish_one();
            // A server error already received for this request (e.g. the FATAL that announced
            // the termination) stays first in the reply, so the caller sees it as with pg; a
            // raw session gets the frames it has not been handed yet.
            let mut out = if p.error_code.is_some() || p.reply.session_sink().is_some() {
                p.out
            } else {
                Vec::new()
            };
            frames::push_error(&mut out, &answer);
            p.reply.send(out);
        }
        shared.signal_closed();
        let err = match (ours, self.unsolicited.take(), failure) {
            (true, _, _) => None,
            (false, _, Some(e @ Error::Protocol(_))) => Some(e),
            (false, Some(frame), _) => Some(Error::Db(frames::db_error(&frame))),
            (false, None, Some(e)) => Some(e),
            (false, None, None) => Some(Error::ConnectionTerminated),
        };
        // A server that broke the protocol is not talked to again.
        if matches!(err, Some(Error::Protocol(_))) {
            shared.writes.shutdown_read();
        }
        self.listener.closed(shared.id, err);
    }
}

/// How a connection's reading side ended.
pub(crate) enum Ended {
    /// The server closed the connection (or we shut our reading side down).
    Eof,
    /// Reading failed (`Error::Socket` with the OS's error, or `Error::Io`).
    Failed(Error),
    /// The server broke the protocol (`Error::Protocol`).
    Violation(Error),
}

impl Ended {
    /// Reading the socket failed with `e`.
    pub(crate) fn read_failed(e: std::io::Error) -> Ended {
        Ended::Failed(match SocketError::from_io("read", &e) {
            Some(s) => Error::Socket(s),
            None => Error::Io(format!("{}: {}", Error::ConnectionTerminated, e)),
        })
    }
}

impl Drop for ReadLoop {
    /// A reading side dropped without finishing (its driver stopped, or panicked) still
    /// answers every request and tells the pool: a reply is never lost.
    fn drop(&mut self) {
        if !self.finished {
            self.finish(Ended::Failed(Error::Io(
                "Connection terminated unexpectedly: the connection's reader stopped".into(),
            )));
        }
    }
}

/// Reads the socket until it ends, the connection is aborted, or a write fails (then the
/// server may still be sending, but nothing more can be asked of it: the requests are
/// answered with the write's error now).
pub(super) async fn reader<R: AsyncRead + Unpin>(mut lp: ReadLoop, mut rd: R) {
    let how = loop {
        lp.process();
        if lp.is_finished() {
            return;
        }
        if lp.paused() {
            tokio::select! {
                _ = lp.shared.flow.until_resumed() => {}
                _ = lp.shared.abort.notified() => break Ended::Eof,
                _ = lp.shared.writes.broken.notified() => break Ended::Eof,
            }
        }
        lp.reserve();
        let read = tokio::select! {
            r = rd.read_buf(&mut lp.buf) => r,
            _ = lp.shared.abort.notified() => break Ended::Eof,
            _ = lp.shared.writes.broken.notified() => break Ended::Eof,
        };
        match read {
            Ok(0) => break Ended::Eof,
            Ok(_) => {}
            Err(e) => break Ended::read_failed(e),
        }
    };
    lp.finish(how);
}

/// Hands what the front raw session collected to its sink (lock released first), counting it
/// against the session's flow window.
fn flush_session(shared: &ConnShared) {
    let (part, sink) = {
        let mut d = shared.driver.lock();
        let Some(p) = d.pending.front_mut() else {
            return;
        };
        if p.out.is_empty() {
            return;
        }
        let Some(sink) = p.reply.session_sink().cloned() else {
            return;
        };
        (std::mem::take(&mut p.out), sink)
    };
    shared.flow.delivered(part.len());
    sink(part);
}

/// Routes one backend frame; returns an `ErrorResponse` that arrived with no request pending,
/// or the protocol violation the frame is (malformed, or a result answering no request).
fn handle_frame(
    shared: &ConnShared,
    frame: &[u8],
    listener: &dyn ConnListener,
    max_notices: usize,
) -> Result<Option<Vec<u8>>, Error> {
    frames::check_frame(frame).map_err(Error::Protocol)?;
    let body = &frame[HEADER..];
    match frame[0] {
        b'A' => {
            let pid = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
            if let Some((channel, rest)) = frames::cstr(&body[4..]) {
                let payload = frames::cstr(rest).map(|(p, _)| p).unwrap_or("");
                listener.notification(shared.id, pid, channel, payload);
            }
            return Ok(None);
        }
        b'N' => {
            // A notice raised by a request travels in that request's reply, so the caller sees
            // it before the result (pg emits `notice` before the query resolves); others are events.
            // At most `max_notices` of them: a request raising notices without end must not
            // grow its reply without end (the rest are dropped and counted).
            let mut d = shared.driver.lock();
            if let Some(p) = d.pending.front_mut() {
                if p.notices < max_notices {
                    p.notices += 1;
                    p.out.extend_from_slice(frame);
                } else {
                    drop(d);
                    listener.notice_dropped(shared.id);
                }
                return Ok(None);
            }
            drop(d);
            listener.notice(shared.id, frame);
            return Ok(None);
        }
        b'S' => {
            if let Some((k, rest)) = frames::cstr(body) {
                if let Some((v, _)) = frames::cstr(rest) {
                    shared.params.lock().insert(k.to_string(), v.to_string());
                }
            }
            return Ok(None);
        }
        _ => {}
    }
    let mut d = shared.driver.lock();
    let Driver {
        pending,
        cache,
        named,
        ..
    } = &mut *d;
    let Some(p) = pending.front_mut() else {
        return match frame[0] {
            b'E' => Ok(Some(frame.to_vec())),
            // pg ignores a stray ReadyForQuery; every other result answers nothing.
            b'Z' => Ok(None),
            ty => Err(Error::Protocol(format!(
                "Received unexpected {} message from backend.",
                frames::message_name(ty)
            ))),
        };
    };
    if p.reply.session_sink().is_some() {
        p.out.extend_from_slice(frame);
        if frame[0] == b'Z' {
            let status = body.first().copied().unwrap_or(b'I');
            shared.txn_status.store(status, Ordering::Release);
            let p = pending.pop_front().expect("front exists");
            drop(d);
            shared.end_session();
            shared.finish_one();
            p.reply.send(p.out);
        }
        return Ok(None);
    }
    match frame[0] {
        b'T' => {
            if p.cache_insert.is_some() {
                let mut rd = frame.to_vec();
                // The cache keeps it as text results describe it (see cache.rs).
                if p.binary {
                    set_result_formats(&mut rd, 0);
                }
                p.row_description = Some(rd);
            }
            p.out.extend_from_slice(frame);
        }
        b'D' => {
            p.out.extend_from_slice(frame);
            if p.out.len() >= STREAM_CHUNK && p.error_code.is_none() {
                if let Some(sink) = p.reply.partial_sink().cloned() {
                    let part = std::mem::take(&mut p.out);
                    // Rows already handed on cannot be taken back: no stale-plan retry now.
                    p.retry = None;
                    drop(d);
                    sink(part);
                }
            }
        }
        b'I' => p.out.extend_from_slice(frame),
        b'C' => {
            let tag = frames::cstr(body).map(|(t, _)| t).unwrap_or("");
            if tag == "DEALLOCATE ALL" || tag == "DISCARD ALL" {
                cache.forget_all();
                named.clear();
            }
            p.out.extend_from_slice(frame);
        }
        b'E' if p.error_code.is_none() => {
            let code = frames::fields(frame)
                .find(|(f, _)| *f == b'C')
                .map(|(_, v)| v.to_string());
            p.error_code = Some(code.unwrap_or_default());
            p.out.extend_from_slice(frame);
        }
        b'G' => {
            // COPY FROM STDIN outside a raw session: there is no data to send, so it fails as
            // it does with pg's plain query, in pg's words (a Submittable such as
            // pg-copy-streams sends the data through a session instead). The backend ignores
            // the Sync we already sent while in copy-in mode; after an extended-protocol
            // CopyFail it waits for another one (a single ReadyForQuery follows).
            let mut msg = BytesMut::new();
            postgres_protocol::message::frontend::copy_fail("No source stream defined", &mut msg)
                .ok();
            if p.extended {
                postgres_protocol::message::frontend::sync(&mut msg);
            }
            // Lock order: the write lock is never taken under `driver`.
            drop(d);
            shared.send_raw(&msg);
        }
        b'Z' => {
            let status = body.first().copied().unwrap_or(b'I');
            shared.txn_status.store(status, Ordering::Release);
            p.out.extend_from_slice(frame);
            let p = pending.pop_front().expect("front exists");
            let ok = p.error_code.is_none();
            if let Some((sql, name)) = p.cache_insert {
                cache.finish(&sql, name, ok, p.row_description);
            }
            let stale = matches!(p.error_code.as_deref(), Some("0A000") | Some("26000"))
                && p.cache_reused.is_some();
            if stale {
                if let Some(sql) = &p.cache_reused {
                    cache.invalidate(sql);
                }
            }
            if let (false, Some(name)) = (ok, &p.named_parse) {
                named.remove(name);
            }
            // Run a stale cached statement again, re-parsed — only when that cannot reorder or
            // change anything: outside a transaction block and with nothing else in flight.
            if stale && status == b'I' && pending.is_empty() && shared.in_flight() == 1 {
                if let Some(stmt) = p.retry {
                    drop(d);
                    shared.enqueue(stmt, p.reply);
                    return Ok(None);
                }
            }
            drop(d);
            shared.finish_one();
            p.reply.send(p.out);
        }
        // ParseComplete, BindComplete, CloseComplete, NoData, ParameterDescription,
        // PortalSuspended, COPY OUT data: nothing for the caller.
        _ => {}
    }
    Ok(None)
}
