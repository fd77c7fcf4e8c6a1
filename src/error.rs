//! The crate's one error type.
//!
//! Every failure the core can report is a variant of [`Error`]; each has a stable
//! [`Error::code`] that the JS layer exposes as `err.code` and the README documents.
//! Server errors keep the raw `ErrorResponse` frame so the JS layer can shape them
//! exactly like node-postgres's `DatabaseError` (all fields, no re-encoding).

use std::fmt;

use crate::config::ConfigError;

/// A failure reported by the core.
///
/// Invariant: `Display` never contains a password (configuration errors are built
/// from redacted values, connection errors never format credentials). Variants carry facts;
/// `Display` is the Rust caller's rendering of them (the JS layer renders its own).
#[derive(Debug, Clone)]
pub enum Error {
    /// The options were invalid; carries the option name and a message.
    Config(ConfigError),
    /// The pool was ended; pg's message.
    PoolEnded,
    /// `end()` was called a second time; pg's message.
    EndCalledTwice,
    /// No connection became available within `connectionTimeoutMillis`; who held the pool
    /// then. `Display` is pg's message with the holders appended.
    AcquireTimeout(Box<Exhaustion>),
    /// A caller waited `connectionTimeoutMillis` for its tag, which stayed at its limit
    /// (`tagLimits`); `tag` is set, `max` is the tag's limit and the holders are the tag's.
    TagLimitTimeout(Box<Exhaustion>),
    /// Opening a connection took longer than `connectionTimeoutMillis`.
    ConnectTimeout,
    /// `maxWaiting` callers are already queued.
    QueueFull(usize),
    /// The network or TLS layer failed while connecting or talking to the server, with no
    /// operating-system error to name (a TLS failure, a name lookup, a reader that stopped).
    Io(String),
    /// A socket operation failed with an operating-system error: named as Node names it
    /// (`code` `ECONNRESET`, `read ECONNRESET`), because pg hands Node's socket error on.
    Socket(SocketError),
    /// The server refused TLS although it was required.
    TlsUnsupported,
    /// TLS configuration or handshake failure.
    Tls(String),
    /// The server sent an `ErrorResponse` (raw frame kept) while connecting.
    Db(DbError),
    /// Authentication failed on the client's side: a method we cannot do, no password, or a
    /// server that did not prove it knows the password (a wrong SCRAM signature).
    Auth(String),
    /// The server asked for an authentication method the client's `requireAuth` or
    /// `channelBinding` forbids (a cleartext or MD5 password, none at all, SCRAM without
    /// channel binding); the message says which requirement and what the server asked for.
    AuthRefused(String),
    /// The connection ended while a query was in flight or before one was sent.
    ConnectionTerminated,
    /// A checkout was released a second time; pg-pool's message.
    ReleasedTwice,
    /// A statement on a checkout that was already released.
    QueryAfterRelease,
    /// A statement on a checkout the pool took back: why, when, and after how long.
    ClientReclaimed(Reclaimed),
    /// The query text (or a statement name) contains a NUL byte, which the protocol cannot carry.
    QueryHasNul,
    /// A value the protocol cannot frame (e.g. longer than 2 GiB); the codec's reason.
    QueryEncoding(String),
    /// A caller-named statement was reused for different text on one connection.
    StatementNameReused(String),
    /// The server broke the protocol: a message that answers no request, or one that cannot
    /// be parsed. The connection is discarded. `Display` is pg's message where pg has one
    /// ("Received unexpected dataRow message from backend.").
    Protocol(String),
}

/// An operating-system error of a socket operation, as Node reports it.
///
/// Invariants: `errno` is the OS's (positive) error number and `code` its name (`E…`, or
/// `Unknown system error N` for one the table does not know); `address`/`port` are set for
/// `connect` only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketError {
    /// `connect`, `read` or `write`.
    pub syscall: &'static str,
    pub code: String,
    pub errno: i32,
    /// The server connected to: a host or a unix socket path.
    pub address: Option<String>,
    pub port: Option<u16>,
}

