//! A server that breaks the protocol, against tiny fake servers (`fake.rs`): a message that
//! answers no request, or one that cannot be parsed, fails the connection — every request on
//! it is answered, the listener told why in pg's words — and never panics or hangs; during
//! startup it fails the connection attempt, and a pool gives the slot back.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::json;

use super::fake::{msg, one_row_reply, ready_startup, Closed, FakeServer, Responder};
use super::{frames, Conn, ConnOptions, Statement};
use crate::config::PoolConfig;
use crate::error::Error;
use crate::pool::{CheckoutMeta, NoEvents, Pool, StaticPassword};

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
        ConnOptions::default(),
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
                ConnOptions::default(),
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

/// A server that declares a 2 GiB `DataRow` and streams whatever it likes after the header:
/// the query fails at once as a protocol error, the client stops reading (the server can
/// push no more than the sockets buffer: memory stays flat), the slot comes back and `end()`
/// settles.
#[tokio::test]
async fn a_message_declaring_2_gib_fails_at_its_header_and_memory_stays_flat() {
    let cap = 64 << 20;
    let (server, sent) =
        FakeServer::flooding(vec![b'D', 0x7f, 0xff, 0xff, 0xff], vec![0; 64 * 1024], cap).await;
    let pool = Pool::new(
        config(server.port),
        Arc::new(NoEvents),
        Arc::new(StaticPassword(None)),
        tokio::runtime::Handle::current(),
    );
    let t0 = std::time::Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(10), pool.query(select()))
        .await
        .expect("the query hung: the reader kept buffering the message");
    assert_eq!(
        frames::first_error_code(&r).as_deref(),
        Some("LDP_PROTOCOL"),
        "{}",
        String::from_utf8_lossy(&r)
    );
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let taken = sent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        taken < 16 << 20,
        "the client took {taken} bytes of the flood"
    );
    tokio::time::timeout(Duration::from_secs(5), pool.end().expect("first end()"))
        .await
        .expect("end() settles");
    assert_eq!(pool.counts().total, 0);
}

/// The readers of connections handed to a scheduler, kept for the test to drive.
#[derive(Default)]
struct Held(Mutex<Vec<super::ExternalReader>>);

impl super::ReadScheduler for Held {
    fn adopt(&self, reader: super::ExternalReader) {
        self.0.lock().push(reader);
    }
    fn resume(&self, _: u64) {}
}

/// A `DataRow` frame of exactly `size` bytes (one text value).
fn row_of(size: usize) -> Vec<u8> {
    let value = size - 11;
    let mut d = 1i16.to_be_bytes().to_vec();
    d.extend_from_slice(&(value as i32).to_be_bytes());
    d.resize(6 + value, b'x');
    msg(b'D', &d)
}

/// One socket that never runs dry (a server sending rows as fast as they are read, from
/// another thread) must not hold the reading thread: each call reads a bounded amount and
/// says it stopped early, and the next call goes on where it left off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call_on_a_socket_that_never_runs_dry_reads_a_bounded_amount() {
    use super::external::READ_BUDGET;
    // The reply's RowDescription, then rows without end.
    let reply = one_row_reply();
    let head = reply[..frames::complete_frame_len(&reply).expect("a frame")].to_vec();
    assert_eq!(head[0], b'T');
    let body: Vec<u8> = (0..64).flat_map(|_| row_of(1024)).collect();
    let (server, sent) = FakeServer::flooding(head, body, 256 << 20).await;
    let held = Arc::new(Held::default());
    let reads: Arc<dyn super::ReadScheduler> = held.clone();
    let conn = Conn::connect(
        1,
        &config(server.port).connect,
        None,
        || async { Ok(None) },
        ConnOptions::default(),
        Arc::new(Closed::default()),
        Some(&reads),
    )
    .await
    .expect("connected");
    let mut reader = held.0.lock().pop().expect("adopted");
    let parts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = parts.clone();
    conn.submit_to(
        select(),
        super::ReplyTo::Streaming(
            Arc::new(move |p: Vec<u8>| {
                counted.fetch_add(p.len(), std::sync::atomic::Ordering::SeqCst);
            }),
            Box::new(|_| {}),
        ),
    );
    // Let the server get well ahead.
    while sent.load(std::sync::atomic::Ordering::SeqCst) < 1 << 20 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _g = tokio::runtime::Handle::current().enter();
    for call in 0..8 {
        let before = reader.bytes_read;
        assert!(reader.on_readable(), "the connection is open");
        let read = reader.bytes_read - before;
        assert!(
            read <= READ_BUDGET + 64 * 1024,
            "call {call} read {read} bytes at once"
        );
        if reader.yielded() {
            assert!(
                read >= READ_BUDGET,
                "call {call} yielded after {read} bytes"
            );
        }
    }
    assert!(reader.bytes_read > 0);
    assert!(
        parts.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "rows were handed on"
    );
    drop(reader);
}

