//! The leak checker against the real server, with small thresholds: reports (once each,
//! honouring maxLeaksBeforeAlert and per-checkout overrides), forced release of idle
//! checkouts, and implicit pool.query checkouts that are never reported.

mod common;
mod support;

use std::time::{Duration, Instant};

use serde_json::json;

use leak_detecting_pool::pool::{CheckoutMeta, DropPolicy, LeakInfo, ReclaimReason};
use leak_detecting_pool::PoolEvent;
use support::*;

/// Every LeaksDetected report, as lists of leaks.
fn reports(events: &Events) -> Vec<Vec<LeakInfo>> {
    events
        .snapshot()
        .into_iter()
        .filter_map(|e| match e {
            PoolEvent::LeaksDetected { leaks } => Some(leaks),
            _ => None,
        })
        .collect()
}

/// How many times checkout `id` was reported.
fn times_reported(events: &Events, id: u64) -> usize {
    reports(events)
        .iter()
        .flatten()
        .filter(|l| l.checkout_id == id)
        .count()
}

fn force_releases(events: &Events) -> Vec<(LeakInfo, ReclaimReason)> {
    events
        .snapshot()
        .into_iter()
        .filter_map(|e| match e {
            PoolEvent::ForceRelease { leak, reason } => Some((leak, reason)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_checkout_is_reported_exactly_once() {
    let (pool, events) = pool(json!({ "max": 3, "leakThresholdMs": 100, "checkIntervalMs": 20 }));
    let meta = CheckoutMeta {
        tag: Some("leaky".into()),
        location: Some("leaky (src/leaky.js:10:3)".into()),
        ..Default::default()
    };
    let held = pool.connect(meta).await.unwrap();
    run(&held, simple("SELECT 1")).await.ok();
    let acquired = Instant::now();

    // Short checkouts never get reported.
    for _ in 0..5 {
        let c = checkout(&pool).await;
        run(&c, simple("SELECT 1")).await.ok();
        c.release(false).unwrap();
    }

    events
        .wait_for("LeaksDetected", 1, Duration::from_secs(3), |e| {
            matches!(e, PoolEvent::LeaksDetected { .. })
        })
        .await;
    assert!(
        acquired.elapsed() >= Duration::from_millis(90),
        "reported before the threshold"
    );
    // Many more scans (20 ms apart) must not report it again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = reports(&events);
    assert_eq!(all.len(), 1, "exactly one report: {all:#?}");
    assert_eq!(all[0].len(), 1, "only the held checkout: {all:#?}");
    let leak = &all[0][0];
    assert_eq!(leak.checkout_id, held.id());
    assert_eq!(leak.conn_id, held.conn_id());
    assert!(leak.age_ms >= 100, "{leak:?}");
    assert_eq!(leak.tag.as_deref(), Some("leaky"));
    assert_eq!(leak.location.as_deref(), Some("leaky (src/leaky.js:10:3)"));
    assert!(leak.query_count >= 1, "{leak:?}");
    assert!(!leak.in_transaction);

    let row = pool
        .active_checkouts()
        .into_iter()
        .find(|a| a.id == held.id())
        .expect("active row");
    assert!(row.is_potential_leak);
    assert!(!row.implicit);

    // The leaked checkout still works (reporting is not reclaiming), and releasing resolves it.
    run(&held, simple("SELECT 2")).await.ok();
    held.release(false).unwrap();
    let resolved: Vec<_> = events
        .snapshot()
        .into_iter()
        .filter_map(|e| match e {
            PoolEvent::LeakResolved {
                checkout_id,
                held_ms,
                location,
            } => Some((checkout_id, held_ms, location)),
            _ => None,
        })
        .collect();
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0].0, held.id());
    assert!(resolved[0].1 >= 100);
    assert_eq!(resolved[0].2.as_deref(), Some("leaky (src/leaky.js:10:3)"));
    assert_eq!(force_releases(&events).len(), 0);
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_leaks_before_alert_holds_back_the_first() {
    let (pool, events) = pool(json!({
        "max": 3, "leakThresholdMs": 100, "checkIntervalMs": 20, "maxLeaksBeforeAlert": 2,
    }));
    let first = checkout(&pool).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        reports(&events).len(),
        0,
        "a single leak is held back with maxLeaksBeforeAlert 2"
    );
    let row = pool
        .active_checkouts()
        .into_iter()
        .find(|a| a.id == first.id())
        .unwrap();
    assert!(
        row.is_potential_leak,
        "held back but known as a potential leak"
    );

    let second = checkout(&pool).await;
    events
        .wait_for("LeaksDetected", 1, Duration::from_secs(3), |e| {
            matches!(e, PoolEvent::LeaksDetected { .. })
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = reports(&events);
    assert_eq!(all.len(), 1, "{all:#?}");
    let mut ids: Vec<u64> = all[0].iter().map(|l| l.checkout_id).collect();
    ids.sort();
    let mut want = vec![first.id(), second.id()];
    want.sort();
    assert_eq!(ids, want, "both leaks in one report");
    assert!(
        all[0][0].age_ms >= all[0][1].age_ms,
        "oldest first: {all:#?}"
    );
    assert_eq!(times_reported(&events, first.id()), 1);
    first.release(false).unwrap();
    second.release(false).unwrap();
    assert_eq!(
        events.count(|e| matches!(e, PoolEvent::LeakResolved { .. })),
        2
    );
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_checkout_thresholds_override_the_pool() {
    let (pool, events) = pool(json!({ "max": 3, "leakThresholdMs": 60000, "checkIntervalMs": 20 }));
    let exempt = pool
        .connect(CheckoutMeta {
            leak_threshold_ms: Some(None),
            tag: Some("exempt".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let strict = pool
        .connect(CheckoutMeta {
            leak_threshold_ms: Some(Some(80)),
            tag: Some("strict".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let normal = checkout(&pool).await;
    run(&strict, simple("BEGIN")).await.ok();
    events
        .wait_for("LeaksDetected", 1, Duration::from_secs(3), |e| {
            matches!(e, PoolEvent::LeaksDetected { .. })
        })
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let all = reports(&events);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].len(), 1, "{all:#?}");
    assert_eq!(all[0][0].checkout_id, strict.id());
    assert_eq!(all[0][0].tag.as_deref(), Some("strict"));
    assert!(
        all[0][0].in_transaction,
        "reported inside its transaction: {all:#?}"
    );
    assert_eq!(times_reported(&events, exempt.id()), 0);
    assert_eq!(times_reported(&events, normal.id()), 0);

    // Raising a threshold later (setLeakThreshold) also applies.
    assert!(pool.update_checkout(normal.id(), |m| m.leak_threshold_ms = Some(Some(1))));
    events
        .wait_for("second LeaksDetected", 2, Duration::from_secs(3), |e| {
            matches!(e, PoolEvent::LeaksDetected { .. })
        })
        .await;
    assert_eq!(times_reported(&events, normal.id()), 1);
    assert_eq!(times_reported(&events, exempt.id()), 0);
    for c in [exempt, strict, normal] {
        c.release(false).unwrap();
    }
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_release_reclaims_an_idle_checkout() {
    let (pool, events) = pool(json!({
        "max": 1, "leakThresholdMs": 0, "checkIntervalMs": 20, "forceReleaseAfterMs": 200,
    }));
    let stuck = pool.connect(tagged("stuck")).await.unwrap();
    let (stuck_pid, stuck_conn) = (stuck.pid(), stuck.conn_id());
    // Busy for longer than forceReleaseAfterMs: never reclaimed while a query runs.
    run(&stuck, simple("SELECT pg_sleep(0.4)")).await.ok();
    assert!(
        stuck.is_active(),
        "reclaimed during a query: {:#?}",
        events.snapshot()
    );

    // A waiter (exempt from forced release itself) queues behind it.
    let waiter_meta = CheckoutMeta {
        force_release_after_ms: Some(None),
        ..Default::default()
    };
    let waiter = pool.connect(waiter_meta);
    assert_eq!(pool.counts().waiting, 1);
    let idle_since = Instant::now();
    let next = within(
        "the waiter, served after the forced release",
        Duration::from_secs(5),
        waiter,
    )
    .await
    .unwrap();
    assert!(
        idle_since.elapsed() >= Duration::from_millis(150),
        "reclaimed too early: {:?}",
        idle_since.elapsed()
    );
    assert_ne!(
        next.pid(),
        stuck_pid,
        "the reclaimed connection is closed, never reused"
    );
    assert!(next.is_new());

    let forced = force_releases(&events);
    assert_eq!(forced.len(), 1, "{forced:#?}");
    assert_eq!(forced[0].1, ReclaimReason::Idle);
    assert_eq!(forced[0].0.checkout_id, stuck.id());
    assert_eq!(forced[0].0.conn_id, stuck_conn);
    assert_eq!(forced[0].0.tag.as_deref(), Some("stuck"));
    assert!(forced[0].0.idle_ms >= 200, "{forced:#?}");

    let c = pool.counts();
    assert_eq!(
        (c.total, c.active, c.waiting, c.idle),
        (1, 1, 0, 0),
        "{c:?}"
    );

    // Later use by the old holder fails with a message saying what happened.
    assert!(!stuck.is_active());
    let r = run(&stuck, simple("SELECT 1")).await;
    assert_eq!(r.err_code(), Some("LDP_CLIENT_RECLAIMED"), "{r:?}");
    let msg = r.err_message().unwrap();
    assert!(msg.contains("force-released"), "{msg}");
    match stuck.submit(simple("SELECT 1")) {
        Err(leak_detecting_pool::Error::ClientReclaimed(r)) => {
            assert_eq!(r.reason, ReclaimReason::Idle);
            assert!(r.held_ms >= 100, "{r:?}");
            assert!(r.at_ms > 0, "{r:?}");
        }
        other => panic!("expected ClientReclaimed, got {:?}", other.err()),
    }
    // Releasing it now is a silent no-op that does not touch the new holder's slot.
    assert!(!stuck.release(false).unwrap());
    assert!(!stuck.release(true).unwrap());
    let c = pool.counts();
    assert_eq!((c.total, c.active), (1, 1), "{c:?}");

    // Its backend was closed.
    events
        .wait_for(
            "Removed of the reclaimed conn",
            1,
            Duration::from_secs(5),
            |e| matches!(e, PoolEvent::Removed { conn_id, .. } if *conn_id == stuck_conn),
        )
        .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while backend_exists(stuck_pid).await {
        assert!(
            Instant::now() < deadline,
            "backend {stuck_pid} of the reclaimed checkout is still alive"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The exempt holder is never reclaimed.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(next.is_active());
    run(&next, simple("SELECT 1")).await.ok();
    assert_eq!(force_releases(&events).len(), 1);
    next.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_pool_query_checkouts_are_never_reported() {
    let (pool, events) = pool(json!({
        "max": 2, "leakThresholdMs": 50, "checkIntervalMs": 10, "forceReleaseAfterMs": 50,
    }));
    let pool = std::sync::Arc::new(pool);
    let p = pool.clone();
    let slow = tokio::spawn(async move {
        Reply::parse(&p.query(simple("SELECT pg_sleep(0.4), 'done'")).await)
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let rows = pool.active_checkouts();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].implicit);
    assert!(!rows[0].is_potential_leak);
    let r = slow.await.unwrap().ok();
    assert_eq!(r.value(0, 1), Some("done"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(reports(&events).len(), 0, "{:#?}", events.snapshot());
    assert_eq!(force_releases(&events).len(), 0, "{:#?}", events.snapshot());
    let c = pool.counts();
    assert_eq!((c.total, c.idle), (1, 1), "{c:?}");
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_checkout_with_reclaim_policy_reports_it() {
    let (pool, events) = pool(json!({ "max": 1, "leakThresholdMs": 0 }));
    let mut c = checkout(&pool).await;
    let (id, pid) = (c.id(), c.pid());
    c.set_drop_policy(DropPolicy::ReclaimAsLeak);
    drop(c);
    let c = pool.counts();
    assert_eq!((c.total, c.active, c.idle), (0, 0, 0), "{c:?}");
    let forced = force_releases(&events);
    assert_eq!(forced.len(), 1);
    assert_eq!(
        (forced[0].0.checkout_id, forced[0].1),
        (id, ReclaimReason::GarbageCollected)
    );
    let next = checkout(&pool).await;
    assert_ne!(next.pid(), pid);
    next.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_leak_report_carries_the_backtrace_of_the_code_that_took_the_client() {
    let events = std::sync::Arc::new(Events::default());
    let pool = leak_detecting_pool::Pool::builder(config(
        json!({ "max": 2, "leakThresholdMs": 50, "checkIntervalMs": 20 }),
    ))
    .events(events.clone())
    .password(std::sync::Arc::new(
        leak_detecting_pool::pool::StaticPassword(common::database().password.clone()),
    ))
    .capture_backtraces(true)
    .build(tokio::runtime::Handle::current());
    let held = checkout(&pool).await;
    events
        .wait_for("a leak report", 1, Duration::from_secs(5), |e| {
            matches!(e, PoolEvent::LeaksDetected { .. })
        })
        .await;
    let leak = reports(&events)[0][0].clone();
    assert_eq!(leak.checkout_id, held.id());
    let stack = leak.stack.expect("a resolved backtrace");
    assert!(
        stack.contains("a_rust_leak_report_carries_the_backtrace_of_the_code_that_took_the_client"),
        "the test function is not in the report's backtrace:\n{stack}"
    );
    held.release(false).unwrap();

    // Without the switch, nothing is captured.
    let (plain, plain_events) = pool_with(config(
        json!({ "max": 2, "leakThresholdMs": 50, "checkIntervalMs": 20 }),
    ));
    let held = checkout(&plain).await;
    plain_events
        .wait_for("a leak report", 1, Duration::from_secs(5), |e| {
            matches!(e, PoolEvent::LeaksDetected { .. })
        })
        .await;
    assert!(reports(&plain_events)[0][0].stack.is_none());
    held.release(false).unwrap();
}
