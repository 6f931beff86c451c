//! # tandem-protocol
//!
//! The pure core of tandem: everything that can be decided without a socket, a file or a
//! clock of its own. The daemon owns all I/O and calls into this crate; the CLI uses its
//! API types. Nothing here depends on tokio, axum or the file system.
//!
//! # Layout
//! - [`config`]: the daemon's `config.toml`.
//! - [`device`]: device ids (certificate fingerprints).
//! - [`ids`]: entity and person identifiers.
//! - [`time`]: instants and zoned times as they are stored in documents, ISO weeks.
//! - [`clock`]: `TANDEM_NOW`, the injectable "now" both binaries honour.
//! - [`error`]: validation and document errors.
//! - [`document`]: the two Automerge documents (shared, private), their genesis change and
//!   typed access to their collections.
//! - [`schema`]: schema versions and the deterministic changes that upgrade old documents.
//! - [`entity`]: the [`entity::Entity`] trait every stored collection item implements.
//! - [`rules`]: who may read, edit, delete or restore what (and where the check-in, undo
//!   and private-document rules live).
//! - [`pairing`]: codes, the pairing window, messages and key confirmation.
//! - [`remind`]: what is due (check-in, plan soon, agreement review), for a given "now".
//! - [`inbox`]: what needs me (answers, comments, check-in, agreements, conflicts, today).
//! - [`paths`]: the data home and the files both binaries read.
//! - [`model`]: plans, ideas, personal time, agreements, check-ins, notes, people, settings.
//! - [`changelog`]: the store's change-log record format (read and write, pure).
//! - [`checkin`]: the reveal rule that keeps answers hidden until both have answered.
//! - [`activity`]: the activity record written as each change's message.
//! - [`balance`]: the weekly together/alone arithmetic and its plain-language reading.
//! - [`sync`]: keeping one peer in sync, with permissions and limits.
//! - [`wire`]: frames and messages between two daemons.
//! - [`mailbox`]: sealed bundles and acknowledgements for syncing through a shared folder.
//! - [`api`]: request and response bodies of the local HTTP API.
//! - [`ics`]: iCalendar text of plans and personal time (export and calendar feed).
//! - [`throttle`]: failed-token counting per source, for the phone listener.
//! - [`admission`]: slots for not-yet-authenticated connections and once-a-minute logging
//!   per source, for every listener strangers can reach.

// Only the daemon needs `unsafe` (two glibc calls in its `memory.rs`).
#![forbid(unsafe_code)]

pub mod activity;
pub mod admission;
pub mod api;
pub mod balance;
pub mod changelog;
pub mod checkin;
pub mod clock;
pub mod config;
pub mod device;
pub mod document;
pub mod entity;
pub mod error;
pub mod ics;
pub mod ids;
pub mod inbox;
pub mod joint;
pub mod kinds;
pub mod mailbox;
mod map_reads;
pub mod model;
pub mod pairing;
pub mod paths;
pub mod remind;
pub mod rules;
pub mod schema;
pub mod sync;
pub mod throttle;
pub mod time;
pub mod trash;
pub mod undo;
pub mod wire;

#[cfg(test)]
mod test_support;
