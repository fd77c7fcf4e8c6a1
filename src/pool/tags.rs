//! Per-tag containment: how many connections each checkout tag holds, the limits some tags
//! have (`tagLimits`, `setTagLimit`), and the FIFO of callers waiting for their tag to have
//! room. Plain bookkeeping under the state lock; the pool decides when to consult it
//! (`acquire.rs` at the gate, `release.rs` and `inner.rs` when a slot comes back).
//!
//! A tagged caller takes a *tag slot* when it passes the gate — from then on it counts for its
//! tag whether it is queued for a connection, having one opened, or holding a checkout — and
//! gives it back exactly once: when its checkout ends (release or reclaim), or when it leaves
//! without one (failed, timed out, gone). A caller whose tag is at its limit waits here, apart
//! from the pool's own queue, so it never stands in front of untagged callers or other tags.
//!
//! Invariants:
//! - `held[tag]` = tagged callers past the gate that have not given their slot back; it is
//!   `<= limit` except right after a limit was lowered at run time (then nobody passes until
//!   it is below again);
//! - every waiter in `waiting[tag]` has that tag and holds no slot; a tag's queue is non-empty
//!   only while the tag is at its limit, or for the instant between a slot coming back and
//!   [`TagBook::next_ready`] being called under the same lock;
//! - an entry of `held` or `waiting` exists only while it is non-zero / non-empty, so the
//!   book's size is bounded by the checkouts and waiters, never by the tags ever seen.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::state::Waiter;

/// One tag's numbers (a row of `getPoolStatus().tags`, `getMetrics().tags`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagCount {
    pub tag: String,
    /// Callers past the gate: checked out, or queued/connecting for the pool.
    pub held: usize,
    /// Callers waiting for the tag to have room.
    pub waiting: usize,
    /// The tag's limit, if it has one.
    pub limit: Option<usize>,
    /// Callers of this tag that gave up waiting for it (connection timeout at the gate).
    pub timeouts: u64,
}

/// See the module docs.
#[derive(Default)]
pub(super) struct TagBook {
    limits: HashMap<String, usize>,
    held: HashMap<String, usize>,
    waiting: HashMap<String, VecDeque<Waiter>>,
    /// Callers in all the tag queues.
    queued: usize,
    /// Per limited tag: callers that timed out at its gate (kept while the tag has a limit).
    timeouts: HashMap<String, u64>,
}

impl TagBook {
    pub(super) fn new(limits: &BTreeMap<String, usize>) -> Self {
        TagBook {
            limits: limits.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            ..TagBook::default()
        }
    }

    /// Whether a caller with `tag` must wait for its tag (at or over its limit).
    pub(super) fn at_limit(&self, tag: &str) -> bool {
        match self.limits.get(tag) {
            Some(&limit) => self.held(tag) >= limit,
            None => false,
        }
    }

    pub(super) fn held(&self, tag: &str) -> usize {
        self.held.get(tag).copied().unwrap_or(0)
    }

    pub(super) fn limit(&self, tag: &str) -> Option<usize> {
        self.limits.get(tag).copied()
    }

    /// Sets (`Some`) or removes (`None`) `tag`'s limit.
    pub(super) fn set_limit(&mut self, tag: &str, limit: Option<usize>) {
        match limit {
            Some(n) => {
                self.limits.insert(tag.to_string(), n);
            }
            None => {
                self.limits.remove(tag);
                self.timeouts.remove(tag);
            }
        }
    }

    /// A caller with `tag` passes the gate.
    pub(super) fn take(&mut self, tag: &str) {
        *self.held.entry(tag.to_string()).or_insert(0) += 1;
    }

    /// A caller with `tag` gives its slot back (see the module docs for when).
    pub(super) fn give_back(&mut self, tag: &str) {
        if let Some(n) = self.held.get_mut(tag) {
            *n -= 1;
            if *n == 0 {
                self.held.remove(tag);
            }
        } else {
            debug_assert!(false, "a tag slot given back twice");
        }
    }

    /// Queues `w` (whose tag is at its limit) behind the others of its tag.
    pub(super) fn wait(&mut self, tag: &str, w: Waiter) {
        self.waiting
            .entry(tag.to_string())
            .or_default()
            .push_back(w);
        self.queued += 1;
    }

    /// Callers waiting in all the tag queues.
    pub(super) fn queued(&self) -> usize {
        self.queued
    }

    /// Whether a queued caller's tag has room now.
    pub(super) fn any_ready(&self) -> bool {
        self.waiting.keys().any(|t| !self.at_limit(t))
    }

    /// The first queued caller whose tag has room now, taken out of its queue (it does not
    /// hold a slot yet: the caller passes it through the gate).
    pub(super) fn next_ready(&mut self) -> Option<Waiter> {
        let tag = self
            .waiting
            .keys()
            .find(|t| !self.at_limit(t.as_str()))?
            .clone();
        let q = self.waiting.get_mut(&tag).expect("found");
        let w = q.pop_front().expect("queues are never empty");
        if q.is_empty() {
            self.waiting.remove(&tag);
        }
        self.queued -= 1;
        Some(w)
    }

    /// Takes waiter `id` out of its tag queue, if it is there.
    pub(super) fn remove(&mut self, id: u64) -> Option<Waiter> {
        let (tag, pos) = self
            .waiting
            .iter()
            .find_map(|(t, q)| q.iter().position(|w| w.id == id).map(|p| (t.clone(), p)))?;
        let q = self.waiting.get_mut(&tag).expect("found");
        let w = q.remove(pos).expect("found");
        if q.is_empty() {
            self.waiting.remove(&tag);
        }
        self.queued -= 1;
        Some(w)
    }

    /// Counts a caller of `tag` that timed out at its gate.
    pub(super) fn timed_out(&mut self, tag: &str) {
        if self.limits.contains_key(tag) {
            *self.timeouts.entry(tag.to_string()).or_insert(0) += 1;
        }
    }

    /// Every queued caller, taken out (for `end()`).
    pub(super) fn drain(&mut self) -> Vec<Waiter> {
        self.queued = 0;
        self.waiting.drain().flat_map(|(_, q)| q).collect()
    }

    /// One row per tag that holds a slot, has waiters or has a limit, sorted by tag.
    pub(super) fn counts(&self) -> Vec<TagCount> {
        let mut tags: Vec<&String> = self
            .held
            .keys()
            .chain(self.waiting.keys())
            .chain(self.limits.keys())
            .collect();
        tags.sort();
        tags.dedup();
        tags.into_iter()
            .map(|t| TagCount {
                tag: t.clone(),
                held: self.held(t),
                waiting: self.waiting.get(t).map_or(0, VecDeque::len),
                limit: self.limit(t),
                timeouts: self.timeouts.get(t).copied().unwrap_or(0),
            })
            .collect()
    }

    /// Sizes for `getMemoryUsage()`: tags tracked, queued callers.
    pub(super) fn sizes(&self) -> (usize, usize) {
        (self.held.len() + self.waiting.len(), self.queued)
    }
}
