//! Connections' sockets read on the JS thread, from libuv poll handles (see
//! `pg::external`): a reply costs the JS thread a `recv` instead of costing a cross-thread
//! wake-up of the I/O thread and then of the JS thread.
//!
//! New connections are opened on the I/O thread; their readers wait in [`LoopReads`] until the
//! JS thread next drains completions (`adopt` wakes it), which starts a poll handle for each.
//! Each handle owns its reader; when the reader says the connection ended, the handle stops
//! and is closed, and its close callback frees both. The handles are unref'd: an idle
//! connection never keeps Node alive (queries in flight are kept alive by `lib/completions.js`).
//! When the environment is torn down (process exit, a worker thread ending), a cleanup hook
//! closes whatever handles are still open, so libuv's loop can close.
//!
//! A reader paused by a raw session's flow control (its consumer holds too much) has its
//! handle stopped — libuv polls level-triggered, so a socket left unread would call back
//! forever — and listed in `paused`; `resume` (from any thread) queues its connection and
//! wakes JS, and the next drain (or the acknowledgement that resumed it, on the JS thread
//! itself) starts the handle again.
//!
//! Invariants: every handle is touched only on the JS thread of the environment that created
//! it; `LIVE` lists that thread's open handles; `paused` lists open, stopped handles only.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use napi::Env;
use parking_lot::Mutex;
use tokio::runtime::Handle;

use super::completions::Completions;
use crate::pg::{ExternalReader, ReadScheduler};

// libuv, as exported by the Node binary that loads us.
extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_poll_init_socket(lp: *mut c_void, handle: *mut c_void, fd: c_int) -> c_int;
    fn uv_poll_start(
        handle: *mut c_void,
        events: c_int,
        cb: extern "C" fn(*mut c_void, c_int, c_int),
    ) -> c_int;
    fn uv_poll_stop(handle: *mut c_void) -> c_int;
    fn uv_close(handle: *mut c_void, cb: extern "C" fn(*mut c_void));
    fn uv_unref(handle: *mut c_void);
}

/// `UV_POLL` in libuv's `uv_handle_type`.
const UV_POLL: c_int = 8;
/// `UV_READABLE` in libuv's `uv_poll_event`.
const UV_READABLE: c_int = 1;

/// Stopped handles of paused readers, by connection id (addresses; JS thread only).
type Paused = Arc<Mutex<HashMap<u64, usize>>>;

/// What a poll handle's `data` (the first field of every libuv handle) points to.
struct Slot {
    reader: ExternalReader,
    runtime: Handle,
    paused: Paused,
}

thread_local! {
    /// The open poll handles of this thread, and whether its cleanup hook is installed.
    static LIVE: RefCell<(Vec<usize>, bool)> = const { RefCell::new((Vec::new(), false)) };
}

/// The pool's [`ReadScheduler`]: readers and resumptions wait here for the JS thread.
pub struct LoopReads {
    waiting: Mutex<Vec<ExternalReader>>,
    /// Connections whose paused reader may read again.
    resumes: Mutex<Vec<u64>>,
    paused: Paused,
    completions: Arc<Completions>,
    runtime: Handle,
}

impl LoopReads {
    /// Always `Some` here (see `no_loop_reads.rs` for where it is not).
    pub fn new(completions: Arc<Completions>, runtime: Handle) -> Option<Arc<Self>> {
        Some(Arc::new(LoopReads {
            waiting: Mutex::new(Vec::new()),
            resumes: Mutex::new(Vec::new()),
            paused: Paused::default(),
            completions,
            runtime,
        }))
    }

    /// Starts polling the sockets of the connections opened since the last call, and again
    /// those of paused readers that may read now. JS thread only.
    pub fn start_waiting(&self, env: &Env) {
        let resumes = std::mem::take(&mut *self.resumes.lock());
        for id in resumes {
            self.restart(id);
        }
        let readers = std::mem::take(&mut *self.waiting.lock());
        if readers.is_empty() {
            return;
        }
        let lp = match env.get_uv_event_loop() {
            Ok(lp) => lp.cast::<c_void>(),
            // Dropping a reader ends its connection with an error: nothing waits forever.
            Err(_) => return,
        };
        install_cleanup(env);
        for reader in readers {
            start(lp, reader, self.runtime.clone(), self.paused.clone());
        }
    }

    /// Starts connection `id`'s stopped handle again if its reader is no longer paused.
    fn restart(&self, id: u64) {
        let Some(h) = self.paused.lock().get(&id).copied() else {
            return;
        };
        let h = h as *mut c_void;
        // SAFETY: listed handles are open handles of this thread, their `Slot` alive.
        unsafe {
            if (**h.cast::<*mut Slot>()).reader.is_paused() {
                return;
            }
            self.paused.lock().remove(&id);
            if uv_poll_start(h, UV_READABLE, on_poll) != 0 {
                close(h);
            }
        }
    }
}

