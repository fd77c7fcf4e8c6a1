//! The per-connection prepared statement cache (LRU by SQL text).
//!
//! Invariants: at most `capacity` entries; an entry exists only for a statement the server
//! confirmed (`ParseComplete` then `ReadyForQuery` without error); names are unique per
//! connection (`ldp_<n>`); evicted names are queued in `to_close` and closed by the writer
//! before its next request. `pending` holds SQL whose first Parse is in flight, so that a
//! pipelined twin runs unnamed instead of parsing the same text twice.

use std::collections::{HashMap, HashSet};

/// A confirmed statement: its server-side name and its RowDescription frame (None: NoData).
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub row_description: Option<Vec<u8>>,
    last_used: u64,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct StatementCache {
    capacity: usize,
    entries: HashMap<String, Entry>,
    pending: HashSet<String>,
    pub to_close: Vec<String>,
    tick: u64,
    next_name: u64,
}

impl StatementCache {
    pub fn new(capacity: usize) -> Self {
        StatementCache {
            capacity,
            ..Default::default()
        }
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }

    /// Looks up `sql`, marking it most recently used.
    pub fn get(&mut self, sql: &str) -> Option<&Entry> {
        self.tick += 1;
        let tick = self.tick;
        let e = self.entries.get_mut(sql)?;
        e.last_used = tick;
        Some(e)
    }

    /// Reserves a name for a first Parse of `sql`, or `None` if a Parse of it is in flight.
    pub fn begin(&mut self, sql: &str) -> Option<String> {
        if !self.enabled() || self.pending.contains(sql) {
            return None;
        }
        self.pending.insert(sql.to_string());
        self.next_name += 1;
        Some(format!("ldp_{}", self.next_name))
    }

    /// Records the outcome of a Parse started with [`begin`](Self::begin).
    pub fn finish(&mut self, sql: &str, name: String, ok: bool, row_description: Option<Vec<u8>>) {
        self.pending.remove(sql);
        if !ok {
            // A failed Parse leaves nothing on the server; a failed Bind/Execute after a good
            // Parse leaves the statement: close it to be safe.
            self.to_close.push(name);
            return;
        }
        if self.entries.len() >= self.capacity {
            if let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone())
            {
                if let Some(e) = self.entries.remove(&oldest) {
                    self.to_close.push(e.name);
                }
            }
        }
        self.tick += 1;
        self.entries.insert(
            sql.to_string(),
            Entry {
                name,
                row_description,
                last_used: self.tick,
            },
        );
    }

    /// Drops the entry for `sql` (its plan went stale); the statement is closed later.
    pub fn invalidate(&mut self, sql: &str) {
        if let Some(e) = self.entries.remove(sql) {
            self.to_close.push(e.name);
        }
    }

    /// Forgets everything without closing (after `DEALLOCATE ALL` / `DISCARD ALL`).
    pub fn forget_all(&mut self) {
        self.entries.clear();
        self.to_close.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_evicts_oldest_and_queues_close() {
        let mut c = StatementCache::new(2);
        for sql in ["a", "b"] {
            let n = c.begin(sql).unwrap();
            c.finish(sql, n, true, None);
        }
        assert!(c.get("a").is_some()); // a is now newer than b
        let n = c.begin("c").unwrap();
        c.finish("c", n, true, None);
        assert_eq!(c.len(), 2);
        assert!(c.get("b").is_none());
        assert_eq!(c.to_close, vec!["ldp_2".to_string()]);
    }

    #[test]
    fn pending_parse_blocks_twin_and_failure_closes() {
        let mut c = StatementCache::new(4);
        let n = c.begin("x").unwrap();
        assert!(c.begin("x").is_none());
        c.finish("x", n.clone(), false, None);
        assert!(c.get("x").is_none());
        assert_eq!(c.to_close, vec![n]);
        assert!(c.begin("x").is_some());
    }

    #[test]
    fn disabled_cache_never_names() {
        let mut c = StatementCache::new(0);
        assert!(c.begin("x").is_none());
    }
}
