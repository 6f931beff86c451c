//! Any bytes must decode to a pairing message or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_protocol::pairing::{PairMessage, PairingCode};

fuzz_target!(|data: &[u8]| {
    let _ = PairMessage::decode(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = PairingCode::parse(text);
    }
});
