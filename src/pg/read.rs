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
use tokio::io::{AsyncReadExt, ReadHalf};

use super::frames::{self, complete_frame_len, HEADER};
use super::queue::{Driver, Pending, STREAM_CHUNK};
use super::shared::{ConnListener, ConnShared};
use super::stream::PgStream;
use crate::error::Error;

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
    finished: bool,
}

impl ReadLoop {
    pub(super) fn new(
        shared: Arc<ConnShared>,
        buf: BytesMut,
        listener: Arc<dyn ConnListener>,
    ) -> Self {
        ReadLoop {
            shared,
            buf,
            listener,
            unsolicited: None,
            finished: false,
        }
    }

    /// Routes every complete frame in `buf`; what a raw session collected is handed on.
    pub(crate) fn process(&mut self) {
        while let Some(len) = complete_frame_len(&self.buf) {
            let frame = self.buf.split_to(len);
            if let Some(e) = handle_frame(&self.shared, &frame, &*self.listener) {
                self.unsolicited.get_or_insert(e);
            }
        }
        if self.shared.session.load(Ordering::Acquire) {
            flush_session(&self.shared);
        }
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

    /// The socket ended (`error`: how, if not cleanly): answers every pending request and
    /// tells the listener. Only the first call does anything.
    pub(crate) fn finish(&mut self, error: Option<std::io::Error>) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let shared = &self.shared;
        shared.closed.store(true, Ordering::Release);
        shared.session.store(false, Ordering::Release);
        shared.flow.reset();
        let pending: Vec<Pending> = {
            let mut d = shared.driver.lock();
            d.dead = true;
            d.pending.drain(..).collect()
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
            frames::push_error(&mut out, &Error::ConnectionTerminated);
            p.reply.send(out);
        }
        shared.signal_closed();
        let ours = shared.closing.load(Ordering::Acquire);
        let err = match (ours, self.unsolicited.take(), error) {
            (true, _, _) => None,
            (false, Some(frame), _) => Some(Error::Db(frames::db_error(&frame))),
            (false, None, Some(e)) => {
                Some(Error::Io(format!("{}: {}", Error::ConnectionTerminated, e)))
            }
            (false, None, None) => Some(Error::ConnectionTerminated),
        };
        self.listener.closed(shared.id, err);
    }
}

pub(super) async fn reader(mut lp: ReadLoop, mut rd: ReadHalf<PgStream>) {
    let error = loop {
        lp.process();
        if lp.paused() {
            tokio::select! {
                _ = lp.shared.flow.until_resumed() => {}
                _ = lp.shared.abort.notified() => break None,
            }
        }
        lp.reserve();
        let read = tokio::select! {
            r = rd.read_buf(&mut lp.buf) => r,
            _ = lp.shared.abort.notified() => break None,
        };
        match read {
            Ok(0) => break None,
            Ok(_) => {}
            Err(e) => break Some(e),
        }
    };
    lp.finish(error);
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

/// Routes one backend frame; returns an `ErrorResponse` that arrived with no request pending.
fn handle_frame(shared: &ConnShared, frame: &[u8], listener: &dyn ConnListener) -> Option<Vec<u8>> {
    let body = &frame[HEADER..];
    match frame[0] {
        b'A' => {
            let pid = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
            if let Some((channel, rest)) = frames::cstr(&body[4..]) {
                let payload = frames::cstr(rest).map(|(p, _)| p).unwrap_or("");
                listener.notification(shared.id, pid, channel, payload);
            }
            return None;
        }
        b'N' => {
            // A notice raised by a request travels in that request's reply, so the caller sees
            // it before the result (pg emits `notice` before the query resolves); others are events.
            if let Some(p) = shared.driver.lock().pending.front_mut() {
                p.out.extend_from_slice(frame);
                return None;
            }
            listener.notice(shared.id, frame);
            return None;
        }
        b'S' => {
            if let Some((k, rest)) = frames::cstr(body) {
                if let Some((v, _)) = frames::cstr(rest) {
                    shared.params.lock().insert(k.to_string(), v.to_string());
                }
            }
            return None;
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
        return (frame[0] == b'E').then(|| frame.to_vec());
    };
    if p.reply.session_sink().is_some() {
        p.out.extend_from_slice(frame);
        if frame[0] == b'Z' {
            let status = body.first().copied().unwrap_or(b'I');
            shared.txn_status.store(status, Ordering::Release);
            let p = pending.pop_front().expect("front exists");
            drop(d);
            shared.session.store(false, Ordering::Release);
            shared.flow.reset();
            shared.finish_one();
            p.reply.send(p.out);
        }
        return None;
    }
    match frame[0] {
        b'T' => {
            if p.cache_insert.is_some() {
                p.row_description = Some(frame.to_vec());
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
                    return None;
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
    None
}
