//! A connection's queue of requests awaiting their replies, and where each reply goes.
//!
//! This is what the writing side (`write.rs`) and the reading side (`read.rs`) share: the
//! writer pushes a [`Pending`] slot for each request *before* its bytes go out, the reader
//! fills the front slot with the backend's frames until its `ReadyForQuery` and pops it. Both
//! reach it only through the `driver` lock of the connection's shared state.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tokio::sync::oneshot;

use super::cache::StatementCache;
use super::frames;
use super::request::Statement;
use crate::error::Error;

/// Receives the leading part of a long reply while the rest is still arriving (see
/// [`ReplyTo::Streaming`]). Called on the reading thread with no lock held; must not block.
pub type PartialSink = Arc<dyn Fn(Vec<u8>) + Send + Sync>;

/// Receives a whole reply, or the last part of a streamed one, exactly once.
pub type ReplyFn = Box<dyn FnOnce(Vec<u8>) + Send>;

/// A streaming reply hands its rows on once this many bytes of whole frames have collected.
pub const STREAM_CHUNK: usize = 128 * 1024;

/// Where a request's reply goes: a channel the caller awaits, or a callback the reading side
/// runs (no task to wake). Callbacks run on the reading thread with no lock held and must not
/// block.
pub enum ReplyTo {
    /// The reply frames are sent on the channel (a dropped receiver is not an error).
    Channel(oneshot::Sender<Vec<u8>>),
    /// The callback gets the reply frames.
    Callback(ReplyFn),
    /// Like `Callback`, but while rows arrive, every [`STREAM_CHUNK`] bytes of whole frames
    /// collected so far go to the sink (in order, before the rest); the callback gets what
    /// remains, ending with `ReadyForQuery`. Concatenated, the parts are exactly the reply a
    /// `Callback` would get — except that after a connection loss the final part is the error
    /// alone, as for every reply. Nothing is streamed once the request has an error, and a
    /// request that streamed is never retried.
    Streaming(PartialSink, ReplyFn),
    /// A raw session (pg's Submittable contract): the caller writes the frontend messages
    /// itself ([`Conn::session_write`](super::Conn::session_write)) and receives *every*
    /// backend message of the request — parse/bind/close confirmations, `PortalSuspended`,
    /// COPY responses and data, notices — except notifications and parameter statuses, which
    /// belong to the connection. Frames go to the sink as they are read, each part whole
    /// frames, under flow control ([`flow`](super::flow)); the callback gets the last part,
    /// ending with the first `ReadyForQuery` (or, if the connection is lost, with the error
    /// frame). Nothing is ever rewritten: the parts concatenated are the backend's bytes.
    Session(PartialSink, ReplyFn),
}

impl ReplyTo {
    /// Delivers the whole reply (or the last part of a streamed one).
    pub fn send(self, reply: Vec<u8>) {
        match self {
            ReplyTo::Channel(tx) => {
                let _ = tx.send(reply);
            }
            ReplyTo::Callback(f) | ReplyTo::Streaming(_, f) | ReplyTo::Session(_, f) => f(reply),
        }
    }

    /// Answers with `e` as a client-side error frame.
    pub fn fail(self, e: &Error) {
        self.send(frames::error_reply(e));
    }

    pub(super) fn partial_sink(&self) -> Option<&PartialSink> {
        match self {
            ReplyTo::Streaming(sink, _) => Some(sink),
            _ => None,
        }
    }

    /// The sink of a raw session's parts, if this is one.
    pub(super) fn session_sink(&self) -> Option<&PartialSink> {
        match self {
            ReplyTo::Session(sink, _) => Some(sink),
            _ => None,
        }
    }
}

/// Reply slot of a request written to the socket and not yet answered.
pub(super) struct Pending {
    pub(super) out: Vec<u8>,
    pub(super) reply: ReplyTo,
    /// `(sql, name)` when this request's Parse will create a cache entry.
    pub(super) cache_insert: Option<(String, String)>,
    /// Whether the request asks for binary results (a RowDescription it puts in the cache is
    /// stored as text results would have it).
    pub(super) binary: bool,
    /// SQL whose cache entry this request reused (invalidated on stale-plan errors).
    pub(super) cache_reused: Option<String>,
    /// Caller-named statement parsed by this request (forgotten if it fails).
    pub(super) named_parse: Option<String>,
    pub(super) row_description: Option<Vec<u8>>,
    pub(super) error_code: Option<String>,
    /// Notices kept in `out` so far (bounded by the connection's `max_notices`).
    pub(super) notices: usize,
    pub(super) extended: bool,
    /// The statement, kept when it reused a cache entry: if the server says the cached plan
    /// is stale (0A000 "cached plan must not change result type" after a schema change, or
    /// 26000), it is run again once, re-parsed — pg, which never caches, would have succeeded.
    pub(super) retry: Option<Statement>,
}

/// The locked part shared by the writing and the reading side.
///
/// Invariants: `pending` is in the order the requests' bytes were written; once `dead` is
/// set no slot is pushed again (the reading side has answered every one).
pub(super) struct Driver {
    pub(super) pending: VecDeque<Pending>,
    pub(super) cache: StatementCache,
    /// Caller-named statements parsed on this connection: name → SQL text.
    pub(super) named: HashMap<String, String>,
    pub(super) dead: bool,
}

impl Pending {
    /// An empty slot for a request answered to `reply`.
    pub(super) fn new(reply: ReplyTo, extended: bool) -> Self {
        Pending {
            out: Vec::new(),
            reply,
            cache_insert: None,
            binary: false,
            cache_reused: None,
            named_parse: None,
            row_description: None,
            error_code: None,
            notices: 0,
            extended,
            retry: None,
        }
    }
}

impl Driver {
    pub(super) fn new(cache_size: usize) -> Self {
        Driver {
            pending: VecDeque::new(),
            cache: StatementCache::new(cache_size),
            named: HashMap::new(),
            dead: false,
        }
    }
}
