//! A stand-in for SPAKE2, for unit tests and the fuzz targets (feature `fuzzing`), which
//! must reach the pairing state machines' deep states without real key exchange.

use super::{PairingCode, PairingError, Pake};

/// Has the property the pairing state machines rely on: both sides get the same key
/// exactly when they used the same code.
#[derive(Debug, Default)]
pub struct FakePake(Option<PairingCode>);

impl FakePake {
    /// The key a side started with `mine` gets from the other side's message `theirs`.
    pub fn shared(mine: PairingCode, theirs: &[u8]) -> Vec<u8> {
        let mine = mine.password();
        if theirs == mine {
            mine
        } else {
            [theirs, &mine].concat()
        }
    }
}

impl Pake for FakePake {
    fn start(&mut self, code: PairingCode) -> Vec<u8> {
        self.0 = Some(code);
        code.password()
    }

    fn finish(&mut self, theirs: &[u8]) -> Result<Vec<u8>, PairingError> {
        let mine = self
            .0
            .ok_or_else(|| PairingError::Protocol("SPAKE2 was not started".into()))?;
        Ok(Self::shared(mine, theirs))
    }
}
