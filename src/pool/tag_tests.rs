//! Tag limits on paused time, against a fake server that completes startup (`pg::fake`):
//! a tag at its limit holds back only its own callers, its slot accounting stays exact under
//! random interleavings of acquires, releases, timeouts, limit changes and `end()`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::checkout::Checkout;
use super::inner::PoolInner;
use super::state::CheckoutMeta;
use crate::error::{Error, Site};
use crate::pg::fake::FakeServer;

fn pool(port: u16, extra: serde_json::Value) -> Arc<PoolInner> {
    let mut opts = json!({ "port": port, "max": 4, "tagLimits": { "export": 2 } });
    for (k, v) in extra.as_object().expect("an object") {
        opts[k] = v.clone();
    }
    PoolInner::for_tests(opts)
}

fn tagged(tag: &str) -> CheckoutMeta {
    CheckoutMeta {
        tag: Some(tag.into()),
        ..CheckoutMeta::default()
    }
}

async fn take(inner: &Arc<PoolInner>, meta: CheckoutMeta) -> Checkout {
    inner.acquire(meta).await.expect("checkout")
}

/// Lets spawned work (the fake server, connection tasks) run.
async fn settle() {
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The book agrees with the registry and the queues: per tag, held = checkouts + queued for
/// the pool (nothing is being opened when this is called).
fn assert_exact(inner: &PoolInner) {
    let st = inner.state.lock();
    for row in st.tags.counts() {
        let checkouts = st
            .checkouts
            .values()
            .filter(|r| r.meta.tag.as_deref() == Some(&row.tag))
            .count();
        let queued = st
            .waiters
            .iter()
            .filter(|w| w.tag.as_deref() == Some(&row.tag))
            .count();
        assert_eq!(row.held, checkouts + queued, "tag {}", row.tag);
        if let Some(limit) = row.limit {
            assert!(row.waiting == 0 || row.held >= limit, "{row:?}");
        }
    }
    assert!(st.total <= inner.config.max);
}

#[tokio::test(start_paused = true)]
async fn a_tag_at_its_limit_waits_while_untagged_and_other_tags_are_served() {
    let server = FakeServer::silent().await;
    let inner = pool(server.port, json!({}));
    let a = take(&inner, tagged("export")).await;
    let _b = take(&inner, tagged("export")).await;
    let third = tokio::spawn(inner.acquire(tagged("export")));
    settle().await;
    assert_eq!(
        inner.counts().waiting,
        1,
        "the third export waits for its tag"
    );
    assert_eq!(inner.counts().total, 2, "no connection is opened for it");
    // Untagged and other tags pass it: the pool has room.
    let u = take(&inner, CheckoutMeta::default()).await;
    let o = take(&inner, tagged("other")).await;
    assert_eq!(inner.counts().active, 4);
    assert_exact(&inner);
    a.release(false).expect("released");
    let c = third
        .await
        .expect("joined")
        .expect("served once export has room");
    assert_eq!(c.conn_id(), a.conn_id(), "the freed connection goes to it");
    assert_exact(&inner);
    let row = inner.state.lock().tags.counts();
    assert_eq!(
        row.iter()
            .map(|r| (r.tag.as_str(), r.held))
            .collect::<Vec<_>>(),
        vec![("export", 2), ("other", 1)]
    );
    for x in [c, u, o] {
        x.release(false).expect("released");
    }
}

#[tokio::test(start_paused = true)]
async fn a_caller_timing_out_at_its_tag_is_told_the_tag_and_its_holders() {
    let server = FakeServer::silent().await;
    let inner = pool(server.port, json!({ "connectionTimeoutMillis": 500 }));
    let mut held = Vec::new();
    for _ in 0..2 {
        let meta = CheckoutMeta {
            location: Some("report.js:7".into()),
            ..tagged("export")
        };
        held.push(take(&inner, meta).await);
    }
    let e = inner
        .acquire(tagged("export"))
        .await
        .err()
        .expect("times out");
    let Error::TagLimitTimeout(x) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(x.tag.as_deref(), Some("export"));
    assert_eq!((x.in_use, x.max), (2, 2));
    assert_eq!(x.holders.len(), 1);
    assert_eq!(x.holders[0].site, Site::Location("report.js:7".into()));
    assert_eq!(e.code(), "LDP_TAG_LIMIT_TIMEOUT");
    assert!(e.to_string().starts_with(
        "timeout exceeded when trying to connect (tag \"export\" at its limit, 2/2 in use: 2 held by report.js:7"
    ));
    assert_eq!(inner.counts().waiting, 0);
    assert_eq!(inner.state.lock().tags.counts()[0].timeouts, 1);
    assert_exact(&inner);
}

#[tokio::test(start_paused = true)]
async fn raising_a_limit_lets_waiters_through_and_end_fails_the_rest() {
    let server = FakeServer::silent().await;
    let inner = pool(server.port, json!({ "tagLimits": { "export": 1 } }));
    let pool = super::Pool {
        inner: inner.clone(),
    };
    let a = take(&inner, tagged("export")).await;
    let w1 = tokio::spawn(inner.acquire(tagged("export")));
    let w2 = tokio::spawn(inner.acquire(tagged("export")));
    settle().await;
    assert_eq!(inner.counts().waiting, 2);
    pool.set_tag_limit("export", Some(2));
    let b = w1
        .await
        .expect("joined")
        .expect("passes once the limit is raised");
    settle().await;
    assert_eq!(inner.counts().waiting, 1, "still one over the new limit");
    // Moving a checkout to another tag frees a slot of its old one.
    assert!(pool.update_checkout(a.id(), |m| m.tag = Some("other".into())));
    let c = w2
        .await
        .expect("joined")
        .expect("passes once a slot is freed");
    assert_exact(&inner);
    let w3 = tokio::spawn(inner.acquire(tagged("export")));
    settle().await;
    assert_eq!(inner.counts().waiting, 1);
    let ending = inner.clone().end().expect("first end()");
    assert!(matches!(w3.await.expect("joined"), Err(Error::PoolEnded)));
    for x in [a, b, c] {
        x.release(false).expect("released");
    }
    ending.await;
    let st = inner.state.lock();
    assert_eq!(st.tags.sizes(), (0, 0), "nothing held, nobody waiting");
    std::mem::forget(pool); // its drop would only wake the reaper, which never started
}

#[tokio::test(start_paused = true)]
async fn slot_accounting_stays_exact_under_random_interleavings() {
    let server = FakeServer::silent().await;
    let inner = pool(
        server.port,
        json!({ "connectionTimeoutMillis": 30, "tagLimits": { "a": 1, "b": 2 } }),
    );
    let tags = [Some("a"), Some("b"), Some("c"), None];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut held: Vec<Checkout> = Vec::new();
    let mut pending = Vec::new();
    for _ in 0..300 {
        match next(4) {
            0 | 1 => {
                let meta = match tags[next(4) as usize] {
                    Some(t) => tagged(t),
                    None => CheckoutMeta::default(),
                };
                pending.push(tokio::spawn(inner.acquire(meta)));
            }
            2 if !held.is_empty() => {
                let c = held.swap_remove(next(held.len() as u64) as usize);
                c.release(next(5) == 0).expect("released once");
            }
            _ => tokio::time::sleep(Duration::from_millis(next(20))).await,
        }
        settle().await;
        let (done, waiting): (Vec<_>, Vec<_>) = pending.into_iter().partition(|p| p.is_finished());
        pending = waiting;
        for p in done {
            match p.await.expect("joined") {
                Ok(c) => held.push(c),
                Err(Error::AcquireTimeout(_)) | Err(Error::TagLimitTimeout(_)) => {}
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_exact(&inner);
    }
    for c in held.drain(..) {
        c.release(false).expect("released");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    for p in pending {
        if let Ok(c) = p.await.expect("joined") {
            c.release(false).expect("released");
        }
    }
    assert_exact(&inner);
    let st = inner.state.lock();
    assert_eq!(st.tags.sizes(), (0, 0), "every slot came back");
    assert!(st.checkouts.is_empty() && st.waiters.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_tag_slot_given_back_while_the_pool_queue_is_served_moves_its_caller_into_line() {
    let server = FakeServer::silent().await;
    let inner = pool(server.port, json!({}));
    let a = take(&inner, tagged("export")).await;
    let _b = take(&inner, tagged("export")).await;
    let u1 = take(&inner, CheckoutMeta::default()).await;
    let u2 = take(&inner, CheckoutMeta::default()).await;
    let third = tokio::spawn(inner.acquire(tagged("export")));
    settle().await;
    let w1 = tokio::spawn(inner.acquire(CheckoutMeta::default()));
    let w2 = tokio::spawn(inner.acquire(CheckoutMeta::default()));
    settle().await;
    // Export has room again; the freed connection goes to the first in the pool's line, and
    // the export caller joins that line now, ahead of anyone who comes later.
    a.release(false).expect("released");
    let w1 = w1.await.expect("joined").expect("w1 served");
    let w3 = tokio::spawn(inner.acquire(CheckoutMeta::default()));
    settle().await;
    u1.release(false).expect("released");
    let w2 = w2.await.expect("joined").expect("w2 served");
    u2.release(false).expect("released");
    let c = tokio::time::timeout(Duration::from_millis(100), third)
        .await
        .expect("the export caller is served before a later untagged one")
        .expect("joined")
        .expect("served");
    assert!(!w3.is_finished(), "the later caller still waits");
    assert_exact(&inner);
    for x in [c, w1, w2] {
        x.release(false).expect("released");
    }
    w3.await
        .expect("joined")
        .expect("w3 served")
        .release(false)
        .expect("released");
}

#[tokio::test(start_paused = true)]
async fn a_caller_let_through_by_its_tag_never_gets_an_idle_connection_that_has_ended() {
    let server = FakeServer::silent().await;
    let inner = pool(server.port, json!({}));
    let e1 = take(&inner, tagged("export")).await;
    let _e2 = take(&inner, tagged("export")).await;
    let u = take(&inner, CheckoutMeta::default()).await;
    let dead = u.conn_id();
    u.release(false).expect("released");
    let third = tokio::spawn(inner.acquire(tagged("export")));
    settle().await;
    {
        // The idle connection's socket has ended; the pool has not heard of it yet.
        let st = inner.state.lock();
        assert_eq!(st.idle.len(), 1);
        assert_eq!(st.idle[0].conn.id(), dead);
        st.idle[0].conn.shared().end_unreported();
    }
    // Destroying an export checkout gives its tag slot back: the waiting export caller joins
    // the pool's line while the only idle connection is the ended one.
    e1.release(true).expect("released");
    let c = tokio::time::timeout(Duration::from_secs(5), third)
        .await
        .expect("the export caller is served")
        .expect("joined")
        .expect("served");
    assert_ne!(c.conn_id(), dead, "handed the ended connection");
    assert!(c.is_new(), "a connection opened for it");
    assert!(inner.state.lock().idle.is_empty());
    assert_exact(&inner);
    c.release(false).expect("released");
}
