//! Connections whose socket is read by a thread of the embedder's choosing.
//!
//! A reader task costs a cross-thread wake-up per reply: the I/O thread sleeps in `epoll_wait`,
//! is woken by the reply, and wakes the JS thread in turn. The JS binding avoids that by
//! reading sockets on the JS thread itself (from a libuv poll handle), as node-postgres does.
//! For that, the core hands each new plain (TCP or unix) connection to a [`ReadScheduler`] as
//! an [`ExternalReader`] and takes the socket off tokio's reactor: a registration with read
//! interest would still wake the I/O thread on every arrival. Writes stay as they are (direct
//! from the submitting thread); the writer task waits for room through a duplicate of the
//! socket registered for writability only, which arriving data never signals.

use std::io::{self, Read};
#[cfg(unix)]
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
#[cfg(unix)]
use std::pin::Pin;
#[cfg(unix)]
use std::sync::Arc;
#[cfg(unix)]
use std::task::{ready, Context, Poll};

use socket2::Socket;
#[cfg(unix)]
use tokio::io::unix::AsyncFd;
#[cfg(unix)]
use tokio::io::{AsyncWrite, Interest};

use super::read::{Ended, ReadLoop};
use crate::error::Error;

/// The seam that keeps the embedder's event loop out of the core: it takes the readers of new
/// connections and calls [`ExternalReader::on_readable`] whenever their socket is readable
/// (and again after a call that [`yielded`](ExternalReader::yielded)), on a thread of its
/// choosing, until it returns `false`; then it drops the reader. While a
/// reader [`is_paused`](ExternalReader::is_paused) (a raw session's consumer holds too much)
/// the scheduler stops watching its socket, until [`resume`](Self::resume) names its
/// connection. `adopt` and `resume` are called on any thread and must not block. Only where
/// sockets are file descriptors (unix): elsewhere every connection has a reader task and a
/// scheduler is never called.
pub trait ReadScheduler: Send + Sync + 'static {
    /// Takes over reading a new connection's socket ([`ExternalReader::fd`]).
    fn adopt(&self, reader: ExternalReader);

    /// Connection `conn_id`'s reader may read again: watch its socket again if it was paused
    /// (and if it is still paused, keep waiting for the next call).
    fn resume(&self, conn_id: u64);
}

/// The reading side of a connection driven from outside the runtime.
///
/// Invariant: once [`on_readable`](Self::on_readable) has returned `false` (or the reader is
/// dropped), the connection is closed and every request on it has been answered — a reader
/// dropped while the socket is still open ends the connection with an error rather than
/// leaving requests unanswered.
pub struct ExternalReader {
    sock: Socket,
    lp: ReadLoop,
    /// The last [`on_readable`](Self::on_readable) stopped at [`READ_BUDGET`], not because
    /// the socket would block.
    yielded: bool,
    /// Bytes read over the reader's life (what the tests bound per call).
    #[cfg(test)]
    pub(crate) bytes_read: usize,
}

/// Bytes per `recv`.
const READ_CHUNK: usize = 64 * 1024;

/// Bytes one [`ExternalReader::on_readable`] reads at most before it returns, so that one
/// fast socket (a huge result, a notification flood) cannot hold the embedder's thread: the
/// JS thread's other sockets, timers and callbacks get their turn every 256 KB, as libuv's
/// own streams stop after a bounded number of reads per callback.
pub const READ_BUDGET: usize = 256 * 1024;

thread_local! {
    /// What one `recv` reads into before the bytes are appended to the connection's frame
    /// buffer: one per reading thread rather than one per connection (readers on a thread
    /// run one at a time), zeroed once, no unsafe code.
    static CHUNK: std::cell::RefCell<Box<[u8]>> =
        std::cell::RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
}

impl ExternalReader {
    #[cfg(unix)]
    pub(crate) fn new(sock: Socket, lp: ReadLoop) -> Self {
        ExternalReader {
            sock,
            lp,
            yielded: false,
            #[cfg(test)]
            bytes_read: 0,
        }
    }

    /// One `recv`, its bytes appended to the frame buffer.
    fn read_some(&mut self) -> io::Result<usize> {
        let (sock, buf) = (&self.sock, &mut self.lp.buf);
        CHUNK.with(|chunk| {
            let mut fresh;
            let mut held = chunk.try_borrow_mut();
            let chunk: &mut [u8] = match held.as_deref_mut() {
                Ok(c) => c,
                Err(_) => {
                    fresh = vec![0; READ_CHUNK];
                    &mut fresh
                }
            };
            let n = (&*sock).read(chunk)?;
            buf.extend_from_slice(&chunk[..n]);
            Ok(n)
        })
    }

