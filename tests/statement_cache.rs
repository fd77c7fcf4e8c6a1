//! The per-connection prepared-statement cache and caller-named statements, observed on the
//! server through `pg_prepared_statements` from the same checkout.

mod common;
mod support;

use serde_json::json;

use leak_detecting_pool::Checkout;
use support::*;

/// `(name, statement)` of every prepared statement of this session, by name.
async fn prepared(c: &Checkout) -> Vec<(String, String)> {
    rows(
        c,
        simple("SELECT name, statement FROM pg_prepared_statements ORDER BY name"),
    )
    .await
    .into_iter()
    .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
    .collect()
}

/// Names of prepared statements whose text is `sql`.
async fn names_for(c: &Checkout, sql: &str) -> Vec<String> {
    prepared(c)
        .await
        .into_iter()
        .filter(|(_, s)| s == sql)
        .map(|(n, _)| n)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_sql_reuses_one_cached_prepared_statement() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    let sql = "SELECT $1::int + 100 AS v";
    let r = run(&c, ext(sql, vec![text(1)])).await.ok();
    assert_eq!(
        (r.columns(), r.value(0, 0)),
        (&["v".to_string()][..], Some("101"))
    );
    let names = names_for(&c, sql).await;
    assert_eq!(names.len(), 1, "{:?}", prepared(&c).await);
    assert!(
        names[0].starts_with("ldp_"),
        "cached statements are named ldp_*: {names:?}"
    );

    // Second and third runs: same statement, columns still reported (from the cache).
    for i in 2..4 {
        let r = run(&c, ext(sql, vec![text(i)])).await.ok();
        assert_eq!(r.columns(), ["v"]);
        assert_eq!(r.value(0, 0), Some((100 + i).to_string().as_str()));
        assert_eq!(r.tags(), vec!["SELECT 1"]);
    }
    assert_eq!(names_for(&c, sql).await, names, "no re-prepare on reuse");
    // The server executed that one statement three times.
    let plans = rows(
        &c,
        ext(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE name = $1",
            vec![text(&names[0])],
        ),
    )
    .await;
    assert_eq!(plans, vec![vec![Some("3".to_string())]]);

    // Simple-protocol queries are never prepared.
    run(&c, simple("SELECT 42")).await.ok();
    assert!(names_for(&c, "SELECT 42").await.is_empty());
    c.release(false).unwrap();

    // The cache belongs to the connection: still there on the next checkout.
    let c = checkout(&pool).await;
    run(&c, ext(sql, vec![text(5)])).await.ok();
    assert_eq!(names_for(&c, sql).await, names);
    c.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_cache_size_zero_prepares_nothing() {
    let (pool, _) = pool(json!({ "max": 1, "statementCacheSize": 0 }));
    let c = checkout(&pool).await;
    let sql = "SELECT $1::text || '!' AS v";
    for _ in 0..3 {
        let r = run(&c, ext(sql, vec![text("hi")])).await.ok();
        assert_eq!(
            (r.columns(), r.value(0, 0)),
            (&["v".to_string()][..], Some("hi!"))
        );
    }
    assert_eq!(
        prepared(&c).await,
        Vec::<(String, String)>::new(),
        "statementCacheSize 0 must leave no prepared statement"
    );
    c.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_evicts_least_recently_used_and_closes_it_on_the_server() {
    let (pool, _) = pool(json!({ "max": 1, "statementCacheSize": 2 }));
    let c = checkout(&pool).await;
    let (a, b, d) = (
        "SELECT $1::int AS a",
        "SELECT $1::int AS b",
        "SELECT $1::int AS d",
    );
    run(&c, ext(a, vec![text(1)])).await.ok();
    run(&c, ext(b, vec![text(1)])).await.ok();
    run(&c, ext(a, vec![text(1)])).await.ok(); // a is now the most recent
    run(&c, ext(d, vec![text(1)])).await.ok(); // evicts b
                                               // The Close of b goes out before the next request.
    let stmts: Vec<String> = prepared(&c).await.into_iter().map(|(_, s)| s).collect();
    assert!(
        stmts.contains(&a.to_string()) && stmts.contains(&d.to_string()),
        "{stmts:?}"
    );
    assert!(
        !stmts.contains(&b.to_string()),
        "evicted statement must be closed: {stmts:?}"
    );
    assert_eq!(stmts.len(), 2, "{stmts:?}");
    c.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_named_statements_and_uniqueness() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    let sql = "SELECT $1::int * 3 AS tripled";
    for i in 1..4 {
        let r = run(&c, named("triple", sql, vec![text(i)])).await.ok();
        assert_eq!(r.columns(), ["tripled"]);
        assert_eq!(r.value(0, 0), Some((i * 3).to_string().as_str()));
    }
    let p = prepared(&c).await;
    assert!(
        p.contains(&("triple".to_string(), sql.to_string())),
        "{p:?}"
    );
    assert!(
        !p.iter().any(|(n, _)| n.starts_with("ldp_")),
        "a named statement bypasses the cache: {p:?}"
    );

    // Same name, different text: pg's error, and nothing sent to the server.
    let r = run(&c, named("triple", "SELECT $1::int * 4", vec![text(1)])).await;
    let e = r
        .client_error
        .as_ref()
        .unwrap_or_else(|| panic!("expected a client error: {r:?}"));
    assert_eq!(e.code, "LDP_STATEMENT_NAME_REUSED");
    assert!(
        e.message.starts_with("Prepared statements must be unique"),
        "{}",
        e.message
    );
    assert!(e.message.contains("'triple'"), "{}", e.message);
    // The connection and the original statement still work.
    assert_eq!(
        run(&c, named("triple", sql, vec![text(5)]))
            .await
            .ok()
            .value(0, 0),
        Some("15")
    );

    // A named statement that fails to parse is forgotten: the name can be reused.
    let r = run(&c, named("broken", "SELEC $1", vec![text(1)])).await;
    assert_eq!(r.err_code(), Some("42601"), "{r:?}");
    let r = run(
        &c,
        named("broken", "SELECT $1::int AS fixed", vec![text(9)]),
    )
    .await
    .ok();
    assert_eq!(r.value(0, 0), Some("9"));
    c.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deallocate_all_then_cached_sql_still_works() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    let sql = "SELECT $1::int - 1 AS v";
    run(&c, ext(sql, vec![text(10)])).await.ok();
    run(&c, ext(sql, vec![text(10)])).await.ok();
    run(&c, named("mine", "SELECT 'named'::text AS n", vec![]))
        .await
        .ok();
    let before = names_for(&c, sql).await;
    assert_eq!(before.len(), 1);

    let r = run(&c, simple("DEALLOCATE ALL")).await.ok();
    assert_eq!(r.tags(), vec!["DEALLOCATE ALL"]);
    assert_eq!(prepared(&c).await, Vec::<(String, String)>::new());

    let r = run(&c, ext(sql, vec![text(10)])).await.ok();
    assert_eq!(
        (r.columns(), r.value(0, 0)),
        (&["v".to_string()][..], Some("9"))
    );
    let after = names_for(&c, sql).await;
    assert_eq!(after.len(), 1, "re-prepared once");
    assert!(after[0].starts_with("ldp_"));
    assert_eq!(
        run(&c, ext(sql, vec![text(3)])).await.ok().value(0, 0),
        Some("2")
    );
    // The named statement can be prepared again, even with another text.
    let r = run(&c, named("mine", "SELECT 'again'::text AS n", vec![]))
        .await
        .ok();
    assert_eq!(r.value(0, 0), Some("again"));

    // DISCARD ALL forgets too.
    run(&c, simple("DISCARD ALL")).await.ok();
    assert_eq!(
        run(&c, ext(sql, vec![text(1)])).await.ok().value(0, 0),
        Some("0")
    );
    c.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_plan_after_alter_table_is_reprepared_transparently() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    run(
        &c,
        simple("CREATE TEMP TABLE stale_t (a int); INSERT INTO stale_t VALUES (1)"),
    )
    .await
    .ok();
    let sql = "SELECT * FROM stale_t WHERE a = $1::int";
    for _ in 0..2 {
        let r = run(&c, ext(sql, vec![text(1)])).await.ok();
        assert_eq!(r.columns(), ["a"]);
        assert_eq!(r.rows(), [vec![Some("1".to_string())]]);
    }
    run(
        &c,
        simple("ALTER TABLE stale_t ADD COLUMN b text DEFAULT 'bee'"),
    )
    .await
    .ok();

    // Outside a transaction block, the stale statement ("cached plan must not change result
    // type", 0A000) is run again, re-parsed, as pg (which never caches) would have succeeded.
    for _ in 0..3 {
        let r = run(&c, ext(sql, vec![text(1)])).await.ok();
        assert_eq!(r.columns(), ["a", "b"]);
        assert_eq!(
            r.rows(),
            [vec![Some("1".to_string()), Some("bee".to_string())]]
        );
    }
    assert_eq!(
        names_for(&c, sql).await.len(),
        1,
        "the stale statement was closed: {:?}",
        prepared(&c).await
    );

    // Inside a transaction block the error has aborted the transaction: it reaches the caller.
    run(&c, simple("BEGIN")).await.ok();
    run(&c, simple("ALTER TABLE stale_t ADD COLUMN c int"))
        .await
        .ok();
    let r = run(&c, ext(sql, vec![text(1)])).await;
    let e = r
        .error
        .as_ref()
        .unwrap_or_else(|| panic!("expected the stale-plan error: {r:?}"));
    assert_eq!(e.code, "0A000", "{e:?}");
    assert!(
        e.message
            .contains("cached plan must not change result type"),
        "{e:?}"
    );
    assert_eq!(r.status, Some(b'E'));
    run(&c, simple("ROLLBACK")).await.ok();
    assert_eq!(
        run(&c, ext(sql, vec![text(1)])).await.ok().columns(),
        ["a", "b"]
    );
    c.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_twins_and_failed_executes_keep_the_cache_consistent() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    let sql = "SELECT 100 / $1::int AS q";
    // Pipelined twins of the same new SQL: one Parse, the others unnamed.
    let rxs: Vec<_> = (1..6)
        .map(|i| c.submit(ext(sql, vec![text(i)])).unwrap())
        .collect();
    for (i, rx) in rxs.into_iter().enumerate() {
        let r = Reply::parse(&rx.await.unwrap()).ok();
        assert_eq!(r.value(0, 0), Some((100 / (i + 1)).to_string().as_str()));
    }
    assert_eq!(names_for(&c, sql).await.len(), 1);
    // An execute error on a cached statement keeps it usable.
    let r = run(&c, ext(sql, vec![text(0)])).await;
    assert_eq!(r.err_code(), Some("22012"));
    assert_eq!(
        run(&c, ext(sql, vec![text(4)])).await.ok().value(0, 0),
        Some("25")
    );
    assert_eq!(
        names_for(&c, sql).await.len(),
        1,
        "{:?}",
        prepared(&c).await
    );

    // A first run whose execute fails does not leave a dangling statement.
    let sql2 = "SELECT 7 / $1::int AS q2";
    let r = run(&c, ext(sql2, vec![text(0)])).await;
    assert_eq!(r.err_code(), Some("22012"));
    assert_eq!(
        run(&c, ext(sql2, vec![text(7)])).await.ok().value(0, 0),
        Some("1")
    );
    assert_eq!(
        names_for(&c, sql2).await.len(),
        1,
        "{:?}",
        prepared(&c).await
    );
    c.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_statement_deallocated_by_name_is_reprepared() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    let sql = "SELECT $1::int AS gone";
    run(&c, ext(sql, vec![text(1)])).await.ok();
    let names = names_for(&c, sql).await;
    assert_eq!(names.len(), 1);
    run(&c, simple(&format!("DEALLOCATE {}", names[0])))
        .await
        .ok();
    // 26000 (prepared statement does not exist) outside a transaction: re-parsed and run again.
    let r = run(&c, ext(sql, vec![text(2)])).await.ok();
    assert_eq!(r.value(0, 0), Some("2"));
    let r = run(&c, ext(sql, vec![text(3)])).await.ok();
    assert_eq!(r.value(0, 0), Some("3"));
    assert_eq!(names_for(&c, sql).await.len(), 1);
    c.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_cached_statement_serves_text_and_binary_results_each_described_as_asked() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    let sql = "SELECT $1::int AS n, 'x'::text AS t";
    // Text first (cached), then binary, text and binary again: one statement, each reply
    // described and encoded in the format it asked for.
    for (i, binary) in [false, true, false, true, true, false]
        .into_iter()
        .enumerate()
    {
        let stmt = if binary { ext_binary } else { ext };
        let r = run(&c, stmt(sql, vec![text(42)])).await.ok();
        assert_eq!(r.columns(), ["n", "t"], "run {i}");
        let (formats, n) = if binary {
            ([1, 1], "\0\0\0*")
        } else {
            ([0, 0], "42")
        };
        assert_eq!(r.formats(), formats, "run {i} (binary: {binary})");
        assert_eq!(
            (r.value(0, 0), r.value(0, 1)),
            (Some(n), Some("x")),
            "run {i}"
        );
    }
    assert_eq!(names_for(&c, sql).await.len(), 1, "parsed once");
    c.release(false).unwrap();

    // Cached by a binary run first, then served to a text one.
    let c = checkout(&pool).await;
    let sql = "SELECT $1::int + 1 AS n";
    let r = run(&c, ext_binary(sql, vec![text(1)])).await.ok();
    assert_eq!(
        (r.formats(), r.value(0, 0)),
        (&[1][..], Some("\0\0\0\u{2}"))
    );
    let r = run(&c, ext(sql, vec![text(1)])).await.ok();
    assert_eq!((r.formats(), r.value(0, 0)), (&[0][..], Some("2")));
    assert_eq!(names_for(&c, sql).await.len(), 1, "parsed once");
    c.release(false).unwrap();
    pool.end().unwrap().await;
}
