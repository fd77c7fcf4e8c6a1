//! Giving a connection back: a holder's release (clean, dirty or destroying) and the pool's
//! reclaim of a checkout from its holder. A third `impl PoolInner` block.
//!
//! Invariants (with `state.rs`): a checkout's registry record is removed exactly once, by
//! whichever of release and reclaim comes first; nobody ever receives a connection inside a
//! transaction or with a request in flight; every event is emitted with the lock free.

use std::sync::Arc;
use std::time::Instant;

use super::checkout::{Released, Retired, Status};
use super::events::{LeakInfo, PoolEvent};
use super::inner::PoolInner;
use super::leak::checker::facts_of;
use super::leak::policy::idle_too_long;
use super::leak::registry;
use super::removal::Start;
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

/// A reclaimed connection's removal, held until its `ForceRelease` is out. Dropping it ends
/// the hold — also when unwinding, so that no panic leaves a removal unannounced for good:
/// a statement still running is cancelled; with nothing in flight too, the reading side stops
/// at once rather than waiting for the server to read the `Terminate` (the holder may have
/// left it busy, e.g. COPY).
struct HeldRemoval<'a> {
    pool: &'a Arc<PoolInner>,
    conn: Conn,
}

impl Drop for HeldRemoval<'_> {
    fn drop(&mut self) {
        self.pool.unhold_removal(&self.conn);
    }
}

impl PoolInner {
    /// Releases checkout `id` (its handle already marked released). Says whether an event
    /// about this checkout may still follow (`leakResolved` because it had been reported,
    /// `releasedInTransaction` because it is cleaned first), so the caller knows whether to
    /// remember what it needs to describe it, and whether the pool's rules for reuse retired
    /// the connection.
    pub(super) fn release(self: &Arc<Self>, id: u64, conn: &Conn, destroy: bool) -> Released {
        let mut st = self.state.lock();
        let Some(rec) = st.checkouts.remove(&id) else {
            return Released {
                released: true,
                event_may_follow: false,
                retired: None,
            };
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
        let reported = rec.reported;
        let done = |retired| Released {
            released: true,
            event_may_follow: reported,
            retired,
        };
        // A raw session left open is in mid-exchange (a portal, a COPY) that only its caller
        // knew how to finish: cleaning would wait for a reply that never comes, so the
        // connection is destroyed at once like any released with requests in flight
        // (`remove_locked`: a cancel request, then the socket closed without waiting).
        let closing = destroy || shared.in_session() || st.ending || shared.is_closed();
        // As pg-pool tells them: a spent connection whatever else closes it, an expired one
        // only when nothing else does.
        let retired = if spent {
            Some(Retired::Spent)
        } else if !closing && self.lifetime_over(conn) {
            Some(Retired::Expired)
        } else {
            None
        };
        if closing || retired.is_some() {
            self.remove_locked(&mut st, conn);
            return done(retired);
        }
        if shared.in_flight() == 0 && shared.txn_status() == b'I' {
            drop(st);
            self.return_conn(conn.clone(), uses);
            return done(None);
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
        Released {
            released: true,
            event_may_follow: true,
            retired: None,
        }
    }

    /// Waits for `conn`'s requests to be answered (woken by the last answer, not polled), then
    /// rolls back an open transaction (announcing it) and returns the connection — or removes
    /// it if it cannot be made clean. `end()` may destroy it meanwhile (it is in `cleaning`
    /// until this finishes); then the wait ends at once and the connection is removed.
    /// [`evict`](Self::evict) may take it out of `cleaning` and start its removal; then this
    /// leaves it alone.
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
                if st.cleaning.remove(&conn.id()).is_some() {
                    self.remove_locked(&mut st, &conn);
                }
                return;
            }
        }
        // Not in `cleaning` any more: evicted meanwhile (see `evict`), its removal under way.
        let ours = self.state.lock().cleaning.remove(&conn.id()).is_some();
        if ours {
            self.return_conn(conn, uses);
        }
    }

    /// Removes connection `conn_id` if it is idle or being cleaned after its release: its
    /// client reported an error while not checked out, and pg-pool removes such a client at
    /// once. It leaves `idle` and `total` now, its socket is closed (a statement still running
    /// is cancelled), `Removed` follows. False when the pool has no such connection (checked
    /// out, under a health check, or already removed).
    pub(super) fn evict(self: &Arc<Self>, conn_id: u64) -> bool {
        let mut st = self.state.lock();
        let conn = if let Some(pos) = st.idle.iter().position(|i| i.conn.id() == conn_id) {
            st.idle.remove(pos).conn
        } else if let Some(conn) = st.cleaning.remove(&conn_id) {
            conn
        } else {
            return false;
        };
        self.remove_locked(&mut st, &conn);
        true
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
            // The slot is free and given to whoever waits for it before anyone hears of the
            // reclaim (the waiter's hand-off runs as this lock is released). The removal is
            // held: the connection is closed, and its `Removed` announced, only once
            // `ForceRelease` is out, so that `Removed` can only follow it (the socket may be
            // read on another thread, which would otherwise see the end first and have the
            // holder's client forgotten before it learns it was reclaimed).
            let snapshot = registry::snapshot(id, &rec);
            self.start_removal_locked(&mut st, &rec.conn, Start::Held);
            (snapshot, rec.conn)
        };
        let held = HeldRemoval { pool: self, conn };
        self.metrics.forced_release();
        if reason == ReclaimReason::GarbageCollected {
            self.metrics.leak_detected();
        }
        let info = snapshot.resolve();
        self.state.emit(PoolEvent::ForceRelease {
            leak: info.clone(),
            reason,
        });
        drop(held);
        Some(info)
    }
}

