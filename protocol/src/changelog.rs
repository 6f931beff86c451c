//! The change-log format of the store, pure so it can be fuzzed and tested alone.
//!
//! # Format
//!
//! A log starts with the 8-byte file header [`MAGIC`], then holds records
//! `[len: u32 BE][crc32 of the payload: u32 BE][crc32 of the previous 8 bytes: u32 BE][len
//! bytes of payload]`. The header checks itself, so a damaged length is damage, never
//! mistaken for a write cut short.
//!
//! Logs written before this format ([`Format::Legacy`]) have no file header and records
//! `[len: u32 BE][crc32 of the payload: u32 BE][payload]`. [`MAGIC`] starts with `0xFF`,
//! which no legacy log does (its first record would be 4 GiB long). A log that does not
//! start with [`MAGIC`] is legacy if its first byte is 0 (a first record below 16 MiB) or
//! its first record is whole and checksum-valid; otherwise its file header is damaged,
//! which is also what a flipped bit in [`MAGIC`] looks like. Legacy lengths do not check
//! themselves, so a legacy
//! record whose length runs past the end is damage when some shorter length matches its
//! checksum (the length was damaged, the contents are there), and a torn tail otherwise.
//!
//! # What reading decides
//!
//! - A complete record whose checksums match is loaded.
//! - An incomplete last record is a **torn tail**: a write cut short by a crash, never
//!   acknowledged (acknowledgement waits for the fsync of the whole record). The store sets
//!   it aside in a side file; it is never discarded.
//! - Anything else is [`Damage`], reported with its byte offset and never trimmed: a record
//!   header whose checksum does not match, a record whose contents do not match its
//!   checksum, a file header that is not [`MAGIC`]. This includes a *complete* last record
//!   with a bad checksum: its length is intact and all its bytes are in the file, so it may
//!   be an acknowledged write that was damaged later, and dropping it could lose that write.
//!   (A power cut during an append on ext4, the usual Linux file system, leaves a prefix of
//!   the write, which is a torn tail; file systems that can leave the full length with
//!   stale sectors get a refusal to start, never a silent loss.)

use thiserror::Error;

/// The file header of a log in the current format. The first byte, `0xFF`, tells it from a
/// legacy log; the last is the format's version.
pub const MAGIC: [u8; 8] = *b"\xFFtandem\x02";

/// Bytes before each payload in the current format.
const HEADER: usize = 12;
/// Bytes before each payload in a legacy log.
const LEGACY_HEADER: usize = 8;

/// Which format a log is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// [`MAGIC`] and self-checking record headers. A log too short to hold [`MAGIC`] but
    /// starting like it (an empty file, or a crash while writing the header) is a new log
    /// in this format whose header is still to be completed.
    Current,
    /// No file header, records whose length is not checked (written by earlier builds).
    Legacy,
}

/// One complete, checksum-valid record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Byte offset of the record in the log.
    pub at: usize,
    /// The record's payload.
    pub payload: &'a [u8],
}

/// What reading a whole log found: its records, then possibly a torn tail.
#[derive(Debug, PartialEq, Eq)]
pub struct Log<'a> {
    data: &'a [u8],
    format: Format,
    records: Vec<Record<'a>>,
    end: usize,
}

impl<'a> Log<'a> {
    /// The log's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Every complete record, in order.
    pub fn records(&self) -> &[Record<'a>] {
        &self.records
    }

    /// How many leading bytes hold the file header and the complete records: the log keeps
    /// these, and everything after is the torn tail.
    pub fn kept_len(&self) -> usize {
        self.end
    }

    /// The incomplete last record (empty when there is none), to be set aside.
    pub fn torn_tail(&self) -> &'a [u8] {
        &self.data[self.end..]
    }

    /// The part of [`MAGIC`] a new log still lacks (empty once the header is complete):
    /// appending it finishes the header without dropping any byte the log holds.
    pub fn missing_header(&self) -> &'static [u8] {
        match self.format {
            Format::Current => &MAGIC[self.end.min(MAGIC.len())..],
            Format::Legacy => &[],
        }
    }
}

/// Where a log is damaged and how. Nothing after this point can be trusted.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
#[error("{kind} at byte {at}")]
pub struct Damage {
    /// Byte offset of the damaged header or record.
    pub at: usize,
    /// What is wrong there.
    pub kind: DamageKind,
}

/// The kinds of damage a log can show.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum DamageKind {
    /// The file starts neither with [`MAGIC`] nor like a legacy log.
    #[error("the file header is not a change log's")]
    FileHeader,
    /// A record's header does not match the checksum it carries.
    #[error("a record's header does not match its checksum")]
    RecordHeader,
    /// A record's contents do not match its checksum.
    #[error("a record's contents do not match its checksum")]
    Checksum,
    /// A legacy record's length runs past the end, yet a shorter length matches its
    /// checksum: the length was damaged.
    #[error("a record's length does not match its contents")]
    Length,
}

