//! Reading the checkout registry: leak snapshots and who holds an exhausted pool.
//!
//! The registry itself is `State::checkouts` (one record per active checkout); this module
//! only derives facts from it, under the lock, in time proportional to the number of active
//! checkouts. Whatever is slow (resolving a backtrace) is left for after the lock.

use std::collections::HashMap;
use std::time::Instant;

use crate::error::{Exhaustion, Holder, Site};
use crate::pool::events::LeakInfo;
use crate::pool::state::{CheckoutRecord, State};

/// How long the checkout has been idle: since the later of checkout and its last query's end.
pub fn idle_ms(rec: &CheckoutRecord, now: Instant) -> u64 {
    let shared = rec.conn.shared();
    if shared.in_flight() > 0 {
        return 0;
    }
    let since = rec.acquired.max(shared.last_done());
    now.saturating_duration_since(since).as_millis() as u64
}

/// Queries run during this checkout (not over the connection's life).
pub fn query_count(rec: &CheckoutRecord) -> u64 {
    rec.conn
        .shared()
        .query_count()
        .saturating_sub(rec.queries_before)
}

/// A leak report taken under the lock, its backtrace (if any) still unresolved.
pub struct Snapshot {
    info: LeakInfo,
    backtrace: Option<backtrace::Backtrace>,
}

impl Snapshot {
    /// The report, its backtrace resolved now (call with the lock free: symbolizing is slow).
    pub fn resolve(self) -> LeakInfo {
        let mut info = self.info;
        info.stack = self.backtrace.map(|mut bt| {
            bt.resolve();
            format!("{:?}", bt)
        });
        info
    }
}

/// Snapshot of checkout `id` for a report.
pub fn snapshot(id: u64, rec: &CheckoutRecord) -> Snapshot {
    let now = Instant::now();
    Snapshot {
        info: LeakInfo {
            checkout_id: id,
            conn_id: rec.conn.id(),
            age_ms: now.saturating_duration_since(rec.acquired).as_millis() as u64,
            idle_ms: idle_ms(rec, now),
            query_count: query_count(rec),
            in_transaction: rec.conn.shared().txn_status() != b'I',
            tag: rec.meta.tag.clone(),
            location: rec.meta.location.clone(),
            stack: None,
        },
        backtrace: rec.backtrace.clone(),
    }
}

/// Where a checkout was taken, as far as the core knows.
fn site(rec: &CheckoutRecord) -> Site {
    if rec.meta.implicit {
        return Site::Query;
    }
    match (&rec.meta.location, &rec.meta.tag) {
        (Some(l), _) => Site::Location(l.clone()),
        (None, Some(t)) => Site::Tag(t.clone()),
        (None, None) => Site::Unknown,
    }
}

/// Who holds the pool: active checkouts grouped by site, most clients first, then the
/// longest held.
pub fn exhaustion(st: &State, max: usize) -> Exhaustion {
    Exhaustion {
        in_use: st.checkouts.len(),
        max,
        holders: holders(st.checkouts.values()),
        tag: None,
    }
}

/// Who holds `tag`, which is at its limit: its checkouts grouped by site.
pub fn tag_exhaustion(st: &State, tag: &str) -> Exhaustion {
    let holders = holders(
        st.checkouts
            .values()
            .filter(|r| r.meta.tag.as_deref() == Some(tag)),
    );
    Exhaustion {
        in_use: holders.iter().map(|h| h.count).sum(),
        max: st.tags.limit(tag).unwrap_or(0),
        holders,
        tag: Some(tag.to_string()),
    }
}

/// `records` grouped by site, most clients first, then the longest held.
fn holders<'a>(records: impl Iterator<Item = &'a CheckoutRecord>) -> Vec<Holder> {
    let now = Instant::now();
    let mut by_site: HashMap<Site, Holder> = HashMap::new();
    for rec in records {
        let site = site(rec);
        let held = now.saturating_duration_since(rec.acquired).as_millis() as u64;
        let h = by_site.entry(site.clone()).or_insert(Holder {
            site,
            count: 0,
            max_held_ms: 0,
        });
        h.count += 1;
        h.max_held_ms = h.max_held_ms.max(held);
    }
    let mut holders: Vec<Holder> = by_site.into_values().collect();
    holders.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(b.max_held_ms.cmp(&a.max_held_ms))
    });
    holders
}
