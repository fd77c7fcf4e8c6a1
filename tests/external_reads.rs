//! Plain sockets read by a `ReadScheduler` instead of reader tasks (what the JS binding does
//! on the JS thread): queries, pipelined requests, streamed long results, a terminated
//! backend, a reclaimed checkout whose statement is still running, `end()`, and a raw
//! session's flow control (the scheduler stops and resumes a paused reader) all behave as
//! with reader tasks. The scheduler here drives each reader from a task that waits for the
//! socket to be readable — a stand-in for libuv's poll handle.

mod common;
mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;

use serde_json::{json, Value};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use leak_detecting_pool::pg::{ExternalReader, ReadScheduler};
use leak_detecting_pool::pool::{ReclaimReason, StaticPassword};
use leak_detecting_pool::Pool;
use support::*;

/// Drives each adopted reader from its own task; counts adoptions, finished readers and
/// pauses (a paused reader's task waits for `resume` instead of the socket).
#[derive(Default)]
struct TaskReads {
    adopted: AtomicUsize,
    finished: Arc<AtomicUsize>,
    paused: Arc<AtomicUsize>,
    resumes: Mutex<HashMap<u64, Arc<Notify>>>,
}

impl ReadScheduler for TaskReads {
    fn adopt(&self, mut reader: ExternalReader) {
        self.adopted.fetch_add(1, Ordering::SeqCst);
        let finished = self.finished.clone();
        let paused = self.paused.clone();
        let resume = Arc::new(Notify::new());
        self.resumes.lock().insert(reader.conn_id(), resume.clone());
        tokio::spawn(async move {
            #[allow(deprecated)]
            let fd = AsyncFd::with_interest(reader.fd(), Interest::READABLE).expect("register");
            loop {
                if reader.is_paused() {
                    paused.fetch_add(1, Ordering::SeqCst);
                    // `notify_one` keeps a permit for a resume that came first.
                    resume.notified().await;
                    continue;
                }
                let mut ready = fd.readable().await.expect("readable");
                if !reader.on_readable() {
                    break;
                }
                // A paused reader, or one that stopped at its budget, left bytes in the
                // socket: the readiness stays.
                if !reader.is_paused() && !reader.yielded() {
                    ready.clear_ready();
                } else {
                    tokio::task::yield_now().await;
                }
            }
            drop(fd);
            drop(reader);
            finished.fetch_add(1, Ordering::SeqCst);
        });
    }

    fn resume(&self, conn_id: u64) {
        if let Some(r) = self.resumes.lock().get(&conn_id) {
            r.notify_one();
        }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_reader_is_resumed_by_its_scheduler() {
    let (pool, reads) = external_pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    support::session::copy_out_pauses_at_the_window(&c).await;
    assert!(
        reads.paused.load(Ordering::SeqCst) >= 1,
        "the scheduler saw the reader pause"
    );
    let r = run(&c, simple("SELECT 1")).await.ok();
    assert_eq!(r.value(0, 0), Some("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_connection_resumes_its_paused_reader() {
    let (pool, reads) = external_pool(json!({ "max": 1 }));
    let c = checkout(&pool).await;
    let sql = "COPY (SELECT g, repeat('z', 100) FROM generate_series(1, 300000) g) TO STDOUT";
    let mut s = support::session::open(
        &c,
        &support::session::msg(|b| postgres_protocol::message::frontend::query(sql, b).unwrap()),
    );
    wait_until("the reader's pause", Duration::from_secs(10), || {
        reads.paused.load(Ordering::SeqCst) >= 1
    })
    .await;
    // Released mid-COPY: the connection is destroyed, and its paused reader must see the end.
    c.release(false).unwrap();
    let f = s.ended().await;
    assert_eq!(f.last().unwrap().ty, b'!');
    wait_until("the reader's end", Duration::from_secs(10), || {
        reads.finished.load(Ordering::SeqCst) >= 1
    })
    .await;
    assert_eq!(pool.counts().total, 0);
}
