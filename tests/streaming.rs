//! `Pool::query_streaming`: a long result reaches the caller in parts while it is still
//! arriving. Concatenated, the parts are the reply a plain `query` gets; every part but the
//! last is whole frames of at least `STREAM_CHUNK` bytes; an error after streamed rows ends
//! the last part; a lost connection ends the last part with the error.

mod common;
mod support;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::json;
use tokio::sync::oneshot;

use leak_detecting_pool::pg::Statement;
use leak_detecting_pool::pg::STREAM_CHUNK;
use leak_detecting_pool::Pool;
use support::*;

type Parts = Arc<Mutex<Vec<Vec<u8>>>>;

/// Starts a streaming `pool.query`: the parts collect in the first, the final part arrives
/// through the second.
fn start_streaming(pool: &Pool, stmt: Statement) -> (Parts, oneshot::Receiver<Vec<u8>>) {
    let parts = Parts::default();
    let sink = parts.clone();
    let (tx, rx) = oneshot::channel();
    pool.query_streaming(
        stmt,
        Some(Arc::new(move |part: Vec<u8>| sink.lock().push(part))),
        move |last, served| {
            // The connection it ran on is named (JS emits pg's checkout events with it).
            let served = served.expect("a served query names its connection");
            assert!(served.conn_id > 0 && served.pid > 0, "{served:?}");
            let _ = tx.send(last.expect("an acquire that succeeds"));
        },
    );
    (parts, rx)
}

/// The parts in arrival order, then the final part.
async fn streamed(pool: &Pool, stmt: Statement) -> (Vec<Vec<u8>>, Vec<u8>) {
    let (parts, rx) = start_streaming(pool, stmt);
    let last = within("the streamed reply", Duration::from_secs(20), rx)
        .await
        .expect("reply");
    let parts = std::mem::take(&mut *parts.lock());
    (parts, last)
}

/// Whether `bytes` is a run of whole frames.
fn whole_frames(bytes: &[u8]) -> bool {
    let mut pos = 0;
    while pos + 5 <= bytes.len() {
        let len = i32::from_be_bytes([
            bytes[pos + 1],
            bytes[pos + 2],
            bytes[pos + 3],
            bytes[pos + 4],
        ]) as usize;
        pos += 1 + len;
    }
    pos == bytes.len()
}

const BIG: &str = "SELECT i, repeat('x', 100) AS pad FROM generate_series(1, 20000) i";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_result_arrives_in_parts_that_add_up_to_the_reply() {
    let (pool, _) = pool(json!({ "max": 1 }));
    for stmt in [simple(BIG), ext(BIG, vec![])] {
        let whole = pool.query(stmt.clone()).await;
        let (parts, last) = streamed(&pool, stmt).await;
        assert!(
            parts.len() >= 10,
            "a ~2.5 MB result in {} parts",
            parts.len()
        );
        for p in &parts {
            assert!(p.len() >= STREAM_CHUNK, "part of {} bytes", p.len());
            assert!(whole_frames(p), "a part ends inside a frame");
        }
        assert!(whole_frames(&last));
        let mut joined: Vec<u8> = parts.concat();
        joined.extend_from_slice(&last);
        assert_eq!(joined, whole, "the parts add up to the plain reply");
        let r = Reply::parse(&joined).ok();
        assert_eq!(r.rows().len(), 20000);
        assert_eq!(r.tags(), vec!["SELECT 20000"]);
    }
    // A short result is not streamed.
    let (parts, last) = streamed(&pool, simple("SELECT 1")).await;
    assert!(parts.is_empty());
    assert_eq!(Reply::parse(&last).ok().value(0, 0), Some("1"));
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_after_streamed_rows_ends_the_last_part_and_the_connection_is_dropped() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let first_pid = query_backend_pid(&pool).await;
    let (parts, last) = streamed(
        &pool,
        simple("SELECT i, repeat('x', 100), 1 / (15000 - i) FROM generate_series(1, 20000) i"),
    )
    .await;
    assert!(!parts.is_empty(), "rows before the error were streamed");
    let mut joined = parts.concat();
    joined.extend_from_slice(&last);
    let r = Reply::parse(&joined);
    assert_eq!(r.err_code(), Some("22012"), "{}", r.frame_types);
    // pg-pool destroys the connection a failed pool.query ran on; the pool serves the next.
    assert_ne!(query_backend_pid(&pool).await, first_pid);
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_mid_stream_ends_the_reply_with_the_error() {
    let (pool, _) = pool(json!({ "max": 1, "application_name": "ldp_it_stream_kill" }));
    let pid = query_backend_pid(&pool).await;
    // Rows flow, then the backend sleeps mid-result and is terminated while it does.
    let stmt = simple(
        "SELECT i, repeat('x', 100), CASE WHEN i = 10000 THEN pg_sleep(30) END \
         FROM generate_series(1, 20000) i",
    );
    let (parts, rx) = start_streaming(&pool, stmt);
    wait_until("some rows streamed", Duration::from_secs(10), || {
        !parts.lock().is_empty()
    })
    .await;
    assert!(terminate_backend(pid).await);
    let last = within("the final part", Duration::from_secs(10), rx)
        .await
        .unwrap();
    // The server's FATAL (57P01) if it got out before the socket closed, else ours.
    let r = Reply::parse(&last);
    assert!(
        matches!(
            r.err_code(),
            Some("57P01") | Some("LDP_CONNECTION_TERMINATED")
        ),
        "{:?} in {}",
        r.err_code(),
        r.frame_types
    );
    pool.end().unwrap().await;
}
