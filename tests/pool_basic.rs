//! Queries through the pool against the real server: simple and multi-statement simple
//! queries, extended queries with text/NULL/binary parameters, errors that leave the
//! connection usable, and counters that change synchronously with connect/release.

mod common;
mod support;

use std::time::Duration;

use serde_json::json;

use leak_detecting_pool::pg::Param;
use leak_detecting_pool::pool::CheckoutMeta;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_query_returns_rows_and_tag() {
    let (pool, _) = pool(json!({ "max": 2 }));
    let r = pool_run(
        &pool,
        simple("SELECT 1 AS one, 'two'::text AS two, NULL::int AS three"),
    )
    .await
    .ok();
    assert_eq!(r.tags(), vec!["SELECT 1"]);
    assert_eq!(r.columns(), ["one", "two", "three"]);
    assert_eq!(
        r.rows(),
        [vec![Some("1".to_string()), Some("two".to_string()), None]]
    );
    assert_eq!(r.status, Some(b'I'));
    let counts = pool.counts();
    assert_eq!(
        (counts.total, counts.idle, counts.active),
        (1, 1, 0),
        "{counts:?}"
    );
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_statement_simple_query_reports_every_tag_in_order() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    let r = run(
        &c,
        simple(
            "CREATE TEMP TABLE multi_t (x int); \
             INSERT INTO multi_t VALUES (1), (2); \
             UPDATE multi_t SET x = x * 10; \
             SELECT x FROM multi_t ORDER BY x; \
             DELETE FROM multi_t WHERE x = 10; \
             DROP TABLE multi_t",
        ),
    )
    .await
    .ok();
    assert_eq!(
        r.tags(),
        vec![
            "CREATE TABLE",
            "INSERT 0 2",
            "UPDATE 2",
            "SELECT 2",
            "DELETE 1",
            "DROP TABLE"
        ]
    );
    let select = &r.results[3];
    assert_eq!(select.columns, ["x"]);
    assert_eq!(
        select.rows,
        vec![vec![Some("10".to_string())], vec![Some("20".to_string())]]
    );

    // An empty query answers EmptyQueryResponse, then ReadyForQuery.
    let r = run(&c, simple("")).await.ok();
    assert_eq!((r.empty_queries, r.results.len()), (1, 0), "{r:?}");

    c.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_query_with_text_null_and_binary_params() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    let sql = "SELECT $1::int + 1 AS n, $2::text IS NULL AS is_null, $2::text AS null_value, \
               $3::bytea AS bytes, $4::int4 AS bin_int, $5::text AS unicode";
    let params = vec![
        text(41),
        Param::Null,
        Param::Binary(vec![0xde, 0xad, 0x00, 0xbe, 0xef]),
        Param::Binary(7i32.to_be_bytes().to_vec()),
        text("héllo ✓"),
    ];
    for _ in 0..2 {
        // Twice: first a named Parse, then the cached statement.
        let r = run(&c, ext(sql, params.clone())).await.ok();
        assert_eq!(r.tags(), vec!["SELECT 1"]);
        assert_eq!(
            r.columns(),
            ["n", "is_null", "null_value", "bytes", "bin_int", "unicode"]
        );
        assert_eq!(
            r.rows(),
            [vec![
                Some("42".to_string()),
                Some("t".to_string()),
                None,
                Some("\\xdead00beef".to_string()),
                Some("7".to_string()),
                Some("héllo ✓".to_string()),
            ]]
        );
    }
    // Extended non-SELECT statements report their tag too.
    let r = run(
        &c,
        ext(
            "CREATE TEMP TABLE ext_t AS SELECT g FROM generate_series(1, $1::int) g",
            vec![text(3)],
        ),
    )
    .await
    .ok();
    assert_eq!(r.tags(), vec!["SELECT 3"]);
    let r = run(&c, ext("UPDATE ext_t SET g = g + $1::int", vec![text(1)]))
        .await
        .ok();
    assert_eq!(r.tags(), vec!["UPDATE 3"]);
    c.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_leaves_the_checked_out_connection_usable() {
    let (pool, events) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    let pid = c.pid();

    let r = run(&c, simple("SELECT 1/0")).await;
    let e = r
        .error
        .as_ref()
        .unwrap_or_else(|| panic!("expected an error: {r:?}"));
    assert_eq!(
        (e.code.as_str(), e.message.as_str(), e.severity.as_str()),
        ("22012", "division by zero", "ERROR")
    );
    assert_eq!(r.status, Some(b'I'));
    assert_eq!(
        rows(&c, simple("SELECT 2")).await,
        vec![vec![Some("2".to_string())]]
    );

    // Extended: a failing parse, a failing execute, then success.
    let r = run(&c, ext("SELEC nonsense $1", vec![text(1)])).await;
    assert_eq!(r.err_code(), Some("42601"), "{r:?}");
    let r = run(&c, ext("SELECT 10 / $1::int", vec![text(0)])).await;
    assert_eq!(r.err_code(), Some("22012"), "{r:?}");
    let r = run(&c, ext("SELECT 10 / $1::int", vec![text(5)]))
        .await
        .ok();
    assert_eq!(r.value(0, 0), Some("2"));

    // Inside a transaction the error aborts it; the status byte says so; ROLLBACK recovers.
    run(&c, simple("BEGIN")).await.ok();
    let r = run(&c, simple("SELECT 1/0")).await;
    assert_eq!((r.err_code(), r.status), (Some("22012"), Some(b'E')));
    let r = run(&c, simple("SELECT 1")).await;
    assert_eq!(r.err_code(), Some("25P02"), "{r:?}");
    let r = run(&c, simple("ROLLBACK")).await.ok();
    assert_eq!(
        (r.tags(), r.status),
        (vec!["ROLLBACK".to_string()], Some(b'I'))
    );
    assert_eq!(
        rows(&c, simple("SELECT 3")).await,
        vec![vec![Some("3".to_string())]]
    );

    assert_eq!(c.pid(), pid);
    c.release(false).unwrap();
    // Same backend next time: the error did not cost the connection.
    let c2 = checkout(&pool).await;
    assert_eq!(c2.pid(), pid);
    assert!(!c2.is_new());
    c2.release(false).unwrap();
    assert_eq!(
        events.count(|e| matches!(e, leak_detecting_pool::PoolEvent::Removed { .. })),
        0
    );
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_submits_are_answered_in_order() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    let sql = "SELECT $1::int * 2 AS v";
    let rxs: Vec<_> = (0..20)
        .map(|i| {
            if i % 5 == 4 {
                c.submit(simple("SELECT 1/0")).unwrap()
            } else {
                c.submit(ext(sql, vec![text(i)])).unwrap()
            }
        })
        .collect();
    for (i, rx) in rxs.into_iter().enumerate() {
        let r = Reply::parse(&rx.await.expect("reply"));
        if i % 5 == 4 {
            assert_eq!(r.err_code(), Some("22012"), "#{i}: {r:?}");
        } else {
            let r = r.ok();
            assert_eq!(r.value(0, 0), Some((i * 2).to_string().as_str()), "#{i}");
        }
    }
    c.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_change_synchronously() {
    let (pool, _) = pool(json!({ "max": 2 }));
    let c0 = pool.counts();
    assert_eq!((c0.total, c0.idle, c0.waiting, c0.active), (0, 0, 0, 0));

    let f1 = pool.connect(CheckoutMeta::default());
    assert_eq!(pool.counts().total, 1);
    let f2 = pool.connect(CheckoutMeta::default());
    let c = pool.counts();
    assert_eq!((c.total, c.waiting), (2, 0), "{c:?}");
    let f3 = pool.connect(CheckoutMeta::default());
    let c = pool.counts();
    assert_eq!((c.total, c.waiting, c.idle), (2, 1, 0), "{c:?}");

    let a = f1.await.unwrap();
    let b = f2.await.unwrap();
    let c = pool.counts();
    assert_eq!(
        (c.total, c.waiting, c.idle, c.active),
        (2, 1, 0, 2),
        "{c:?}"
    );
    assert!(a.is_new() && b.is_new());

    // Releasing hands the connection to the waiter at once.
    let a_conn = a.conn_id();
    a.release(false).unwrap();
    let c = pool.counts();
    assert_eq!((c.total, c.waiting, c.idle), (2, 0, 0), "{c:?}");
    let third = within("the queued connect", Duration::from_secs(5), f3)
        .await
        .unwrap();
    assert_eq!(third.conn_id(), a_conn);
    assert!(!third.is_new());
    assert_eq!(pool.counts().active, 2);

    b.release(false).unwrap();
    let c = pool.counts();
    assert_eq!((c.total, c.idle, c.active), (2, 1, 1), "{c:?}");
    third.release(false).unwrap();
    let c = pool.counts();
    assert_eq!(
        (c.total, c.idle, c.active, c.waiting),
        (2, 2, 0, 0),
        "{c:?}"
    );

    // The most recently released connection is handed out first (pg's idle stack).
    let again = checkout(&pool).await;
    assert_eq!(again.conn_id(), a_conn);
    assert_eq!(pool.counts().idle, 1);
    drop(again); // Rust checkouts release on drop
    assert_eq!(pool.counts().idle, 2);
    pool.end().unwrap().await;
    let c = pool.counts();
    assert_eq!((c.total, c.idle, c.ended), (0, 0, true), "{c:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pool_queries_share_max_connections() {
    let (pool, _) = pool(json!({ "max": 3 }));
    let pool = std::sync::Arc::new(pool);
    let mut tasks = Vec::new();
    for i in 0..30 {
        let p = pool.clone();
        tasks.push(tokio::spawn(async move {
            let r = Reply::parse(
                &p.query(ext("SELECT $1::int AS i, pg_backend_pid()", vec![text(i)]))
                    .await,
            )
            .ok();
            assert_eq!(r.value(0, 0), Some(i.to_string().as_str()));
            assert!(p.counts().total <= 3);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let c = pool.counts();
    assert!(
        c.total <= 3 && c.total >= 1 && c.idle == c.total && c.waiting == 0,
        "{c:?}"
    );
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timeout_closes_idle_connections_down_to_min() {
    let (pool, events) = pool(json!({ "max": 3, "min": 1, "idleTimeoutMillis": 100 }));
    let cs = vec![
        checkout(&pool).await,
        checkout(&pool).await,
        checkout(&pool).await,
    ];
    for c in &cs {
        c.release(false).unwrap();
    }
    assert_eq!(pool.counts().idle, 3);
    wait_until(
        "idle connections are reaped down to min",
        Duration::from_secs(3),
        || pool.counts().total == 1,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let c = pool.counts();
    assert_eq!((c.total, c.idle), (1, 1), "min keeps one: {c:?}");
    events
        .wait_for("Removed", 2, Duration::from_secs(3), |e| {
            matches!(e, leak_detecting_pool::PoolEvent::Removed { .. })
        })
        .await;
    assert_eq!(
        events.count(|e| matches!(e, leak_detecting_pool::PoolEvent::Removed { .. })),
        2
    );
    assert_eq!(
        events.count(|e| matches!(e, leak_detecting_pool::PoolEvent::IdleError { .. })),
        0
    );
    // The survivor still works.
    pool_run(&pool, simple("SELECT 1")).await.ok();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_with_a_query_in_flight_waits_before_reuse() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    let pid = c.pid();
    let rx = c.submit(simple("SELECT pg_sleep(0.2), 'late'")).unwrap();
    c.release(false).unwrap();
    let counts = pool.counts();
    assert_eq!(
        (counts.total, counts.idle, counts.active),
        (1, 0, 0),
        "still cleaning up: {counts:?}"
    );
    // The next holder gets the connection only after the old reply, and never sees it.
    let next = within(
        "checkout after the in-flight query",
        Duration::from_secs(3),
        checkout(&pool),
    )
    .await;
    assert_eq!(next.pid(), pid);
    let r = run(&next, simple("SELECT 'mine'")).await.ok();
    assert_eq!(r.value(0, 0), Some("mine"));
    let late = Reply::parse(&rx.await.unwrap()).ok();
    assert_eq!(late.value(0, 1), Some("late"));
    next.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_and_notices_become_events() {
    let (pool, events) = pool(json!({ "max": 2 }));
    let listener = checkout(&pool).await;
    run(&listener, simple("LISTEN ldp_it_channel")).await.ok();
    pool_run(
        &pool,
        ext(
            "SELECT pg_notify('ldp_it_channel', $1)",
            vec![text("payload-1")],
        ),
    )
    .await
    .ok();
    events
        .wait_for("Notification", 1, Duration::from_secs(3), |e| {
            matches!(e, leak_detecting_pool::PoolEvent::Notification { .. })
        })
        .await;
    let got: Vec<_> = events
        .snapshot()
        .into_iter()
        .filter_map(|e| match e {
            leak_detecting_pool::PoolEvent::Notification {
                conn_id,
                channel,
                payload,
                ..
            } => Some((conn_id, channel, payload)),
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        vec![(
            listener.conn_id(),
            "ldp_it_channel".to_string(),
            "payload-1".to_string()
        )]
    );

    // A notice raised by a request is part of its reply (before its ReadyForQuery), so that
    // callers see it before the result, as with pg; it is not a separate event.
    let raw = listener
        .query(simple("DO $$ BEGIN RAISE NOTICE 'hello notice'; END $$"))
        .await;
    let r = Reply::parse(&raw).ok();
    assert_eq!(r.tags(), vec!["DO"]);
    assert!(r.frame_types.starts_with('N'), "{:?}", r.frame_types);
    assert!(String::from_utf8_lossy(&raw).contains("hello notice"));
    assert!(!events
        .snapshot()
        .iter()
        .any(|e| matches!(e, leak_detecting_pool::PoolEvent::Notice { .. })));
    listener.release(false).unwrap();
    pool.end().unwrap().await;
}
