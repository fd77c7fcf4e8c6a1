//! Reading the checkout registry: leak reports, holders of an exhausted pool, status rows.
//!
//! The registry itself is `State::checkouts` (one record per active checkout); this module
//! only derives views from it, in time proportional to the number of active checkouts.

use std::collections::HashMap;
use std::time::Instant;

use crate::pool::events::LeakInfo;
use crate::pool::state::{CheckoutRecord, State};

/// The label used for a checkout's acquisition site in groupings.
pub fn site(rec: &CheckoutRecord) -> String {
    if rec.meta.implicit {
        return "pool.query".to_string();
    }
    match (&rec.meta.location, &rec.meta.tag) {
        (Some(l), _) => l.clone(),
        (None, Some(t)) => format!("tag:{}", t),
        (None, None) => "unknown".to_string(),
    }
}

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

/// Snapshot of a checkout for a report.
pub fn leak_info(id: u64, rec: &CheckoutRecord) -> LeakInfo {
    let now = Instant::now();
    let shared = rec.conn.shared();
    LeakInfo {
        checkout_id: id,
        conn_id: rec.conn.id(),
        age_ms: now.saturating_duration_since(rec.acquired).as_millis() as u64,
        idle_ms: idle_ms(rec, now),
        query_count: query_count(rec),
        in_transaction: shared.txn_status() != b'I',
        tag: rec.meta.tag.clone(),
        location: rec.meta.location.clone(),
        stack: rec.backtrace.as_ref().map(|bt| {
            let mut bt = bt.clone();
            bt.resolve();
            format!("{:?}", bt)
        }),
    }
}

/// One acquisition site holding connections of an exhausted pool.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Holder {
    pub location: String,
    pub count: usize,
    pub oldest_ms: u64,
}

/// Groups active checkouts by site, most clients first.
pub fn holders(st: &State) -> Vec<Holder> {
    let now = Instant::now();
    let mut by_site: HashMap<String, Holder> = HashMap::new();
    for rec in st.checkouts.values() {
        let loc = site(rec);
        let age = now.saturating_duration_since(rec.acquired).as_millis() as u64;
        let h = by_site.entry(loc.clone()).or_insert(Holder {
            location: loc,
            count: 0,
            oldest_ms: 0,
        });
        h.count += 1;
        h.oldest_ms = h.oldest_ms.max(age);
    }
    let mut v: Vec<Holder> = by_site.into_values().collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then(b.oldest_ms.cmp(&a.oldest_ms)));
    v
}

/// pg's message, then who holds the pool: `timeout exceeded when trying to connect (10/10 in
/// use: 7 held by f (a.js:12) for up to 31.0s; 3 by pool.query)`.
pub fn exhaustion_message(st: &State, max: usize) -> String {
    let hs = holders(st);
    let mut msg = String::from("timeout exceeded when trying to connect");
    if hs.is_empty() {
        return msg;
    }
    msg.push_str(&format!(" ({}/{} in use: ", st.active(), max));
    for (i, h) in hs.iter().enumerate() {
        if i > 0 {
            msg.push_str("; ");
        }
        if i == 0 {
            msg.push_str(&format!(
                "{} held by {} for up to {:.1}s",
                h.count,
                h.location,
                h.oldest_ms as f64 / 1000.0
            ));
        } else {
            msg.push_str(&format!(
                "{} by {} for up to {:.1}s",
                h.count,
                h.location,
                h.oldest_ms as f64 / 1000.0
            ));
        }
    }
    msg.push(')');
    msg
}
