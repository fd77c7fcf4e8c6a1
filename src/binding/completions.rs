//! Query completions to JS in batches, through one persistent thread-safe function per pool.
//!
//! Creating a Promise per query from Rust costs a thread-safe function per call (napi-rs's
//! deferred), which dominated the per-query cost. Instead, JS gives each query an id and keeps
//! its resolver; Rust appends `[id u32 LE][len u32 LE][reply frames]` to one buffer and wakes
//! JS only when the buffer goes from empty to non-empty. JS drains it with `takeCompletions()`,
//! so many completions cross in one call. Invariant: whenever the buffer is non-empty, a wake
//! is pending or the JS thread is inside a [`Completions::hold`] whose caller drains before
//! returning to the event loop — so no completion waits for a later one.
//!
//! The hold exists for `release()`: a release hands its connection to a queued `connect()` on
//! the JS thread itself, and waking JS through the thread-safe function from JS's own thread
//! would cost an async hand-off per cycle for a drain JS can do at once.

use std::cell::Cell;
use std::sync::Arc;

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use parking_lot::Mutex;

/// `() => void`, weak: in-flight queries are kept alive by JS, not by this function.
pub type WakeFn = ThreadsafeFunction<(), (), (), Status, false, true>;

thread_local! {
    /// The completions held on this thread (by address) and whether something was queued
    /// while held. Only the JS thread ever holds.
    static HELD: Cell<(usize, bool)> = const { Cell::new((0, false)) };
}

/// See the module docs.
pub struct Completions {
    wake: WakeFn,
    queue: Mutex<Vec<u8>>,
}

impl Completions {
    pub fn new(wake: WakeFn) -> Arc<Self> {
        Arc::new(Completions {
            wake,
            queue: Mutex::new(Vec::new()),
        })
    }

    /// Queues the reply of query `id`.
    pub fn complete(&self, id: u32, reply: &[u8]) {
        let was_empty = {
            let mut q = self.queue.lock();
            let was_empty = q.is_empty();
            q.extend_from_slice(&id.to_le_bytes());
            q.extend_from_slice(&(reply.len() as u32).to_le_bytes());
            q.extend_from_slice(reply);
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

    /// Takes everything queued so far.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.queue.lock())
    }
}
