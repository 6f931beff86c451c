//! Log lines about strangers (refused, slow or misbehaving connections), once per source
//! and minute.
//!
//! Anyone on the network can make a listener refuse them, as often as they like; a line per
//! refusal would let them fill the disk. [`Notices`] writes the first line about a source,
//! then counts quietly until a minute has passed, and says how many it kept quiet.

use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use tandem_protocol::admission::{self, LogGate};

/// A source's lines are written at most once per this period.
const PERIOD: Duration = Duration::from_secs(60);

/// One listener's rate-limited log of strangers.
#[derive(Clone)]
pub struct Notices {
    listener: &'static str,
    gate: Arc<Mutex<LogGate<IpAddr>>>,
}

impl Notices {
    /// Notices of the listener called `listener` in its lines ("peer port", "phones").
    pub fn new(listener: &'static str) -> Self {
        Self {
            listener,
            gate: Arc::new(Mutex::new(LogGate::new(PERIOD))),
        }
    }

    /// Logs `what` happened with a connection from `ip` (at `info`), unless a line about
    /// its source was written less than a minute ago.
    pub fn note(&self, ip: IpAddr, what: std::fmt::Arguments<'_>) {
        let quiet = self
            .gate
            .lock()
            .admit(&admission::source(ip), jiff::Timestamp::now());
        let listener = self.listener;
        match quiet {
            Some(0) => tracing::info!("{listener}: {ip}: {what}"),
            Some(n) => tracing::info!(
                "{listener}: {ip}: {what} ({n} more events from there not logged in the last minute)"
            ),
            None => {}
        }
    }
}
