//! A fake PostgreSQL server for unit tests: a tokio listener that speaks just enough of the
//! protocol to reach the case under test — it answers `SSLRequest` with `N`, the startup
//! packet with a scripted reply (by default `AuthenticationOk`, `BackendKeyData` and
//! `ReadyForQuery`), and each later frontend message with whatever its responder returns. It
//! records what it saw (messages, cancel requests, closed sockets), never closes a socket on
//! its own unless told to, and works on paused tokio time (it is a task of the test's runtime).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The backend pid and secret of the default startup reply.
pub(crate) const PID: i32 = 4242;
pub(crate) const SECRET: i32 = 777;

/// What the fake server saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    /// A frontend message of this type (after startup).
    Message(u8),
    /// A cancel request for this pid and secret.
    Cancel(i32, i32),
    /// A client ended its side of a socket (the server keeps its own side open).
    Closed,
}

/// What to send back for one frontend message (`type`, body), and whether to close after.
pub(crate) type Responder = Arc<dyn Fn(u8, &[u8]) -> (Vec<u8>, bool) + Send + Sync>;

/// See the module docs.
pub(crate) struct FakeServer {
    pub(crate) port: u16,
    pub(crate) seen: Arc<Mutex<Vec<Seen>>>,
    delay: Delay,
}

/// A delayed startup reply (see [`FakeServer::start_after`]), read when a socket arrives.
type Delay = Arc<Mutex<Option<(std::time::Duration, Vec<u8>)>>>;

/// A backend message: type, length, body.
pub(crate) fn msg(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![ty];
    v.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// `AuthenticationOk`, `BackendKeyData` ([`PID`], [`SECRET`]), `ReadyForQuery` idle.
pub(crate) fn ready_startup() -> Vec<u8> {
    let mut out = msg(b'R', &0i32.to_be_bytes());
    let mut key = PID.to_be_bytes().to_vec();
    key.extend_from_slice(&SECRET.to_be_bytes());
    out.extend(msg(b'K', &key));
    out.extend(msg(b'Z', b"I"));
    out
}

/// A complete, well-formed answer to a simple query returning one text row `x`.
pub(crate) fn one_row_reply() -> Vec<u8> {
    let mut t = 1i16.to_be_bytes().to_vec();
    t.extend_from_slice(b"x\0");
    t.extend_from_slice(&[0; 6]);
    t.extend_from_slice(&25i32.to_be_bytes());
    t.extend_from_slice(&(-1i16).to_be_bytes());
    t.extend_from_slice(&(-1i32).to_be_bytes());
    t.extend_from_slice(&0i16.to_be_bytes());
    let mut d = 1i16.to_be_bytes().to_vec();
    d.extend_from_slice(&1i32.to_be_bytes());
    d.push(b'1');
    let mut out = msg(b'T', &t);
    out.extend(msg(b'D', &d));
    out.extend(msg(b'C', b"SELECT 1\0"));
    out.extend(msg(b'Z', b"I"));
    out
}

impl FakeServer {
    /// Starts a server on 127.0.0.1 that sends `startup` after the startup packet and answers
    /// later messages with `respond`.
    pub(crate) async fn start(startup: Vec<u8>, respond: Responder) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let delay = Delay::default();
        let delayed = delay.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(
                    sock,
                    startup.clone(),
                    respond.clone(),
                    log.clone(),
                    delayed.clone(),
                ));
            }
        });
        FakeServer { port, seen, delay }
    }

    /// A server that completes startup and then never answers or closes anything.
    pub(crate) async fn silent() -> FakeServer {
        Self::start(ready_startup(), Arc::new(|_, _| (Vec::new(), false))).await
    }

    /// Like [`start`](Self::start), but the startup reply goes out only `delay` after the
    /// startup packet arrived (on the test's clock: paused time works).
    pub(crate) async fn start_after(
        delay: std::time::Duration,
        startup: Vec<u8>,
        respond: Responder,
    ) -> FakeServer {
        let server = Self::start(Vec::new(), respond).await;
        *server.delay.lock() = Some((delay, startup));
        server
    }

    /// A server that completes startup, then answers the first message after it with `head`
    /// followed by `body` over and over, written as fast as the client takes them, until the
    /// client goes away or `cap` bytes were sent (then it keeps the socket open, silent). The
    /// counter says how many bytes the client's side took.
    pub(crate) async fn flooding(
        head: Vec<u8>,
        body: Vec<u8>,
        cap: usize,
    ) -> (FakeServer, Arc<AtomicUsize>) {
        let sent = Arc::new(AtomicUsize::new(0));
        let counter = sent.clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (log, sent, head, body) =
                    (log.clone(), counter.clone(), head.clone(), body.clone());
                tokio::spawn(async move {
                    if !handshake(&mut sock, &ready_startup(), None, &log).await {
                        return;
                    }
                    let mut first = [0u8; 5];
                    if sock.read_exact(&mut first).await.is_err() {
                        return;
                    }
                    let mut out = head;
                    while sent.load(Ordering::SeqCst) < cap {
                        if sock.write_all(&out).await.is_err() {
                            log.lock().push(Seen::Closed);
                            return;
                        }
                        sent.fetch_add(out.len(), Ordering::SeqCst);
                        out.clone_from(&body);
                    }
                    std::future::pending::<()>().await;
                });
            }
        });
        (
            FakeServer {
                port,
                seen,
                delay: Arc::default(),
            },
            sent,
        )
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().clone()
    }
}

