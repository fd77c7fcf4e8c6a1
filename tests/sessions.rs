//! Raw sessions (what pg's Submittables need): the caller writes frontend messages itself and
//! receives every backend frame until `ReadyForQuery`. A portal runs in batches (`Execute`
//! with a row limit, `PortalSuspended`); COPY runs both ways — COPY IN with the writer's
//! back-pressure, COPY OUT under flow control (reading stops while the consumer holds a
//! window's worth, resumes on its acknowledgement); an error mid-portal leaves the connection
//! usable; a checkout released with its session open is destroyed; a plain query's
//! `COPY ... FROM STDIN` fails in pg's words.

mod common;
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use postgres_protocol::message::frontend;
use postgres_protocol::IsNull;
use serde_json::json;
use tokio::sync::oneshot;

use support::session::{copy_out_pauses_at_the_window, count, msg, open, types, Frame};
use support::*;

/// Parse (unnamed) + Bind to portal `portal` + Describe + Execute(`rows`) + Flush.
fn open_portal(sql: &str, portal: &str, rows: i32) -> Vec<u8> {
    msg(|b| {
        frontend::parse("", sql, std::iter::empty(), b).unwrap();
        frontend::bind(
            portal,
            "",
            std::iter::empty::<i16>(),
            std::iter::empty::<()>(),
            |_, _| Ok(IsNull::No),
            std::iter::empty::<i16>(),
            b,
        )
        .map_err(|_| "bind")
        .unwrap();
        frontend::describe(b'P', portal, b).unwrap();
        frontend::execute(portal, rows, b).unwrap();
        frontend::flush(b);
    })
}

fn execute(portal: &str, rows: i32) -> Vec<u8> {
    msg(|b| {
        frontend::execute(portal, rows, b).unwrap();
        frontend::flush(b);
    })
}

fn close_and_sync(portal: &str) -> Vec<u8> {
    msg(|b| {
        frontend::close(b'P', portal, b).unwrap();
        frontend::sync(b);
    })
}

fn data_rows(frames: &[Frame]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| f.ty == b'D')
        .map(|f| String::from_utf8_lossy(&f.body[6..]).into_owned())
        .collect()
}

