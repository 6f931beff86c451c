//! Announcing what is due: every so often the rules in `tandem_protocol::remind` run
//! against the documents; each reminder not announced before goes out as an SSE
//! `reminder` event, a log line, and a desktop notification where a session bus exists.

use std::collections::HashSet;
use std::time::Duration;

use tandem_protocol::remind::Reminder;
use tokio::sync::{broadcast, watch};

use crate::writer::Writer;

/// Checks for due reminders every `every` until `stopping`.
pub async fn run(
    writer: Writer,
    every: Duration,
    announce: broadcast::Sender<Reminder>,
    mut stopping: watch::Receiver<bool>,
) {
    let mut announced = HashSet::new();
    // The first check waits a period: start-up is for answering the API quickly.
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
        let due = writer
            .run(|repo| {
                let now = crate::clock::now().to_zoned_datetime(repo.tz().clone());
                repo.reminders(&now)
            })
            .await;
        let due = match due {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!("cannot compute reminders: {e}");
                continue;
            }
        };
        for reminder in due {
            if !announced.insert((reminder.kind, reminder.id.clone(), reminder.due_at)) {
                continue;
            }
            tracing::info!(kind = ?reminder.kind, "reminder: {}", reminder.message);
            notify_desktop(&reminder.message);
            let _ = announce.send(reminder);
        }
    }
}

/// Shows a desktop notification with `notify-send` when a session bus is there; a daemon
/// without a desktop (a server, CI) just has the log line and the SSE event.
fn notify_desktop(message: &str) {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        return;
    }
    let shown = std::process::Command::new("notify-send")
        .args(["--app-name=tandem", "tandem", message])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if let Err(e) = shown {
        tracing::debug!("no desktop notification ({e})");
    }
}