impl SocketError {
    /// The socket error `e` carries, if it carries an operating-system error number.
    pub fn from_io(syscall: &'static str, e: &std::io::Error) -> Option<SocketError> {
        let errno = e.raw_os_error()?;
        let code = errno_name(errno)
            .map(str::to_string)
            .unwrap_or_else(|| format!("Unknown system error {errno}"));
        Some(SocketError {
            syscall,
            code,
            errno,
            address: None,
            port: None,
        })
    }

    /// The same error, naming the server it was connecting to.
    pub fn at(mut self, address: &str, port: Option<u16>) -> SocketError {
        self.address = Some(address.to_string());
        self.port = port;
        self
    }
}

impl SocketError {
    /// The members Node's error has besides `code` and `message`: `errno` (negative, as
    /// libuv reports it), `syscall`, and for `connect` `address` and `port`.
    pub fn node_fields(&self) -> serde_json::Value {
        let mut v = serde_json::json!({ "errno": -self.errno, "syscall": self.syscall });
        if let Some(a) = &self.address {
            v["address"] = a.clone().into();
        }
        if let Some(p) = self.port {
            v["port"] = p.into();
        }
        v
    }
}

impl fmt::Display for SocketError {
    /// Node's form: `read ECONNRESET`, `connect ECONNREFUSED 127.0.0.1:5432`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.syscall, self.code)?;
        match (&self.address, self.port) {
            (Some(a), Some(p)) => write!(f, " {a}:{p}"),
            (Some(a), None) => write!(f, " {a}"),
            _ => Ok(()),
        }
    }
}

/// Node's name for an OS error number (the socket-related ones).
#[cfg(unix)]
fn errno_name(n: i32) -> Option<&'static str> {
    const NAMES: &[(i32, &str)] = &[
        (libc::ECONNRESET, "ECONNRESET"),
        (libc::EPIPE, "EPIPE"),
        (libc::ECONNREFUSED, "ECONNREFUSED"),
        (libc::ECONNABORTED, "ECONNABORTED"),
        (libc::ETIMEDOUT, "ETIMEDOUT"),
        (libc::EHOSTUNREACH, "EHOSTUNREACH"),
        (libc::EHOSTDOWN, "EHOSTDOWN"),
        (libc::ENETUNREACH, "ENETUNREACH"),
        (libc::ENETDOWN, "ENETDOWN"),
        (libc::ENETRESET, "ENETRESET"),
        (libc::ENOTCONN, "ENOTCONN"),
        (libc::ESHUTDOWN, "ESHUTDOWN"),
        (libc::EADDRNOTAVAIL, "EADDRNOTAVAIL"),
        (libc::EADDRINUSE, "EADDRINUSE"),
        (libc::EAFNOSUPPORT, "EAFNOSUPPORT"),
        (libc::ENOENT, "ENOENT"),
        (libc::EACCES, "EACCES"),
        (libc::EPERM, "EPERM"),
        (libc::EAGAIN, "EAGAIN"),
        (libc::EINTR, "EINTR"),
        (libc::EBADF, "EBADF"),
        (libc::EINVAL, "EINVAL"),
        (libc::EIO, "EIO"),
        (libc::ENOBUFS, "ENOBUFS"),
        (libc::ENOMEM, "ENOMEM"),
        (libc::EMFILE, "EMFILE"),
        (libc::ENFILE, "ENFILE"),
        (libc::ENOTSOCK, "ENOTSOCK"),
        (libc::EPROTO, "EPROTO"),
    ];
    NAMES.iter().find(|(e, _)| *e == n).map(|(_, name)| *name)
}

#[cfg(not(unix))]
fn errno_name(_n: i32) -> Option<&'static str> {
    None
}

/// Why the pool took a checkout away from its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReclaimReason {
    /// Idle within its checkout longer than `forceReleaseAfterMs`.
    Idle,
    /// Still checked out when `end()`'s grace period ran out.
    End,
    /// Its handle was dropped (garbage-collected) without release.
    GarbageCollected,
}

