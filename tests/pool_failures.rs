//! Failure paths against the real server: acquire timeouts, maxUses, destroying releases,
//! double release, pool.query errors, transactions left open, backends killed while idle or
//! checked out, and a server that is down then back.

mod common;
mod support;

use std::time::{Duration, Instant};

use serde_json::json;

use leak_detecting_pool::error::Site;
use leak_detecting_pool::pool::CheckoutMeta;
use leak_detecting_pool::{Error, PoolEvent};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acquire_timeout_with_a_full_pool_names_the_holders() {
    let (pool, _) = pool(json!({ "max": 1, "connectionTimeoutMillis": 150 }));
    let meta = CheckoutMeta {
        tag: Some("report-job".into()),
        location: Some("holdsForever (src/jobs.js:42:7)".into()),
        ..Default::default()
    };
    let holder = pool.connect(meta).await.unwrap();

    let started = Instant::now();
    let fut = pool.connect(CheckoutMeta::default());
    assert_eq!(pool.counts().waiting, 1);
    let err = match fut.await {
        Ok(_) => panic!("connect should time out with a full pool"),
        Err(e) => e,
    };
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(140),
        "timed out too early: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(3),
        "timed out too late: {waited:?}"
    );
    assert_eq!(err.code(), "LDP_ACQUIRE_TIMEOUT");
    let msg = err.to_string();
    assert!(
        msg.starts_with("timeout exceeded when trying to connect"),
        "{msg}"
    );
    assert!(msg.contains("1/1 in use"), "{msg}");
    assert!(
        msg.contains("holdsForever (src/jobs.js:42:7)"),
        "holder missing from: {msg}"
    );
    match &err {
        Error::AcquireTimeout(x) => {
            assert_eq!((x.in_use, x.max), (1, 1), "{x:?}");
            assert_eq!(x.holders.len(), 1, "{x:?}");
            let h = &x.holders[0];
            assert_eq!(
                h.site,
                Site::Location("holdsForever (src/jobs.js:42:7)".into()),
                "{x:?}"
            );
            assert_eq!(h.count, 1, "{x:?}");
            assert!(h.max_held_ms >= 140, "{x:?}");
        }
        other => panic!("expected AcquireTimeout, got {other:?}"),
    }
    // The timed-out waiter left the queue and no slot was lost.
    let c = pool.counts();
    assert_eq!((c.total, c.waiting, c.active), (1, 0, 1), "{c:?}");

    // A tag-only holder is named by its tag.
    holder.release(false).unwrap();
    let tagged_holder = pool.connect(tagged("nightly")).await.unwrap();
    let err = pool
        .connect(CheckoutMeta::default())
        .await
        .err()
        .expect("timeout");
    assert!(err.to_string().contains("tag:nightly"), "{err}");
    tagged_holder.release(false).unwrap();

    // Once released, connect works again on the same connection.
    let again = within(
        "connect after release",
        Duration::from_secs(5),
        checkout(&pool),
    )
    .await;
    assert!(!again.is_new());
    again.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_uses_retires_a_connection() {
    let (pool, events) = pool(json!({ "max": 1, "maxUses": 2 }));
    let c = checkout(&pool).await;
    let first_pid = c.pid();
    let first_conn = c.conn_id();
    c.release(false).unwrap();
    assert_eq!(pool.counts().idle, 1);

    let c = checkout(&pool).await;
    assert_eq!(c.pid(), first_pid, "second use should reuse the connection");
    c.release(false).unwrap();
    // Second use spent it: removed synchronously.
    let counts = pool.counts();
    assert_eq!((counts.total, counts.idle), (0, 0), "{counts:?}");
    events
        .wait_for(
            "Removed",
            1,
            Duration::from_secs(5),
            |e| matches!(e, PoolEvent::Removed { conn_id, .. } if *conn_id == first_conn),
        )
        .await;

    let c = checkout(&pool).await;
    assert!(c.is_new());
    assert_ne!(c.pid(), first_pid, "a new backend after maxUses");
    c.release(false).unwrap();

    // pool.query counts as a use too.
    let pid3 = pool_run(&pool, simple("SELECT pg_backend_pid()"))
        .await
        .ok();
    let pid3: i32 = pid3.value(0, 0).unwrap().parse().unwrap();
    assert_eq!(
        pool.counts().total,
        0,
        "two uses (checkout + pool.query) retire it"
    );
    let c = checkout(&pool).await;
    assert_ne!(c.pid(), pid3);
    c.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_true_destroys_and_release_twice_errors() {
    let (pool, events) = pool(json!({ "max": 2 }));
    let c = checkout(&pool).await;
    let pid = c.pid();
    let conn_id = c.conn_id();
    assert_eq!(pool.counts().total, 1);
    assert!(c.release(true).unwrap());
    let counts = pool.counts();
    assert_eq!(
        (counts.total, counts.idle, counts.active),
        (0, 0, 0),
        "{counts:?}"
    );
    events
        .wait_for(
            "Removed",
            1,
            Duration::from_secs(5),
            |e| matches!(e, PoolEvent::Removed { conn_id: id, .. } if *id == conn_id),
        )
        .await;
    assert!(
        !backend_exists(pid).await,
        "the destroyed backend should be gone"
    );

    // Second release: an error, and counts do not move.
    let err = c.release(false).unwrap_err();
    assert_eq!(err.code(), "LDP_CLIENT_RELEASED");
    assert_eq!(
        err.to_string(),
        "Release called on client which has already been released to the pool."
    );
    assert_eq!(pool.counts().total, 0);

    // Same for a normal release.
    let c = checkout(&pool).await;
    c.release(false).unwrap();
    let err = c.release(true).unwrap_err();
    assert_eq!(err.code(), "LDP_CLIENT_RELEASED");
    let counts = pool.counts();
    assert_eq!(
        (counts.total, counts.idle),
        (1, 1),
        "a second release(true) must not destroy: {counts:?}"
    );

    // Queries on a released client fail clearly.
    let r = run(&c, simple("SELECT 1")).await;
    assert_eq!(r.err_code(), Some("LDP_CLIENT_RELEASED"), "{r:?}");
    assert!(
        r.err_message().unwrap().contains("already been released"),
        "{r:?}"
    );
    assert_eq!(
        c.submit(simple("SELECT 1"))
            .err()
            .map(|e| e.code().to_string())
            .as_deref(),
        Some("LDP_CLIENT_RELEASED")
    );
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_query_error_destroys_the_connection() {
    let (pool, events) = pool(json!({ "max": 2 }));
    let r = pool_run(&pool, simple("SELECT 1/0")).await;
    assert_eq!(r.err_code(), Some("22012"), "{r:?}");
    let counts = pool.counts();
    assert_eq!(
        (counts.total, counts.idle, counts.active),
        (0, 0, 0),
        "{counts:?}"
    );
    events
        .wait_for("Removed", 1, Duration::from_secs(5), |e| {
            matches!(e, PoolEvent::Removed { .. })
        })
        .await;

    // Extended errors too.
    let r = pool_run(&pool, ext("SELECT 1 / $1::int", vec![text(0)])).await;
    assert_eq!(r.err_code(), Some("22012"));
    assert_eq!(pool.counts().total, 0);

    // A successful pool.query keeps its connection.
    pool_run(&pool, simple("SELECT 1")).await.ok();
    let counts = pool.counts();
    assert_eq!((counts.total, counts.idle), (1, 1), "{counts:?}");
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_left_open_is_rolled_back_before_reuse() {
    let (pool, events) = pool(json!({ "max": 1 }));
    let meta = CheckoutMeta {
        location: Some("forgetful (app.js:1:1)".into()),
        ..Default::default()
    };
    let c = pool.connect(meta).await.unwrap();
    let pid = c.pid();
    let checkout_id = c.id();
    run(&c, simple("CREATE TEMP TABLE txn_left (v text)"))
        .await
        .ok();
    run(&c, simple("INSERT INTO txn_left VALUES ('committed')"))
        .await
        .ok();
    let r = run(
        &c,
        simple("BEGIN; INSERT INTO txn_left VALUES ('uncommitted')"),
    )
    .await
    .ok();
    assert_eq!(r.status, Some(b'T'));
    c.release(false).unwrap();
    // The slot stays counted while the rollback runs.
    assert_eq!(pool.counts().total, 1);

    let next = within(
        "checkout after in-transaction release",
        Duration::from_secs(5),
        checkout(&pool),
    )
    .await;
    assert_eq!(
        next.pid(),
        pid,
        "the same connection should be reused after the rollback"
    );
    let r = run(&next, simple("SELECT v FROM txn_left ORDER BY v"))
        .await
        .ok();
    assert_eq!(
        r.status,
        Some(b'I'),
        "the next checkout must not be inside a transaction"
    );
    assert_eq!(
        r.rows(),
        [vec![Some("committed".to_string())]],
        "the uncommitted row must be gone"
    );
    next.release(false).unwrap();

    let released: Vec<_> = events
        .snapshot()
        .into_iter()
        .filter_map(|e| match e {
            PoolEvent::ReleasedInTransaction {
                checkout_id,
                status,
                location,
                ..
            } => Some((checkout_id, status, location)),
            _ => None,
        })
        .collect();
    assert_eq!(
        released,
        vec![(
            checkout_id,
            b'T',
            Some("forgetful (app.js:1:1)".to_string())
        )]
    );

    // A failed transaction (status E) is rolled back too.
    let c = checkout(&pool).await;
    let r = run(&c, simple("BEGIN; SELECT 1/0")).await;
    assert_eq!(r.status, Some(b'E'));
    c.release(false).unwrap();
    let c = within(
        "checkout after failed-txn release",
        Duration::from_secs(5),
        checkout(&pool),
    )
    .await;
    assert_eq!(c.pid(), pid);
    assert_eq!(run(&c, simple("SELECT 1")).await.ok().status, Some(b'I'));
    c.release(false).unwrap();
    assert_eq!(
        events.count(|e| matches!(e, PoolEvent::ReleasedInTransaction { status: b'E', .. })),
        1
    );
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_killed_while_idle_is_removed_with_an_error_event() {
    let (pool, events) = pool(json!({ "max": 3 }));
    let a = checkout(&pool).await;
    let b = checkout(&pool).await;
    let (a_pid, a_conn) = (a.pid(), a.conn_id());
    a.release(false).unwrap();
    b.release(false).unwrap();
    assert_eq!(pool.counts().idle, 2);

    assert!(
        terminate_backend(a_pid).await,
        "pg_terminate_backend({a_pid}) failed"
    );
    events
        .wait_for(
            "Removed of the killed conn",
            1,
            Duration::from_secs(5),
            |e| matches!(e, PoolEvent::Removed { conn_id, .. } if *conn_id == a_conn),
        )
        .await;
    let counts = pool.counts();
    assert_eq!(
        (counts.total, counts.idle, counts.active),
        (1, 1, 0),
        "{counts:?}"
    );
    let idle_errors: Vec<_> = events
        .snapshot()
        .into_iter()
        .filter_map(|e| match e {
            PoolEvent::IdleError { conn_id, error, .. } => Some((conn_id, error)),
            _ => None,
        })
        .collect();
    assert_eq!(
        idle_errors.len(),
        1,
        "exactly one IdleError: {idle_errors:?}"
    );
    assert_eq!(idle_errors[0].0, a_conn);
    assert_eq!(events.count(|e| matches!(e, PoolEvent::Removed { .. })), 1);
    assert_eq!(
        events.count(|e| matches!(e, PoolEvent::ClientError { .. })),
        0
    );

    // The survivor is handed out, and the pool can grow again.
    let c = checkout(&pool).await;
    assert_ne!(c.pid(), a_pid);
    let d = checkout(&pool).await;
    assert!(d.is_new());
    run(&d, simple("SELECT 1")).await.ok();
    assert_eq!(pool.counts().total, 2);
    c.release(false).unwrap();
    d.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_killed_while_checked_out_fails_queries_and_release_frees_the_slot() {
    let (pool, events) = pool(json!({ "max": 2 }));
    let c = checkout(&pool).await;
    let (pid, conn_id) = (c.pid(), c.conn_id());
    run(&c, simple("SELECT 1")).await.ok();
    assert!(terminate_backend(pid).await);
    events
        .wait_for(
            "ClientError",
            1,
            Duration::from_secs(5),
            |e| matches!(e, PoolEvent::ClientError { conn_id: id, .. } if *id == conn_id),
        )
        .await;
    assert_eq!(
        events.count(|e| matches!(e, PoolEvent::IdleError { .. })),
        0,
        "not an idle error"
    );
    assert_eq!(pool.counts().total, 1, "still held by its checkout");

    let r = run(&c, simple("SELECT 1")).await;
    assert_eq!(r.err_code(), Some("LDP_CONNECTION_TERMINATED"), "{r:?}");
    assert_eq!(r.err_message(), Some("Connection terminated unexpectedly"));
    let r = run(&c, ext("SELECT $1::int", vec![text(1)])).await;
    assert_eq!(r.err_code(), Some("LDP_CONNECTION_TERMINATED"), "{r:?}");

    assert!(c.release(false).unwrap());
    let counts = pool.counts();
    assert_eq!(
        (counts.total, counts.idle, counts.active),
        (0, 0, 0),
        "a dead connection is never idled: {counts:?}"
    );
    events
        .wait_for(
            "Removed",
            1,
            Duration::from_secs(5),
            |e| matches!(e, PoolEvent::Removed { conn_id: id, .. } if *id == conn_id),
        )
        .await;

    let c = checkout(&pool).await;
    assert_ne!(c.pid(), pid);
    run(&c, simple("SELECT 1")).await.ok();
    c.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_killed_during_a_query_answers_that_query() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    let pid = c.pid();
    let rx = c.submit(simple("SELECT pg_sleep(30)")).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(terminate_backend(pid).await);
    let r = Reply::parse(
        &within("the in-flight query's reply", Duration::from_secs(5), rx)
            .await
            .unwrap(),
    );
    assert!(
        r.err_code().is_some(),
        "the in-flight query must fail: {r:?}"
    );
    c.release(false).unwrap();
    assert_eq!(pool.counts().total, 0);
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_server_fails_connect_without_losing_slots_then_recovers() {
    let mut cluster = common::ThrowawayCluster::start();
    let opts = json!({
        "host": cluster.host,
        "port": cluster.port,
        "user": cluster.user,
        "database": cluster.database,
        "max": 2,
        "connectionTimeoutMillis": 3000,
    });
    let (pool, events) = pool_with(config_from(opts));
    let c = checkout(&pool).await;
    c.release(false).unwrap();
    assert_eq!(pool.counts().idle, 1);

    tokio::task::block_in_place(|| cluster.stop_server());
    // The idle connection dies with the server.
    events
        .wait_for("IdleError", 1, Duration::from_secs(5), |e| {
            matches!(e, PoolEvent::IdleError { .. })
        })
        .await;
    assert_eq!(pool.counts().total, 0);

    for _ in 0..3 {
        let err = within(
            "connect to a dead server",
            Duration::from_secs(5),
            pool.connect(CheckoutMeta::default()),
        )
        .await
        .err()
        .expect("connect to a stopped server must fail");
        // The operating system's name for it, as pg reports Node's socket error.
        assert_eq!(err.code(), "ECONNREFUSED", "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("{}:{}", cluster.host, cluster.port)),
            "message should name the server: {msg}"
        );
        let counts = pool.counts();
        assert_eq!(
            (counts.total, counts.waiting, counts.active),
            (0, 0, 0),
            "no lost slots: {counts:?}"
        );
    }
    // pool.query reports it as a client error frame.
    let r = pool_run(&pool, simple("SELECT 1")).await;
    assert_eq!(r.err_code(), Some("ECONNREFUSED"), "{r:?}");
    assert_eq!(pool.counts().total, 0);

    tokio::task::block_in_place(|| cluster.start_server());
    let c = within(
        "connect after restart",
        Duration::from_secs(10),
        checkout(&pool),
    )
    .await;
    assert!(c.is_new());
    run(&c, simple("SELECT 1")).await.ok();
    c.release(false).unwrap();
    let counts = pool.counts();
    assert_eq!((counts.total, counts.idle), (1, 1), "{counts:?}");
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_timeout_against_a_silent_server_frees_the_slot() {
    // A listener that accepts and never answers the startup packet.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut socks = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            socks.push(s);
        }
    });
    let (pool, _) = pool_with(config_from(json!({
        "host": "127.0.0.1", "port": port, "user": "nobody", "database": "nowhere",
        "max": 1, "connectionTimeoutMillis": 200,
    })));
    let started = Instant::now();
    let fut = pool.connect(CheckoutMeta::default());
    assert_eq!(pool.counts().total, 1);
    let err = within("connect to a silent server", Duration::from_secs(3), fut)
        .await
        .err()
        .expect("must time out");
    assert!(
        started.elapsed() >= Duration::from_millis(190),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.code(), "LDP_CONNECT_TIMEOUT", "{err:?}");
    assert_eq!(
        err.to_string(),
        "Connection terminated due to connection timeout"
    );
    let c = pool.counts();
    assert_eq!((c.total, c.waiting), (0, 0), "{c:?}");
    pool.end().unwrap().await;
    hold.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_waiting_rejects_extra_callers_at_once() {
    let (pool, _) = pool(json!({ "max": 1, "maxWaiting": 1 }));
    let held = checkout(&pool).await;
    let queued = pool.connect(CheckoutMeta::default());
    let err = within(
        "rejected connect",
        Duration::from_millis(500),
        pool.connect(CheckoutMeta::default()),
    )
    .await
    .err()
    .expect("queue full");
    assert_eq!(err.code(), "LDP_QUEUE_FULL", "{err:?}");
    assert!(err.to_string().contains("maxWaiting (1)"), "{err}");
    let c = pool.counts();
    assert_eq!((c.total, c.waiting), (1, 1), "{c:?}");
    held.release(false).unwrap();
    let c2 = within("queued connect", Duration::from_secs(3), queued)
        .await
        .unwrap();
    c2.release(false).unwrap();
    pool.end().unwrap().await;
}
