//! Panic safety for spawned work: a panic inside a task must become an error for whoever
//! waits on it and must never lose a slot, a reply or a connection. tokio swallows a task's
//! panic (only a `JoinHandle` would see it, and nobody awaits those), so every task whose
//! failure leaves something to undo runs its future through [`CatchUnwind`] and undoes it.
//!
//! The panic hooks ([`PanicHooks`]) let the tests force a panic at a named site; nothing sets
//! one outside tests, and an unarmed hook costs one uncontended lock on paths that are rare
//! by nature (cleaning a released connection, a writer task's wake-up, a health check, an
//! acquire timing out), never on the checkout path.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use parking_lot::Mutex;

/// A future that panicked (its message, when the payload was a string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panicked(pub String);

impl Panicked {
    fn from_payload(p: Box<dyn std::any::Any + Send>) -> Panicked {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        Panicked(msg)
    }
}

/// Polls `F`, turning a panic into `Err(Panicked)`. Once it has panicked it is not polled again.
pub struct CatchUnwind<F>(Pin<Box<F>>);

/// Wraps `fut` (see [`CatchUnwind`]).
pub fn catch<F: Future>(fut: F) -> CatchUnwind<F> {
    CatchUnwind(Box::pin(fut))
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Panicked>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(p) => Poll::Ready(Err(Panicked::from_payload(p))),
        }
    }
}

/// Sites armed to panic once, by name (tests only; see the module docs).
#[derive(Debug, Default)]
pub struct PanicHooks(Mutex<Vec<String>>);

impl PanicHooks {
    /// Arms `site`: its next run panics.
    pub fn arm(&self, site: &str) {
        self.0.lock().push(site.to_string());
    }

    /// Panics if `site` is armed (disarming it).
    pub fn check(&self, site: &str) {
        let armed = {
            let mut sites = self.0.lock();
            match sites.iter().position(|s| s == site) {
                Some(i) => {
                    sites.swap_remove(i);
                    true
                }
                None => false,
            }
        };
        if armed {
            panic!("panic forced at {site}");
        }
    }
}
