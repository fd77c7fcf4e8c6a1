//! How a connection leaves the pool (all under the state lock, never awaiting): its slot is
//! freed at once, it waits in `removing` until its socket has ended (closed gracefully while
//! few closes are under way, else destroyed), and `Removed` is announced then — or, for a
//! reclaim, once the event that explains it is out. Also what the pool does when a
//! connection's socket ends: finishing a removal, or reporting an idle or checked-out
//! connection that died.

use std::sync::Arc;

use super::events::PoolEvent;
use super::inner::PoolInner;
use super::state::{Removal, State};
use crate::error::Error;
use crate::pg::Conn;

impl PoolInner {
    /// Starts removing `conn` (lock held): it leaves `total` now; `Removed` follows when its
    /// socket has ended (at once, after the lock, if it already has).
    /// A connection with a statement running is destroyed (see [`destroy`](Self::destroy)):
    /// a graceful close would wait for the server to finish the statement and read the
    /// `Terminate`, which can take as long as the statement does. So is one that finds `max`
    /// graceful closes under way (see [`Removal`]).
    pub(super) fn remove_locked(self: &Arc<Self>, st: &mut State, conn: &Conn) {
        if self.start_removal_locked(st, conn, Start::Close) {
            self.close_removed_locked(st, conn);
        }
    }

    /// Removes `conn`, just taken off the idle stack (lock held). If its socket has ended, its
    /// listener has not spoken yet (it would have taken the connection off the idle stack):
    /// it will, and then reports the connection as an idle one that died (`idleError`, then
    /// `removed`), as pg-pool does whoever looks at the connection first.
    pub(super) fn remove_idle_locked(self: &Arc<Self>, st: &mut State, conn: &Conn) {
        if conn.shared().is_closed() {
            self.start_removal_locked(st, conn, Start::DiedIdle);
        } else {
            self.remove_locked(st, conn);
        }
    }

    /// The part of a removal every caller shares (lock held): the slot is freed, the
    /// connection joins `removing` unless its socket has ended and nobody waits for its
    /// listener (see [`Start`]), the pool is pulsed. True when the connection joined
    /// `removing`.
    pub(super) fn start_removal_locked(
        self: &Arc<Self>,
        st: &mut State,
        conn: &Conn,
        start: Start,
    ) -> bool {
        st.total -= 1;
        self.metrics.destroyed();
        let held = start == Start::Held;
        let joins = start != Start::Close || !conn.shared().is_closed();
        if joins {
            let removal = Removal {
                conn: conn.clone(),
                held,
                // Its socket ended before: the listener has spoken already, or will find
                // the removal held.
                ended: held && conn.shared().is_closed(),
                graceful: false,
                died_idle: start == Start::DiedIdle,
            };
            st.removing.insert(conn.id(), removal);
        } else {
            st.defer_removed(conn.id(), conn.pid());
        }
        self.pulse_locked(st);
        self.state.drained.notify_waiters();
        joins
    }

    /// Closes a connection in `removing` (lock held): gracefully while fewer than `max`
    /// graceful closes are under way and nothing is in flight, else at once.
    fn close_removed_locked(&self, st: &mut State, conn: &Conn) {
        let graceful = conn.shared().in_flight() == 0
            && st.removing.values().filter(|r| r.graceful).count() < self.config.max;
        if let Some(r) = st.removing.get_mut(&conn.id()) {
            r.graceful = graceful;
        }
        if graceful {
            conn.close();
        } else {
            self.destroy(conn);
        }
    }

    /// Ends the hold of a removal started with `held` (after the event that explains it is
    /// out): announces `Removed` if its socket ended meanwhile, else `Removed` follows the
    /// socket's end. Either way the connection is destroyed (a statement still running is
    /// cancelled; nothing waits for the server).
    pub(super) fn unhold_removal(self: &Arc<Self>, conn: &Conn) {
        let mut st = self.state.lock();
        let ended = match st.removing.get_mut(&conn.id()) {
            Some(r) => {
                r.held = false;
                r.ended
            }
            None => return,
        };
        if ended {
            st.removing.remove(&conn.id());
            st.defer_removed(conn.id(), conn.pid());
        }
        drop(st);
        self.destroy(conn);
    }

    /// Closes `conn` now, without waiting for the server: a statement still running is
    /// cancelled (so the backend does not keep working for nobody), and the reading side stops
    /// at once, answering every request in flight. Never blocks; may run under the lock.
    pub(super) fn destroy(&self, conn: &Conn) {
        if conn.shared().in_flight() > 0 && !conn.shared().is_closed() {
            let conn = conn.clone();
            self.runtime.spawn(async move {
                let _ = conn.cancel().await;
            });
        }
        conn.abort();
    }

    /// A connection's socket ended (`error`: why, unless the pool closed it).
    pub(super) fn conn_closed(self: &Arc<Self>, conn_id: u64, error: Option<Error>) {
        let mut st = self.state.lock();
        if let Some(r) = st.removing.get_mut(&conn_id) {
            if r.held {
                // Announced once the event that explains the removal is out.
                r.ended = true;
                return;
            }
            let r = st
                .removing
                .remove(&conn_id)
                .expect("looked up under this lock");
            if r.died_idle {
                self.metrics.conn_error();
                st.defer_event(PoolEvent::IdleError {
                    conn_id,
                    pid: r.conn.pid(),
                    error: error.unwrap_or(Error::ConnectionTerminated),
                });
            }
            // The removal counts as finished for `end()` only once `Removed` is out.
            st.defer_removed(conn_id, r.conn.pid());
            return;
        }
        if let Some(pos) = st.idle.iter().position(|i| i.conn.id() == conn_id) {
            let idle = st.idle.remove(pos);
            st.total -= 1;
            self.metrics.destroyed();
            self.metrics.conn_error();
            self.pulse_locked(&mut st);
            let error = error.unwrap_or(Error::ConnectionTerminated);
            let pid = idle.conn.pid();
            st.defer_event(PoolEvent::IdleError {
                conn_id,
                pid,
                error,
            });
            st.defer_removed(conn_id, pid);
            return;
        }
        let checked_out = st.checkouts.values().any(|r| r.conn.id() == conn_id);
        drop(st);
        if checked_out {
            self.metrics.conn_error();
            self.state.emit(PoolEvent::ClientError {
                conn_id,
                error: error.unwrap_or(Error::ConnectionTerminated),
            });
        }
    }
}

/// How a removal starts (see [`PoolInner::start_removal_locked`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// The pool closes the connection; `Removed` follows its socket's end.
    Close,
    /// A reclaim: `Removed` waits for [`PoolInner::unhold_removal`], the socket is left as
    /// it is until then.
    Held,
    /// An idle connection whose socket ended before its listener spoke: the listener reports
    /// it (`IdleError`, then `Removed`).
    DiedIdle,
}
