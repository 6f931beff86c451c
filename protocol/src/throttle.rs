//! Slowing down token guessing on the home network.
//!
//! A phone token is 256 random bits, so guessing is hopeless anyway; the throttle keeps a
//! misbehaving device on the Wi-Fi from filling logs and burning CPU, and tells an honest
//! user with a stale bookmark what is going on. Each source (an IP address) may fail
//! [`Throttle::max_failures`] times within a window; after that it is refused until the
//! window has passed. Success never resets a source early: that would let a guesser
//! interleave a known-good token. Pure state: the caller passes "now".

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

use jiff::Timestamp;

use crate::admission::forget_oldest;

/// Sources remembered at once; the oldest is forgotten first. Bounds memory under a flood
/// of spoofed sources.
const MAX_SOURCES: usize = 1024;

/// Failed attempts per source within a window.
#[derive(Debug)]
pub struct Throttle<K> {
    max_failures: u32,
    window: Duration,
    sources: HashMap<K, Failures>,
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    /// When the current window started (the first failure in it).
    since: Timestamp,
    count: u32,
}

impl<K: Eq + Hash + Clone> Throttle<K> {
    /// At most `max_failures` failures per `window` and source.
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            sources: HashMap::new(),
        }
    }

    /// `Err(retry_after)` when `source` has used up its failures for now.
    pub fn check(&self, source: &K, now: Timestamp) -> Result<(), Duration> {
        match self.sources.get(source) {
            Some(f) if f.count >= self.max_failures => {
                let left = self.window.saturating_sub(elapsed(f.since, now));
                if left.is_zero() { Ok(()) } else { Err(left) }
            }
            _ => Ok(()),
        }
    }

    /// Counts one failed attempt of `source`.
    pub fn fail(&mut self, source: K, now: Timestamp) {
        let window = self.window;
        if !self.sources.contains_key(&source) && self.sources.len() >= MAX_SOURCES {
            forget_oldest(&mut self.sources, |f| f.since);
        }
        let entry = self.sources.entry(source).or_insert(Failures {
            since: now,
            count: 0,
        });
        if elapsed(entry.since, now) >= window {
            *entry = Failures {
                since: now,
                count: 0,
            };
        }
        entry.count = entry.count.saturating_add(1);
    }
}

fn elapsed(since: Timestamp, now: Timestamp) -> Duration {
    Duration::try_from(now.duration_since(since)).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn a_source_is_refused_after_its_failures_until_the_window_passes() {
        let mut t = Throttle::new(3, Duration::from_secs(60));
        for s in 0..3 {
            assert!(t.check(&"phone", at(s)).is_ok());
            t.fail("phone", at(s));
        }
        assert_eq!(t.check(&"phone", at(10)), Err(Duration::from_secs(50)));
        assert!(
            t.check(&"laptop", at(10)).is_ok(),
            "other sources unaffected"
        );
        assert!(t.check(&"phone", at(60)).is_ok());
        t.fail("phone", at(61));
        assert!(
            t.check(&"phone", at(61)).is_ok(),
            "a new window starts over"
        );
    }

    #[test]
    fn memory_stays_bounded_under_many_sources() {
        let mut t = Throttle::new(1, Duration::from_secs(60));
        for i in 0..(MAX_SOURCES as i64 + 100) {
            t.fail(i, at(i));
        }
        assert_eq!(t.sources.len(), MAX_SOURCES);
        assert!(t.check(&0, at(2000)).is_ok(), "the oldest were forgotten");
        assert!(
            t.check(&(MAX_SOURCES as i64 + 99), at(MAX_SOURCES as i64 + 99))
                .is_err()
        );
    }
}
