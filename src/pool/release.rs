//! Giving a connection back: a holder's release (clean, dirty or destroying) and the pool's
//! reclaim of a checkout from its holder. A third `impl PoolInner` block.
//!
//! Invariants (with `state.rs`): a checkout's registry record is removed exactly once, by
//! whichever of release and reclaim comes first; nobody ever receives a connection inside a
//! transaction or with a request in flight; every event is emitted with the lock free.

use std::sync::Arc;
use std::time::Instant;

use super::checkout::Status;
use super::events::{LeakInfo, PoolEvent};
use super::inner::PoolInner;
use super::leak::checker::facts_of;
use super::leak::policy::idle_too_long;
use super::leak::registry;
use super::state::CheckoutRecord;
use crate::error::{ReclaimReason, Reclaimed};
use crate::pg::{frames, Conn, Statement};
use crate::unwind::catch;

/// What `releasedInTransaction` says of a checkout released with work unfinished.
struct Dirty {
    checkout_id: u64,
    location: Option<String>,
    implicit: bool,
    held_ms: u64,
}

impl PoolInner {
    /// Releases checkout `id` (its handle already marked released).
    /// Returns true when an event about this checkout may still follow (`leakResolved`
    /// because it had been reported, `releasedInTransaction` because it is cleaned first), so
    /// the caller knows whether to remember what it needs to describe it.
    pub(super) fn release(self: &Arc<Self>, id: u64, conn: &Conn, destroy: bool) -> bool {
        let mut st = self.state.lock();
        let Some(rec) = st.checkouts.remove(&id) else {
            return false;
        };
        if let Some(t) = &rec.meta.tag {
            st.tags.give_back(t);
        }
        let held = rec.acquired.elapsed();
        self.metrics.released(held);
        if rec.reported {
            st.defer_event(PoolEvent::LeakResolved {
                checkout_id: id,
                held_ms: held.as_millis() as u64,
                location: rec.meta.location.clone(),
            });
        }
        let uses = rec.uses + 1;
        let spent = matches!(self.config.max_uses, Some(m) if uses >= m);
        let shared = conn.shared();
        // A raw session left open is in mid-exchange (a portal, a COPY) that only its caller
        // knew how to finish: cleaning would wait for a reply that never comes, so the
        // connection is destroyed at once like any released with requests in flight
        // (`remove_locked`: a cancel request, then the socket closed without waiting).
        if destroy
            || shared.in_session()
            || st.ending
            || shared.is_closed()
            || spent
            || self.lifetime_over(conn)
        {
            self.remove_locked(&mut st, conn);
            return rec.reported;
        }
        if shared.in_flight() == 0 && shared.txn_status() == b'I' {
            drop(st);
            self.return_conn(conn.clone(), uses);
            return rec.reported;
        }
        // Released with requests in flight or inside a transaction: cleaned before reuse, the
        // slot counted meanwhile (and `end()` able to destroy it).
        st.cleaning.insert(conn.id(), conn.clone());
        if rec.meta.tag.is_some() {
            // Its tag's next caller need not wait for the clean-up.
            self.pulse_locked(&mut st);
        }
        drop(st);
        let dirty = Dirty {
            checkout_id: id,
            location: rec.meta.location,
            implicit: rec.meta.implicit,
            held_ms: held.as_millis() as u64,
        };
        let this = self.clone();
        let conn = conn.clone();
        self.runtime.spawn(async move {
            let cleaning = catch(this.clone().clean(conn.clone(), uses, dirty)).await;
            if cleaning.is_err() {
                // The clean-up panicked: the connection is destroyed and its slot given back.
                let mut st = this.state.lock();
                if st.cleaning.remove(&conn.id()).is_some() {
                    this.remove_locked(&mut st, &conn);
                }
                drop(st);
                this.destroy(&conn);
            }
        });
        true
    }

    /// Waits for `conn`'s requests to be answered (woken by the last answer, not polled), then
    /// rolls back an open transaction (announcing it) and returns the connection — or removes
    /// it if it cannot be made clean. `end()` may destroy it meanwhile (it is in `cleaning`
    /// until this finishes); then the wait ends at once and the connection is removed.
    async fn clean(self: Arc<Self>, conn: Conn, uses: u64, dirty: Dirty) {
        conn.shared().until_idle().await;
        self.panics.check("clean");
        let status = conn.shared().txn_status();
        if status != b'I' {
            self.state.emit(PoolEvent::ReleasedInTransaction {
                checkout_id: dirty.checkout_id,
                conn_id: conn.id(),
                status,
                location: dirty.location,
                implicit: dirty.implicit,
                held_ms: dirty.held_ms,
            });
            let clean = !conn.shared().is_closed() && {
                let reply = conn.query(Statement::Simple("ROLLBACK".into())).await;
                frames::first_error_code(&reply).is_none() && conn.shared().txn_status() == b'I'
            };
            if !clean {
                let mut st = self.state.lock();
                st.cleaning.remove(&conn.id());
                self.remove_locked(&mut st, &conn);
                return;
            }
        }
        self.state.lock().cleaning.remove(&conn.id());
        self.return_conn(conn, uses);
    }