impl ReclaimReason {
    /// The stable name of the reason (`reason` of the JS events).
    pub fn as_str(&self) -> &'static str {
        match self {
            ReclaimReason::Idle => "idle",
            ReclaimReason::End => "end",
            ReclaimReason::GarbageCollected => "garbage-collected",
        }
    }
}

/// The facts of a reclaim, kept by the checkout's handle for its holder's next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reclaimed {
    pub reason: ReclaimReason,
    /// When it was reclaimed, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// How long it had been held, in milliseconds.
    pub held_ms: u64,
}

/// Who held an exhausted pool when an acquire gave up.
///
/// Invariants: `holders` has one entry per acquisition site, most clients first (then the
/// longest held); their counts add up to `in_use`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exhaustion {
    /// Checkouts active then.
    pub in_use: usize,
    /// The pool's `max` (the tag's limit when `tag` is set).
    pub max: usize,
    pub holders: Vec<Holder>,
    /// The tag at its limit, when the caller waited for its tag rather than for the pool.
    pub tag: Option<String>,
}

/// The checkouts of one acquisition site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub site: Site,
    /// How many checkouts this site holds.
    pub count: usize,
    /// How long the oldest of them has been held, in milliseconds.
    pub max_held_ms: u64,
}

/// Where a checkout was taken, as far as the core knows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Site {
    /// The implicit checkout of `Pool::query`.
    Query,
    /// The location the caller gave in its `CheckoutMeta`.
    Location(String),
    /// No location, but a tag.
    Tag(String),
    /// Neither.
    Unknown,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Site::Query => f.write_str("pool.query"),
            Site::Location(l) => f.write_str(l),
            Site::Tag(t) => write!(f, "tag:{}", t),
            Site::Unknown => f.write_str("unknown"),
        }
    }
}

/// A server `ErrorResponse`, kept as the raw protocol frame plus its two most used fields.
///
/// Invariant: `frame` is a complete backend message (`'E'`, length, fields).
#[derive(Debug, Clone)]
pub struct DbError {
    pub frame: Vec<u8>,
    pub code: String,
    pub message: String,
}

impl Error {
    /// pg's message when no connection became available in time (the start of
    /// [`Error::AcquireTimeout`]'s `Display`).
    pub const ACQUIRE_TIMEOUT: &'static str = "timeout exceeded when trying to connect";

    /// The stable code of this error, exposed to JS as `err.code`.
    ///
    /// Server errors use their SQLSTATE, like pg; our own errors use `LDP_*` codes.
    /// The facts beyond code and message that the JS layer reads, as a JSON object: a socket
    /// error's Node members (`errno`, `syscall`, …), a reclaim's `reason`, `at` and `heldMs`.
    pub fn facts_json(&self) -> Option<String> {
        match self {
            Error::ClientReclaimed(r) => Some(
                serde_json::json!({
                    "reason": r.reason.as_str(),
                    "at": r.at_ms,
                    "heldMs": r.held_ms,
                })
                .to_string(),
            ),
            Error::Socket(s) => Some(s.node_fields().to_string()),
            _ => None,
        }
    }

