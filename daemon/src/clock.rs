//! The daemon's one "now": the system clock, or the test clock `TANDEM_NOW` asks for
//! ([`tandem_protocol::clock`]).
//!
//! Every time the daemon writes into a document or reads "today", "this week" or "the
//! next seven days" comes from [`now`]; so do the numbers the mailbox gives its files
//! (kept rising when the clock goes back), which lets a test clock play a laptop whose
//! clock is hours off. Network and security timers (pairing windows, throttles,
//! last-seen, file names of set-aside logs) stay on the system clock: a test clock must
//! not open a pairing window for longer than it really is open.

use std::sync::OnceLock;
use std::time::Instant;

use jiff::Timestamp;
use tandem_protocol::clock::{BadNow, Clock, NOW_VAR};

static CLOCK: OnceLock<(Clock, Instant)> = OnceLock::new();

/// Reads [`NOW_VAR`] once, at start-up; a value that is not an instant stops the daemon
/// with a message naming it. Without this call (unit tests) the system clock is used.
pub fn init() -> Result<Clock, BadNow> {
    let clock = Clock::from_var(std::env::var(NOW_VAR).ok().as_deref())?;
    let (clock, _) = CLOCK.get_or_init(|| (clock, Instant::now()));
    if let Clock::StartsAt(at) = clock {
        tracing::warn!(%at, "the clock starts at {NOW_VAR}, not the system's time");
    }
    Ok(*clock)
}

/// "Now" for everything the documents and their read models see.
pub fn now() -> Timestamp {
    let (clock, started) = CLOCK.get_or_init(|| (Clock::System, Instant::now()));
    clock.now(Timestamp::now(), started.elapsed())
}
