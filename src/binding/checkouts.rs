//! The checkouts JS holds, by checkout id: what `pool.connect()` handed out and not yet
//! released. JS refers to a checkout by its id (a number), so a checkout costs no JS object of
//! its own; garbage-collection leak detection hangs on the JS client object instead (a
//! `FinalizationRegistry` in `lib/internals.js` calls `discard(id)`).
//!
//! Invariants: an id is present from the moment JS takes the checkout until JS releases it,
//! forgets it (the pool reclaimed it) or reports its client collected; every checkout in the
//! table has [`DropPolicy::ReclaimAsLeak`], so removing one that is still active — only the
//! collected path does — reclaims it and reports a certain leak.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::pool::{Checkout, DropPolicy};

/// `[checkoutId, connId, processId, isNew]`: what JS learns about a checkout it takes, written
/// into a `Float64Array` JS owns (no object per checkout) or, for a queued `connect()`, into
/// its completion record.
pub const INFO_LEN: usize = 4;

/// The [`INFO_LEN`] facts of `c`, in that order (`isNew` 1 or 0).
pub fn facts(c: &Checkout) -> [f64; INFO_LEN] {
    [
        c.id() as f64,
        c.conn_id() as f64,
        f64::from(c.pid()),
        if c.is_new() { 1.0 } else { 0.0 },
    ]
}

/// Refuses an info array shorter than [`INFO_LEN`] (JS passes its own `Float64Array`).
pub fn check_info(out: &[f64]) -> napi::Result<()> {
    if out.len() < INFO_LEN {
        return Err(napi::Error::new(
            napi::Status::InvalidArg,
            format!("checkout info needs a Float64Array of {INFO_LEN}"),
        ));
    }
    Ok(())
}

/// See the module docs.
#[derive(Default)]
pub struct Checkouts(Mutex<HashMap<u64, Arc<Checkout>>>);

impl Checkouts {
    /// Registers `c` (its facts travel to JS in a completion record).
    pub fn hold(&self, mut c: Checkout) {
        c.set_drop_policy(DropPolicy::ReclaimAsLeak);
        self.0.lock().insert(c.id(), Arc::new(c));
    }

    /// Registers `c` and writes its [`INFO_LEN`] facts into `out`.
    pub fn insert(&self, c: Checkout, out: &mut [f64]) {
        if let Some(info) = out.get_mut(..INFO_LEN) {
            info.copy_from_slice(&facts(&c));
        }
        self.hold(c);
    }

    pub fn get(&self, id: u64) -> Option<Arc<Checkout>> {
        self.0.lock().get(&id).cloned()
    }

    /// Takes the entry out; the lock is released before the caller drops it.
    pub fn remove(&self, id: u64) -> Option<Arc<Checkout>> {
        self.0.lock().remove(&id)
    }
}
