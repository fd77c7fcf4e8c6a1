//! `pool.end()` against the real server: closing idle connections, refusing new work,
//! failing queued callers, waiting for checkouts, and force-releasing those never released.

mod common;
mod support;

use std::time::{Duration, Instant};

use serde_json::json;

use leak_detecting_pool::pool::{CheckoutMeta, ReclaimReason};
use leak_detecting_pool::{Error, PoolEvent};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_closes_idle_connections_and_refuses_new_work() {
    let (pool, events) = pool(json!({ "max": 3 }));
    let a = checkout(&pool).await;
    let b = checkout(&pool).await;
    let (a_pid, b_pid) = (a.pid(), b.pid());
    let (a_conn, b_conn) = (a.conn_id(), b.conn_id());
    a.release(false).unwrap();
    b.release(false).unwrap();
    assert_eq!(pool.counts().idle, 2);

    let end = pool.end().expect("first end()");
    let c = pool.counts();
    assert_eq!(
        (c.total, c.idle, c.ending, c.ended),
        (0, 0, true, false),
        "idle closed synchronously: {c:?}"
    );
    within("end()", Duration::from_secs(5), end).await;
    let c = pool.counts();
    assert!(c.ended, "{c:?}");
    for id in [a_conn, b_conn] {
        assert_eq!(
            events.count(|e| matches!(e, PoolEvent::Removed { conn_id, .. } if *conn_id == id)),
            1,
            "{:#?}",
            events.snapshot()
        );
    }
    assert_eq!(
        events.count(|e| matches!(e, PoolEvent::IdleError { .. })),
        0,
        "a graceful close is not an error"
    );
    assert_eq!(
        events.count(|e| matches!(e, PoolEvent::ForceRelease { .. })),
        0
    );
    assert!(
        !backend_exists(a_pid).await && !backend_exists(b_pid).await,
        "backends must be gone after end()"
    );

    let err = pool.end().err().expect("second end() must fail");
    assert!(matches!(err, Error::EndCalledTwice), "{err:?}");
    assert_eq!(err.code(), "LDP_END_TWICE");
    assert_eq!(err.to_string(), "Called end on pool more than once");

    let err = pool
        .connect(CheckoutMeta::default())
        .await
        .err()
        .expect("connect after end must fail");
    assert!(matches!(err, Error::PoolEnded), "{err:?}");
    assert_eq!(err.code(), "LDP_POOL_ENDED");
    assert_eq!(
        err.to_string(),
        "Cannot use a pool after calling end on the pool"
    );
    let r = pool_run(&pool, simple("SELECT 1")).await;
    assert_eq!(r.err_code(), Some("LDP_POOL_ENDED"), "{r:?}");
    assert_eq!(pool.counts().total, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_of_an_unused_pool_finishes_at_once() {
    let (pool, _) = pool(json!({}));
    within(
        "end() of an unused pool",
        Duration::from_millis(500),
        pool.end().unwrap(),
    )
    .await;
    assert!(pool.counts().ended);
    assert!(matches!(pool.end().err(), Some(Error::EndCalledTwice)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_fails_queued_callers_and_waits_for_a_checkout_released_in_time() {
    let (pool, events) = pool(json!({ "max": 1, "endTimeoutMs": 5000 }));
    let held = checkout(&pool).await;
    let held_pid = held.pid();
    let queued = pool.connect(CheckoutMeta::default());
    assert_eq!(pool.counts().waiting, 1);

    let end = tokio::spawn(pool.end().unwrap());
    let err = within("the queued connect", Duration::from_secs(2), queued)
        .await
        .err()
        .expect("queued caller fails");
    assert!(matches!(err, Error::PoolEnded), "{err:?}");
    assert_eq!(pool.counts().waiting, 0);

    // The holder may keep using its client during the grace period.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!end.is_finished(), "end() must wait for the checkout");
    run(&held, simple("SELECT 1")).await.ok();
    let released_at = Instant::now();
    assert!(held.release(false).unwrap());
    assert_eq!(
        pool.counts().total,
        0,
        "released during end(): closed, not idled"
    );
    within("end() after the last release", Duration::from_secs(2), end)
        .await
        .unwrap();
    assert!(released_at.elapsed() < Duration::from_secs(1));
    assert!(pool.counts().ended);
    assert_eq!(
        events.count(|e| matches!(e, PoolEvent::ForceRelease { .. })),
        0
    );
    assert!(!backend_exists(held_pid).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_force_releases_a_checkout_never_released() {
    let (pool, events) = pool(json!({ "max": 2, "endTimeoutMs": 300 }));
    let meta = CheckoutMeta {
        tag: Some("never-released".into()),
        ..Default::default()
    };
    let stuck = pool.connect(meta).await.unwrap();
    let idle = checkout(&pool).await;
    idle.release(false).unwrap();
    let (stuck_pid, stuck_conn) = (stuck.pid(), stuck.conn_id());
    run(&stuck, simple("SELECT 1")).await.ok();

    let started = Instant::now();
    let end = pool.end().unwrap();
    assert_eq!(
        pool.counts().total,
        1,
        "the idle connection is closed at once, the checkout stays"
    );
    within(
        "end() with an unreleased checkout",
        Duration::from_secs(3),
        end,
    )
    .await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(290),
        "end() did not wait for endTimeoutMs: {took:?}"
    );
    assert!(
        took < Duration::from_millis(1500),
        "end() took far longer than endTimeoutMs: {took:?}"
    );
    let c = pool.counts();
    assert_eq!((c.total, c.active, c.ended), (0, 0, true), "{c:?}");

    let forced: Vec<_> = events
        .snapshot()
        .into_iter()
        .filter_map(|e| match e {
            PoolEvent::ForceRelease { leak, reason } => Some((leak, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(forced.len(), 1, "{forced:#?}");
    assert_eq!(forced[0].1, ReclaimReason::End);
    assert_eq!(forced[0].0.checkout_id, stuck.id());
    assert_eq!(forced[0].0.conn_id, stuck_conn);
    assert_eq!(forced[0].0.tag.as_deref(), Some("never-released"));
    assert!(forced[0].0.age_ms >= 290, "{forced:#?}");
    assert_eq!(
        events.count(|e| matches!(e, PoolEvent::Removed { conn_id, .. } if *conn_id == stuck_conn)),
        1
    );

    assert!(!stuck.is_active());
    let r = run(&stuck, simple("SELECT 1")).await;
    assert_eq!(r.err_code(), Some("LDP_CLIENT_RECLAIMED"), "{r:?}");
    assert!(
        r.err_message().unwrap().contains("destroyed by pool.end()"),
        "{r:?}"
    );
    assert!(
        !stuck.release(false).unwrap(),
        "release after a forced release is a no-op"
    );
    assert!(!backend_exists(stuck_pid).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_force_releases_a_checkout_stuck_in_a_long_query() {
    let (pool, events) = pool(json!({ "max": 1, "endTimeoutMs": 200 }));
    let busy = checkout(&pool).await;
    let busy_pid = busy.pid();
    let rx = busy.submit(simple("SELECT pg_sleep(30)")).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    within(
        "end() with a checkout stuck in a query",
        Duration::from_secs(3),
        pool.end().unwrap(),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        events.count(|e| matches!(
            e,
            PoolEvent::ForceRelease {
                reason: ReclaimReason::End,
                ..
            }
        )),
        1
    );
    let c = pool.counts();
    assert_eq!((c.total, c.ended), (0, true), "{c:?}");
    // The in-flight query is answered at once, never left hanging.
    let r = Reply::parse(
        &within("the in-flight query", Duration::from_secs(1), rx)
            .await
            .unwrap(),
    );
    assert_eq!(r.err_code(), Some("LDP_CONNECTION_TERMINATED"), "{r:?}");
    assert!(!busy.release(false).unwrap());
    // The statement was cancelled: the backend goes away long before its 30 s sleep ends.
    let deadline = Instant::now() + Duration::from_secs(5);
    while backend_exists(busy_pid).await {
        assert!(
            Instant::now() < deadline,
            "backend {busy_pid} still running its statement after a forced release"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
