//! The periodic background task shape shared by the leak checker and the metrics sampler.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::inner::PoolInner;

/// Spawns a task that runs `tick` every `every` (first run one period after the start). It
/// holds only a `Weak` between ticks and ends when the pool is dropped or has ended.
pub fn spawn_every(
    pool: &Arc<PoolInner>,
    every: Duration,
    tick: fn(&Arc<PoolInner>),
) -> JoinHandle<()> {
    let weak: Weak<PoolInner> = Arc::downgrade(pool);
    pool.runtime.spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval.tick().await;
        loop {
            interval.tick().await;
            let Some(p) = weak.upgrade() else { return };
            if p.state.lock().ended {
                return;
            }
            tick(&p);
        }
    })
}
