//! A bounded ring buffer (the metrics' samples and history).
//!
//! Invariants: `len() <= capacity()` at all times; pushing into a full buffer evicts the
//! oldest element and counts it in `evicted()`; iteration is oldest first.

use std::collections::VecDeque;

/// See the module docs.
#[derive(Debug, Clone)]
pub struct Ring<T> {
    items: VecDeque<T>,
    capacity: usize,
    evicted: u64,
}

impl<T> Ring<T> {
    /// A ring holding at most `capacity` items (a capacity of 0 keeps nothing).
    pub fn new(capacity: usize) -> Self {
        Ring {
            items: VecDeque::with_capacity(capacity.min(4096)),
            capacity,
            evicted: 0,
        }
    }

    pub fn push(&mut self, item: T) {
        if self.capacity == 0 {
            self.evicted += 1;
            return;
        }
        if self.items.len() == self.capacity {
            self.items.pop_front();
            self.evicted += 1;
        }
        self.items.push_back(item);
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many items were pushed out (or refused, at capacity 0) so far.
    #[cfg(test)]
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_around_keeping_newest() {
        let mut r = Ring::new(3);
        for i in 0..10 {
            r.push(i);
            assert!(r.len() <= 3);
        }
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), vec![7, 8, 9]);
        assert_eq!(r.evicted(), 7);
    }

    #[test]
    fn many_thousands_of_pushes_stay_within_capacity_and_memory() {
        for cap in [1usize, 10, 100] {
            let mut r = Ring::new(cap);
            for i in 0..50_000u64 {
                r.push(i);
                assert!(r.len() <= cap);
            }
            assert_eq!(r.len(), cap);
            assert_eq!(r.evicted(), 50_000 - cap as u64);
            let kept: Vec<u64> = r.iter().copied().collect();
            let want: Vec<u64> = (50_000 - cap as u64..50_000).collect();
            assert_eq!(kept, want, "the newest, oldest first");
            // The allocation does not grow with the number of pushes.
            assert!(
                r.items.capacity() < 2 * cap + 8,
                "cap {cap}: allocated {}",
                r.items.capacity()
            );
        }
    }

    #[test]
    fn huge_capacity_is_not_preallocated() {
        let r: Ring<u64> = Ring::new(usize::MAX / 2);
        assert!(r.items.capacity() <= 4096);
        assert_eq!(r.capacity(), usize::MAX / 2);
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let mut r = Ring::new(0);
        r.push(1);
        assert_eq!(r.len(), 0);
        assert_eq!(r.evicted(), 1);
    }
}
