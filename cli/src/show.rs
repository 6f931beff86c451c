//! Printing for people (aligned tables, short ids, local times) and for scripts (`--json`).
//!
//! Everything for people goes through [`say!`] (stdout) or [`say_err!`] (stderr), which
//! make the whole line terminal-safe ([`safe`]); table cells and names are made one line.
//! Clippy refuses the std print macros elsewhere in this crate (`cli/clippy.toml`), so a
//! new command cannot print a partner's text raw by forgetting a call.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};
use serde::Serialize;
use tandem_protocol::ids::PersonId;
use tandem_protocol::time::{Moment, Stamp};

use crate::safe;

/// Shortest id prefix shown, even when a shorter one would be unique.
const MIN_PREFIX: usize = 6;
/// Length of an id shown on its own, without the others to compare with: long enough to
/// be unique among a couple's items in practice (a clash is named when typed).
const LONE_PREFIX: usize = 8;

/// Prints a line for people on stdout, like `println!`, made terminal-safe.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::show::line(&format!($($arg)*))
    };
}
pub(crate) use say;

/// Prints a line for people on stderr, like `eprintln!`, made terminal-safe.
macro_rules! say_err {
    ($($arg:tt)*) => {
        $crate::show::error_line(&format!($($arg)*))
    };
}
pub(crate) use say_err;

/// Set once stdout's reader has gone (`tandem log | head -1`): what is left to print is
/// dropped and the command ends quietly, with success.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// The first failure writing stdout other than a closed pipe (a full disk, say), for
/// `main` to report once the command is over.
static STDOUT_FAILURE: Mutex<Option<std::io::Error>> = Mutex::new(None);

/// Writes `bytes` to stdout exactly. Every byte meant for stdout goes through here, so a
/// reader closing the pipe can never make a write panic, in any command.
pub fn stdout_bytes(bytes: &[u8]) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            STDOUT_FAILURE
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .get_or_insert(e);
        }
    }
}

/// Whether everything printed reached stdout or a reader that chose to stop reading.
pub fn stdout_outcome() -> std::io::Result<()> {
    match STDOUT_FAILURE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take()
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Writes `bytes` to stderr. A closed stderr leaves nowhere to complain, so it is ignored.
fn stderr_bytes(bytes: &[u8]) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(bytes).and_then(|()| stderr.flush());
}

/// Writes `text` and a newline to stdout, control characters escaped (line breaks kept).
pub fn line(text: &str) {
    stdout_bytes(format!("{}\n", safe::multi_line(text)).as_bytes());
}

/// Writes `text` and a newline to stderr, control characters escaped (line breaks kept).
pub fn error_line(text: &str) {
    stderr_bytes(format!("{}\n", safe::multi_line(text)).as_bytes());
}

/// Shows progress of long work on stderr, each step overwriting the last on one line;
/// `done` ends the line.
pub fn progress(text: &str, done: bool) {
    let text = safe::one_line(text);
    let end = if done { "\n" } else { "" };
    stderr_bytes(format!("\r{text:<40}{end}").as_bytes());
}

/// Prints `value` as pretty JSON. Exact: scripts get the text as stored (JSON escapes
/// C0 controls itself).
pub fn json(value: &impl Serialize) {
    let mut text = serde_json::to_string_pretty(value).expect("API values always serialize");
    text.push('\n');
    stdout_bytes(text.as_bytes());
}

/// Lays out rows under headers with columns padded to their widest cell. Cells are made
/// one line and terminal-safe, so a cell from a document cannot break the layout.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<Cow<'_, str>>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| safe::one_line(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}", w = *w))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = line(headers.to_vec());
    for row in &rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(|cell| cell.as_ref()).collect()));
    }
    out
}

/// The shortest prefix of each id (at least six characters) that no other id shares, so
/// people can type `tandem plan show 3kf9a1`.
pub fn short_ids<'a>(ids: impl IntoIterator<Item = &'a str> + Clone) -> Vec<String> {
    ids.clone()
        .into_iter()
        .map(|id| {
            let needed = ids
                .clone()
                .into_iter()
                .filter(|other| *other != id)
                .map(|other| {
                    id.chars()
                        .zip(other.chars())
                        .take_while(|(a, b)| a == b)
                        .count()
                        + 1
                })
                .max()
                .unwrap_or(0)
                .max(MIN_PREFIX);
            id.chars().take(needed).collect()
        })
        .collect()
}

/// The short form of an id shown without its list (`plan add`, what needs me).
pub fn short_id(id: &str) -> &str {
    id.char_indices()
        .nth(LONE_PREFIX)
        .map_or(id, |(end, _)| &id[..end])
}

