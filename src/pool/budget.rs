//! The bound on notifications and notices waiting for their receiver.
//!
//! Notifications (LISTEN/NOTIFY) and notices raised outside a request arrive whenever the
//! server sends them; while the receiver (the JS thread) is busy they queue. Without a bound a
//! NOTIFY flood grows memory until the process dies. Each such event carries a [`Ticket`]; at
//! most `maxQueuedEvents` tickets are out at once, and an event that finds none is dropped —
//! the newest, so that what is delivered stays in the order it was sent and a receiver that
//! catches up sees a gap at one place — counted in the metrics, and announced once per pool
//! (`EventsDropped`). A ticket is given back when the event is dropped by whoever holds it:
//! the receiver, once it has taken the event.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Tickets out, and the bound.
///
/// Invariant: `out <= limit` whenever no [`take`](Self::take) is in progress; `out` counts
/// the [`Ticket`]s alive.
#[derive(Debug)]
pub struct EventBudget {
    out: AtomicUsize,
    limit: usize,
    warned: AtomicBool,
}

/// One queued event's place in the budget; given back when the last clone is dropped.
#[derive(Clone)]
pub struct Ticket {
    _held: Arc<Held>,
}

struct Held(Arc<EventBudget>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.out.fetch_sub(1, Ordering::AcqRel);
    }
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ticket")
    }
}

impl EventBudget {
    pub fn new(limit: usize) -> Arc<EventBudget> {
        Arc::new(EventBudget {
            out: AtomicUsize::new(0),
            limit,
            warned: AtomicBool::new(false),
        })
    }

    /// A ticket, or `None` when `limit` events are already waiting (drop this one).
    pub fn take(self: &Arc<Self>) -> Option<Ticket> {
        let mut out = self.out.load(Ordering::Acquire);
        loop {
            if out >= self.limit {
                return None;
            }
            match self
                .out
                .compare_exchange_weak(out, out + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    return Some(Ticket {
                        _held: Arc::new(Held(self.clone())),
                    })
                }
                Err(now) => out = now,
            }
        }
    }

    /// Events waiting now.
    pub fn waiting(&self) -> usize {
        self.out.load(Ordering::Acquire)
    }

    /// The bound (`maxQueuedEvents`).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// True the first time only: whether this drop is the one to announce.
    pub fn first_drop(&self) -> bool {
        !self.warned.swap(true, Ordering::AcqRel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_limit_tickets_are_out_and_each_comes_back_once() {
        let b = EventBudget::new(2);
        let a = b.take().expect("first");
        let a2 = a.clone();
        let c = b.take().expect("second");
        assert!(b.take().is_none(), "a third over the limit");
        drop(a);
        assert_eq!(b.waiting(), 2, "a clone still holds it");
        drop(a2);
        assert_eq!(b.waiting(), 1);
        assert!(b.take().is_some());
        drop(c);
        assert!(b.first_drop());
        assert!(!b.first_drop());
    }
}