/// The untyped packets of a new socket: answers `SSLRequest` with `N`, records a
/// `CancelRequest`, and answers the startup packet with `startup` (after `delay`, if given).
/// `false` when the socket is done with (closed, or it was a cancel request).
async fn handshake(
    sock: &mut TcpStream,
    startup: &[u8],
    delay: Option<std::time::Duration>,
    seen: &Mutex<Vec<Seen>>,
) -> bool {
    loop {
        let mut len = [0u8; 4];
        if sock.read_exact(&mut len).await.is_err() {
            seen.lock().push(Seen::Closed);
            return false;
        }
        let len = i32::from_be_bytes(len) as usize;
        let mut body = vec![0u8; len.saturating_sub(4)];
        if sock.read_exact(&mut body).await.is_err() {
            seen.lock().push(Seen::Closed);
            return false;
        }
        let code = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
        match code {
            80877103 => {
                let _ = sock.write_all(b"N").await;
            }
            80877102 => {
                let pid = i32::from_be_bytes([body[4], body[5], body[6], body[7]]);
                let secret = i32::from_be_bytes([body[8], body[9], body[10], body[11]]);
                seen.lock().push(Seen::Cancel(pid, secret));
                return false;
            }
            _ => {
                if let Some(d) = delay {
                    tokio::time::sleep(d).await;
                }
                let _ = sock.write_all(startup).await;
                return true;
            }
        }
    }
}

async fn serve(
    mut sock: TcpStream,
    startup: Vec<u8>,
    respond: Responder,
    seen: Arc<Mutex<Vec<Seen>>>,
    delay: Delay,
) {
    let (delay, startup) = match delay.lock().clone() {
        Some((d, s)) => (Some(d), s),
        None => (None, startup),
    };
    if !handshake(&mut sock, &startup, delay, &seen).await {
        return;
    }
    loop {
        let mut head = [0u8; 5];
        if sock.read_exact(&mut head).await.is_err() {
            // The client ended its side: keep ours open, as a server busy elsewhere would.
            seen.lock().push(Seen::Closed);
            std::future::pending::<()>().await;
        }
        let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut body = vec![0u8; len.saturating_sub(4)];
        if sock.read_exact(&mut body).await.is_err() {
            seen.lock().push(Seen::Closed);
            return;
        }
        seen.lock().push(Seen::Message(head[0]));
        let (reply, close) = respond(head[0], &body);
        if !reply.is_empty() && sock.write_all(&reply).await.is_err() {
            seen.lock().push(Seen::Closed);
            return;
        }
        if close {
            return;
        }
    }
}

/// A connection listener that records why each connection closed (`None`: a clean close),
/// ignoring notifications and notices.
#[derive(Default)]
pub(crate) struct Closed(pub(crate) Mutex<Vec<Option<crate::error::Error>>>);

impl super::ConnListener for Closed {
    fn notification(&self, _: u64, _: i32, _: &str, _: &str) {}
    fn notice(&self, _: u64, _: &[u8]) {}
    fn closed(&self, _: u64, error: Option<crate::error::Error>) {
        self.0.lock().push(error);
    }
}
