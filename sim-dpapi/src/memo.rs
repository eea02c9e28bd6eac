//! A small bounded memo shared by the expensive, repeatable steps of a simulation (an RSA-2048
//! backup key's generation, parse and decryptions): the last `capacity` results, the oldest
//! dropped first (and so wiped, when the value wipes itself on drop). Lookups are linear, which
//! suits the few dozen entries these memos hold.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

/// The last `capacity` values by key, safe to share between threads.
#[derive(Debug)]
pub struct Memo<K, V> {
    capacity: usize,
    entries: Mutex<VecDeque<(K, V)>>,
}

impl<K: PartialEq, V: Clone> Memo<K, V> {
    /// An empty memo keeping at most `capacity` values (at least one).
    pub const fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(VecDeque::new()),
        }
    }

    /// The value kept for `key`.
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// Keeps `value` for `key`, dropping the oldest value when full.
    pub fn insert(&self, key: K, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity.max(1) {
            entries.pop_front();
        }
        entries.push_back((key, value));
    }

    /// The value kept for `key`, or `make()`'s, kept; `make` runs under the memo's lock, so it
    /// must be cheap (hand out a slot to fill outside, as [`std::sync::OnceLock`] allows).
    pub fn get_or_insert_with(&self, key: K, make: impl FnOnce() -> V) -> V {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, v)) = entries.iter().find(|(k, _)| *k == key) {
            return v.clone();
        }
        let value = make();
        if entries.len() >= self.capacity.max(1) {
            entries.pop_front();
        }
        entries.push_back((key, value.clone()));
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_values_and_drops_the_oldest() {
        let m = Memo::new(2);
        m.insert(1, "a");
        m.insert(2, "b");
        assert_eq!((m.get(&1), m.get(&2)), (Some("a"), Some("b")));
        m.insert(3, "c");
        assert_eq!((m.get(&1), m.get(&3)), (None, Some("c")));
        assert_eq!(m.get_or_insert_with(3, || "x"), "c");
        assert_eq!(m.get_or_insert_with(4, || "d"), "d");
        assert_eq!((m.get(&2), m.get(&4)), (None, Some("d")));
    }
}
