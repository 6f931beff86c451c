//! Device identity: a device is its TLS certificate, named by the certificate's SHA-256.
//!
//! Shown in groups (`ABCD-EFGH-...`) like Syncthing's device ids, so two people can compare
//! them by eye; parsed back ignoring case and dashes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ValidationError;
use crate::ids::base32;

/// Characters per group in the displayed form.
const GROUP: usize = 4;

/// SHA-256 of a device's certificate (DER).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId([u8; 32]);

impl DeviceId {
    /// The id of the device presenting `cert_der`.
    pub fn of_certificate(cert_der: &[u8]) -> Self {
        Self(Sha256::digest(cert_der).into())
    }

    /// The raw fingerprint.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The id whose raw fingerprint is `bytes` (as a mailbox file names its devices).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The fingerprint as browsers show a certificate's SHA-256 (`00:F4:48:...`), for a
    /// person to compare on a phone.
    pub fn colon_hex(&self) -> String {
        self.0
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// The first group, enough to tell devices apart in a list.
    pub fn short(&self) -> String {
        self.to_string()[..GROUP].to_owned()
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = base32(&self.0).to_ascii_uppercase();
        let groups: Vec<&str> = text
            .as_bytes()
            .chunks(GROUP)
            .map(|c| std::str::from_utf8(c).expect("ASCII"))
            .collect();
        f.write_str(&groups.join("-"))
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({self})")
    }
}

impl FromStr for DeviceId {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, ValidationError> {
        let wanted: String = s
            .chars()
            .filter(|c| *c != '-')
            .collect::<String>()
            .to_ascii_lowercase();
        let bad = || {
            ValidationError::new(
                "device_id",
                format!("{s:?} is not a device id (52 base32 characters, dashes optional)"),
            )
        };
        let mut acc: u64 = 0;
        let mut bits = 0;
        let mut out = Vec::with_capacity(32);
        for c in wanted.chars() {
            let value = "0123456789abcdefghjkmnpqrstvwxyz".find(c).ok_or_else(bad)? as u64;
            acc = (acc << 5) | value;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        let bytes: [u8; 32] = out.try_into().map_err(|_| bad())?;
        let id = Self(bytes);
        // Reject non-canonical spellings (stray trailing bits).
        if id.to_string().replace('-', "").to_ascii_lowercase() != wanted {
            return Err(bad());
        }
        Ok(id)
    }
}

impl Serialize for DeviceId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The name a laptop answers to on the home network over mDNS, `tandem-<12 hex>.local`,
/// from the SHA-256 of its public key (the raw key bytes). A phone's bookmark or home-screen icon
/// names it rather than an address that DHCP may change; it depends on nothing but the
/// key, so it is known before the certificate that names it is made, and never changes.
pub fn local_host_name(public_key: &[u8]) -> String {
    let digest = Sha256::digest(public_key);
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("tandem-{hex}.local")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_host_name_is_a_dns_label_fixed_by_the_key() {
        let name = local_host_name(b"a public key");
        assert_eq!(name, local_host_name(b"a public key"));
        assert_ne!(name, local_host_name(b"another public key"));
        let label = name.strip_suffix(".local").expect("ends in .local");
        assert_eq!(label.len(), "tandem-".len() + 12);
        assert!(
            label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        );
    }

    #[test]
    fn displays_in_groups_and_parses_back() {
        let id = DeviceId::of_certificate(b"a certificate");
        let text = id.to_string();
        assert_eq!(text.len(), 52 + 12, "{text}");
        assert_eq!(text.parse::<DeviceId>().unwrap(), id);
        assert_eq!(
            text.to_lowercase()
                .replace('-', "")
                .parse::<DeviceId>()
                .unwrap(),
            id
        );
        assert!("ABCD".parse::<DeviceId>().is_err());
        assert!(text.replace('A', "I").parse::<DeviceId>().is_err() || !text.contains('A'));
        assert_eq!(id.short().len(), 4);
    }
}
