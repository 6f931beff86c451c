//! Bearer tokens: making them and storing only what is needed to recognise them.

use sha2::{Digest, Sha256};

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh token: 256 random bits as hex, far beyond guessing.
pub fn new_token() -> String {
    hex(&rand::random::<[u8; 32]>())
}

/// What is stored of a token: its SHA-256 as hex, which recognises it but cannot be
/// presented in its place.
pub fn sha256_hex(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}
