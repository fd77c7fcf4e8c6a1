//! The order of removal events, and the bound on connections being closed — on paused time
//! against fake servers (`pg::fake`): by the time `ForceRelease` is heard the checkout has left
//! the registry, its slot is free and a waiter the slot can serve has it; `Removed` never
//! overtakes `ForceRelease`; an idle connection that died is reported `IdleError` then
//! `Removed` even when a caller finds it dead before its listener speaks; `removing` stays
//! bounded when the server never ends a close.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::json;

use super::checkout::Checkout;
use super::events::{PoolEvent, PoolEvents};
use super::inner::PoolInner;
use super::state::CheckoutMeta;
use crate::error::{Error, ReclaimReason, Result};
use crate::pg::fake::{one_row_reply, ready_startup, FakeServer};

/// What the sink heard, with the pool's state read while it was being told.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Heard {
    ForceRelease {
        checkout_id: u64,
        total: usize,
        waiting: usize,
        registered: bool,
    },
    IdleError(u64),
    Removed(u64),
}

/// An event sink that reads the pool's state as each `ForceRelease` is emitted and, when
/// `end_socket` is set, reports the reclaimed connection's socket ended right then (as a
/// reader on another thread would).
#[derive(Default)]
struct Probe {
    pool: OnceLock<Weak<PoolInner>>,
    heard: Mutex<Vec<Heard>>,
    end_socket: bool,
}

impl PoolEvents for Probe {
    fn emit(&self, event: PoolEvent) {
        let Some(p) = self.pool.get().and_then(Weak::upgrade) else {
            return;
        };
        let heard = match event {
            PoolEvent::ForceRelease { leak, .. } => {
                let c = p.counts();
                let registered = p.state.lock().checkouts.contains_key(&leak.checkout_id);
                if self.end_socket {
                    p.conn_closed(leak.conn_id, None);
                }
                Heard::ForceRelease {
                    checkout_id: leak.checkout_id,
                    total: c.total,
                    waiting: c.waiting,
                    registered,
                }
            }
            PoolEvent::IdleError { conn_id, .. } => Heard::IdleError(conn_id),
            PoolEvent::Removed { conn_id, .. } => Heard::Removed(conn_id),
            _ => return,
        };
        self.heard.lock().push(heard);
    }
}

fn pool(port: u16, extra: serde_json::Value, end_socket: bool) -> (Arc<PoolInner>, Arc<Probe>) {
    let probe = Arc::new(Probe {
        end_socket,
        ..Probe::default()
    });
    let mut opts = json!({ "port": port, "max": 1 });
    for (k, v) in extra.as_object().expect("an object") {
        opts[k] = v.clone();
    }
    let p = PoolInner::for_tests_with(opts, probe.clone());
    assert!(probe.pool.set(Arc::downgrade(&p)).is_ok(), "set once");
    (p, probe)
}

async fn answering() -> FakeServer {
    FakeServer::start(ready_startup(), Arc::new(|_, _| (one_row_reply(), false))).await
}

/// Lets spawned work (the fake server, connection tasks) run.
async fn settle() {
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Queues a callback `connect()`; the slot receives its outcome.
fn queue(p: &Arc<PoolInner>) -> Arc<Mutex<Option<Result<Checkout>>>> {
    let served = Arc::new(Mutex::new(None));
    let slot = served.clone();
    let ready = p.try_acquire_with(
        CheckoutMeta::default(),
        Box::new(move |r| *slot.lock() = Some(r)),
    );
    assert!(ready.is_none(), "the pool is full: the caller waits");
    served
}

#[tokio::test(start_paused = true)]
async fn the_waiter_has_the_freed_slot_before_force_release_is_heard() {
    let server = answering().await;
    let (p, probe) = pool(server.port, json!({}), false);
    let stuck = p.acquire(CheckoutMeta::default()).await.expect("checkout");
    let served = queue(&p);
    assert_eq!(p.counts().waiting, 1);
    assert!(p.reclaim(stuck.id(), ReclaimReason::Idle).is_some());
    assert_eq!(
        probe.heard.lock()[0],
        Heard::ForceRelease {
            checkout_id: stuck.id(),
            total: 1,
            waiting: 0,
            registered: false,
        },
        "inside the listener: the checkout is gone, the waiter has the slot, max holds"
    );
    settle().await;
    let c = served.lock().take().expect("served").expect("a checkout");
    assert_ne!(c.conn_id(), stuck.conn_id(), "a new connection");
    c.release(false).expect("released");
    assert_eq!(
        probe.heard.lock()[1..],
        [Heard::Removed(stuck.conn_id())],
        "the reclaimed connection's removal follows"
    );
    assert!(p.state.lock().removing.is_empty());
}

#[tokio::test(start_paused = true)]
async fn removed_never_overtakes_force_release_when_the_socket_ends_meanwhile() {
    let server = answering().await;
    let (p, probe) = pool(server.port, json!({}), true);
    let stuck = p.acquire(CheckoutMeta::default()).await.expect("checkout");
    let conn_id = stuck.conn_id();
    assert!(p.reclaim(stuck.id(), ReclaimReason::End).is_some());
    settle().await;
    let heard = probe.heard.lock().clone();
    assert!(matches!(heard[0], Heard::ForceRelease { .. }), "{heard:?}");
    assert_eq!(
        heard[1..],
        [Heard::Removed(conn_id)],
        "announced once, after"
    );
    let st = p.state.lock();
    assert!(st.drained(), "the removal finished");
}

#[tokio::test(start_paused = true)]
async fn an_idle_connection_found_dead_before_its_listener_spoke_is_reported_error_then_removed() {
    let server = answering().await;
    let (p, probe) = pool(server.port, json!({}), false);
    let c = p.acquire(CheckoutMeta::default()).await.expect("checkout");
    let dead = c.conn_id();
    c.release(false).expect("released");
    // Its reading side ended on another thread, which has not told the pool yet; a caller
    // pops it meanwhile.
    c.conn.shared().end_unreported();
    let fresh = p.acquire(CheckoutMeta::default()).await.expect("checkout");
    assert_ne!(fresh.conn_id(), dead);
    assert!(
        probe.heard.lock().is_empty(),
        "nothing said before the listener"
    );
    p.conn_closed(dead, Some(Error::ConnectionTerminated));
    assert_eq!(
        *probe.heard.lock(),
        [Heard::IdleError(dead), Heard::Removed(dead)],
        "pg's order for an idle connection that died"
    );
    fresh.release(false).expect("released");
    assert!(p.state.lock().removing.is_empty());
}

#[tokio::test(start_paused = true)]
async fn connections_being_closed_stay_bounded_when_the_server_never_ends_a_close() {
    // The fake server never closes a socket: a graceful close waits for good.
    let server = FakeServer::silent().await;
    let max = 2;
    let (p, _) = pool(server.port, json!({ "max": max, "maxUses": 1 }), false);
    for _ in 0..10 {
        let c = p.acquire(CheckoutMeta::default()).await.expect("checkout");
        // Spent: its release starts its removal.
        c.release(false).expect("released");
        settle().await;
    }
    let st = p.state.lock();
    assert_eq!(st.total, 0);
    assert!(
        st.removing.len() <= max,
        "{} connections being closed, max {max}",
        st.removing.len()
    );
    assert_eq!(st.removing.values().filter(|r| r.graceful).count(), max);
}
