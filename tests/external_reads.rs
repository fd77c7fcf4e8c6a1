//! Plain sockets read by a `ReadScheduler` instead of reader tasks (what the JS binding does
//! on the JS thread): queries, pipelined requests, streamed long results, a terminated
//! backend, a reclaimed checkout whose statement is still running, and `end()` all behave as
//! with reader tasks. The scheduler here drives each reader from a task that waits for the
//! socket to be readable — a stand-in for libuv's poll handle.

mod common;
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use leak_detecting_pool::pg::{ExternalReader, ReadScheduler};
use leak_detecting_pool::pool::{ReclaimReason, StaticPassword};
use leak_detecting_pool::Pool;
use support::*;

/// Drives each adopted reader from its own task; counts adoptions and finished readers.
#[derive(Default)]
struct TaskReads {
    adopted: AtomicUsize,
    finished: Arc<AtomicUsize>,
}

impl ReadScheduler for TaskReads {
    fn adopt(&self, mut reader: ExternalReader) {
        self.adopted.fetch_add(1, Ordering::SeqCst);
        let finished = self.finished.clone();
        tokio::spawn(async move {
            #[allow(deprecated)]
            let fd = AsyncFd::with_interest(reader.fd(), Interest::READABLE).expect("register");
            loop {
                let mut ready = fd.readable().await.expect("readable");
                if !reader.on_readable() {
                    break;
                }
                ready.clear_ready();
            }
            drop(fd);
            drop(reader);
            finished.fetch_add(1, Ordering::SeqCst);
        });
    }
}

fn external_pool(extra: Value) -> (Pool, Arc<TaskReads>) {
    let reads = Arc::new(TaskReads::default());
    let pool = Pool::builder(config(extra))
        .events(Arc::new(support::Events::default()))
        .password(Arc::new(StaticPassword(
            common::database().password.clone(),
        )))
        .read_scheduler(reads.clone())
        .build(tokio::runtime::Handle::current());
    (pool, reads)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_and_pipelined_requests_are_answered() {
    let (pool, reads) = external_pool(json!({ "max": 2 }));
    let r = pool_run(&pool, ext("SELECT $1::int + 1", vec![text(41)]))
        .await
        .ok();
    assert_eq!(r.value(0, 0), Some("42"));
    assert!(
        reads.adopted.load(Ordering::SeqCst) >= 1,
        "the scheduler read it"
    );
    // Several requests in flight on one connection come back in order.
    let c = checkout(&pool).await;
    let pending: Vec<_> = (0..20)
        .map(|i| c.submit(ext("SELECT $1::int", vec![text(i)])).unwrap())
        .collect();
    for (i, rx) in pending.into_iter().enumerate() {
        let r = Reply::parse(&rx.await.unwrap()).ok();
        assert_eq!(r.value(0, 0), Some(i.to_string().as_str()));
    }
    c.release(false).unwrap();
    // A long result streams through the same reader.
    let r = pool_run(
        &pool,
        simple("SELECT i, repeat('x', 100) FROM generate_series(1, 20000) i"),
    )
    .await
    .ok();
    assert_eq!(r.rows().len(), 20000);
    pool.end().unwrap().await;
    wait_until("every reader finished", Duration::from_secs(5), || {
        reads.finished.load(Ordering::SeqCst) == reads.adopted.load(Ordering::SeqCst)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_backend_ends_its_reader_and_the_pool_replaces_it() {
    let (pool, reads) = external_pool(json!({ "max": 1, "application_name": "ldp_it_ext_kill" }));
    let pid = query_backend_pid(&pool).await;
    assert!(terminate_backend(pid).await);
    wait_until(
        "the dead connection's reader finished",
        Duration::from_secs(5),
        || reads.finished.load(Ordering::SeqCst) >= 1,
    )
    .await;
    assert_ne!(query_backend_pid(&pool).await, pid);
    pool.end().unwrap().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reclaiming_a_busy_checkout_answers_its_statement_at_once() {
    let (pool, _reads) = external_pool(json!({ "max": 1, "application_name": "ldp_it_ext_abort" }));
    let c = checkout(&pool).await;
    let rx = c.submit(simple("SELECT pg_sleep(30)")).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    pool.reclaim(c.id(), ReclaimReason::Idle)
        .expect("the checkout was held");
    // The abort shuts the socket's reading side: the reader sees the end at once.
    let reply = within("the aborted statement's reply", Duration::from_secs(5), rx)
        .await
        .unwrap();
    let r = Reply::parse(&reply);
    assert_eq!(
        r.err_code(),
        Some("LDP_CONNECTION_TERMINATED"),
        "{}",
        r.frame_types
    );
    // The slot is free again.
    let r = within(
        "a query after the reclaim",
        Duration::from_secs(5),
        pool_run(&pool, simple("SELECT 1")),
    )
    .await
    .ok();
    assert_eq!(r.value(0, 0), Some("1"));
    within("end()", Duration::from_secs(5), pool.end().unwrap()).await;
}
