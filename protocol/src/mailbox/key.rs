//! The key of one pair of devices.
//!
//! Each device makes one X25519 secret per paired device (random bytes from the daemon)
//! and sends its public half in the Hello extension over the pinned TLS connection, so it
//! is authenticated by the certificates both sides pinned. Both then derive the same key
//! with HKDF-SHA256 over the shared secret and both device ids. A pair that has never met
//! since this feature exists has no key, and `tandem peer remove` forgets the pair's
//! secret with the device, so a lost laptop cannot read what is written afterwards (a
//! device paired again gets a fresh secret).

use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};

use crate::device::DeviceId;

/// HKDF salt: names the purpose and the version of the derivation.
const SALT: &[u8] = b"tandem mailbox key v1";

/// This device's X25519 secret for one paired device.
#[derive(Clone)]
pub struct PairSecret(StaticSecret);

impl PairSecret {
    /// The secret from 32 random bytes (the daemon's randomness, or its saved copy).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(StaticSecret::from(bytes))
    }

    /// The bytes to save with the peer.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public half, sent to the paired device.
    pub fn public(&self) -> [u8; 32] {
        PublicKey::from(&self.0).to_bytes()
    }

    /// The key shared with the device `them` whose public half is `theirs`. `None` when
    /// that public half is degenerate (a low-order point gives a known secret).
    pub fn agree(&self, me: DeviceId, them: DeviceId, theirs: [u8; 32]) -> Option<PairKey> {
        let shared = self.0.diffie_hellman(&PublicKey::from(theirs));
        if !shared.was_contributory() {
            return None;
        }
        let (low, high) = if me < them { (me, them) } else { (them, me) };
        let mut info = Vec::with_capacity(64);
        info.extend_from_slice(low.as_bytes());
        info.extend_from_slice(high.as_bytes());
        let mut key = [0; 32];
        Hkdf::<Sha256>::new(Some(SALT), shared.as_bytes())
            .expand(&info, &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 length");
        Some(PairKey(key))
    }
}

impl std::fmt::Debug for PairSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PairSecret(..)")
    }
}

/// The symmetric key both devices of a pair hold: it seals every file one writes for
/// the other.
#[derive(Clone, PartialEq, Eq)]
pub struct PairKey(pub(crate) [u8; 32]);

impl std::fmt::Debug for PairKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PairKey(..)")
    }
}

#[cfg(test)]
pub(crate) fn test_key(n: u8) -> PairKey {
    PairKey([n; 32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_agree_and_strangers_do_not() {
        let (a, b) = (
            DeviceId::of_certificate(b"a"),
            DeviceId::of_certificate(b"b"),
        );
        let (sa, sb, sc) = (
            PairSecret::from_bytes([1; 32]),
            PairSecret::from_bytes([2; 32]),
            PairSecret::from_bytes([3; 32]),
        );
        let ab = sa.agree(a, b, sb.public()).unwrap();
        assert_eq!(ab, sb.agree(b, a, sa.public()).unwrap());
        assert_ne!(ab, sa.agree(a, b, sc.public()).unwrap());
        let c = DeviceId::of_certificate(b"c");
        assert_ne!(ab, sa.agree(a, c, sb.public()).unwrap(), "bound to the ids");
        assert!(sa.agree(a, b, [0; 32]).is_none(), "low-order point refused");
    }
}