/// The record `payload` as written to a log in the current format.
pub fn record(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("a single write is far below 4 GiB");
    let mut record = Vec::with_capacity(HEADER + payload.len());
    record.extend_from_slice(&len.to_be_bytes());
    record.extend_from_slice(&crc32fast::hash(payload).to_be_bytes());
    record.extend_from_slice(&crc32fast::hash(&record).to_be_bytes());
    record.extend_from_slice(payload);
    record
}

/// Reads the record a slice of a log starts with.
type RecordReader = fn(&[u8]) -> Result<Option<&[u8]>, DamageKind>;

/// Reads a whole log: its records and torn tail, or the first damage.
pub fn read(data: &[u8]) -> Result<Log<'_>, Damage> {
    if MAGIC.starts_with(data) {
        return Ok(Log {
            data,
            format: Format::Current,
            records: Vec::new(),
            end: data.len(),
        });
    }
    let (format, start) = if data.starts_with(&MAGIC) {
        (Format::Current, MAGIC.len())
    } else if looks_legacy(data) {
        (Format::Legacy, 0)
    } else {
        return Err(Damage {
            at: 0,
            kind: DamageKind::FileHeader,
        });
    };
    let (next, header): (RecordReader, usize) = match format {
        Format::Current => (next_record, HEADER),
        Format::Legacy => (next_legacy_record, LEGACY_HEADER),
    };
    let (mut records, mut at) = (Vec::new(), start);
    while let Some(payload) = next(&data[at..]).map_err(|kind| Damage { at, kind })? {
        records.push(Record { at, payload });
        at += header + payload.len();
    }
    Ok(Log {
        data,
        format,
        records,
        end: at,
    })
}

/// Whether `data`, which does not start with [`MAGIC`], is a legacy log: its first length
/// is below 16 MiB (its first byte is 0), or its first record is whole and checksum-valid.
/// Anything else is a damaged file header, whichever format it had.
fn looks_legacy(data: &[u8]) -> bool {
    data[0] == 0 || matches!(next_legacy_record(data), Ok(Some(_)))
}

/// The payload of the record `rest` starts with, `None` at the end or a torn tail.
fn next_record(rest: &[u8]) -> Result<Option<&[u8]>, DamageKind> {
    if rest.len() < HEADER {
        return Ok(None);
    }
    let (len, payload_crc, header_crc) = (be_u32(rest, 0), be_u32(rest, 4), be_u32(rest, 8));
    if crc32fast::hash(&rest[..8]) != header_crc {
        return Err(DamageKind::RecordHeader);
    }
    let Some(payload) = rest[HEADER..].get(..len as usize) else {
        return Ok(None);
    };
    if crc32fast::hash(payload) != payload_crc {
        return Err(DamageKind::Checksum);
    }
    Ok(Some(payload))
}

/// The payload of the legacy record `rest` starts with, `None` at the end or a torn tail.
fn next_legacy_record(rest: &[u8]) -> Result<Option<&[u8]>, DamageKind> {
    if rest.len() < LEGACY_HEADER {
        return Ok(None);
    }
    let (len, crc) = (be_u32(rest, 0), be_u32(rest, 4));
    let body = &rest[LEGACY_HEADER..];
    let Some(payload) = body.get(..len as usize) else {
        return if some_prefix_matches(body, crc) {
            Err(DamageKind::Length)
        } else {
            Ok(None)
        };
    };
    if crc32fast::hash(payload) != crc {
        return Err(DamageKind::Checksum);
    }
    Ok(Some(payload))
}

