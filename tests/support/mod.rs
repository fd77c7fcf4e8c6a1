//! Test-local helpers shared by the pool integration tests: building a [`PoolConfig`] for the
//! discovered database, a collecting [`PoolEvents`] sink, statement shorthands, and a parser
//! that turns reply frames (raw backend `T`/`D`/`C`/`I`/`E`/`Z` messages plus synthetic `!`
//! client-error frames) into something assertable.
//!
//! Use from a test file: `mod common; mod support;` (this module reaches the discovery helper
//! through `crate::common`).
#![allow(dead_code)]

pub mod session;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{json, Value};

use leak_detecting_pool::pg::{Param, Statement};
use leak_detecting_pool::pool::{CheckoutMeta, PoolEvent, PoolEvents, StaticPassword};
use leak_detecting_pool::{Checkout, Pool, PoolConfig};

// ---------------------------------------------------------------------------------------------
// configuration and pools

/// The connection options of the discovered database as a JSON object.
pub fn base_options() -> Value {
    let db = crate::common::database();
    let mut m = json!({
        "host": db.host,
        "port": db.port,
        "user": db.user,
        "database": db.database,
    });
    if let Some(p) = &db.password {
        m["password"] = json!(p);
    }
    m
}

/// Lays `extra`'s keys over `base`.
pub fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        for (k, v) in e {
            b.insert(k, v);
        }
    }
    base
}

/// A validated config for the discovered database plus `extra` pool options.
pub fn config(extra: Value) -> PoolConfig {
    config_from(merge(base_options(), extra))
}

/// A validated config from a complete options object.
pub fn config_from(opts: Value) -> PoolConfig {
    PoolConfig::from_options(&opts, &|k| std::env::var(k).ok())
        .unwrap_or_else(|e| panic!("invalid test pool options {opts}: {e}"))
}

/// A pool on the current runtime for the discovered database, with a collecting event sink.
pub fn pool(extra: Value) -> (Pool, Arc<Events>) {
    pool_with(config(extra))
}

/// A pool on the current runtime for `config`, with a collecting event sink.
pub fn pool_with(config: PoolConfig) -> (Pool, Arc<Events>) {
    let events = Arc::new(Events::default());
    let password = crate::common::database().password.clone();
    let pool = Pool::new(
        config,
        events.clone(),
        Arc::new(StaticPassword(password)),
        tokio::runtime::Handle::current(),
    );
    (pool, events)
}

/// Checkout metadata with a tag.
pub fn tagged(tag: &str) -> CheckoutMeta {
    CheckoutMeta {
        tag: Some(tag.to_string()),
        ..Default::default()
    }
}

/// `pool.connect()` that panics with the error on failure.
pub async fn checkout(pool: &Pool) -> Checkout {
    match pool.connect(CheckoutMeta::default()).await {
        Ok(c) => c,
        Err(e) => panic!("pool.connect() failed: [{}] {}", e.code(), e),
    }
}

// ---------------------------------------------------------------------------------------------
// events

/// Collects every event the pool emits.
#[derive(Default)]
pub struct Events {
    pub events: Mutex<Vec<PoolEvent>>,
}

impl PoolEvents for Events {
    fn emit(&self, event: PoolEvent) {
        self.events.lock().push(event);
    }
}

impl Events {
    pub fn snapshot(&self) -> Vec<PoolEvent> {
        self.events.lock().clone()
    }

    /// How many collected events satisfy `f`.
    pub fn count(&self, f: impl Fn(&PoolEvent) -> bool) -> usize {
        self.events.lock().iter().filter(|e| f(e)).count()
    }

