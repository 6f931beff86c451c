//! The change-log record format of the store, pure so it can be fuzzed and tested alone.
//!
//! A record is `[len: u32 BE][crc32: u32 BE][len bytes]`. Reading classifies what follows a
//! position: a whole record, a torn tail (a write cut short by a crash: never
//! acknowledged, safe to drop), the end, or damage (a bad checksum before the tail), which
//! must be reported and never silently dropped.

/// Bytes before each payload.
pub const HEADER: usize = 8;

/// What the log holds at a position.
#[derive(Debug, PartialEq, Eq)]
pub enum Scan<'a> {
    /// A complete record with this payload.
    Record(&'a [u8]),
    /// An incomplete last record.
    TornTail,
    /// Nothing more.
    End,
}

/// The record `payload` as written to the log.
pub fn record(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("a single write is far below 4 GiB");
    let mut record = Vec::with_capacity(HEADER + payload.len());
    record.extend_from_slice(&len.to_be_bytes());
    record.extend_from_slice(&crc32fast::hash(payload).to_be_bytes());
    record.extend_from_slice(payload);
    record
}

/// Reads the record at `pos` of `data`; `Err` describes damage before the tail.
pub fn next_record(data: &[u8], pos: usize) -> Result<Scan<'_>, String> {
    let Some(rest) = data.get(pos..) else {
        return Err(format!("position {pos} is past the end of the log"));
    };
    if rest.is_empty() {
        return Ok(Scan::End);
    }
    if rest.len() < HEADER {
        return Ok(Scan::TornTail);
    }
    let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    let crc = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]);
    if rest.len() - HEADER < len {
        return Ok(Scan::TornTail);
    }
    let payload = &rest[HEADER..HEADER + len];
    if crc32fast::hash(payload) != crc {
        if rest.len() == HEADER + len {
            return Ok(Scan::TornTail);
        }
        return Err(format!("checksum mismatch in the record at byte {pos}"));
    }
    Ok(Scan::Record(payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn records_read_back() {
        let mut log = record(b"one");
        log.extend(record(b"two"));
        assert_eq!(next_record(&log, 0), Ok(Scan::Record(&b"one"[..])));
        assert_eq!(next_record(&log, HEADER + 3), Ok(Scan::Record(&b"two"[..])));
        assert_eq!(next_record(&log, log.len()), Ok(Scan::End));
        assert_eq!(
            next_record(&log[..log.len() - 1], HEADER + 3),
            Ok(Scan::TornTail)
        );
    }

    proptest! {
        #[test]
        fn any_bytes_scan_without_panicking(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut pos = 0;
            while let Ok(Scan::Record(payload)) = next_record(&data, pos) {
                pos += HEADER + payload.len();
            }
        }
    }
}