/// Whether some prefix of `body` (the empty one aside) has checksum `crc`.
fn some_prefix_matches(body: &[u8], crc: u32) -> bool {
    let mut hasher = crc32fast::Hasher::new();
    body.iter().any(|byte| {
        hasher.update(std::slice::from_ref(byte));
        hasher.clone().finalize() == crc
    })
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A legacy record, as builds before [`MAGIC`] wrote it.
    fn legacy_record(payload: &[u8]) -> Vec<u8> {
        let mut record = (payload.len() as u32).to_be_bytes().to_vec();
        record.extend_from_slice(&crc32fast::hash(payload).to_be_bytes());
        record.extend_from_slice(payload);
        record
    }

    /// A log of `payloads` in `format`, and where each record ends.
    fn log_of(format: Format, payloads: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
        let mut log = match format {
            Format::Current => MAGIC.to_vec(),
            Format::Legacy => Vec::new(),
        };
        let mut ends = Vec::new();
        for payload in payloads {
            log.extend(match format {
                Format::Current => record(payload),
                Format::Legacy => legacy_record(payload),
            });
            ends.push(log.len());
        }
        (log, ends)
    }

    fn payloads_of(log: &Log<'_>) -> Vec<Vec<u8>> {
        log.records().iter().map(|r| r.payload.to_vec()).collect()
    }

    #[test]
    fn records_read_back_in_both_formats() {
        let payloads = [b"one".to_vec(), b"two".to_vec()];
        for format in [Format::Current, Format::Legacy] {
            let (data, _) = log_of(format, &payloads);
            let log = read(&data).unwrap();
            assert_eq!(log.format(), format);
            assert_eq!(payloads_of(&log), payloads);
            assert_eq!(log.kept_len(), data.len());
            assert!(log.torn_tail().is_empty());
            assert!(log.missing_header().is_empty());
        }
    }

    #[test]
    fn a_new_log_is_current_and_its_header_is_completed() {
        for cut in 0..MAGIC.len() {
            let log = read(&MAGIC[..cut]).unwrap();
            assert_eq!(log.format(), Format::Current);
            assert!(log.records().is_empty() && log.torn_tail().is_empty());
            assert_eq!(log.missing_header(), &MAGIC[cut..]);
        }
    }

    #[test]
    fn a_complete_last_record_with_a_bad_checksum_is_damage() {
        for format in [Format::Current, Format::Legacy] {
            let (mut data, ends) = log_of(format, &[b"one".to_vec(), b"two".to_vec()]);
            *data.last_mut().unwrap() ^= 1;
            assert_eq!(
                read(&data),
                Err(Damage {
                    at: ends[0],
                    kind: DamageKind::Checksum
                }),
                "{format:?}"
            );
        }
    }

    #[test]
    fn a_damaged_first_length_is_damage_not_a_torn_tail() {
        for (format, kind) in [
            (Format::Current, DamageKind::RecordHeader),
            (Format::Legacy, DamageKind::Length),
        ] {
            let payloads = vec![vec![7; 300]; 5];
            let (mut data, _) = log_of(format, &payloads);
            let first = if format == Format::Current { 8 } else { 0 };
            data[first + 2] ^= 0x10;
            assert_eq!(read(&data), Err(Damage { at: first, kind }), "{format:?}");
        }
    }

    fn payloads() -> impl Strategy<Value = Vec<Vec<u8>>> {
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..40), 1..5)
    }

    fn format() -> impl Strategy<Value = Format> {
        prop_oneof![Just(Format::Current), Just(Format::Legacy)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_bytes_read_without_panicking_and_account_for_every_byte(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(log) = read(&data) {
                let header = if log.format() == Format::Current { HEADER } else { LEGACY_HEADER };
                let first = log.records().first().map_or(log.kept_len(), |r| r.at);
                let held: usize = log.records().iter().map(|r| header + r.payload.len()).sum();
                prop_assert_eq!(first + held, log.kept_len());
                prop_assert_eq!(log.kept_len() + log.torn_tail().len(), data.len());
            }
        }

        /// Property (a), pure: a log cut at any length reads every record complete before
        /// the cut, and the rest is exactly the torn tail.
        #[test]
        fn every_cut_reads_every_complete_record(format in format(), payloads in payloads()) {
            let (data, ends) = log_of(format, &payloads);
            for cut in 0..=data.len() {
                let log = read(&data[..cut]).map_err(|e| TestCaseError::fail(format!("cut {cut}: {e}")))?;
                let complete = ends.iter().filter(|&&end| end <= cut).count();
                prop_assert_eq!(&payloads_of(&log)[..], &payloads[..complete], "cut {}", cut);
                let start = if format == Format::Current { MAGIC.len() } else { 0 };
                let kept = if cut < start { cut } else { ends[..complete].last().copied().unwrap_or(start) };
                prop_assert_eq!(log.kept_len(), kept, "cut {}", cut);
                prop_assert_eq!(log.torn_tail(), &data[kept..cut], "cut {}", cut);
            }
        }

        /// Property (b), pure: with any one bit flipped, a log reads every record or
        /// reports damage; it never reads fewer records without saying so.
        #[test]
        fn every_flipped_bit_reads_everything_or_is_damage(format in format(), payloads in payloads()) {
            let (data, _) = log_of(format, &payloads);
            for bit in 0..data.len() * 8 {
                let mut flipped = data.clone();
                flipped[bit / 8] ^= 1 << (bit % 8);
                if let Ok(log) = read(&flipped) {
                    prop_assert_eq!(&payloads_of(&log), &payloads, "bit {}", bit);
                    prop_assert!(log.torn_tail().is_empty(), "bit {}", bit);
                }
            }
        }
    }
}
