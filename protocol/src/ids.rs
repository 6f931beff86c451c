//! Identifiers of entities and people.
//!
//! Ids are opaque strings chosen by the daemon (ULIDs in practice). They are validated on
//! the way in because they end up as map keys in documents and as URL path segments.

use std::fmt;

use autosurgeon::{Hydrate, HydrateError, Reconcile, Reconciler};
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// Longest id accepted from outside; ULIDs are 26 characters.
pub const MAX_ID_LEN: usize = 64;

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String)]
        pub struct $name(String);

        impl $name {
            /// Checks that `raw` is a usable id: 1 to 64 ASCII letters, digits, `-` or `_`.
            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                let ok = !raw.is_empty()
                    && raw.len() <= MAX_ID_LEN
                    && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if ok {
                    Ok(Self(raw.to_owned()))
                } else {
                    Err(ValidationError::new(
                        "id",
                        "must be 1 to 64 letters, digits, '-' or '_'",
                    ))
                }
            }

            /// An id made from 128 random bits (the caller supplies them: this crate owns
            /// no randomness), in lowercase Crockford base32 so that a short prefix is almost
            /// always unique and easy to type.
            pub fn from_random(bits: u128) -> Self {
                Self(base32(&bits.to_be_bytes()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        /// Map keys hydrate through `From<String>`; a document only ever holds keys that
        /// were validated when they were written, so no check is repeated here.
        impl From<String> for $name {
            fn from(raw: String) -> Self {
                Self(raw)
            }
        }

        impl Reconcile for $name {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: Reconciler>(&self, reconciler: R) -> Result<(), R::Error> {
                self.0.reconcile(reconciler)
            }
        }

        impl Hydrate for $name {
            fn hydrate_string(s: &str) -> Result<Self, HydrateError> {
                Ok(Self(s.to_owned()))
            }
        }
    };
}

/// Lowercase Crockford base32 (no i, l, o, u), 5 bits per character, most significant
/// first; the last character holds the remaining bits.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        acc = (acc << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

string_id!(
    /// Identifies one plan, idea, note, block or agreement inside its collection.
    EntityId
);
string_id!(
    /// Identifies a person (one partner), shared by all of that person's devices.
    PersonId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ulids_and_rejects_path_tricks() {
        assert!(EntityId::parse("01JDZ5T8K3M9Q2W4E6R8T0Y2U4").is_ok());
        for bad in ["", "../etc", "a/b", "a b", &"x".repeat(65)] {
            assert!(EntityId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn random_ids_are_valid_and_distinct() {
        let a = EntityId::from_random(u128::MAX);
        assert_eq!(a.as_str().len(), 26);
        assert!(EntityId::parse(a.as_str()).is_ok());
        assert_ne!(EntityId::from_random(1), EntityId::from_random(2));
    }

    #[test]
    fn json_rejects_bad_ids() {
        assert!(serde_json::from_str::<PersonId>("\"ok-1\"").is_ok());
        assert!(serde_json::from_str::<PersonId>("\"not ok\"").is_err());
    }
}