    /// Takes checkout `id` away from its holder: marks its handle, reports it, then destroys
    /// the connection and frees the slot.
    pub(super) fn reclaim(self: &Arc<Self>, id: u64, reason: ReclaimReason) -> Option<LeakInfo> {
        self.reclaim_when(id, reason, |_| true)
    }

    /// The checker's reclaim of a checkout it found idle past its limit: decided again here,
    /// under the pool's lock and the checkout's status lock, under which a query is counted in
    /// flight before it is sent (`Checkout::begin_request`). A checkout that started a query,
    /// or finished one, since the checker chose it is left alone (`None`).
    pub(super) fn reclaim_idle(self: &Arc<Self>, id: u64) -> Option<LeakInfo> {
        let leak = &self.config.leak;
        self.reclaim_when(id, ReclaimReason::Idle, |rec| {
            idle_too_long(&facts_of(rec, Instant::now(), leak))
        })
    }

    /// [`reclaim`](Self::reclaim) if `still(record)` holds, decided under both locks.
    fn reclaim_when(
        self: &Arc<Self>,
        id: u64,
        reason: ReclaimReason,
        still: impl FnOnce(&CheckoutRecord) -> bool,
    ) -> Option<LeakInfo> {
        let (snapshot, conn) = {
            let mut st = self.state.lock();
            {
                let rec = st.checkouts.get(&id)?;
                let mut status = rec.status.lock();
                if !still(rec) {
                    return None;
                }
                *status = Status::Reclaimed(Reclaimed {
                    reason,
                    at_ms: super::views::epoch_ms(),
                    held_ms: rec.acquired.elapsed().as_millis() as u64,
                });
            }
            let rec = st.checkouts.remove(&id).expect("looked up under this lock");
            if let Some(t) = &rec.meta.tag {
                // Its tag's next caller passes when the removal below pulses the pool.
                st.tags.give_back(t);
            }
            (registry::snapshot(id, &rec), rec.conn)
        };
        self.metrics.forced_release();
        if reason == ReclaimReason::GarbageCollected {
            self.metrics.leak_detected();
        }
        let info = snapshot.resolve();
        // Announced before the connection's removal starts, so its `Removed` event can only
        // follow (the socket may be read on another thread, which would otherwise see the end
        // first and have the holder's client forgotten before it learns it was reclaimed).
        // Until then the connection counts in `total` as one being cleaned.
        self.state.emit(PoolEvent::ForceRelease {
            leak: info.clone(),
            reason,
        });
        {
            // A statement still running is cancelled and the connection destroyed here.
            let mut st = self.state.lock();
            self.remove_locked(&mut st, &conn);
        }
        // With nothing in flight too, the reading side stops at once rather than waiting for
        // the server to read the `Terminate` (the holder may have left it busy, e.g. COPY).
        conn.abort();
        Some(info)
    }
}

#[cfg(test)]
mod tests {
    //! A panic in the task that cleans a connection released inside a transaction, on paused
    //! time against a fake server: the slot comes back and the pool goes on serving.

    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::pg::fake::{msg, ready_startup, FakeServer};
    use crate::pool::CheckoutMeta;

    #[tokio::test(start_paused = true)]
    async fn a_panic_while_cleaning_a_released_connection_gives_its_slot_back() {
        // Every query leaves the session inside a transaction block.
        let mut begin = msg(b'C', b"BEGIN\0");
        begin.extend(msg(b'Z', b"T"));
        let server = FakeServer::start(
            ready_startup(),
            Arc::new(move |ty, _| match ty {
                b'Q' => (begin.clone(), false),
                _ => (Vec::new(), false),
            }),
        )
        .await;
        let p = PoolInner::for_tests(json!({ "port": server.port, "max": 1 }));
        let c = p.acquire(CheckoutMeta::default()).await.expect("checkout");
        let r = c.query(Statement::Simple("BEGIN".into())).await;
        assert_eq!(frames::first_error_code(&r), None);
        p.panics.arm("clean");
        c.release(false).expect("released");
        for _ in 0..100 {
            if p.counts().total == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(p.counts().total, 0, "the slot was lost to the panic");
        assert!(p.state.lock().cleaning.is_empty());
        // The pool still serves.
        let again = p.acquire(CheckoutMeta::default()).await.expect("checkout");
        again.release(true).expect("released");
    }
}
