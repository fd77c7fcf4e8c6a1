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
//! Modules depend one way: `pool` → `metrics` → `buffer`; `pool` → `pg` → `error` →
//! `config`. From Rust: build a [`Pool`] from a [`PoolConfig`], take [`Checkout`]s, run
//! [`Statement`](pg::Statement)s, read the reply frames with [`pg::frames`], and receive
//! [`PoolEvent`]s (with [`PoolBuilder::capture_backtraces`], a leak report carries the
//! backtrace of the code that took the checkout).
//!
//! Threads: the core runs on one tokio runtime (napi's when loaded in Node). Each connection
//! has a writer task and a reader task — or, for a plain socket of a pool built with a
//! [`ReadScheduler`](pg::ReadScheduler), a reader driven by the embedder's thread; each pool
//! has an idle reaper, a leak checker and a metrics sampler, all holding `Weak` references so
//! they stop when the pool is dropped or ended. Nothing in the core blocks the caller's
//! thread: synchronous methods only take short, non-awaiting locks, and no caller code (a
//! callback, an event sink) ever runs under the pool's lock.
//!
//! See ARCHITECTURE.md for the life of a query and of a checkout.

#![deny(unsafe_code)]

mod buffer;
pub mod config;
pub mod error;
pub mod metrics;
pub mod pg;
pub mod pool;
pub mod unwind;

#[cfg(feature = "napi")]
#[allow(unsafe_code)]
mod binding;

pub use config::PoolConfig;
pub use error::{Error, Result};
pub use pool::{Checkout, CheckoutMeta, Pool, PoolBuilder, PoolEvent, PoolEvents};