/// A session's write, waiting for its back-pressure callback when the socket did not take it.
async fn write(c: &leak_detecting_pool::Checkout, bytes: &[u8], waits: &AtomicUsize) {
    let (tx, rx) = oneshot::channel();
    if !c.session_write(
        bytes,
        Box::new(move || {
            let _ = tx.send(());
        }),
    ) {
        waits.fetch_add(1, Ordering::SeqCst);
        within("the socket taking a write", Duration::from_secs(20), rx)
            .await
            .expect("the written callback runs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_runs_in_batches_and_the_connection_is_usable_after() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    let mut s = open(
        &c,
        &open_portal("SELECT g FROM generate_series(1, 5) g", "C_1", 2),
    );
    let f = s.until("the first batch", |f| count(f, b's') == 1).await;
    assert_eq!(types(&f), "12TDDs");
    assert_eq!(data_rows(&f), ["1", "2"]);
    assert!(
        s.last().is_none(),
        "the session is open until its ReadyForQuery"
    );
    assert!(c.is_active());

    let waits = AtomicUsize::new(0);
    write(&c, &execute("C_1", 2), &waits).await;
    s.until("the second batch", |f| count(f, b's') == 2).await;
    write(&c, &execute("C_1", 2), &waits).await;
    let f = s.until("the portal's end", |f| count(f, b'C') == 1).await;
    assert_eq!(data_rows(&f), ["1", "2", "3", "4", "5"]);
    assert_eq!(f.last().unwrap().text(), "SELECT 1");
    assert!(s.last().is_none());

    write(&c, &close_and_sync("C_1"), &waits).await;
    let f = s.ended().await;
    assert_eq!(types(&f), "12TDDsDDsDC3Z");
    assert_eq!(f.last().unwrap().body, b"I");
    // Nothing of the session leaks into the next request.
    let r = run(&c, simple("SELECT 42")).await.ok();
    assert_eq!(r.value(0, 0), Some("42"));
    c.release(false).unwrap();
    assert_eq!(
        pool.counts().idle,
        1,
        "a finished session leaves the connection reusable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_mid_portal_reaches_the_session_and_the_connection_recovers() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    let mut s = open(
        &c,
        &open_portal("SELECT 10 / (3 - g) FROM generate_series(1, 5) g", "C_e", 2),
    );
    s.until("the first batch", |f| count(f, b's') == 1).await;
    let waits = AtomicUsize::new(0);
    write(&c, &execute("C_e", 2), &waits).await;
    let f = s.until("the error", |f| count(f, b'E') == 1).await;
    let err = f.iter().find(|f| f.ty == b'E').unwrap();
    assert!(
        String::from_utf8_lossy(&err.body).contains("22012"),
        "division by zero"
    );
    assert!(s.last().is_none(), "the server waits for a Sync");
    write(&c, &msg(frontend::sync), &waits).await;
    let f = s.ended().await;
    assert_eq!(f.last().unwrap().ty, b'Z');
    let r = run(&c, simple("SELECT 'after'")).await.ok();
    assert_eq!(r.value(0, 0), Some("after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_in_streams_with_back_pressure() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    run(
        &c,
        simple(
            "CREATE TEMP TABLE ldp_copy_in (n int, s text);
             CREATE FUNCTION pg_temp.ldp_slow() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN IF NEW.n = 1 THEN PERFORM pg_sleep(1); END IF; RETURN NEW; END $$;
             CREATE TRIGGER ldp_slow BEFORE INSERT ON ldp_copy_in
               FOR EACH ROW EXECUTE FUNCTION pg_temp.ldp_slow();",
        ),
    )
    .await
    .ok();
    let mut s = open(
        &c,
        &msg(|b| frontend::query("COPY ldp_copy_in FROM STDIN", b).unwrap()),
    );
    s.until("CopyInResponse", |f| count(f, b'G') == 1).await;

    // The server sleeps on the first row while ~40 MB arrive: the socket fills and the writer
    // must wait for the written callbacks.
    let lines = 400_000;
    let waits = AtomicUsize::new(0);
    let mut chunk = String::new();
    let mut sum: u64 = 0;
    for n in 1..=lines {
        sum += n;
        chunk.push_str(&format!("{n}\t{}\n", "x".repeat(90)));
        if chunk.len() >= 64 * 1024 || n == lines {
            let m = msg(|b| {
                frontend::CopyData::new(chunk.as_bytes()).unwrap().write(b);
            });
            write(&c, &m, &waits).await;
            chunk.clear();
        }
    }
    write(&c, &msg(frontend::copy_done), &waits).await;
    let f = s.ended().await;
    let tag = f.iter().find(|f| f.ty == b'C').expect("CommandComplete");
    assert_eq!(tag.text(), format!("COPY {lines}"));
    assert!(
        waits.load(Ordering::SeqCst) > 0,
        "a stalled server made the writer wait"
    );
    let r = run(&c, simple("SELECT count(*), sum(n) FROM ldp_copy_in"))
        .await
        .ok();
    assert_eq!(r.value(0, 0), Some(lines.to_string().as_str()));
    assert_eq!(r.value(0, 1), Some(sum.to_string().as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_out_is_flow_controlled() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    copy_out_pauses_at_the_window(&c).await;
    let r = run(&c, simple("SELECT 1")).await.ok();
    assert_eq!(r.value(0, 0), Some("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_released_in_mid_session_is_destroyed() {
    let (pool, events) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    let pid = c.pid();
    let mut s = open(
        &c,
        &open_portal("SELECT g FROM generate_series(1, 100) g", "C_r", 1),
    );
    s.until("the first row", |f| count(f, b's') == 1).await;
    c.release(false).unwrap();
    let f = s.ended().await;
    assert_eq!(
        f.last().unwrap().ty,
        b'!',
        "answered: the connection was closed"
    );
    events
        .wait_for("the removal", 1, Duration::from_secs(10), |e| {
            matches!(e, leak_detecting_pool::PoolEvent::Removed { .. })
        })
        .await;
    let c2 = checkout(&pool).await;
    assert_ne!(
        c2.pid(),
        pid,
        "a new connection, not the one left mid-protocol"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_copy_from_stdin_fails_in_pgs_words() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    run(&c, simple("CREATE TEMP TABLE ldp_copy_plain (n int)"))
        .await
        .ok();
    let r = run(&c, simple("COPY ldp_copy_plain FROM STDIN")).await;
    assert_eq!(r.err_code(), Some("57014"));
    assert_eq!(
        r.err_message(),
        Some("COPY from stdin failed: No source stream defined")
    );
    let r = run(&c, simple("SELECT count(*) FROM ldp_copy_plain"))
        .await
        .ok();
    assert_eq!(r.value(0, 0), Some("0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_on_a_released_checkout_is_answered_at_once() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    c.release(false).unwrap();
    let mut s = open(&c, &msg(|b| frontend::query("SELECT 1", b).unwrap()));
    let f = s.ended().await;
    assert_eq!(types(&f), "!");
    let waits = AtomicUsize::new(0);
    // Writing to it does nothing and does not wait.
    write(&c, &msg(frontend::sync), &waits).await;
    assert_eq!(waits.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_statements_share_one_record_of_named_statements() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    // A plain named statement is visible to a session's caller...
    run(&c, named("ldp_plain", "SELECT $1::int + 1", vec![text(1)]))
        .await
        .ok();
    assert_eq!(
        c.named_statement("ldp_plain").as_deref(),
        Some("SELECT $1::int + 1")
    );
    assert_eq!(c.named_statement("ldp_other"), None);
    // ...and one a session parsed, once noted, is reused by a plain statement (a second Parse
    // of the name would fail with 42P05).
    let sql = "SELECT $1::int * 10";
    let mut s = open(
        &c,
        &msg(|b| {
            frontend::parse("ldp_sess", sql, std::iter::empty(), b).unwrap();
            frontend::sync(b);
        }),
    );
    let f = s.ended().await;
    assert_eq!(types(&f), "1Z");
    c.note_named_statement("ldp_sess", sql);
    let r = run(&c, named("ldp_sess", sql, vec![text(4)])).await.ok();
    assert_eq!(r.value(0, 0), Some("40"));
}
