//! The PostgreSQL side: streams, startup/auth, the connection driver, the statement cache.
//!
//! The wire protocol is spoken through `postgres-protocol` (the message codec tokio-postgres
//! is built on) rather than through `tokio_postgres::Client`, because the pg-compatible query
//! path needs what that client hides: text-format results (pg's parsers, custom `types`),
//! command tags and OIDs of every statement of a simple query, the transaction status of each
//! `ReadyForQuery`, unnamed or named statements at will, and no type-lookup round trips.

pub mod cache;
pub mod conn;
pub mod external;
pub mod frames;
mod read;
pub mod request;
pub mod startup;
pub mod stream;
pub mod tls;

pub use conn::{Conn, ConnListener, ConnShared};
pub use request::{Param, Statement};
