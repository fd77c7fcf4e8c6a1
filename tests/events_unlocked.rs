//! No event sink runs under the pool's lock. The sink here calls back into the pool for every
//! event (`counts()`, which takes the lock) from a helper thread and waits for it: if the
//! emitting thread held the lock, the call could not finish, and the event is recorded as
//! emitted under the lock. Every kind of event the pool decides under its lock is provoked:
//! `leakResolved`, `forceRelease` (idle and dropped handles), `removed` (of a connection
//! that ended while checked out, of a closed one, of idle ones at `end()`), `idleError`.

mod common;
mod support;

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::json;

use leak_detecting_pool::pool::{CheckoutMeta, DropPolicy, StaticPassword};
use leak_detecting_pool::{Pool, PoolEvent, PoolEvents};
use support::*;

/// How long the sink's call into the pool may take before the lock counts as held.
const HELD: Duration = Duration::from_secs(2);

#[derive(Default)]
struct Reentrant {
    pool: OnceLock<Weak<Pool>>,
    seen: Mutex<Vec<PoolEvent>>,
    under_lock: Mutex<Vec<String>>,
}

impl PoolEvents for Reentrant {
    fn emit(&self, event: PoolEvent) {
        if let Some(pool) = self.pool.get().and_then(Weak::upgrade) {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let _ = tx.send(pool.counts());
            });
            if rx.recv_timeout(HELD).is_err() {
                self.under_lock.lock().push(format!("{event:?}"));
            }
        }
        self.seen.lock().push(event);
    }
}

impl Reentrant {
    fn count(&self, f: impl Fn(&PoolEvent) -> bool) -> usize {
        self.seen.lock().iter().filter(|e| f(e)).count()
    }

    async fn wait_for(&self, what: &str, n: usize, f: impl Fn(&PoolEvent) -> bool) {
        wait_until(what, Duration::from_secs(10), || self.count(&f) >= n).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_event_is_emitted_under_the_pool_lock() {
    let sink = Arc::new(Reentrant::default());
    let pool = Arc::new(Pool::new(
        config(json!({ "max": 4, "leakThresholdMs": 50, "checkIntervalMs": 20 })),
        sink.clone(),
        Arc::new(StaticPassword(common::database().password.clone())),
        tokio::runtime::Handle::current(),
    ));
    sink.pool.set(Arc::downgrade(&pool)).ok();

    // Reported, then released: leakResolved (decided in the release, under the lock).
    let leaky = checkout(&pool).await;
    sink.wait_for("a leak report", 1, |e| {
        matches!(e, PoolEvent::LeaksDetected { .. })
    })
    .await;
    leaky.release(false).unwrap();
    sink.wait_for("leakResolved", 1, |e| {
        matches!(e, PoolEvent::LeakResolved { .. })
    })
    .await;

    // Idle past its own force-release limit: forceRelease, then its connection's removed.
    let stuck = pool
        .connect(CheckoutMeta {
            force_release_after_ms: Some(Some(60)),
            ..Default::default()
        })
        .await
        .unwrap();
    sink.wait_for("an idle reclaim", 1, |e| {
        matches!(e, PoolEvent::ForceRelease { .. })
    })
    .await;
    assert!(!stuck.is_active());
    sink.wait_for("the reclaimed connection's removal", 1, |e| {
        matches!(e, PoolEvent::Removed { .. })
    })
    .await;

    // A handle dropped unreleased with the JS policy: reclaimed as a leak.
    let mut dropped = checkout(&pool).await;
    dropped.set_drop_policy(DropPolicy::ReclaimAsLeak);
    drop(dropped);
    sink.wait_for("a dropped-handle reclaim", 2, |e| {
        matches!(e, PoolEvent::ForceRelease { .. })
    })
    .await;

    // A checked-out connection whose backend dies, then released: removed at once (its
    // socket has already ended).
    let dying = checkout(&pool).await;
    assert!(terminate_backend(dying.pid()).await);
    sink.wait_for("the holder's error", 1, |e| {
        matches!(e, PoolEvent::ClientError { .. })
    })
    .await;
    let removed_before = sink.count(|e| matches!(e, PoolEvent::Removed { .. }));
    dying.release(false).unwrap();
    sink.wait_for("the dead connection's removal", removed_before + 1, |e| {
        matches!(e, PoolEvent::Removed { .. })
    })
    .await;

    // An idle connection whose backend dies: idleError, then removed.
    let c = checkout(&pool).await;
    let pid = c.pid();
    c.release(false).unwrap();
    assert!(terminate_backend(pid).await);
    sink.wait_for("idleError", 1, |e| matches!(e, PoolEvent::IdleError { .. }))
        .await;

    // end(): every idle connection's removal.
    let a = checkout(&pool).await;
    let b = checkout(&pool).await;
    a.release(false).unwrap();
    b.release(false).unwrap();
    let removed_before = sink.count(|e| matches!(e, PoolEvent::Removed { .. }));
    within("end()", Duration::from_secs(10), pool.end().unwrap()).await;
    assert!(
        sink.count(|e| matches!(e, PoolEvent::Removed { .. })) >= removed_before + 2,
        "end() resolved before the idle connections' removed events"
    );

    let under_lock = sink.under_lock.lock().clone();
    assert!(
        under_lock.is_empty(),
        "events emitted while the pool's lock was held: {under_lock:#?}"
    );
}
