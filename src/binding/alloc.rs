//! The addon's allocator: mimalloc, tuned so that an idle process gives memory back.
//!
//! Why mimalloc: the addon's allocations (requests, replies, the completions buffer) are made
//! on one thread and often freed on the other; glibc's malloc takes the other arena's lock for
//! those frees, mimalloc does not. Measured at c=16 (the same code with and without it, 3
//! alternating pairs): CPU per connect/query/release cycle 30.2 → 27.7 µs, per `pool.query`
//! 18.2 → 16.9 µs.
//!
//! Why the tuning: with mimalloc's defaults a process on this pool sat ~10–15 MB above the
//! same process on pg.Pool once traffic stopped (`benchmark/memory.js`). Two defaults cause
//! it, and neither buys the pool anything:
//! - `arena_eager_commit` (on where the OS overcommits): arenas are committed up front and
//!   advised as transparent huge pages, so the first allocations make whole 2 MB pages
//!   resident (~4 MB at load);
//! - `purge_delay` (1 s, times the arena multiplier): freed pages are returned to the OS only
//!   by a later allocation after the delay, and an idle pool allocates almost nothing, so a
//!   burst's memory (a 10,000-row reply streams through 128 KB chunks) stays resident.
//!
//! Purging at once costs nothing measurable on the hot paths: a connect/query/release cycle
//! frees no whole page in steady state (madvise calls over 35,000 cycles: 172 before, 204
//! after). `allow_thp` is left alone: turning it off disables huge pages for the whole
//! process (V8's heap included), which is not a library's call.
//!
//! A `MIMALLOC_*` environment variable the user set wins over these defaults.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option numbers (`mi_option_t` in the bundled v3 `mimalloc.h`; the crate's Rust
/// declarations of them need a feature this addon does not build with).
const ARENA_EAGER_COMMIT: i32 = 4;
const PURGE_DELAY: i32 = 15;

extern "C" {
    fn mi_option_set(option: i32, value: std::ffi::c_long);
}

/// Applies the tuning above; called once, at module load.
pub(crate) fn tune() {
    for (option, env, value) in [
        (ARENA_EAGER_COMMIT, "MIMALLOC_ARENA_EAGER_COMMIT", 0),
        (PURGE_DELAY, "MIMALLOC_PURGE_DELAY", 0),
    ] {
        if std::env::var_os(env).is_none() {
            // SAFETY: mi_option_set only stores the value; both numbers are valid options.
            unsafe { mi_option_set(option, value) };
        }
    }
}
