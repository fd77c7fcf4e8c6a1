//! The napi binding: the only code that knows about JavaScript.
//!
//! Each method converts its arguments, makes one core call and maps the result. Replies to
//! queries cross as one `Buffer` of protocol frames per query (parsed by `lib/result.js`);
//! events cross as JSON strings through one weak thread-safe function per pool, so they never
//! keep Node alive.

#![cfg_attr(test, allow(dead_code))]

mod alloc;
mod auth;
mod checkouts;
mod completions;
mod convert;
mod events;
#[cfg(unix)]
mod loop_reads;
#[cfg(not(unix))]
#[path = "no_loop_reads.rs"]
mod loop_reads;
mod pool;

/// The connections' runtime: one I/O worker thread by default (`LDP_WORKER_THREADS=n` for
/// more). The JS thread costs more per query than the I/O side, so one worker keeps up with
/// it, and with one worker a socket's wake-up never has to unpark a second thread: measured
/// 9 vs 13 µs of I/O-thread CPU per connect/query/release cycle (benchmark/ and
/// BENCHMARKS.md). If the runtime cannot be built, napi-rs's default runtime is used.
#[napi_derive::module_init]
fn init() {
    alloc::tune();
    let workers = std::env::var("LDP_WORKER_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1);
    if let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("ldp-io")
        .enable_all()
        .build()
    {
        napi::bindgen_prelude::create_custom_tokio_runtime(rt);
    }
}
