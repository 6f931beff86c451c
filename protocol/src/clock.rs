//! The test clock: `TANDEM_NOW` makes both binaries' "now" start at a chosen instant.
//!
//! Everything tandem decides about time (what is due, what is today, this week's balance,
//! the next seven days, the stamps on changes) reads one "now". Tests and demos set
//! [`NOW_VAR`] to an RFC 3339 instant so a week in the life passes the same way on any
//! weekday and across a DST change. The clock then *runs* from that instant at the real
//! pace, so changes made one after the other still carry increasing stamps (undo and the
//! activity feed order by them). This module only parses and does the arithmetic: reading
//! the environment and the system clock is the binaries' business.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use thiserror::Error;

/// The environment variable naming the instant "now" starts at, e.g.
/// `TANDEM_NOW=2026-10-25T09:00:00+01:00`. Unset or empty: the system clock.
pub const NOW_VAR: &str = "TANDEM_NOW";

/// `TANDEM_NOW` holds something that is not an instant.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error(
    "{NOW_VAR} is {value:?}, which is not an instant: give an RFC 3339 time such as \
     2026-10-25T09:00:00+01:00, or unset it to use the system clock"
)]
pub struct BadNow {
    /// What the variable held.
    pub value: String,
}

/// Where "now" comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    System,
    /// Starts at `at` when the binary started, and runs from there.
    StartsAt(Timestamp),
}

impl Clock {
    /// The clock a [`NOW_VAR`] value asks for: `None` or blank is the system clock.
    pub fn from_var(value: Option<&str>) -> Result<Self, BadNow> {
        let Some(raw) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(Clock::System);
        };
        raw.parse::<Timestamp>()
            .map(Clock::StartsAt)
            .map_err(|_| BadNow {
                value: raw.to_owned(),
            })
    }

    /// "Now", given the system clock's reading and how long the binary has been running.
    pub fn now(self, system: Timestamp, running_for: Duration) -> Timestamp {
        match self {
            Clock::System => system,
            Clock::StartsAt(at) => SignedDuration::try_from(running_for)
                .ok()
                .and_then(|d| at.checked_add(d).ok())
                .unwrap_or(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_or_blank_is_the_system_clock() {
        assert_eq!(Clock::from_var(None), Ok(Clock::System));
        assert_eq!(Clock::from_var(Some("  ")), Ok(Clock::System));
        let system: Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(Clock::System.now(system, Duration::from_secs(5)), system);
    }

    #[test]
    fn a_fixed_start_runs_from_there() {
        let clock = Clock::from_var(Some("2026-10-25T09:00:00+01:00")).unwrap();
        let system: Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            clock.now(system, Duration::from_millis(1500)).to_string(),
            "2026-10-25T08:00:01.5Z"
        );
    }

    #[test]
    fn anything_else_is_refused_by_name() {
        let err = Clock::from_var(Some("next tuesday")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("TANDEM_NOW is \"next tuesday\""),
            "{err}"
        );
        assert!(
            Clock::from_var(Some("2026-10-25")).is_err(),
            "a date has no instant"
        );
    }
}
