//! Any bytes in a change log must scan to records, a torn tail, the end or a damage
//! report: never a panic or an out-of-bounds read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_protocol::changelog::{HEADER, Scan, next_record};

fuzz_target!(|data: &[u8]| {
    let mut pos = 0;
    while let Ok(Scan::Record(payload)) = next_record(data, pos) {
        pos += HEADER + payload.len();
    }
});