/// Keeps every event it is given (and so every notification's ticket) until told to let go:
/// a receiver that is busy.
#[derive(Default)]
struct Busy(Mutex<Vec<crate::pool::PoolEvent>>);

impl crate::pool::PoolEvents for Busy {
    fn emit(&self, event: crate::pool::PoolEvent) {
        self.0.lock().push(event);
    }
}

fn notification(n: usize) -> Vec<u8> {
    let mut body = 42i32.to_be_bytes().to_vec();
    body.extend_from_slice(b"chan\0");
    body.extend_from_slice(format!("payload {n}\0").as_bytes());
    msg(b'A', &body)
}

fn notice() -> Vec<u8> {
    msg(b'N', b"SNOTICE\0C00000\0Mhello\0\0")
}

/// A NOTIFY flood while the receiver is busy: at most `maxQueuedEvents` wait, the newest are
/// dropped, counted, and announced once; once the receiver takes what waits, events flow
/// again. Notices raised within one query are bounded the same way.
#[tokio::test]
async fn notifications_and_notices_waiting_for_a_busy_receiver_are_bounded() {
    let mut flood = one_row_reply();
    for n in 0..50 {
        flood.extend(notification(n));
    }
    let mut noisy: Vec<u8> = Vec::new();
    for _ in 0..20 {
        noisy.extend(notice());
    }
    noisy.extend(one_row_reply());
    let queries = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = queries.clone();
    let server = FakeServer::start(
        ready_startup(),
        Arc::new(move |ty, _| match ty {
            b'Q' => match count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => (flood.clone(), false),
                1 => (noisy.clone(), false),
                _ => ([one_row_reply(), notification(99)].concat(), false),
            },
            _ => (Vec::new(), false),
        }),
    )
    .await;
    let mut cfg = config(server.port);
    cfg.max_queued_events = 5;
    let events = Arc::new(Busy::default());
    let pool = Pool::new(
        cfg,
        events.clone(),
        Arc::new(StaticPassword(None)),
        tokio::runtime::Handle::current(),
    );
    let c = pool
        .connect(CheckoutMeta::default())
        .await
        .expect("checkout");
    let r = c.query(select()).await;
    assert_eq!(frames::first_error_code(&r), None);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let kinds = |evs: &[crate::pool::PoolEvent]| -> (usize, usize) {
        let n = evs
            .iter()
            .filter(|e| matches!(e, crate::pool::PoolEvent::Notification { .. }))
            .count();
        let d = evs
            .iter()
            .filter(|e| matches!(e, crate::pool::PoolEvent::EventsDropped { .. }))
            .count();
        (n, d)
    };
    assert_eq!(
        kinds(&events.0.lock()),
        (5, 1),
        "5 waiting, the drop announced once"
    );
    let m = pool.metrics_report().counters;
    assert_eq!(m.notifications_dropped, 45);

    // Notices within one query: at most 5 kept in its reply.
    let r = c.query(select()).await;
    let mut pos = 0;
    let mut notices = 0;
    while let Some(len) = frames::complete_frame_len(&r[pos..]) {
        notices += usize::from(r[pos] == b'N');
        pos += len;
    }
    assert_eq!(notices, 5);
    assert_eq!(pool.metrics_report().counters.notices_dropped, 15);

    // The receiver takes what waited: the next notification gets through.
    events.0.lock().clear();
    let r = c.query(select()).await;
    assert_eq!(frames::first_error_code(&r), None);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        kinds(&events.0.lock()),
        (1, 0),
        "flowing again, announced only once"
    );
    c.release(true).expect("released");
}