    pub fn code(&self) -> &str {
        match self {
            Error::Config(_) => "LDP_INVALID_OPTION",
            Error::PoolEnded => "LDP_POOL_ENDED",
            Error::EndCalledTwice => "LDP_END_TWICE",
            Error::AcquireTimeout(_) => "LDP_ACQUIRE_TIMEOUT",
            Error::TagLimitTimeout(_) => "LDP_TAG_LIMIT_TIMEOUT",
            Error::ConnectTimeout => "LDP_CONNECT_TIMEOUT",
            Error::QueueFull(_) => "LDP_QUEUE_FULL",
            Error::Io(_) => "LDP_IO",
            Error::Socket(e) => &e.code,
            Error::TlsUnsupported => "LDP_TLS_UNSUPPORTED",
            Error::Tls(_) => "LDP_TLS",
            Error::Db(db) => &db.code,
            Error::Auth(_) => "LDP_AUTH",
            Error::AuthRefused(_) => "LDP_AUTH_REFUSED",
            Error::ConnectionTerminated => "LDP_CONNECTION_TERMINATED",
            Error::ReleasedTwice | Error::QueryAfterRelease => "LDP_CLIENT_RELEASED",
            Error::ClientReclaimed(_) => "LDP_CLIENT_RECLAIMED",
            Error::QueryHasNul | Error::QueryEncoding(_) => "LDP_INVALID_QUERY",
            Error::StatementNameReused(_) => "LDP_STATEMENT_NAME_REUSED",
            Error::Protocol(_) => "LDP_PROTOCOL",
        }
    }
}

impl fmt::Display for Exhaustion {
    /// `10/10 in use: 7 held by f (a.js:12) for up to 31.0s; 3 by pool.query for up to 0.2s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(t) = &self.tag {
            write!(f, "tag {t:?} at its limit, ")?;
        }
        write!(f, "{}/{} in use: ", self.in_use, self.max)?;
        for (i, h) in self.holders.iter().enumerate() {
            let held = if i == 0 { " held" } else { "" };
            let sep = if i == 0 { "" } else { "; " };
            write!(
                f,
                "{sep}{}{held} by {} for up to {:.1}s",
                h.count,
                h.site,
                h.max_held_ms as f64 / 1000.0
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(e) => write!(f, "{}", e),
            Error::PoolEnded => f.write_str("Cannot use a pool after calling end on the pool"),
            Error::EndCalledTwice => f.write_str("Called end on pool more than once"),
            Error::AcquireTimeout(x) if x.holders.is_empty() => f.write_str(Self::ACQUIRE_TIMEOUT),
            Error::AcquireTimeout(x) | Error::TagLimitTimeout(x) => {
                write!(f, "{} ({})", Self::ACQUIRE_TIMEOUT, x)
            }
            Error::ConnectTimeout => f.write_str("Connection terminated due to connection timeout"),
            Error::QueueFull(n) => write!(
                f,
                "too many clients waiting for a connection: maxWaiting ({}) callers are already queued",
                n
            ),
            Error::Io(m) => f.write_str(m),
            Error::Socket(e) => write!(f, "{e}"),
            Error::TlsUnsupported => f.write_str("The server does not support SSL connections"),
            Error::Tls(m) => write!(f, "TLS error: {}", m),
            Error::Db(db) => f.write_str(&db.message),
            Error::Auth(m) | Error::AuthRefused(m) => f.write_str(m),
            Error::ConnectionTerminated => f.write_str("Connection terminated unexpectedly"),
            Error::ReleasedTwice => f.write_str(
                "Release called on client which has already been released to the pool.",
            ),
            Error::QueryAfterRelease => f.write_str(
                "Client has already been released to the pool; a released client cannot run queries",
            ),
            Error::ClientReclaimed(r) => {
                let what = match r.reason {
                    ReclaimReason::Idle => "was force-released by the pool",
                    ReclaimReason::End => "was destroyed by pool.end()",
                    ReclaimReason::GarbageCollected => {
                        "was reclaimed after being garbage-collected"
                    }
                };
                write!(
                    f,
                    "Client {} at {} (epoch ms) after being held for {} ms; its connection is closed",
                    what, r.at_ms, r.held_ms
                )
            }
            Error::QueryHasNul => f.write_str("query text cannot contain NUL bytes"),
            Error::QueryEncoding(m) => write!(f, "could not encode the query: {}", m),
            Error::StatementNameReused(name) => write!(
                f,
                "Prepared statements must be unique - '{}' was used for a different statement",
                name
            ),
            Error::Protocol(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

/// The core's result type.
pub type Result<T> = std::result::Result<T, Error>;