    /// The socket to watch for readability.
    #[cfg(unix)]
    pub fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// The connection's id within its pool (what [`ReadScheduler::resume`] names).
    pub fn conn_id(&self) -> u64 {
        self.lp.conn_id()
    }

    /// Whether the last [`on_readable`](Self::on_readable) returned at its budget with the
    /// socket possibly still readable: a scheduler that waits for readiness edges (not
    /// levels) must call again without waiting.
    pub fn yielded(&self) -> bool {
        self.yielded
    }

    /// Whether reading waits for a raw session's consumer: stop watching the socket until
    /// [`ReadScheduler::resume`] names this connection.
    pub fn is_paused(&self) -> bool {
        !self.lp.is_finished() && self.lp.paused()
    }

    /// Reads what the socket holds, until it would block, reading must pause, or
    /// [`READ_BUDGET`] bytes were read, and routes the frames (replies go to their callbacks
    /// from this thread). `false` when the connection has ended. After stopping at the budget
    /// ([`yielded`](Self::yielded)) the socket may still hold bytes: the scheduler calls again
    /// on its next turn (a level-triggered poll, as libuv's, does so by itself). Must run
    /// inside the runtime's context (`Handle::enter`): the pool may spawn work from here.
    pub fn on_readable(&mut self) -> bool {
        self.yielded = false;
        if self.lp.is_finished() {
            return false;
        }
        let mut budget = READ_BUDGET;
        loop {
            if self.lp.aborted() {
                // Destroyed: what the socket still holds is for nobody.
                self.lp.finish(Ended::Eof);
                return false;
            }
            if self.lp.paused() {
                return true;
            }
            if budget == 0 {
                self.yielded = true;
                return true;
            }
            match self.read_some() {
                Ok(0) => {
                    self.lp.finish(Ended::Eof);
                    return false;
                }
                Ok(n) => {
                    budget = budget.saturating_sub(n);
                    #[cfg(test)]
                    {
                        self.bytes_read += n;
                    }
                    self.lp.process();
                    if self.lp.is_finished() {
                        return false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.lp.finish(Ended::read_failed(e));
                    return false;
                }
            }
        }
    }

    /// Ends the connection because its driver failed (`what` says how).
    pub fn fail(&mut self, what: &str) {
        self.lp.finish(Ended::Failed(Error::Io(format!(
            "{}: {what}",
            Error::ConnectionTerminated
        ))));
    }
}

impl Drop for ExternalReader {
    fn drop(&mut self) {
        if !self.lp.is_finished() {
            let _ = self.sock.shutdown(std::net::Shutdown::Both);
            // Dropping `lp` next answers every request (see `ReadLoop`'s drop).
        }
    }
}

/// Writes to a socket that tokio's reactor watches for writability only.
#[cfg(unix)]
pub(crate) struct RawWriter(AsyncFd<Arc<Socket>>);

#[cfg(unix)]
impl AsyncWrite for RawWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // Straight to the socket first: usually it takes the bytes, and readiness is only
        // needed when it did not.
        match send(self.0.get_ref(), buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            r => return Poll::Ready(r),
        }
        loop {
            let mut guard = ready!(self.0.poll_write_ready(cx))?;
            match guard.try_io(|s| send(s.get_ref(), buf)) {
                Ok(r) => return Poll::Ready(r),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.0.get_ref().shutdown(std::net::Shutdown::Write))
    }
}

/// `send` that reports a closed peer as an error instead of raising SIGPIPE.
#[cfg(unix)]
fn send(sock: &Socket, buf: &[u8]) -> io::Result<usize> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const FLAGS: std::os::raw::c_int = 0x4000; // MSG_NOSIGNAL
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const FLAGS: std::os::raw::c_int = 0;
    sock.send_with_flags(buf, FLAGS)
}

/// Splits a connected socket into the reading socket and a writer on a duplicate of it
/// (registered with the current runtime for writability only), both non-blocking.
#[cfg(unix)]
pub(crate) fn split(fd: OwnedFd) -> io::Result<(Socket, RawWriter)> {
    let sock = Socket::from(fd);
    sock.set_nonblocking(true)?;
    let dup = Arc::new(sock.try_clone()?);
    // `with_interest` is deprecated because a `T` could close its descriptor while registered;
    // an `Arc<Socket>` owns its descriptor for as long as the registration lives.
    #[allow(deprecated)]
    let writer = RawWriter(AsyncFd::with_interest(dup, Interest::WRITABLE)?);
    Ok((sock, writer))
}

#[cfg(unix)]
impl RawWriter {
    /// The socket, shared (to shut its reading side down on an abort).
    pub(crate) fn socket(&self) -> Arc<Socket> {
        self.0.get_ref().clone()
    }
}
