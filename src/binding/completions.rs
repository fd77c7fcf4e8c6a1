//! Query completions to JS in batches, through one persistent thread-safe function per pool.
//!
//! Creating a Promise per query from Rust costs a thread-safe function per call (napi-rs's
//! deferred), which dominated the per-query cost. Instead, JS gives each query an id and keeps
//! its resolver; Rust appends `[id u32 LE][len u32 LE][reply frames]` to one buffer and wakes
//! JS only when the buffer goes from empty to non-empty. The top bit of `len` marks a leading
//! part of a streamed reply (more follows under that id); DataRows whose values are all ASCII
//! arrive retyped `d` ([`mark_ascii_rows`]) — except in a raw session's records, which are
//! the backend's bytes untouched (there `d` is CopyData). JS drains it with `takeCompletions()`,
//! so many completions cross in one call. Invariant: whenever the buffer is non-empty, a wake
//! is pending or the JS thread is inside a [`Completions::hold`] whose caller drains before
//! returning to the event loop — so no completion waits for a later one.
//!
//! The hold exists for `release()`: a release hands its connection to a queued `connect()` on
//! the JS thread itself, and waking JS through the thread-safe function from JS's own thread
//! would cost an async hand-off per cycle for a drain JS can do at once.
//!
//! A queued `connect()`'s checkout travels with its record ([`Completions::checkout`]): the
//! record (under id [`CHECKOUT`]) carries the checkout's facts, the checkout itself waits
//! beside the bytes, and whoever takes the bytes takes those checkouts with them
//! ([`Completions::take_with`]) — so JS learns of a checkout and holds it in one call.

use std::cell::Cell;
use std::sync::Arc;

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use parking_lot::Mutex;

use super::checkouts::{facts, INFO_LEN};
use crate::pg::frames::mark_ascii_rows;
use crate::pool::{Checkout, Served};

/// `() => void`, weak: in-flight queries are kept alive by JS, not by this function.
pub type WakeFn = ThreadsafeFunction<(), (), (), Status, false, true>;

thread_local! {
    /// The completions held on this thread (by address) and whether something was queued
    /// while held. Only the JS thread ever holds.
    static HELD: Cell<(usize, bool)> = const { Cell::new((0, false)) };
}

/// The completions id of the records saying which connection served a `pool.query`.
pub const SERVED: u32 = 0;

/// Set in a record's length word when more of the same reply follows.
const PARTIAL: u32 = 0x8000_0000;

/// The completions id of the records carrying a queued `connect()`'s checkout (JS never
/// gives a request this id): `[connect id u32]` then the checkout's facts
/// ([`facts`]: `[checkoutId, connId, processId, isNew]`, f64 each), little-endian.
pub const CHECKOUT: u32 = u32::MAX;

fn record_header(id: u32, len_word: u32) -> [u8; 8] {
    let mut h = [0u8; 8];
    h[..4].copy_from_slice(&id.to_le_bytes());
    h[4..].copy_from_slice(&len_word.to_le_bytes());
    h
}

/// What is queued for JS: the records' bytes and the checkouts their [`CHECKOUT`] records
/// announce. Invariant: a checkout is here exactly while its record is in `bytes`.
#[derive(Default)]
struct Queue {
    bytes: Vec<u8>,
    checkouts: Vec<Checkout>,
}

/// See the module docs.
pub struct Completions {
    wake: WakeFn,
    queue: Mutex<Queue>,
}

impl Completions {
    pub fn new(wake: WakeFn) -> Arc<Self> {
        Arc::new(Completions {
            wake,
            queue: Mutex::new(Queue::default()),
        })
    }

    /// Queues the reply of query `id` (or the last part of a streamed one).
    pub fn complete(&self, id: u32, mut reply: Vec<u8>) {
        mark_ascii_rows(&mut reply);
        self.push(id, 0, reply)
    }

    /// Queues the record saying which connection served `pool.query` `id` (sent ahead of its
    /// reply while JS listens for checkout events): under id [`SERVED`], `[query id u32][conn
    /// id u32][pid i32][is new u8]`, little-endian.
    pub fn served(&self, id: u32, s: &Served) {
        let mut v = Vec::with_capacity(13);
        v.extend_from_slice(&id.to_le_bytes());
        v.extend_from_slice(&(s.conn_id as u32).to_le_bytes());
        v.extend_from_slice(&s.pid.to_le_bytes());
        v.push(u8::from(s.is_new));
        self.push(SERVED, 0, v)
    }

