//! Ending a pool: refuse new work at once, close idle connections, fail queued callers, wait
//! up to `endTimeoutMs` for checkouts, reclaim the rest, and finish once every connection's
//! removal has finished and been announced. A fourth `impl PoolInner` block.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::inner::PoolInner;
use crate::error::{Error, ReclaimReason, Result};

/// Once the rest is reclaimed, how often `end()` looks again besides being woken by `drained`.
const RECHECK: Duration = Duration::from_millis(200);

impl PoolInner {
    /// Starts ending (`Err` if already ending); the future resolves when every connection is
    /// closed and its `Removed` event is out, then marks the pool ended.
    pub(super) fn end(self: Arc<Self>) -> Result<impl Future<Output = ()> + Send + 'static> {
        {
            let mut st = self.state.lock();
            if st.ending {
                return Err(Error::EndCalledTwice);
            }
            st.ending = true;
            let idle: Vec<_> = st.idle.drain(..).collect();
            for i in idle {
                self.remove_locked(&mut st, &i.conn);
            }
            let waiters: Vec<_> = st.waiters.drain(..).collect();
            for w in waiters {
                self.serve_locked(&mut st, w, Err(Error::PoolEnded));
            }
        }
        self.reaper_wake.notify_one();
        let grace = self.config.end_timeout;
        Ok(async move {
            let deadline = tokio::time::Instant::now() + grace;
            let mut reclaimed = false;
            loop {
                let notified = self.state.drained.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let (done, active) = {
                    let st = self.state.lock();
                    (
                        st.drained(),
                        st.checkouts.keys().copied().collect::<Vec<_>>(),
                    )
                };
                if done {
                    break;
                }
                if !reclaimed && tokio::time::Instant::now() >= deadline {
                    reclaimed = true;
                    for id in active {
                        self.reclaim(id, ReclaimReason::End);
                    }
                    continue;
                }
                let until = if reclaimed {
                    tokio::time::Instant::now() + RECHECK
                } else {
                    deadline
                };
                tokio::select! {
                    _ = &mut notified => {},
                    _ = tokio::time::sleep_until(until) => {},
                }
            }
            self.state.lock().ended = true;
            self.reaper_wake.notify_one();
        })
    }
}
