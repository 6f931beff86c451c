//! The mailbox: sync while apart through a folder both laptops already share by other
//! means (a cloud drive, Syncthing, a USB stick), with no server of tandem's own.
//!
//! Each device writes only its own files, in `DIR/<its device id>/`: sealed **bundles**
//! (`<seq>.tdm`) of the changes a reader has not acknowledged yet, and per reader one
//! sealed **acknowledgement** (`ack-<reader id>.tdm`) of the heads it has applied, so the
//! writer can prune and compact. Everything the folder's host sees is opaque: sizes,
//! times and device ids (certificate fingerprints, never a name).
//!
//! - [`key`]: the key of a pair of devices, agreed by X25519 over the pinned connection.
//! - [`seal`]: the file format (versioned header bound to the writer, the reader, the
//!   document and a sequence number; XChaCha20-Poly1305) and its typed refusals.
//! - [`name`]: file names, including the temporary and "conflicted copy" names that
//!   cloud clients make.
//! - [`plan`]: the pure decisions: what to write, what can be pruned given an
//!   acknowledgement, what to apply (duplicates and replays).
//! - [`status`]: the API's bodies (set, stop, status).
//!
//! Nothing here touches the disk; the daemon's `mailbox` task does, and applies bundles
//! through the same repo path as peer sync.

pub mod key;
pub mod name;
pub mod plan;
pub mod seal;
pub mod status;

pub use key::{PairKey, PairSecret};
pub use name::FileName;
pub use plan::{Coverage, Inbox, Outbox, Written};
pub use seal::{Envelope, OpenError, Payload};