    /// Waits (polling) until at least `n` events satisfy `f`; panics with every event after `within`.
    pub async fn wait_for(
        &self,
        what: &str,
        n: usize,
        within: Duration,
        f: impl Fn(&PoolEvent) -> bool,
    ) {
        let deadline = Instant::now() + within;
        loop {
            if self.count(&f) >= n {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {within:?} waiting for {n} x {what}; events: {:#?}",
                    self.snapshot()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Polls `cond` until true; panics with `what` after `within`.
pub async fn wait_until(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        if Instant::now() > deadline {
            panic!("timed out after {within:?} waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Awaits `fut`, panicking if it takes longer than `within`.
pub async fn within<T>(what: &str, within: Duration, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(within, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {within:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// statements

/// A simple-protocol statement.
pub fn simple(sql: &str) -> Statement {
    Statement::Simple(sql.to_string())
}

/// An extended-protocol statement (the statement cache decides how it is prepared).
pub fn ext(sql: &str, params: Vec<Param>) -> Statement {
    Statement::Extended {
        sql: sql.to_string(),
        params,
        name: None,
        binary: false,
    }
}

/// Like [`ext`], with every result column asked for in binary format.
pub fn ext_binary(sql: &str, params: Vec<Param>) -> Statement {
    Statement::Extended {
        sql: sql.to_string(),
        params,
        name: None,
        binary: true,
    }
}

/// An extended-protocol statement with a caller-chosen name.
pub fn named(name: &str, sql: &str, params: Vec<Param>) -> Statement {
    Statement::Extended {
        sql: sql.to_string(),
        params,
        name: Some(name.to_string()),
        binary: false,
    }
}

pub fn text(s: impl ToString) -> Param {
    Param::Text(s.to_string())
}

/// Runs `stmt` on `c` and parses the reply.
pub async fn run(c: &Checkout, stmt: Statement) -> Reply {
    Reply::parse(&c.query(stmt).await)
}

/// Runs `stmt` on `c` and returns its rows, panicking on any error.
pub async fn rows(c: &Checkout, stmt: Statement) -> Vec<Vec<Option<String>>> {
    run(c, stmt).await.ok().rows().to_vec()
}

/// Runs `sql` through `pool.query` and parses the reply.
pub async fn pool_run(pool: &Pool, stmt: Statement) -> Reply {
    Reply::parse(&pool.query(stmt).await)
}

/// The backend pid of the connection a `pool.query` runs on.
pub async fn query_backend_pid(pool: &Pool) -> i32 {
    pool_run(pool, simple("SELECT pg_backend_pid()"))
        .await
        .ok()
        .value(0, 0)
        .expect("a pid")
        .parse()
        .expect("an integer pid")
}

/// Terminates backend `pid` from a separate, short-lived admin pool (so only our own
/// backends are ever killed). Returns pg_terminate_backend's answer.
pub async fn terminate_backend(pid: i32) -> bool {
    let (admin, _) = pool(json!({ "max": 1, "application_name": "ldp_it_admin" }));
    let c = checkout(&admin).await;
    let r = run(
        &c,
        ext("SELECT pg_terminate_backend($1::int)", vec![text(pid)]),
    )
    .await
    .ok();
    let killed = r.value(0, 0) == Some("t");
    // Wait until the backend is really gone so the caller's observations are deterministic.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = run(
            &c,
            ext(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int",
                vec![text(pid)],
            ),
        )
        .await
        .ok();
        if left.value(0, 0) == Some("0") || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    c.release(false).unwrap();
    if let Ok(f) = admin.end() {
        f.await;
    }
    killed
}

/// Whether backend `pid` still exists (checked from a separate admin pool).
pub async fn backend_exists(pid: i32) -> bool {
    let (admin, _) = pool(json!({ "max": 1, "application_name": "ldp_it_admin" }));
    let r = pool_run(
        &admin,
        ext(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int",
            vec![text(pid)],
        ),
    )
    .await
    .ok();
    if let Ok(f) = admin.end() {
        f.await;
    }
    r.value(0, 0) != Some("0")
}

// ---------------------------------------------------------------------------------------------
// reply parsing

/// One statement's result: columns and their format codes (from `T`), rows (from `D`, as
/// text), command tag (`C`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultSet {
    pub columns: Vec<String>,
    pub formats: Vec<i16>,
    pub rows: Vec<Vec<Option<String>>>,
    pub tag: Option<String>,
}

/// A server `ErrorResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct DbErr {
    pub severity: String,
    pub code: String,
    pub message: String,
}

/// A synthetic `!` frame: a client-side error.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientErr {
    pub code: String,
    pub message: String,
}

/// A parsed reply.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    /// Completed (or, before an error, partial) result sets in order.
    pub results: Vec<ResultSet>,
    /// The first `E` frame.
    pub error: Option<DbErr>,
    /// The first `!` frame.
    pub client_error: Option<ClientErr>,
    /// Status byte of the last `ReadyForQuery` (`I`, `T`, `E`).
    pub status: Option<u8>,
    /// Number of `EmptyQueryResponse` frames.
    pub empty_queries: usize,
    /// Every frame type in order (for diagnostics).
    pub frame_types: String,
}

fn be_i16(b: &[u8]) -> i16 {
    i16::from_be_bytes([b[0], b[1]])
}

fn be_i32(b: &[u8]) -> i32 {
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn cstr(b: &[u8]) -> (String, &[u8]) {
    let end = b
        .iter()
        .position(|c| *c == 0)
        .expect("NUL-terminated string in frame");
    (
        String::from_utf8_lossy(&b[..end]).into_owned(),
        &b[end + 1..],
    )
}

impl Reply {
    /// Parses reply bytes; panics on malformed framing (that is a core bug).
    pub fn parse(bytes: &[u8]) -> Reply {
        let mut r = Reply::default();
        let mut open: Option<ResultSet> = None;
        let mut pos = 0;
        while pos < bytes.len() {
            assert!(
                bytes.len() - pos >= 5,
                "truncated frame header at {pos} in reply {bytes:?}"
            );
            let ty = bytes[pos];
            let len = be_i32(&bytes[pos + 1..]) as usize;
            assert!(
                len >= 4 && pos + 1 + len <= bytes.len(),
                "bad frame length {len} at {pos} in reply {bytes:?}"
            );
            let body = &bytes[pos + 5..pos + 1 + len];
            pos += 1 + len;
            r.frame_types.push(ty as char);
            match ty {
                b'T' => {
                    if let Some(o) = open.take() {
                        r.results.push(o);
                    }
                    let n = be_i16(body) as usize;
                    let mut rest = &body[2..];
                    let mut columns = Vec::with_capacity(n);
                    let mut formats = Vec::with_capacity(n);
                    for _ in 0..n {
                        let (name, after) = cstr(rest);
                        columns.push(name);
                        formats.push(be_i16(&after[16..]));
                        rest = &after[18..];
                    }
                    open = Some(ResultSet {
                        columns,
                        formats,
                        ..Default::default()
                    });
                }
                b'D' => {
                    let n = be_i16(body) as usize;
                    let mut rest = &body[2..];
                    let mut row = Vec::with_capacity(n);
                    for _ in 0..n {
                        let l = be_i32(rest);
                        rest = &rest[4..];
                        if l < 0 {
                            row.push(None);
                        } else {
                            let l = l as usize;
                            row.push(Some(String::from_utf8_lossy(&rest[..l]).into_owned()));
                            rest = &rest[l..];
                        }
                    }
                    open.get_or_insert_with(ResultSet::default).rows.push(row);
                }
                b'C' => {
                    let mut rs = open.take().unwrap_or_default();
                    rs.tag = Some(cstr(body).0);
                    r.results.push(rs);
                }
                b'I' => {
                    r.empty_queries += 1;
                }
                b'E' => {
                    if let Some(o) = open.take() {
                        r.results.push(o);
                    }
                    let (mut severity, mut code, mut message) =
                        (String::new(), String::new(), String::new());
                    let mut rest = body;
                    while !rest.is_empty() && rest[0] != 0 {
                        let field = rest[0];
                        let (v, after) = cstr(&rest[1..]);
                        rest = after;
                        match field {
                            b'S' => severity = v,
                            b'C' => code = v,
                            b'M' => message = v,
                            _ => {}
                        }
                    }
                    if r.error.is_none() {
                        r.error = Some(DbErr {
                            severity,
                            code,
                            message,
                        });
                    }
                }
                b'!' => {
                    let (code, rest) = cstr(body);
                    let (message, _) = cstr(rest);
                    if r.client_error.is_none() {
                        r.client_error = Some(ClientErr { code, message });
                    }
                }
                b'Z' => {
                    r.status = body.first().copied();
                }
                // A notice raised by the request (kept in `frame_types`).
                b'N' => {}
                other => panic!(
                    "unexpected frame type {:?} in a reply: {bytes:?}",
                    other as char
                ),
            }
        }
        if let Some(o) = open.take() {
            r.results.push(o);
        }
        r
    }

    /// Panics (showing the reply) unless it is a clean success ending in `ReadyForQuery`.
    #[track_caller]
    pub fn ok(self) -> Reply {
        assert!(
            self.error.is_none() && self.client_error.is_none() && self.status.is_some(),
            "expected a successful reply, got {self:#?}"
        );
        self
    }

    /// The code of the server error or client error, if any.
    pub fn err_code(&self) -> Option<&str> {
        self.error
            .as_ref()
            .map(|e| e.code.as_str())
            .or(self.client_error.as_ref().map(|e| e.code.as_str()))
    }

    /// The message of the server error or client error, if any.
    pub fn err_message(&self) -> Option<&str> {
        self.error
            .as_ref()
            .map(|e| e.message.as_str())
            .or(self.client_error.as_ref().map(|e| e.message.as_str()))
    }

    /// Command tags in order.
    pub fn tags(&self) -> Vec<String> {
        self.results.iter().filter_map(|r| r.tag.clone()).collect()
    }

    /// Rows of the last result set.
    pub fn rows(&self) -> &[Vec<Option<String>>] {
        self.results
            .last()
            .map(|r| r.rows.as_slice())
            .unwrap_or(&[])
    }

    /// Columns of the last result set.
    pub fn columns(&self) -> &[String] {
        self.results
            .last()
            .map(|r| r.columns.as_slice())
            .unwrap_or(&[])
    }

    /// The result format codes of the last result set's columns (0 text, 1 binary).
    pub fn formats(&self) -> &[i16] {
        self.results
            .last()
            .map(|r| r.formats.as_slice())
            .unwrap_or(&[])
    }

    /// A value of the last result set as text (`None` for NULL or out of range).
    pub fn value(&self, row: usize, col: usize) -> Option<&str> {
        self.rows().get(row)?.get(col)?.as_deref()
    }
}
