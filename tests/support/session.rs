//! A raw session driven from a test: the test writes frontend messages (built with
//! `postgres-protocol`, as a Submittable would with pg-protocol) and watches the backend's
//! frames arrive part by part.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use parking_lot::Mutex;
use tokio::sync::{oneshot, Notify};

use postgres_protocol::message::frontend;

use leak_detecting_pool::pg::flow::WINDOW;
use leak_detecting_pool::pg::ReplyTo;
use leak_detecting_pool::Checkout;

/// One backend message: its type byte and body.
#[derive(Debug, Clone)]
pub struct Frame {
    pub ty: u8,
    pub body: Vec<u8>,
}

impl Frame {
    /// The body up to its first NUL, as text (a CommandComplete's tag, say).
    pub fn text(&self) -> String {
        let end = self
            .body
            .iter()
            .position(|b| *b == 0)
            .unwrap_or(self.body.len());
        String::from_utf8_lossy(&self.body[..end]).into_owned()
    }
}

/// Splits whole frames; panics on a partial one (parts are whole frames).
pub fn frames_of(mut bytes: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 5, "a partial frame header");
        let len = i32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize + 1;
        assert!(bytes.len() >= len, "a partial frame");
        out.push(Frame {
            ty: bytes[0],
            body: bytes[5..len].to_vec(),
        });
        bytes = &bytes[len..];
    }
    out
}

/// Encodes frontend messages into one buffer.
pub fn msg(build: impl FnOnce(&mut BytesMut)) -> Vec<u8> {
    let mut buf = BytesMut::new();
    build(&mut buf);
    buf.to_vec()
}

#[derive(Default)]
struct Seen {
    parts: Mutex<Vec<Vec<u8>>>,
    changed: Notify,
}

/// See the module docs.
pub struct Session {
    seen: Arc<Seen>,
    end: Option<oneshot::Receiver<Vec<u8>>>,
    last: Option<Vec<u8>>,
}

/// Opens a session on `c` that starts with `first`.
pub fn open(c: &Checkout, first: &[u8]) -> Session {
    let seen = Arc::new(Seen::default());
    let sink = seen.clone();
    let done = seen.clone();
    let (tx, rx) = oneshot::channel();
    c.open_session(
        first,
        ReplyTo::Session(
            Arc::new(move |part: Vec<u8>| {
                sink.parts.lock().push(part);
                sink.changed.notify_waiters();
            }),
            Box::new(move |last| {
                let _ = tx.send(last);
                done.changed.notify_waiters();
            }),
        ),
    );
    Session {
        seen,
        end: Some(rx),
        last: None,
    }
}

impl Session {
    /// Bytes of the leading parts handed on so far (what flow control counts).
    pub fn delivered(&self) -> usize {
        self.seen.parts.lock().iter().map(Vec::len).sum()
    }

    /// How many leading parts were handed on.
    pub fn part_count(&self) -> usize {
        self.seen.parts.lock().len()
    }

    /// Every frame so far, the last part's included once it arrived.
    pub fn frames(&mut self) -> Vec<Frame> {
        self.poll_end();
        let mut all: Vec<u8> = self.seen.parts.lock().concat();
        if let Some(last) = &self.last {
            all.extend_from_slice(last);
        }
        frames_of(&all)
    }

    /// The last part, once the session ended.
    pub fn last(&mut self) -> Option<&[u8]> {
        self.poll_end();
        self.last.as_deref()
    }

    fn poll_end(&mut self) {
        if let Some(rx) = &mut self.end {
            if let Ok(last) = rx.try_recv() {
                self.last = Some(last);
                self.end = None;
            }
        }
    }

    /// Waits (up to 10 s) until `pred` holds for the frames so far.
    pub async fn until(&mut self, what: &str, pred: impl Fn(&[Frame]) -> bool) -> Vec<Frame> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let seen = self.seen.clone();
            let changed = seen.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let frames = self.frames();
            if pred(&frames) {
                return frames;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!(
                    "timed out waiting for {what}; frames so far: {:?}",
                    types(&self.frames())
                );
            }
        }
    }

    /// Waits for the session's end (its last part); returns every frame.
    pub async fn ended(&mut self) -> Vec<Frame> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.last().is_none() {
            let seen = self.seen.clone();
            let changed = seen.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.last().is_some() {
                break;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!(
                    "the session did not end; frames so far: {:?}",
                    types(&self.frames())
                );
            }
        }
        self.frames()
    }
}

/// The frames' types as a string (`"12TDDs"`), for assertions and messages.
pub fn types(frames: &[Frame]) -> String {
    frames.iter().map(|f| f.ty as char).collect()
}

/// How many of `frames` have type `ty`.
pub fn count(frames: &[Frame], ty: u8) -> usize {
    frames.iter().filter(|f| f.ty == ty).count()
}

/// COPY OUT stops at the flow window while nothing is acknowledged, and runs to its end once
/// everything handed on is.
pub async fn copy_out_pauses_at_the_window(c: &Checkout) {
    let rows = 300_000;
    let sql =
        format!("COPY (SELECT g, repeat('y', 100) FROM generate_series(1, {rows}) g) TO STDOUT");
    let mut s = open(c, &msg(|b| frontend::query(&sql, b).unwrap()));
    // Let it run until it stops growing.
    let mut last = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = s.delivered();
        if now == last && now > 0 {
            break;
        }
        last = now;
    }
    assert!(s.last().is_none(), "paused before the end");
    assert!(
        (WINDOW..WINDOW + 512 * 1024).contains(&last),
        "reading paused at the window: {last} bytes handed on"
    );
    // Acknowledge what arrives until the end.
    let mut acked = 0;
    let f = loop {
        let now = s.delivered();
        if now > acked {
            c.session_ack(now - acked);
            acked = now;
        }
        if s.last().is_some() {
            break s.frames();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(count(&f, b'd'), rows);
    let tag = f.iter().find(|f| f.ty == b'C').expect("CommandComplete");
    assert_eq!(tag.text(), format!("COPY {rows}"));
    assert_eq!(f.last().unwrap().ty, b'Z');
    assert!(s.part_count() > 10, "handed on as it was read");
}
