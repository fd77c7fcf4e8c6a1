//! A server that breaks the protocol, against tiny fake servers (`fake.rs`): a message that
//! answers no request, or one that cannot be parsed, fails the connection — every request on
//! it is answered, the listener told why in pg's words — and never panics or hangs; during
//! startup it fails the connection attempt, and a pool gives the slot back.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::json;

use super::fake::{msg, one_row_reply, ready_startup, FakeServer, Responder};
use super::{frames, Conn, ConnListener, Statement};
use crate::config::PoolConfig;
use crate::error::Error;
use crate::pool::{CheckoutMeta, NoEvents, Pool, StaticPassword};

/// Records why the connection closed.
#[derive(Default)]
struct Closed(Mutex<Vec<Option<Error>>>);

impl ConnListener for Closed {
    fn notification(&self, _: u64, _: i32, _: &str, _: &str) {}
    fn notice(&self, _: u64, _: &[u8]) {}
    fn closed(&self, _: u64, error: Option<Error>) {
        self.0.lock().push(error);
    }
}

fn config(port: u16) -> PoolConfig {
    let opts = json!({ "host": "127.0.0.1", "port": port, "user": "u", "database": "d" });
    PoolConfig::from_options(&opts, &|_| None).expect("valid options")
}

/// Answers every query with `reply` (and keeps the socket open).
fn answering(reply: Vec<u8>) -> Responder {
    Arc::new(move |ty, _| match ty {
        b'Q' | b'S' => (reply.clone(), false),
        _ => (Vec::new(), false),
    })
}

async fn connect(server: &FakeServer) -> (crate::error::Result<Conn>, Arc<Closed>) {
    let listener = Arc::new(Closed::default());
    let cfg = config(server.port);
    let conn = Conn::connect(
        1,
        &cfg.connect,
        None,
        || async { Ok(None) },
        0,
        listener.clone(),
        None,
    )
    .await;
    (conn, listener)
}

