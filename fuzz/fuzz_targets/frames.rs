//! Any byte stream, split anywhere, must never panic the peer frame and message decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_protocol::wire::FrameDecoder;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| *b as usize) % (data.len() + 1);
    let mut decoder = FrameDecoder::default();
    for chunk in [&data[..split], &data[split..]] {
        decoder.push(chunk);
        while let Ok(Some(_)) = decoder.next_message() {}
    }
});
