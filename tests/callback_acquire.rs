//! Callback-style acquires (`Pool::connect_with` / `try_connect_with`, what the binding and
//! `pool.query` use): an idle connection is returned at once, a queued caller is served inline
//! on the thread that releases a connection (no task between), and every failure — queue
//! full, acquire timeout, pool ended — reaches the callback exactly once with no slot lost.

mod common;
mod support;

use std::sync::mpsc;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use serde_json::json;

use leak_detecting_pool::pool::CheckoutMeta;
use leak_detecting_pool::{Checkout, Error};
use support::*;

type Outcome = (ThreadId, Result<Checkout, Error>);

/// A callback that sends what it got, and on which thread, to the returned receiver.
fn collector() -> (
    impl FnOnce(Result<Checkout, Error>) + Send + 'static,
    mpsc::Receiver<Outcome>,
) {
    let (tx, rx) = mpsc::channel();
    let done = move |r| {
        tx.send((std::thread::current().id(), r)).unwrap();
    };
    (done, rx)
}

/// Waits (off the runtime's threads) for a callback's outcome.
async fn outcome(rx: mpsc::Receiver<Outcome>, within: Duration) -> Outcome {
    tokio::task::spawn_blocking(move || rx.recv_timeout(within).expect("callback never ran"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_returned_directly_and_the_callback_never_runs() {
    let (pool, _) = pool(json!({ "max": 1 }));
    checkout(&pool).await.release(false).unwrap();
    let (done, rx) = collector();
    let c = pool
        .try_connect_with(CheckoutMeta::default(), done)
        .expect("an idle connection is free");
    assert!(!c.is_new());
    let counts = pool.counts();
    assert_eq!((counts.active, counts.idle), (1, 0), "{counts:?}");
    c.release(false).unwrap();
    assert!(
        matches!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected)),
        "the unused callback is dropped, never called"
    );
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_connection_is_opened_for_the_first_caller() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let (done, rx) = collector();
    assert!(pool
        .try_connect_with(CheckoutMeta::default(), done)
        .is_none());
    assert_eq!(pool.counts().total, 1, "the slot is taken synchronously");
    let (_, r) = outcome(rx, Duration::from_secs(5)).await;
    let c = r.expect("connected");
    assert!(c.is_new());
    let reply = run(&c, simple("SELECT 7")).await.ok();
    assert_eq!(reply.value(0, 0), Some("7"));
    c.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_caller_is_served_inline_by_the_release() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let held = checkout(&pool).await;
    let meta = tagged("queued-job");
    let (done, rx) = collector();
    pool.connect_with(meta, done);
    assert_eq!(pool.counts().waiting, 1);
    assert!(rx.try_recv().is_err(), "nothing is free yet");

    held.release(false).unwrap();
    // Served before release returned, on this very thread.
    let (thread, r) = rx.try_recv().expect("served synchronously by the release");
    assert_eq!(thread, std::thread::current().id());
    let c = r.expect("a checkout");
    assert!(!c.is_new(), "the released connection is handed over");
    let counts = pool.counts();
    assert_eq!(
        (counts.active, counts.waiting, counts.idle),
        (1, 0, 0),
        "{counts:?}"
    );
    // The checkout was registered with the waiter's metadata.
    let active = pool.active_checkouts();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].tag.as_deref(), Some("queued-job"));
    c.release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_fails_the_callback_before_connect_with_returns() {
    let (pool, _) = pool(json!({ "max": 1, "maxWaiting": 1 }));
    let held = checkout(&pool).await;
    let (first, first_rx) = collector();
    pool.connect_with(CheckoutMeta::default(), first);
    let (second, second_rx) = collector();
    pool.connect_with(CheckoutMeta::default(), second);
    let (thread, r) = second_rx.try_recv().expect("answered at once");
    assert_eq!(thread, std::thread::current().id());
    let err = r.err().expect("queue full");
    assert_eq!(err.code(), "LDP_QUEUE_FULL", "{err:?}");
    let counts = pool.counts();
    assert_eq!((counts.total, counts.waiting), (1, 1), "{counts:?}");

    held.release(false).unwrap();
    let (_, r) = first_rx.try_recv().expect("the queued caller is served");
    r.unwrap().release(false).unwrap();
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_callback_times_out_and_leaves_the_queue() {
    let (pool, _) = pool(json!({ "max": 1, "connectionTimeoutMillis": 120 }));
    let held = pool
        .connect(CheckoutMeta {
            location: Some("holder (src/app.js:1:1)".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let started = Instant::now();
    let (done, rx) = collector();
    pool.connect_with(CheckoutMeta::default(), done);
    let (_, r) = outcome(rx, Duration::from_secs(3)).await;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(110), "{waited:?}");
    let err = r.err().expect("acquire timeout");
    assert_eq!(err.code(), "LDP_ACQUIRE_TIMEOUT", "{err:?}");
    assert!(err.to_string().contains("holder (src/app.js:1:1)"), "{err}");
    let counts = pool.counts();
    assert_eq!(
        (counts.total, counts.waiting, counts.active),
        (1, 0, 1),
        "{counts:?}"
    );
    // The released connection goes idle instead of to the departed waiter.
    held.release(false).unwrap();
    let counts = pool.counts();
    assert_eq!((counts.idle, counts.active), (1, 0), "{counts:?}");
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_fails_queued_callbacks_with_pool_ended() {
    let (pool, _) = pool(json!({ "max": 1 }));
    let held = checkout(&pool).await;
    let (done, rx) = collector();
    pool.connect_with(CheckoutMeta::default(), done);
    let ending = pool.end().unwrap();
    let (_, r) = rx.try_recv().expect("failed by end() itself");
    assert_eq!(r.err().expect("ended").code(), "LDP_POOL_ENDED");
    held.release(false).unwrap();
    within("end", Duration::from_secs(5), ending).await;

    // After end, a callback acquire fails at once.
    let (done, rx) = collector();
    assert!(pool
        .try_connect_with(CheckoutMeta::default(), done)
        .is_none());
    let (_, r) = rx.try_recv().expect("answered at once");
    assert_eq!(r.err().expect("ended").code(), "LDP_POOL_ENDED");
}
