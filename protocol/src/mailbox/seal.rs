//! The mailbox file format.
//!
//! ```text
//! "TDMB" | version 1 | what (1 bundle, 2 ack) | doc (0 shared, 1 private)
//!        | writer id (32) | reader id (32) | seq (u64 BE) | nonce (24) | ciphertext + tag
//! ```
//!
//! The header is in the clear (the reader needs it to pick the key) but it is the AEAD's
//! associated data, so a file is bound to its writer, its reader, its document and its
//! sequence number: moved, renamed, replayed into another couple's folder or bit-flipped,
//! it is refused before anything inside is used. The body is postcard; XChaCha20's 24-byte
//! nonce is random (chosen by the daemon), so no counter has to survive a crash.

use chacha20poly1305::aead::{Aead, KeyInit, Payload as AeadPayload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::key::PairKey;
use crate::device::DeviceId;
use crate::document::DocKind;

/// The first bytes of every mailbox file.
pub const MAGIC: &[u8; 4] = b"TDMB";
/// The format this build writes; a newer one is refused with a message to upgrade.
pub const VERSION: u8 = 1;
/// Bytes before the nonce: magic, version, what, doc, both ids, seq.
const HEADER: usize = 4 + 1 + 1 + 1 + 32 + 32 + 8;
/// XChaCha20-Poly1305 nonce length.
pub const NONCE: usize = 24;
/// Poly1305 tag length.
const TAG: usize = 16;
/// The smallest possible file: header, nonce, tag.
pub const OVERHEAD: usize = HEADER + NONCE + TAG;

/// Who wrote a file, for whom, about which document, and its place in the writer's
/// sequence. Authenticated with the content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The device that wrote it (it lives in that device's directory).
    pub from: DeviceId,
    /// The device it is for.
    pub to: DeviceId,
    /// The document its changes or heads belong to.
    pub doc: DocKind,
    /// The writer's sequence number: bundles are named after it; an acknowledgement's
    /// tells a newer one from an older copy.
    pub seq: u64,
}

/// What a file holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payload {
    /// Changes the reader may not have, and the writer's heads once they are applied.
    Bundle {
        /// The writer's heads after these changes (what applying them reaches).
        heads: Vec<[u8; 32]>,
        /// Automerge changes, as `Document::changes_after` gives them.
        changes: Vec<u8>,
    },
    /// The reader's heads: everything it has applied, so the writer can prune.
    Ack {
        /// The acknowledging device's heads of the document.
        heads: Vec<[u8; 32]>,
        /// The newest heads of the writer's bundles it holds in full.
        yours: Vec<[u8; 32]>,
    },
}

impl Payload {
    fn what(&self) -> u8 {
        match self {
            Payload::Bundle { .. } => 1,
            Payload::Ack { .. } => 2,
        }
    }
}

/// Why a mailbox file was not used. Nothing from it is applied in any case.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum OpenError {
    /// Shorter than any sealed file: still being copied in, or cut short.
    #[error("the file is truncated ({len} bytes): it may still be arriving")]
    Truncated {
        /// Its length.
        len: usize,
    },
    /// Not a mailbox file at all.
    #[error("not a tandem mailbox file")]
    NotMailbox,
    /// Written by a newer tandem.
    #[error("written by a newer tandem (format {version}): upgrade tandem on this laptop")]
    Newer {
        /// The format version it names.
        version: u8,
    },
    /// The seal does not verify: the file was altered, or sealed by another pair.
    #[error("the file was altered or sealed with another key, and is ignored")]
    Tampered,
    /// Sealed correctly, but not for this place: another writer's directory, another
    /// reader, a document this folder does not carry.
    #[error("the file does not belong here ({why}), and is ignored")]
    Foreign {
        /// What did not match.
        why: &'static str,
    },
    /// A file already applied, seen again (a restored or copied file).
    #[error("bundle {seq} was already applied")]
    Replayed {
        /// Its sequence number.
        seq: u64,
    },
}

impl Envelope {
    fn header(&self, what: u8) -> [u8; HEADER] {
        let mut header = [0; HEADER];
        header[..4].copy_from_slice(MAGIC);
        header[4] = VERSION;
        header[5] = what;
        header[6] = match self.doc {
            DocKind::Shared => 0,
            DocKind::Private => 1,
        };
        header[7..39].copy_from_slice(self.from.as_bytes());
        header[39..71].copy_from_slice(self.to.as_bytes());
        header[71..].copy_from_slice(&self.seq.to_be_bytes());
        header
    }

    /// Refuses a file that is not from `from` to `me` about one of `docs`.
    pub fn check(&self, from: DeviceId, me: DeviceId, docs: &[DocKind]) -> Result<(), OpenError> {
        let why = if self.from != from {
            "another device's file in this directory"
        } else if self.to != me {
            "written for another device"
        } else if !docs.contains(&self.doc) {
            "a document this folder does not carry"
        } else {
            return Ok(());
        };
        Err(OpenError::Foreign { why })
    }
}

/// Seals `payload` for `envelope` with the pair's `key` and a fresh random `nonce`.
pub fn seal(key: &PairKey, envelope: &Envelope, payload: &Payload, nonce: [u8; NONCE]) -> Vec<u8> {
    let header = envelope.header(payload.what());
    let body = postcard::to_stdvec(payload).expect("payloads always serialize");
    let sealed = XChaCha20Poly1305::new((&key.0).into())
        .encrypt(
            XNonce::from_slice(&nonce),
            AeadPayload {
                msg: &body,
                aad: &header,
            },
        )
        .expect("sealing in memory cannot fail");
    let mut file = Vec::with_capacity(HEADER + NONCE + sealed.len());
    file.extend_from_slice(&header);
    file.extend_from_slice(&nonce);
    file.extend_from_slice(&sealed);
    file
}