impl ReadScheduler for LoopReads {
    fn adopt(&self, reader: ExternalReader) {
        self.waiting.lock().push(reader);
        self.completions.wake();
    }

    fn resume(&self, conn_id: u64) {
        self.resumes.lock().push(conn_id);
        self.completions.wake();
    }
}

fn layout() -> Layout {
    // SAFETY: a pure query of libuv's struct size.
    let size = unsafe { uv_handle_size(UV_POLL) };
    Layout::from_size_align(size.max(1), 16).expect("poll handle layout")
}

fn start(lp: *mut c_void, reader: ExternalReader, runtime: Handle, paused: Paused) {
    let layout = layout();
    // SAFETY: `h` is a zeroed allocation of libuv's size for a poll handle, initialized by
    // `uv_poll_init_socket` before any other use; `data` (offset 0) is set before polling starts.
    unsafe {
        let h = alloc_zeroed(layout).cast::<c_void>();
        if h.is_null() {
            return;
        }
        if uv_poll_init_socket(lp, h, reader.fd()) != 0 {
            dealloc(h.cast(), layout);
            let _g = runtime.enter();
            drop(reader);
            return;
        }
        let slot = Box::into_raw(Box::new(Slot {
            reader,
            runtime,
            paused,
        }));
        *h.cast::<*mut Slot>() = slot;
        if uv_poll_start(h, UV_READABLE, on_poll) != 0 {
            close(h);
            return;
        }
        uv_unref(h);
        LIVE.with(|l| l.borrow_mut().0.push(h as usize));
    }
}

extern "C" fn on_poll(h: *mut c_void, status: c_int, _events: c_int) {
    // SAFETY: `data` was set to a live `Slot` in `start` and is freed only by `on_close`.
    let slot = unsafe { &mut **h.cast::<*mut Slot>() };
    let open = catch_unwind(AssertUnwindSafe(|| {
        let _g = slot.runtime.enter();
        if status < 0 {
            // libuv reports a socket error (e.g. a reset) as a failed poll: reading names it
            // (`read ECONNRESET`, as pg reports it); only if reading does not is it generic.
            if slot.reader.on_readable() {
                slot.reader.fail("polling the socket failed");
            }
            false
        } else {
            slot.reader.on_readable()
        }
    }))
    .unwrap_or(false);
    if !open {
        // SAFETY: `h` is an open poll handle of this thread.
        unsafe { close(h) };
    } else if slot.reader.is_paused() {
        // SAFETY: as above; it stays open, stopped, until `restart` (or a close).
        unsafe { uv_poll_stop(h) };
        slot.paused.lock().insert(slot.reader.conn_id(), h as usize);
    }
}

/// Stops and closes handle `h`; `on_close` frees it. Only once per handle.
unsafe fn close(h: *mut c_void) {
    LIVE.with(|l| l.borrow_mut().0.retain(|&x| x != h as usize));
    forget_paused(h);
    uv_poll_stop(h);
    uv_close(h, on_close);
}

/// Takes closing handle `h` off its pool's paused list, so that nothing starts it again.
unsafe fn forget_paused(h: *mut c_void) {
    let slot = &**h.cast::<*mut Slot>();
    let mut paused = slot.paused.lock();
    let id = slot.reader.conn_id();
    if paused.get(&id) == Some(&(h as usize)) {
        paused.remove(&id);
    }
}

extern "C" fn on_close(h: *mut c_void) {
    // SAFETY: libuv is done with `h`; its `Slot` and memory are ours to free, once.
    unsafe {
        let slot = Box::from_raw(*h.cast::<*mut Slot>());
        // Dropping an unfinished reader ends its connection (pool bookkeeping may spawn).
        let runtime = slot.runtime.clone();
        let _g = runtime.enter();
        let _ = catch_unwind(AssertUnwindSafe(|| drop(slot)));
        dealloc(h.cast(), layout());
    }
}

/// Closes this thread's open handles when its environment goes away.
fn install_cleanup(env: &Env) {
    let installed = LIVE.with(|l| std::mem::replace(&mut l.borrow_mut().1, true));
    if installed {
        return;
    }
    let _ = env.add_env_cleanup_hook((), |_| {
        let open = LIVE.with(|l| {
            let mut l = l.borrow_mut();
            l.1 = false;
            std::mem::take(&mut l.0)
        });
        for h in open {
            // SAFETY: listed handles are open handles of this thread.
            unsafe {
                forget_paused(h as *mut c_void);
                uv_poll_stop(h as *mut c_void);
                uv_close(h as *mut c_void, on_close);
            }
        }
    });
}
