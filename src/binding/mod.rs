//! The napi binding: the only code that knows about JavaScript.
//!
//! Each method converts its arguments, makes one core call and maps the result. Replies to
//! queries cross as one `Buffer` of protocol frames per query (parsed by `lib/result.js`);
//! events cross as JSON strings through one weak thread-safe function per pool, so they never
//! keep Node alive.

#![cfg_attr(test, allow(dead_code))]

mod client;
mod completions;
mod convert;
mod events;
mod pool;