/// Waits (a little) for the listener to hear that the connection closed; returns why.
async fn closed_with(listener: &Closed) -> Option<Error> {
    for _ in 0..200 {
        if let Some(e) = listener.0.lock().first() {
            return e.clone();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the connection never closed");
}

fn select() -> Statement {
    Statement::Simple("SELECT 1".into())
}

#[tokio::test]
async fn a_result_message_after_ready_for_query_fails_the_connection_in_pgs_words() {
    for (ty, body, name) in [
        (b'1', &b""[..], "parseComplete"),
        (b'C', b"f\0", "commandComplete"),
        (b'T', b"\0\0", "rowDescription"),
        (b'D', b"\0\0", "dataRow"),
        (b's', b"", "portalSuspended"),
        (b'I', b"", "emptyQuery"),
        (b'G', b"\0\0\0", "copyInResponse"),
        (b'd', b"\x01\x02\x03", "copyData"),
    ] {
        let mut reply = one_row_reply();
        reply.extend(msg(ty, body));
        let server = FakeServer::start(ready_startup(), answering(reply)).await;
        let (conn, listener) = connect(&server).await;
        let conn = conn.expect("connected");
        let r = conn.query(select()).await;
        assert_eq!(
            frames::first_error_code(&r),
            None,
            "{name}: the query itself succeeded"
        );
        let err = closed_with(&listener).await.expect("closed with an error");
        assert!(matches!(err, Error::Protocol(_)), "{name}: {err:?}");
        assert_eq!(
            err.to_string(),
            format!("Received unexpected {name} message from backend.")
        );
        assert_eq!(err.code(), "LDP_PROTOCOL");
        assert!(
            conn.shared().is_closed(),
            "{name}: the connection is discarded"
        );
        let later = conn.query(select()).await;
        assert_eq!(
            frames::first_error_code(&later).as_deref(),
            Some("LDP_CONNECTION_TERMINATED"),
            "{name}: nothing more is sent"
        );
    }
}

#[tokio::test]
async fn malformed_messages_answer_every_pending_request_and_never_hang() {
    let cases: [(&str, Vec<u8>); 5] = [
        ("length 0", vec![b'D', 0, 0, 0, 0]),
        ("length 3", vec![b'C', 0, 0, 0, 3]),
        ("length -1", vec![b'T', 0xff, 0xff, 0xff, 0xff]),
        ("a DataRow without body", msg(b'D', b"")),
        (
            "a DataRow longer than its frame",
            msg(b'D', &[0, 1, 0, 0, 0, 9, b'x']),
        ),
    ];
    for (what, bad) in cases {
        let server = FakeServer::start(ready_startup(), answering(bad)).await;
        let (conn, listener) = connect(&server).await;
        let conn = conn.expect("connected");
        // Two requests in flight: both are answered.
        let a = conn.submit(select());
        let b = conn.submit(select());
        for rx in [a, b] {
            let r = tokio::time::timeout(Duration::from_secs(5), rx)
                .await
                .unwrap_or_else(|_| panic!("{what}: a request was never answered"))
                .expect("answered");
            assert_eq!(
                frames::first_error_code(&r).as_deref(),
                Some("LDP_PROTOCOL"),
                "{what}"
            );
        }
        let err = closed_with(&listener).await.expect("closed with an error");
        assert!(
            err.to_string().starts_with("Received malformed"),
            "{what}: {err}"
        );
        assert_eq!(conn.shared().in_flight(), 0);
    }
}

#[tokio::test]
async fn a_malformed_startup_reply_fails_the_attempt_without_panicking() {
    let mut cases: Vec<(&str, Vec<u8>)> = (0..4)
        .map(|n| ("an R shorter than its code", msg(b'R', &[0; 4][..n])))
        .collect();
    cases.push(("an R with length 2", vec![b'R', 0, 0, 0, 2]));
    cases.push((
        "an MD5 request without salt",
        msg(b'R', &5i32.to_be_bytes()),
    ));
    cases.push(("a short BackendKeyData", {
        let mut v = msg(b'R', &0i32.to_be_bytes());
        v.extend(msg(b'K', &[0, 0, 0, 1]));
        v
    }));
    for (what, startup) in cases {
        let server = FakeServer::start(startup, answering(Vec::new())).await;
        let listener = Arc::new(Closed::default());
        let cfg = config(server.port);
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            Conn::connect(
                1,
                &cfg.connect,
                None,
                || async { Ok(Some("pw".to_string())) },
                0,
                listener,
                None,
            ),
        )
        .await
        .unwrap_or_else(|_| panic!("{what}: the attempt hung"));
        let err = r.err().unwrap_or_else(|| panic!("{what}: connected"));
        assert!(matches!(err, Error::Protocol(_)), "{what}: {err:?}");
    }
}

#[tokio::test]
async fn a_pool_gives_the_slot_back_after_a_malformed_startup_or_a_broken_connection() {
    let server = FakeServer::start(vec![b'R', 0, 0, 0, 1], answering(Vec::new())).await;
    let pool = Pool::new(
        config(server.port),
        Arc::new(NoEvents),
        Arc::new(StaticPassword(None)),
        tokio::runtime::Handle::current(),
    );
    for _ in 0..3 {
        let err = pool
            .connect(CheckoutMeta::default())
            .await
            .err()
            .expect("fails");
        assert!(matches!(err, Error::Protocol(_)), "{err:?}");
        assert_eq!(pool.counts().total, 0, "the slot is given back");
    }

    // An idle connection that receives a stray message leaves the pool.
    let mut reply = one_row_reply();
    reply.extend(msg(b'D', b"\0\0"));
    let server = FakeServer::start(ready_startup(), answering(reply)).await;
    let pool = Pool::new(
        config(server.port),
        Arc::new(NoEvents),
        Arc::new(StaticPassword(None)),
        tokio::runtime::Handle::current(),
    );
    let r = pool.query(select()).await;
    assert_eq!(frames::first_error_code(&r), None);
    for _ in 0..200 {
        if pool.counts().total == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let c = pool.counts();
    assert_eq!((c.total, c.idle), (0, 0), "{c:?}");
}
