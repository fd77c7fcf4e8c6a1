//! `Checkout::release_noting`: a release says whether an event about the checkout may still
//! follow — `leakResolved` (it had been reported) or `releasedInTransaction` (it is cleaned
//! before reuse) — so the JS layer keeps what describes it (its captured stack) only then.

mod common;
mod support;

use std::time::Duration;

use serde_json::json;

use leak_detecting_pool::pool::{CheckoutMeta, Released};
use leak_detecting_pool::PoolEvent;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_release_expects_no_event() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    run(&c, simple("SELECT 1")).await.ok();
    assert_eq!(
        c.release_noting(false).unwrap(),
        Released {
            released: true,
            event_may_follow: false,
            retired: None,
        }
    );
    // A destroying release of an unreported checkout expects none either.
    let c = checkout(&pool).await;
    assert!(!c.release_noting(true).unwrap().event_may_follow);
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_inside_a_transaction_announces_the_event() {
    let (pool, events) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    run(&c, simple("BEGIN")).await.ok();
    let r = c.release_noting(false).unwrap();
    assert!(r.released && r.event_may_follow, "{r:?}");
    events
        .wait_for("ReleasedInTransaction", 1, Duration::from_secs(3), |e| {
            matches!(e, PoolEvent::ReleasedInTransaction { .. })
        })
        .await;
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reported_leak_announces_leak_resolved() {
    let (pool, events) = pool(json!({ "max": 1, "leakThresholdMs": 30, "checkIntervalMs": 10 }));
    let c = pool.connect(CheckoutMeta::default()).await.unwrap();
    events
        .wait_for("LeaksDetected", 1, Duration::from_secs(3), |e| {
            matches!(e, PoolEvent::LeaksDetected { .. })
        })
        .await;
    let r = c.release_noting(false).unwrap();
    assert!(r.released && r.event_may_follow, "{r:?}");
    assert_eq!(
        events.count(|e| matches!(e, PoolEvent::LeakResolved { .. })),
        1
    );
    // A second release is an error, and says nothing more.
    assert!(c.release_noting(false).is_err());
    pool.end().unwrap().await;
}
