//! # leak-detecting-pool
//!
//! The Rust core of `LeakDetectingPool`, a drop-in replacement for node-postgres's `pg.Pool`
//! that reports leaked clients with the stack of the code that took them and reclaims stuck
//! clients for real.
//!
//! Layers: everything outside `binding` is the core and never imports napi (`cargo test
//! --no-default-features` builds and tests it without Node). `binding` (feature `napi`, on by
//! default) converts JS values, makes one core call per method and maps the result.
//!
//! Threads: the core runs on one tokio runtime (napi's when loaded in Node). Each connection
//! has a writer task and a reader task — or, for a plain socket of a pool created with a
//! [`ReadScheduler`](pg::external::ReadScheduler), a reader driven by the embedder's thread; each pool has an idle reaper and a leak checker, both
//! holding `Weak` references so they stop when the pool is dropped or ended. Nothing in the
//! core blocks the caller's thread: synchronous methods only take short, non-awaiting locks.
//!
//! See ARCHITECTURE.md for the life of a query and of a checkout.

#![deny(unsafe_code)]

pub mod buffer;
pub mod config;
pub mod error;
pub mod leak;
pub mod metrics;
pub mod pg;
pub mod pool;

#[cfg(feature = "napi")]
#[allow(unsafe_code)]
mod binding;

pub use config::PoolConfig;
pub use error::{Error, Result};
pub use pool::{Checkout, CheckoutMeta, Pool, PoolEvent, PoolEvents};