    /// Queues queued `connect()` `id`'s checkout: its facts as the record, the checkout itself
    /// beside it until the record is taken (see [`Completions::take_with`]).
    pub fn checkout(&self, id: u32, c: Checkout) {
        let mut v = Vec::with_capacity(4 + 8 * INFO_LEN);
        v.extend_from_slice(&id.to_le_bytes());
        for f in facts(&c) {
            v.extend_from_slice(&f.to_le_bytes());
        }
        self.push_with(CHECKOUT, 0, v, Some(c))
    }

    /// Queues a leading part of the reply of query `id`; more follows under the same id.
    pub fn partial(&self, id: u32, mut part: Vec<u8>) {
        mark_ascii_rows(&mut part);
        self.push(id, PARTIAL, part)
    }

    /// Queues a part of raw session `id`'s reply, unchanged; `last`: it ends the session.
    pub fn session(&self, id: u32, part: Vec<u8>, last: bool) {
        self.push(id, if last { 0 } else { PARTIAL }, part)
    }

    /// Appends one record. Rows are marked for JS's ASCII fast path by the callers above, on
    /// the thread that read them, before the queue is locked.
    fn push(&self, id: u32, flag: u32, frames: Vec<u8>) {
        self.push_with(id, flag, frames, None)
    }

    /// Appends one record, and the checkout it announces if any.
    fn push_with(&self, id: u32, flag: u32, frames: Vec<u8>, checkout: Option<Checkout>) {
        let len = frames.len() as u32;
        debug_assert!(len < PARTIAL, "a record is under 2 GiB");
        let was_empty = {
            let mut q = self.queue.lock();
            let was_empty = q.bytes.is_empty();
            q.bytes.extend_from_slice(&record_header(id, len | flag));
            q.bytes.extend_from_slice(&frames);
            q.checkouts.extend(checkout);
            was_empty
        };
        if was_empty && !self.note_if_held() {
            self.wake();
        }
    }

    /// Schedules a drain on the JS thread.
    pub fn wake(&self) {
        self.wake.call((), ThreadsafeFunctionCallMode::NonBlocking);
    }

    /// Runs `f` with wakes from this thread suppressed; returns its result and whether the
    /// caller must drain now (something was queued that no wake will announce).
    pub fn hold<T>(&self, f: impl FnOnce() -> T) -> (T, bool) {
        let me = self as *const Self as usize;
        let outer = HELD.with(|h| h.replace((me, false)));
        // Restores the outer hold even if `f` unwinds; a panic (which JS sees as an error, not
        // a drain request) wakes for whatever was queued, so nothing waits forever.
        struct Restore<'a>(&'a Completions, (usize, bool));
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                let (_, pending) = HELD.with(|h| h.replace(self.1));
                if pending && std::thread::panicking() {
                    self.0.wake();
                }
            }
        }
        let restore = Restore(self, outer);
        let out = f();
        let (_, pending) = HELD.with(|h| h.get());
        drop(restore);
        (out, pending)
    }

    /// True (and noted) when this thread holds these completions.
    fn note_if_held(&self) -> bool {
        let me = self as *const Self as usize;
        HELD.with(|h| {
            let (held, _) = h.get();
            if held == me {
                h.set((me, true));
                true
            } else {
                false
            }
        })
    }

    /// Takes everything queued so far, followed by `trailer`'s 4 bytes (little-endian) when
    /// given: at most [`COPY_MAX`] bytes go to `small` as a slice, and the queue keeps its
    /// allocation for the next records; more go to `large` whole. `small` runs with the queue
    /// locked (other threads' completions wait for it). The checkouts the taken records
    /// announce are returned with the result, in record order.
    pub fn take_with<T>(
        &self,
        trailer: Option<u32>,
        small: impl FnOnce(&[u8]) -> T,
        large: impl FnOnce(Vec<u8>) -> T,
    ) -> (T, Vec<Checkout>) {
        let mut q = self.queue.lock();
        let checkouts = std::mem::take(&mut q.checkouts);
        if let Some(t) = trailer {
            q.bytes.extend_from_slice(&t.to_le_bytes());
        }
        let out = if q.bytes.len() <= COPY_MAX {
            let out = small(&q.bytes);
            q.bytes.clear();
            out
        } else {
            large(std::mem::take(&mut q.bytes))
        };
        (out, checkouts)
    }
}

/// The most bytes a drain copies into a buffer the JS engine owns. A copy this small costs
/// less than handing the bytes over in place, which makes an external buffer whose finalizer
/// the garbage collector must run (and frees the queue's allocation); replies, checkouts and
/// releases cross this way, a long result's parts in place. The queue keeps at most about
/// twice this much allocated between drains.
pub const COPY_MAX: usize = 16 * 1024;
