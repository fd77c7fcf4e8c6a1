//! Flow control for a raw session's reply: the reading side stops reading the socket while
//! its consumer holds too much of what it was handed.
//!
//! A session (see [`ReplyTo::Session`](super::ReplyTo::Session)) hands the backend's frames on
//! as they are read. A `COPY ... TO STDOUT` produces them as fast as the server can, so
//! without a bound a slow consumer would have the whole table buffered in memory. The
//! consumer acknowledges what it has consumed; once [`WINDOW`] bytes are handed on and not
//! acknowledged the reading side stops reading (TCP then stops the server), and the
//! acknowledgement that brings it back under the window resumes it. Reading resumes through
//! whoever reads the socket: a reader task waits in [`Flow::until_resumed`]; a socket read by a
//! [`ReadScheduler`](super::ReadScheduler) is resumed through the hook installed with
//! [`Flow::on_resume`].
//!
//! Invariants: `unacked` counts the bytes handed on by the current session and not yet
//! acknowledged (never negative: late acknowledgements of an ended session saturate at 0);
//! once `closed` is set the flow never pauses again, so a closing connection's reader always
//! sees its socket end.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

use tokio::sync::Notify;

/// Bytes a session's consumer may hold unacknowledged before reading pauses.
pub const WINDOW: usize = 512 * 1024;

/// Wakes the embedder that reads a paused socket (see the module docs). Must not block.
pub(crate) type ResumeHook = Box<dyn Fn() + Send + Sync>;

/// See the module docs.
#[derive(Default)]
pub(crate) struct Flow {
    unacked: AtomicUsize,
    closed: AtomicBool,
    resumed: Notify,
    hook: OnceLock<ResumeHook>,
}

impl Flow {
    /// Installs the wake-up of a socket read outside the runtime (once, before any session).
    pub(crate) fn on_resume(&self, hook: ResumeHook) {
        let _ = self.hook.set(hook);
    }

    /// `n` more bytes were handed to the session's consumer.
    pub(crate) fn delivered(&self, n: usize) {
        self.unacked.fetch_add(n, Ordering::SeqCst);
    }

    /// Whether the reading side must stop reading now.
    pub(crate) fn paused(&self) -> bool {
        !self.closed.load(Ordering::SeqCst) && self.unacked.load(Ordering::SeqCst) >= WINDOW
    }

    /// The consumer consumed `n` bytes; resumes reading when that brings it under the window.
    pub(crate) fn ack(&self, n: usize) {
        let before = self
            .unacked
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                Some(u.saturating_sub(n))
            })
            .unwrap_or(0);
        if before >= WINDOW && before.saturating_sub(n) < WINDOW {
            self.wake();
        }
    }

    /// The session ended: nothing is outstanding any more.
    pub(crate) fn reset(&self) {
        if self.unacked.swap(0, Ordering::AcqRel) >= WINDOW {
            self.wake();
        }
    }

    /// The connection is closing: reading must go on until the socket ends. Wakes the reader
    /// only if it may be paused (every connection closes; few were ever paused).
    pub(crate) fn close(&self) {
        // Set before looking (both SeqCst, as `delivered` then `paused` on the reading side):
        // either that side sees `closed`, or this sees the bytes that made it pause.
        self.closed.store(true, Ordering::SeqCst);
        if self.unacked.load(Ordering::SeqCst) >= WINDOW {
            self.wake();
        }
    }

    /// Resolves once reading may go on (at once when it may).
    pub(crate) async fn until_resumed(&self) {
        loop {
            let notified = self.resumed.notified();
            tokio::pin!(notified);
            // Registered before looking, so a wake between the look and the await is kept.
            notified.as_mut().enable();
            if !self.paused() {
                return;
            }
            notified.await;
        }
    }

    fn wake(&self) {
        self.resumed.notify_waiters();
        if let Some(hook) = self.hook.get() {
            hook();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn pauses_at_the_window_and_resumes_below_it_once() {
        let f = Flow::default();
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = wakes.clone();
        f.on_resume(Box::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }));
        f.delivered(WINDOW - 1);
        assert!(!f.paused());
        f.delivered(2);
        assert!(f.paused());
        f.ack(1);
        assert!(f.paused(), "still at the window");
        assert_eq!(wakes.load(Ordering::SeqCst), 0);
        f.ack(1);
        assert!(!f.paused());
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        // Acknowledgements below the window wake nobody; late ones saturate at zero.
        f.ack(WINDOW * 4);
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        assert_eq!(f.unacked.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn close_wakes_only_a_reader_that_may_be_paused() {
        let f = Flow::default();
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = wakes.clone();
        f.on_resume(Box::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }));
        f.close();
        assert_eq!(wakes.load(Ordering::SeqCst), 0, "nothing was paused");
        let g = Flow::default();
        let w = wakes.clone();
        g.on_resume(Box::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }));
        g.delivered(WINDOW);
        g.close();
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn reset_and_close_resume_and_close_never_pauses_again() {
        let f = Flow::default();
        f.delivered(WINDOW);
        assert!(f.paused());
        f.reset();
        assert!(!f.paused());
        f.delivered(WINDOW * 2);
        assert!(f.paused());
        f.close();
        assert!(!f.paused());
        f.delivered(WINDOW);
        assert!(!f.paused());
    }

    #[tokio::test(start_paused = true)]
    async fn until_resumed_sleeps_until_the_acknowledgement() {
        let f = Arc::new(Flow::default());
        f.until_resumed().await;
        f.delivered(WINDOW);
        let f2 = f.clone();
        let waiter = tokio::spawn(async move { f2.until_resumed().await });
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        assert!(!waiter.is_finished(), "resumed while paused");
        f.ack(WINDOW);
        tokio::time::timeout(std::time::Duration::from_secs(1), waiter)
            .await
            .expect("resumed")
            .unwrap();
    }
}
