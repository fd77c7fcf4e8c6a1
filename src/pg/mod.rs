//! The PostgreSQL side: streams, startup/auth, the connection driver, the statement cache.
//!
//! The wire protocol is spoken through `postgres-protocol` (the message codec tokio-postgres
//! is built on) rather than through `tokio_postgres::Client`, because the pg-compatible query
//! path needs what that client hides: text-format results (pg's parsers, custom `types`),
//! command tags and OIDs of every statement of a simple query, the transaction status of each
//! `ReadyForQuery`, unnamed or named statements at will, and no type-lookup round trips.
//!
//! Inside a connection, modules depend one way: `conn` (the handle, opening) → `external`
//! (sockets read by a [`ReadScheduler`]) → `read` (routing replies) → `shared` (the one seam
//! both sides meet in) → `write` (encoding, writing) → `queue` (pending reply slots);
//! `shared` → `flow` (a raw session's flow control).
//!
//! What a Rust caller needs from here: [`Statement`] and [`Param`] to ask, [`ReplyTo`] and its
//! sinks to be answered, [`frames`] to read the reply, [`ReadScheduler`] to read sockets on
//! a thread of its own, and for a raw session (the caller speaks the protocol itself, as pg's
//! Submittables do) [`WrittenFn`] and the [`flow`] window.

mod auth;
#[cfg(test)]
mod auth_tests;
mod cache;
pub(crate) mod conn;
mod end_point;
mod external;
#[cfg(test)]
pub(crate) mod fake;
pub mod flow;
pub mod frames;
#[cfg(test)]
mod protocol_tests;
mod queue;
mod read;
mod request;
pub(crate) mod shared;
mod startup;
mod stream;
mod tls;
mod write;

pub use auth::AuthMethod;
pub(crate) use conn::{Conn, ConnOptions};
pub use external::{ExternalReader, ReadScheduler};
pub use queue::{PartialSink, ReplyFn, ReplyTo, STREAM_CHUNK};
pub use request::{Param, Statement};
pub(crate) use shared::ConnListener;
pub use tls::DefaultRoots;
pub(crate) use tls::TlsSetup;
pub use write::WrittenFn;
