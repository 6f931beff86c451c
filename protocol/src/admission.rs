//! What a listener admits from strangers on the home network, and how loudly it says so.
//!
//! A listener that anyone on the Wi-Fi can reach must not let one device (or many) exhaust
//! its memory or connection slots before proving who it is, and must not let them fill the
//! disk with log lines either. [`Slots`] caps connections that have not authenticated yet,
//! overall and per source address; [`LogGate`] lets a listener log a refusal once per
//! source and minute and count the rest. Pure state: the caller passes "now" and does the
//! I/O.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::Duration;

use jiff::Timestamp;

/// Sources a [`LogGate`] remembers at once; the oldest is forgotten first. Bounds memory
/// under a flood of spoofed sources.
const MAX_LOGGED_SOURCES: usize = 1024;

/// The source a connection from `ip` is counted under: the address itself, an IPv4 address
/// mapped into IPv6 counting as that IPv4 address. IPv6 addresses are not grouped by
/// network: on a home network every device shares one /64 (and `fe80::/64`), so grouping
/// would let one device use up the slots of all the others.
pub fn source(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Concurrent connection slots, overall and per source.
#[derive(Debug)]
pub struct Slots<K> {
    total: usize,
    per_source: usize,
    taken: HashMap<K, usize>,
    in_use: usize,
}

/// Why a connection was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Full {
    /// Every slot is taken.
    Total,
    /// This source holds all the slots one source may hold.
    Source,
}

impl<K: Eq + Hash + Clone> Slots<K> {
    /// At most `total` connections at once, at most `per_source` of them from one source.
    pub fn new(total: usize, per_source: usize) -> Self {
        Self {
            total,
            per_source,
            taken: HashMap::new(),
            in_use: 0,
        }
    }

    /// Takes a slot for `source`; the caller must [`Slots::release`] it exactly once.
    pub fn take(&mut self, source: &K) -> Result<(), Full> {
        if self.in_use >= self.total {
            return Err(Full::Total);
        }
        let held = self.taken.entry(source.clone()).or_insert(0);
        if *held >= self.per_source {
            return Err(Full::Source);
        }
        *held += 1;
        self.in_use += 1;
        Ok(())
    }

    /// Gives back a slot taken for `source`.
    pub fn release(&mut self, source: &K) {
        if let Some(held) = self.taken.get_mut(source) {
            *held -= 1;
            self.in_use -= 1;
            if *held == 0 {
                self.taken.remove(source);
            }
        }
    }

    /// Slots in use.
    pub fn in_use(&self) -> usize {
        self.in_use
    }
}

/// Once-per-period logging per source.
#[derive(Debug)]
pub struct LogGate<K> {
    period: Duration,
    sources: HashMap<K, Logged>,
}

#[derive(Clone, Copy, Debug)]
struct Logged {
    at: Timestamp,
    suppressed: u64,
}

impl<K: Eq + Hash + Clone> LogGate<K> {
    /// One line per source and `period`.
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            sources: HashMap::new(),
        }
    }

    /// `Some(n)` when an event from `source` should be logged now, `n` being how many were
    /// kept quiet since its last line; `None` when it should be counted and kept quiet.
    pub fn admit(&mut self, source: &K, now: Timestamp) -> Option<u64> {
        if let Some(logged) = self.sources.get_mut(source) {
            let since = Duration::try_from(now.duration_since(logged.at)).unwrap_or_default();
            if since < self.period {
                logged.suppressed += 1;
                return None;
            }
            let quiet = logged.suppressed;
            *logged = Logged {
                at: now,
                suppressed: 0,
            };
            return Some(quiet);
        }
        if self.sources.len() >= MAX_LOGGED_SOURCES {
            forget_oldest(&mut self.sources, |l| l.at);
        }
        self.sources.insert(
            source.clone(),
            Logged {
                at: now,
                suppressed: 0,
            },
        );
        Some(0)
    }
}

/// Removes the entry whose `when` is earliest: how the bounded per-source tables here and
/// in [`crate::throttle`] make room under a flood of sources.
pub(crate) fn forget_oldest<K: Eq + Hash + Clone, V, T: Ord>(
    table: &mut HashMap<K, V>,
    when: impl Fn(&V) -> T,
) {
    if let Some(oldest) = table
        .iter()
        .min_by_key(|(_, v)| when(v))
        .map(|(k, _)| k.clone())
    {
        table.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn a_source_is_its_own_address() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(source(ip("192.168.1.7")), ip("192.168.1.7"));
        assert_eq!(source(ip("::ffff:192.168.1.7")), ip("192.168.1.7"));
        assert_ne!(
            source(ip("fe80::1")),
            source(ip("fe80::2")),
            "neighbours on one link are apart"
        );
    }

    #[test]
    fn slots_cap_each_source_and_the_total() {
        let mut s = Slots::new(3, 2);
        assert_eq!(s.take(&"a"), Ok(()));
        assert_eq!(s.take(&"a"), Ok(()));
        assert_eq!(s.take(&"a"), Err(Full::Source));
        assert_eq!(s.take(&"b"), Ok(()));
        assert_eq!(s.take(&"c"), Err(Full::Total));
        s.release(&"a");
        assert_eq!(s.take(&"c"), Ok(()));
        assert_eq!(s.in_use(), 3);
    }

    proptest! {
        /// However connections come and go, the counts never exceed the caps and every
        /// slot given back is free again.
        #[test]
        fn slots_never_exceed_their_caps(ops in proptest::collection::vec((any::<bool>(), 0u8..4), 0..200)) {
            let mut s = Slots::new(5, 2);
            let mut held: Vec<u8> = Vec::new();
            for (take, source) in ops {
                if take {
                    if s.take(&source).is_ok() {
                        held.push(source);
                    }
                } else if let Some(i) = held.iter().position(|h| *h == source) {
                    held.swap_remove(i);
                    s.release(&source);
                }
                prop_assert!(s.in_use() <= 5);
                prop_assert_eq!(s.in_use(), held.len());
                for source in 0u8..4 {
                    prop_assert!(held.iter().filter(|h| **h == source).count() <= 2);
                }
            }
            for source in held {
                s.release(&source);
            }
            prop_assert_eq!(s.in_use(), 0);
            prop_assert!(s.taken.is_empty());
        }
    }

    #[test]
    fn a_source_is_logged_once_a_period_with_the_count_it_kept_quiet() {
        let mut g = LogGate::new(Duration::from_secs(60));
        assert_eq!(g.admit(&"eve", at(0)), Some(0));
        for s in 1..100 {
            assert_eq!(g.admit(&"eve", at(s % 60)), None);
        }
        assert_eq!(g.admit(&"mallory", at(5)), Some(0), "sources are apart");
        assert_eq!(g.admit(&"eve", at(60)), Some(99));
        assert_eq!(g.admit(&"eve", at(61)), None);
    }

    #[test]
    fn a_log_gate_forgets_the_oldest_source_under_a_flood() {
        let mut g = LogGate::new(Duration::from_secs(60));
        for i in 0..(MAX_LOGGED_SOURCES as i64 + 10) {
            g.admit(&i, at(0) + jiff::SignedDuration::from_millis(i));
        }
        assert_eq!(g.sources.len(), MAX_LOGGED_SOURCES);
        assert_eq!(g.admit(&0, at(1)), Some(0), "the oldest was forgotten");
    }
}
