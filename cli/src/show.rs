//! Printing for people (aligned tables, short ids, local times) and for scripts (`--json`).
//!
//! Everything for people goes through [`say!`] (stdout) or [`say_err!`] (stderr), which
//! make the whole line terminal-safe ([`safe`]); table cells and names are made one line.
//! Clippy refuses the std print macros elsewhere in this crate (`cli/clippy.toml`), so a
//! new command cannot print a partner's text raw by forgetting a call.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;
use tandem_protocol::ids::PersonId;
use tandem_protocol::time::{Moment, Stamp};

use crate::safe;

/// Shortest id prefix shown, even when a shorter one would be unique.
const MIN_PREFIX: usize = 6;

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

/// Writes `text` and a newline to stdout, control characters escaped (line breaks kept).
#[allow(
    clippy::disallowed_macros,
    reason = "the one place lines for people reach stdout"
)]
pub fn line(text: &str) {
    println!("{}", safe::multi_line(text));
}

/// Writes `text` and a newline to stderr, control characters escaped (line breaks kept).
#[allow(
    clippy::disallowed_macros,
    reason = "the one place lines for people reach stderr"
)]
pub fn error_line(text: &str) {
    eprintln!("{}", safe::multi_line(text));
}

/// Shows progress of long work on stderr, each step overwriting the last on one line;
/// `done` ends the line.
#[allow(
    clippy::disallowed_macros,
    reason = "progress rewrites its own line with a carriage return"
)]
pub fn progress(text: &str, done: bool) {
    let text = safe::one_line(text);
    if done {
        eprintln!("\r{text:<40}");
    } else {
        eprint!("\r{text:<40}");
    }
}

/// Prints `value` as pretty JSON. Exact: scripts get the text as stored (JSON escapes
/// C0 controls itself).
#[allow(
    clippy::disallowed_macros,
    reason = "JSON for scripts is printed exactly"
)]
pub fn json(value: &impl Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("API values always serialize")
    );
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

/// "2026-12-04 19:30" (UTC): when something happened, in tables and status lines.
pub fn stamp(s: &Stamp) -> String {
    s.0.strftime("%Y-%m-%d %H:%M").to_string()
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
