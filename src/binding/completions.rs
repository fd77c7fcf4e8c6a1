//! Query completions to JS in batches, through one persistent thread-safe function per pool.
//!
//! Creating a Promise per query from Rust costs a thread-safe function per call (napi-rs's
//! deferred), which dominated the per-query cost. Instead, JS gives each query an id and keeps
//! its resolver; Rust appends `[id u32 LE][len u32 LE][reply frames]` to one buffer and wakes
//! JS only when the buffer goes from empty to non-empty. JS drains it with `takeCompletions()`,
//! so many completions cross in one call. Invariant: a wake is pending whenever the buffer is
//! non-empty, so no completion waits for a later one.

use std::sync::Arc;

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use parking_lot::Mutex;

/// `() => void`, weak: in-flight queries are kept alive by JS, not by this function.
pub type WakeFn = ThreadsafeFunction<(), (), (), Status, false, true>;

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
        if was_empty {
            self.wake.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    /// Takes everything queued so far.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.queue.lock())
    }
}