/// The envelope of a file, unauthenticated: only to choose the key to [`open`] it with.
pub fn peek(file: &[u8]) -> Result<Envelope, OpenError> {
    if file.len() < OVERHEAD {
        if file.len() >= 4 && &file[..4] != MAGIC {
            return Err(OpenError::NotMailbox);
        }
        return Err(OpenError::Truncated { len: file.len() });
    }
    if &file[..4] != MAGIC {
        return Err(OpenError::NotMailbox);
    }
    if file[4] != VERSION {
        return Err(OpenError::Newer { version: file[4] });
    }
    let doc = match file[6] {
        0 => DocKind::Shared,
        1 => DocKind::Private,
        _ => return Err(OpenError::Tampered),
    };
    let id = |range: std::ops::Range<usize>| {
        let mut bytes = [0; 32];
        bytes.copy_from_slice(&file[range]);
        DeviceId::from_bytes(bytes)
    };
    let mut seq = [0; 8];
    seq.copy_from_slice(&file[71..HEADER]);
    Ok(Envelope {
        from: id(7..39),
        to: id(39..71),
        doc,
        seq: u64::from_be_bytes(seq),
    })
}

/// Verifies and opens a file sealed with `key`.
pub fn open(key: &PairKey, file: &[u8]) -> Result<(Envelope, Payload), OpenError> {
    let envelope = peek(file)?;
    let (header, rest) = file.split_at(HEADER);
    let (nonce, sealed) = rest.split_at(NONCE);
    let body = XChaCha20Poly1305::new((&key.0).into())
        .decrypt(
            XNonce::from_slice(nonce),
            AeadPayload {
                msg: sealed,
                aad: header,
            },
        )
        .map_err(|_| OpenError::Tampered)?;
    // Authentic, so a body that does not decode or disagrees with the header is a bug in
    // the writer; it is refused all the same.
    let payload: Payload = postcard::from_bytes(&body).map_err(|_| OpenError::NotMailbox)?;
    if payload.what() != header[5] {
        return Err(OpenError::NotMailbox);
    }
    Ok((envelope, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::key::test_key;
    use proptest::prelude::*;

    fn envelope() -> Envelope {
        Envelope {
            from: DeviceId::of_certificate(b"writer"),
            to: DeviceId::of_certificate(b"reader"),
            doc: DocKind::Shared,
            seq: 7,
        }
    }

    fn bundle() -> Payload {
        Payload::Bundle {
            heads: vec![[9; 32]],
            changes: b"the changes".to_vec(),
        }
    }

    #[test]
    fn a_sealed_file_opens_with_its_key_only() {
        let file = seal(&test_key(1), &envelope(), &bundle(), [5; NONCE]);
        assert_eq!(open(&test_key(1), &file), Ok((envelope(), bundle())));
        assert_eq!(open(&test_key(2), &file), Err(OpenError::Tampered));
        assert!(
            !file
                .windows(b"the changes".len())
                .any(|w| w == b"the changes"),
            "no plaintext"
        );
        let ack = Payload::Ack {
            heads: vec![],
            yours: vec![[1; 32]],
        };
        let file = seal(&test_key(1), &envelope(), &ack, [6; NONCE]);
        assert_eq!(open(&test_key(1), &file).unwrap().1, ack);
    }

    #[test]
    fn the_header_is_bound_to_the_content() {
        let file = seal(&test_key(1), &envelope(), &bundle(), [5; NONCE]);
        for byte in 5..HEADER {
            let mut moved = file.clone();
            moved[byte] ^= 1;
            assert!(open(&test_key(1), &moved).is_err(), "header byte {byte}");
        }
    }

    #[test]
    fn the_envelope_is_checked_against_its_place() {
        let e = envelope();
        assert_eq!(e.check(e.from, e.to, &[DocKind::Shared]), Ok(()));
        for (from, me, docs) in [
            (e.to, e.to, [DocKind::Shared]),
            (e.from, e.from, [DocKind::Shared]),
            (e.from, e.to, [DocKind::Private]),
        ] {
            assert!(matches!(
                e.check(from, me, &docs),
                Err(OpenError::Foreign { .. })
            ));
        }
    }

    #[test]
    fn short_foreign_and_newer_files_are_named() {
        let file = seal(&test_key(1), &envelope(), &bundle(), [5; NONCE]);
        assert_eq!(peek(&file[..10]), Err(OpenError::Truncated { len: 10 }));
        assert_eq!(peek(b"hello world"), Err(OpenError::NotMailbox));
        let mut newer = file.clone();
        newer[4] = 2;
        assert_eq!(peek(&newer), Err(OpenError::Newer { version: 2 }));
    }

    proptest! {
        #[test]
        fn any_bit_flip_is_refused(bit in 0usize..((OVERHEAD + 40) * 8)) {
            let file = seal(&test_key(1), &envelope(), &bundle(), [5; NONCE]);
            let bit = bit % (file.len() * 8);
            let mut flipped = file.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(open(&test_key(1), &flipped).is_err());
        }

        #[test]
        fn any_truncation_is_refused(cut in 0usize..200) {
            let file = seal(&test_key(1), &envelope(), &bundle(), [5; NONCE]);
            let cut = cut % file.len();
            prop_assert!(open(&test_key(1), &file[..cut]).is_err());
        }

        #[test]
        fn any_bytes_are_refused_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert!(open(&test_key(1), &bytes).is_err());
        }
    }
}
