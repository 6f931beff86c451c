//! Change-log reading, on any bytes and on real logs with one cut or one flipped bit.
//!
//! - Any bytes read to records and a torn tail that account for every byte, or to a damage
//!   report: never a panic or an out-of-bounds read.
//! - A log of records built from the input, cut anywhere, reads every record complete
//!   before the cut and nothing else; with any one bit flipped it reads every record or
//!   reports damage, never fewer records in silence.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_protocol::changelog::{MAGIC, read, record};

fuzz_target!(|data: &[u8]| {
    if let Ok(log) = read(data) {
        assert_eq!(log.kept_len() + log.torn_tail().len(), data.len());
        assert!(log.records().iter().all(|r| r.at < log.kept_len()));
    }

    // The first four bytes choose the cut and the bit; the rest, split at 0xFF, are the
    // payloads (empty ones are never written).
    let Some((choice, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let choice = u32::from_be_bytes(*choice) as usize;
    let payloads: Vec<&[u8]> = rest.split(|&b| b == 0xFF).filter(|p| !p.is_empty()).collect();
    let mut log = MAGIC.to_vec();
    let mut ends = Vec::new();
    for payload in &payloads {
        log.extend(record(payload));
        ends.push(log.len());
    }

    let cut = choice % (log.len() + 1);
    let read_back = read(&log[..cut]).expect("a cut log is never damage");
    let complete = ends.iter().filter(|&&end| end <= cut).count();
    let loaded: Vec<&[u8]> = read_back.records().iter().map(|r| r.payload).collect();
    assert_eq!(loaded, payloads[..complete]);

    let bit = choice % (log.len() * 8);
    log[bit / 8] ^= 1 << (bit % 8);
    if let Ok(read_back) = read(&log) {
        let loaded: Vec<&[u8]> = read_back.records().iter().map(|r| r.payload).collect();
        assert_eq!(loaded, payloads, "bit {bit} flipped without a damage report");
    }
});
