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
/// from redacted values, connection errors never format credentials).
#[derive(Debug, Clone)]
pub enum Error {
    /// The options were invalid; carries the option name and a message.
    Config(ConfigError),
    /// The pool was ended; pg's message.
    PoolEnded,
    /// `end()` was called a second time; pg's message.
    EndCalledTwice,
    /// No connection became available within `connectionTimeoutMillis`.
    /// The message is pg's, with the current holders appended; the second field is the
    /// holders as JSON (`err.holders` in JS).
    AcquireTimeout(String, String),
    /// Opening a connection took longer than `connectionTimeoutMillis`.
    ConnectTimeout,
    /// `maxWaiting` callers are already queued.
    QueueFull(usize),
    /// The network or TLS layer failed while connecting or talking to the server.
    Io(String),
    /// The server refused TLS although it was required.
    TlsUnsupported,
    /// TLS configuration or handshake failure.
    Tls(String),
    /// The server sent an `ErrorResponse` (raw frame kept) while connecting.
    Db(DbError),
    /// Authentication needs something we cannot do (unsupported method, no password).
    Auth(String),
    /// The connection ended while a query was in flight or before one was sent.
    ConnectionTerminated,
    /// The client was released, force-released or destroyed; the message says which and when.
    ClientReleased(String),
    /// The server said something we did not expect.
    Protocol(String),
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

impl DbError {
    /// Parses the fields of an `ErrorResponse`/`NoticeResponse` frame (type byte and length included).
    pub fn from_frame(frame: &[u8]) -> DbError {
        let mut code = String::new();
        let mut message = String::new();
        for (field, value) in crate::pg::frames::fields(frame) {
            match field {
                b'C' => code = value.to_string(),
                b'M' => message = value.to_string(),
                _ => {}
            }
        }
        DbError {
            frame: frame.to_vec(),
            code,
            message,
        }
    }
}

impl Error {
    /// pg-pool's error for releasing a client a second time.
    pub fn released_twice() -> Error {
        Error::ClientReleased(
            "Release called on client which has already been released to the pool.".into(),
        )
    }

    /// A statement on a client that was already released.
    pub fn query_after_release() -> Error {
        Error::ClientReleased(
            "Client has already been released to the pool; a released client cannot run queries"
                .into(),
        )
    }

    /// The stable code of this error, exposed to JS as `err.code`.
    ///
    /// Server errors use their SQLSTATE, like pg; our own errors use `LDP_*` codes.
    pub fn code(&self) -> &str {
        match self {
            Error::Config(_) => "LDP_INVALID_OPTION",
            Error::PoolEnded => "LDP_POOL_ENDED",
            Error::EndCalledTwice => "LDP_END_TWICE",
            Error::AcquireTimeout(..) => "LDP_ACQUIRE_TIMEOUT",
            Error::ConnectTimeout => "LDP_CONNECT_TIMEOUT",
            Error::QueueFull(_) => "LDP_QUEUE_FULL",
            Error::Io(_) => "LDP_IO",
            Error::TlsUnsupported => "LDP_TLS_UNSUPPORTED",
            Error::Tls(_) => "LDP_TLS",
            Error::Db(db) => &db.code,
            Error::Auth(_) => "LDP_AUTH",
            Error::ConnectionTerminated => "LDP_CONNECTION_TERMINATED",
            Error::ClientReleased(_) => "LDP_CLIENT_RELEASED",
            Error::Protocol(_) => "LDP_PROTOCOL",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(e) => write!(f, "{}", e),
            Error::PoolEnded => f.write_str("Cannot use a pool after calling end on the pool"),
            Error::EndCalledTwice => f.write_str("Called end on pool more than once"),
            Error::AcquireTimeout(m, _) => f.write_str(m),
            Error::ConnectTimeout => f.write_str("Connection terminated due to connection timeout"),
            Error::QueueFull(n) => write!(
                f,
                "too many clients waiting for a connection: maxWaiting ({}) callers are already queued",
                n
            ),
            Error::Io(m) => f.write_str(m),
            Error::TlsUnsupported => f.write_str("The server does not support SSL connections"),
            Error::Tls(m) => write!(f, "TLS error: {}", m),
            Error::Db(db) => f.write_str(&db.message),
            Error::Auth(m) => f.write_str(m),
            Error::ConnectionTerminated => f.write_str("Connection terminated unexpectedly"),
            Error::ClientReleased(m) => f.write_str(m),
            Error::Protocol(m) => write!(f, "protocol error: {}", m),
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
