//! The per-connection prepared statement cache (LRU by SQL text).
//!
//! Invariants: at most `capacity` entries; an entry exists only for a statement the server
//! confirmed (`ParseComplete` then `ReadyForQuery` without error); names are unique per
//! connection (`ldp_<n>`); evicted names are queued in `to_close` and closed by the writer
//! before its next request. `pending` holds SQL whose first Parse is in flight, so that a
//! pipelined twin runs unnamed instead of parsing the same text twice.
//!
//! A cached RowDescription is kept as a text-format statement would receive it: every
//! column's format code 0. A RowDescription states each column's format, and the same
//! statement can run with text or binary results; a request asking for binary results
//! rewrites the codes of its own copy ([`set_result_formats`]), so the text path serves the
//! stored bytes as they are.

use std::collections::{HashMap, HashSet};

/// A confirmed statement: its server-side name and its RowDescription frame (None: NoData),
/// with every column's format code 0 (text).
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

/// The bytes of a RowDescription's fields after the name: table oid, column number, type
/// oid, type size, type modifier (4 + 2 + 4 + 2 + 4), then the format code.
const FIELD_BEFORE_FORMAT: usize = 16;

/// Sets the format code of every column of RowDescription `frame` (type byte, length, body)
/// to `format` (0 text, 1 binary). A frame that is not a well-formed RowDescription is left
/// as it is from its first malformed field on (the reader validated it before it got here).
pub fn set_result_formats(frame: &mut [u8], format: i16) {
    let Some(count) = frame.get(5..7) else { return };
    let count = i16::from_be_bytes([count[0], count[1]]);
    let mut pos = 7;
    for _ in 0..count {
        let Some(nul) = frame
            .get(pos..)
            .and_then(|f| f.iter().position(|&b| b == 0))
        else {
            return;
        };
        let at = pos + nul + 1 + FIELD_BEFORE_FORMAT;
        let Some(code) = frame.get_mut(at..at + 2) else {
            return;
        };
        code.copy_from_slice(&format.to_be_bytes());
        pos = at + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A RowDescription of `(name, type oid, format)` columns.
    fn row_description(cols: &[(&str, u32, i16)]) -> Vec<u8> {
        let mut body = (cols.len() as i16).to_be_bytes().to_vec();
        for (name, oid, format) in cols {
            body.extend_from_slice(name.as_bytes());
            body.push(0);
            body.extend_from_slice(&7u32.to_be_bytes()); // table oid
            body.extend_from_slice(&1i16.to_be_bytes()); // column number
            body.extend_from_slice(&oid.to_be_bytes());
            body.extend_from_slice(&4i16.to_be_bytes()); // type size
            body.extend_from_slice(&(-1i32).to_be_bytes()); // type modifier
            body.extend_from_slice(&format.to_be_bytes());
        }
        let mut frame = vec![b'T'];
        frame.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
        frame.extend_from_slice(&body);
        frame
    }

    #[test]
    fn result_formats_are_rewritten_in_every_column_and_nothing_else() {
        let text = row_description(&[("a", 23, 0), ("", 25, 0), ("long name", 17, 0)]);
        let binary = row_description(&[("a", 23, 1), ("", 25, 1), ("long name", 17, 1)]);
        let mut frame = text.clone();
        set_result_formats(&mut frame, 1);
        assert_eq!(frame, binary);
        set_result_formats(&mut frame, 0);
        assert_eq!(frame, text);
        // No columns: nothing to rewrite.
        let mut empty = row_description(&[]);
        set_result_formats(&mut empty, 1);
        assert_eq!(empty, row_description(&[]));
    }

    #[test]
    fn a_truncated_row_description_is_rewritten_up_to_where_it_breaks() {
        let whole = row_description(&[("a", 23, 0), ("b", 23, 0)]);
        let mut cut = whole[..whole.len() - 1].to_vec();
        set_result_formats(&mut cut, 1);
        let first = row_description(&[("a", 23, 1), ("b", 23, 0)]);
        assert_eq!(cut, first[..first.len() - 1]);
        let mut nothing = vec![b'T', 0, 0];
        set_result_formats(&mut nothing, 1);
        assert_eq!(nothing, [b'T', 0, 0]);
    }

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