#[cfg(test)]
mod tests {
    //! What a release says about retiring its connection, evicting a connection that is not
    //! checked out, and a panic in the task that cleans a connection released inside a
    //! transaction — on paused time against fake servers (`pg::fake`).

    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::pg::fake::{msg, one_row_reply, ready_startup, FakeServer};
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

    async fn answering() -> FakeServer {
        FakeServer::start(ready_startup(), Arc::new(|_, _| (one_row_reply(), false))).await
    }

    #[tokio::test(start_paused = true)]
    async fn a_release_says_when_maxuses_retires_the_connection() {
        let server = answering().await;
        let inner = PoolInner::for_tests(json!({ "port": server.port, "maxUses": 2 }));
        let mut retired = Vec::new();
        for destroy in [false, false, false, true] {
            let c = inner
                .acquire(CheckoutMeta::default())
                .await
                .expect("checkout");
            retired.push(c.release_noting(destroy).expect("released").retired);
        }
        // The fourth is spent and released to be destroyed: pg-pool still calls it spent.
        let spent = Some(Retired::Spent);
        assert_eq!(retired, vec![None, spent, None, spent]);
        assert_eq!(inner.counts().total, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_release_says_when_the_lifetime_retires_the_connection() {
        let server = answering().await;
        let inner = PoolInner::for_tests(json!({ "port": server.port, "maxLifetimeSeconds": 1 }));
        let c = inner
            .acquire(CheckoutMeta::default())
            .await
            .expect("checkout");
        // Connection ages are wall-clock instants, which paused time does not move.
        std::thread::sleep(Duration::from_millis(1050));
        let r = c.release_noting(false).expect("released");
        assert_eq!(r.retired, Some(Retired::Expired));
        let c = inner
            .acquire(CheckoutMeta::default())
            .await
            .expect("checkout");
        std::thread::sleep(Duration::from_millis(1050));
        // Destroyed by its holder: nothing to say about its age.
        assert_eq!(c.release_noting(true).expect("released").retired, None);
    }

    #[tokio::test(start_paused = true)]
    async fn evict_takes_an_idle_connection_out_of_the_counts_at_once() {
        let server = answering().await;
        let inner = PoolInner::for_tests(json!({ "port": server.port }));
        let c = inner
            .acquire(CheckoutMeta::default())
            .await
            .expect("checkout");
        let id = c.conn_id();
        assert!(!inner.evict(id), "a checked-out connection is not evicted");
        c.release(false).expect("released");
        assert_eq!((inner.counts().idle, inner.counts().total), (1, 1));
        assert!(inner.evict(id));
        assert_eq!((inner.counts().idle, inner.counts().total), (0, 0));
        assert!(!inner.evict(id), "only once");
    }

    #[tokio::test(start_paused = true)]
    async fn an_evicted_connection_that_was_being_cleaned_is_never_returned() {
        let server = FakeServer::silent().await;
        let inner = PoolInner::for_tests(json!({ "port": server.port }));
        let c = inner
            .acquire(CheckoutMeta::default())
            .await
            .expect("checkout");
        let id = c.conn_id();
        let reply = c
            .submit(Statement::Simple("SELECT pg_sleep(20)".into()))
            .expect("submitted");
        c.release(false).expect("released");
        assert_eq!(inner.state.lock().cleaning.len(), 1);
        assert!(inner.evict(id));
        assert_eq!(inner.counts().total, 0);
        let reply = reply.await.expect("the statement is answered");
        assert!(frames::first_error_code(&reply).is_some());
        // The clean-up woke up and found the connection gone: nothing returned, nothing
        // counted twice.
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let st = inner.state.lock();
        assert_eq!((st.idle.len(), st.total, st.cleaning.len()), (0, 0, 0));
    }
}