/// A stored name (`date_night`) as people type it (`date-night`).
pub fn word(stored: &str) -> String {
    stored.replace('_', "-")
}

/// "1 plan", "2 plans".
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// When something happened, for people, in this laptop's time zone and relative to now:
/// "just now", "5 min ago", "2 h ago", "yesterday 18:04", "Mon 18:04", "30 Nov 18:04".
pub fn stamp(s: &Stamp) -> String {
    stamp_at(
        s.0,
        &crate::when::now().to_zoned_datetime(TimeZone::system()),
    )
}

/// [`stamp`] as seen at `now` (whose zone is used), so it is tested without a clock.
fn stamp_at(then: Timestamp, now: &ZonedDateTime) -> String {
    let local = then.to_zoned_datetime(now.time_zone().clone());
    let clock = local.strftime("%H:%M");
    let seconds = now.timestamp().duration_since(then).as_secs();
    let days_ago = (now.date() - local.date()).get_days();
    match seconds {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{} min ago", seconds / 60),
        3600..43200 => format!("{} h ago", seconds / 3600),
        _ if seconds > 0 && days_ago == 0 => format!("today {clock}"),
        _ if seconds > 0 && days_ago == 1 => format!("yesterday {clock}"),
        _ if seconds > 0 && days_ago < 7 => local.strftime("%a %H:%M").to_string(),
        _ if local.year() == now.year() => local.strftime("%-d %b %H:%M").to_string(),
        _ => local.strftime("%Y-%m-%d %H:%M").to_string(),
    }
}

/// "Fri 2026-12-04 19:30" in the moment's own zone.
pub fn moment(m: &Moment) -> String {
    m.0.strftime("%a %Y-%m-%d %H:%M").to_string()
}

/// "Fri 2026-12-04 19:30–22:00", or with the end's date when it is another day.
pub fn range(start: &Moment, end: &Moment) -> String {
    if start.0.date() == end.0.date() {
        format!("{}–{}", moment(start), end.0.strftime("%H:%M"))
    } else {
        format!("{} – {}", moment(start), moment(end))
    }
}

/// Display names of people, by id.
pub type Names = BTreeMap<PersonId, String>;

/// The name of `id` (one line, terminal-safe), or the id itself when unknown.
pub fn name(names: &Names, id: &PersonId) -> String {
    match names.get(id) {
        Some(name) => safe::one_line(name).into_owned(),
        None => id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_are_unique_prefixes() {
        let ids = ["abcdefgh11", "abcdefgh22", "zzzzzzzzzz"];
        assert_eq!(short_ids(ids), ["abcdefgh1", "abcdefgh2", "zzzzzz"]);
    }

    #[test]
    fn stamps_are_local_and_relative() {
        let now: ZonedDateTime = "2026-12-03T15:00[Europe/Paris]".parse().unwrap();
        let at = |s: &str| stamp_at(s.parse().unwrap(), &now);
        assert_eq!(at("2026-12-03T13:59:30Z"), "just now");
        assert_eq!(at("2026-12-03T13:55:00Z"), "5 min ago");
        assert_eq!(at("2026-12-03T12:00:00Z"), "2 h ago");
        assert_eq!(at("2026-12-03T00:30:00Z"), "today 01:30");
        assert_eq!(at("2026-12-02T17:04:00Z"), "yesterday 18:04");
        assert_eq!(at("2026-11-30T17:04:00Z"), "Mon 18:04");
        assert_eq!(at("2026-11-20T17:04:00Z"), "20 Nov 18:04");
        assert_eq!(at("2025-11-20T17:04:00Z"), "2025-11-20 18:04");
        // A partner's clock ahead of ours: no "ago" for the future.
        assert_eq!(at("2026-12-03T14:30:00Z"), "3 Dec 15:30");
    }

    #[test]
    fn tables_align() {
        let t = table(
            &["ID", "TITLE"],
            &[
                vec!["a".into(), "Dinner".into()],
                vec!["bbbb".into(), "X".into()],
            ],
        );
        assert_eq!(t, "ID    TITLE\na     Dinner\nbbbb  X");
    }

    #[test]
    fn table_cells_are_one_safe_line() {
        let t = table(
            &["ID", "TITLE"],
            &[
                vec!["a".into(), "Din\nner\u{1b}[2J".into()],
                vec!["b".into(), "Ł".into()],
            ],
        );
        assert_eq!(t, "ID  TITLE\na   Din\\nner\\u{1b}[2J\nb   Ł");
    }
}
