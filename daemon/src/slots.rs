//! Connection slots shared by a listener's tasks, given back however a connection ends.
//!
//! [`tandem_protocol::admission::Slots`] counts connections per source and overall but
//! relies on its caller to release each slot exactly once. A connection task can end in
//! many ways (served, timed out, handshake failed, panicked, cancelled at shutdown), so
//! the daemon holds a slot as a [`SlotGuard`] that releases it on drop: a slot can be
//! neither leaked (locking a source out for good) nor released twice.

use std::hash::Hash;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use tandem_protocol::admission::{Full, Slots};

/// The slots of one listener, cloned into every connection task.
#[derive(Debug)]
pub struct SharedSlots<K> {
    slots: Arc<Mutex<Slots<K>>>,
}

impl<K> Clone for SharedSlots<K> {
    fn clone(&self) -> Self {
        Self {
            slots: self.slots.clone(),
        }
    }
}

impl<K: Eq + Hash + Clone> SharedSlots<K> {
    /// At most `total` connections at once, at most `per_source` of them from one source.
    pub fn new(total: usize, per_source: usize) -> Self {
        Self {
            slots: Arc::new(Mutex::new(Slots::new(total, per_source))),
        }
    }

    /// Takes a slot for `source`, held until the guard is dropped; says which cap is
    /// reached when there is none.
    pub fn try_take(&self, source: K) -> Result<SlotGuard<K>, Full> {
        lock(&self.slots).take(&source)?;
        Ok(SlotGuard {
            slots: self.slots.clone(),
            source,
        })
    }

    /// Slots in use now.
    pub fn in_use(&self) -> usize {
        lock(&self.slots).in_use()
    }
}

/// One connection's slot; dropping it gives the slot back.
#[derive(Debug)]
pub struct SlotGuard<K: Eq + Hash + Clone> {
    slots: Arc<Mutex<Slots<K>>>,
    source: K,
}

impl<K: Eq + Hash + Clone> Drop for SlotGuard<K> {
    fn drop(&mut self) {
        lock(&self.slots).release(&self.source);
    }
}

/// The counts stay right even if a task panicked while holding the lock: every update
/// is a single step, so a poisoned lock still holds consistent counts.
fn lock<K>(slots: &Mutex<Slots<K>>) -> MutexGuard<'_, Slots<K>> {
    slots.lock()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_guard_gives_its_slot_back() {
        let slots = SharedSlots::new(3, 2);
        let a1 = slots.try_take("a").unwrap();
        let _a2 = slots.try_take("a").unwrap();
        assert_eq!(slots.try_take("a").unwrap_err(), Full::Source);
        let _b = slots.clone().try_take("b").unwrap();
        assert_eq!(slots.try_take("c").unwrap_err(), Full::Total);
        drop(a1);
        assert_eq!(slots.in_use(), 2);
        let _a3 = slots.try_take("a").unwrap();
        assert_eq!(slots.in_use(), 3);
    }

    #[test]
    fn a_slot_held_by_a_panicking_task_is_given_back() {
        let slots = SharedSlots::new(1, 1);
        let held = slots.clone();
        let panicked = std::thread::spawn(move || {
            let _guard = held.try_take(7).unwrap();
            panic!("connection task failed");
        })
        .join();
        assert!(panicked.is_err());
        assert_eq!(slots.in_use(), 0);
        assert!(slots.try_take(7).is_ok());
    }
}
