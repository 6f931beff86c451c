//! Mailbox file names.
//!
//! A device writes in `DIR/<its device id>/` only: bundles `<seq>.tdm` and one
//! acknowledgement per reader `ack-<reader id>.tdm`, each first under a temporary name
//! (`<seq>.tmp-<16 hex>`, which no reader takes for a mailbox file, and which its writer
//! deletes at start when a crash left one) and then renamed. Cloud clients add their own
//! names: partial downloads (`.tmp`, `.part`, `.partial`, `~$…`, `.syncthing.…`, `.icloud` placeholders)
//! are skipped, and "conflicted copies" (`12 (Sam's conflicted copy).tdm`,
//! `12.sync-conflict-….tdm`, `12 (1).tdm`) are read like any file: the authenticated
//! header, not the name, says what they are, and a duplicate is harmless.

use crate::device::DeviceId;

/// The extension of every mailbox file.
pub const EXT: &str = ".tdm";
const ACK: &str = "ack-";

/// What a name in a device's directory is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileName {
    /// A bundle, `<seq>.tdm`.
    Bundle(u64),
    /// An acknowledgement for `reader`, `ack-<reader>.tdm`.
    Ack(DeviceId),
    /// A copy a sync client made of a mailbox file: read it, trusting only its header.
    Conflicted,
    /// A file still being written or downloaded (by a sync client): skipped.
    Partial,
    /// A writer's temporary name (`<name>.tmp-<16 hex>`): a file being written, or one a
    /// crash left half-written. Readers skip it; its writer deletes its own at start.
    Temp,
    /// Anything else (a `.DS_Store`, a note someone left): left alone.
    Other,
}

/// The name of bundle `seq`.
pub fn bundle(seq: u64) -> String {
    format!("{seq}{EXT}")
}

/// The name of the acknowledgement for `reader`.
pub fn ack(reader: DeviceId) -> String {
    format!("{ACK}{reader}{EXT}")
}

/// What `name` is.
pub fn parse(name: &str) -> FileName {
    const PARTIAL_SUFFIXES: [&str; 6] = [
        ".tmp",
        ".part",
        ".partial",
        ".crdownload",
        ".icloud",
        ".download",
    ];
    const PARTIAL_PREFIXES: [&str; 4] = [".", "~$", ".~", ".syncthing."];
    if name
        .rsplit_once(".tmp-")
        .is_some_and(|(_, tail)| tail.len() == 16 && tail.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return FileName::Temp;
    }
    if PARTIAL_PREFIXES.iter().any(|p| name.starts_with(p))
        || PARTIAL_SUFFIXES.iter().any(|s| name.ends_with(s))
    {
        return FileName::Partial;
    }
    let Some(stem) = name.strip_suffix(EXT) else {
        return FileName::Other;
    };
    if !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()) {
        return match stem.parse() {
            Ok(seq) if bundle(seq) == name => FileName::Bundle(seq),
            // Leading zeros or an overflowing number: not a name tandem writes.
            _ => FileName::Conflicted,
        };
    }
    if let Some(reader) = stem.strip_prefix(ACK)
        && let Ok(reader) = reader.parse::<DeviceId>()
        && ack(reader) == name
    {
        return FileName::Ack(reader);
    }
    FileName::Conflicted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(parse(&bundle(0)), FileName::Bundle(0));
        assert_eq!(parse(&bundle(u64::MAX)), FileName::Bundle(u64::MAX));
        let id = DeviceId::of_certificate(b"x");
        assert_eq!(parse(&ack(id)), FileName::Ack(id));
        assert_eq!(
            parse("3.tmp-00000000000000ff"),
            FileName::Temp,
            "our own temp names"
        );
        assert_eq!(
            parse(&format!("ack-{id}.tmp-0123456789abcdef")),
            FileName::Temp
        );
        assert_eq!(parse("3.tmp-notours"), FileName::Other);
    }

    #[test]
    fn sync_clients_names_are_recognised() {
        for partial in [
            "12.tdm.part",
            "12.tdm.partial",
            ".syncthing.12.tdm.tmp",
            "~$12.tdm",
            ".12.tdm.icloud",
            "12.tdm.crdownload",
        ] {
            assert_eq!(parse(partial), FileName::Partial, "{partial}");
        }
        for copy in [
            "12 (Sam's conflicted copy 2026-12-03).tdm",
            "12.sync-conflict-20261203-101010-ABCDEFG.tdm",
            "12 (1).tdm",
            "012.tdm",
            "99999999999999999999999.tdm",
            "ack-nonsense.tdm",
        ] {
            assert_eq!(parse(copy), FileName::Conflicted, "{copy}");
        }
        for other in ["desktop.ini", "12.tdm.bak", "README"] {
            assert_eq!(parse(other), FileName::Other, "{other}");
        }
    }
}
