//! `peers.toml`: the devices this one trusts, with their relation and last known
//! addresses. Pairing adds to it, `tandem peer remove` takes away; the TLS verifiers read it
//! on every handshake, so a removal takes effect at once.
//!
//! Changes happen in memory and [`PeerBook::save`] writes the file, so the peer hub can
//! change the book under its lock and write it after letting go (no I/O under a lock);
//! [`PeerBook::revision`] tells it whether a newer copy is already on disk.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use tandem_protocol::device::DeviceId;
use tandem_protocol::ids::PersonId;
use tandem_protocol::mailbox::{PairKey, PairSecret};
use tandem_protocol::pairing::Relation;
use tandem_protocol::time::Stamp;

use crate::home::{Home, HomeError, read_toml, write_toml};

/// Addresses remembered per peer.
const MAX_ADDRS: usize = 4;

/// One paired device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeerEntry {
    /// Its certificate's fingerprint: the only thing trusted.
    pub device_id: DeviceId,
    /// Its person's name when paired.
    pub name: String,
    /// Its person.
    pub person: PersonId,
    /// Partner (shared document only) or own device (private too).
    pub relation: Relation,
    /// Where it was last reached, most recent first.
    #[serde(default)]
    pub addrs: Vec<SocketAddr>,
    /// When it was paired.
    pub paired_at: Stamp,
    /// The mailbox key material of this pair; forgotten with the entry, so removing the
    /// device (or pairing it again) rotates the key.
    #[serde(default, skip_serializing_if = "MailboxKeys::is_empty")]
    pub mailbox: MailboxKeys,
}

/// The mailbox key material of one pair ([`tandem_protocol::mailbox::key`]): this
/// device's X25519 secret for the pair, made at the first connection, and the device's
/// public half, received over the pinned connection. Both in `peers.toml` (0600).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MailboxKeys {
    /// This device's secret for the pair, hex.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "hex32")]
    pub secret: Option<[u8; 32]>,
    /// The paired device's public half, hex.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "hex32")]
    pub public: Option<[u8; 32]>,
}

impl MailboxKeys {
    fn is_empty(&self) -> bool {
        self.secret.is_none() && self.public.is_none()
    }

    /// The pair's key, once both halves are known: `None` means the two devices have not
    /// met on the same network since the mailbox exists.
    pub fn key(&self, me: DeviceId, them: DeviceId) -> Option<PairKey> {
        PairSecret::from_bytes(self.secret?).agree(me, them, self.public?)
    }
}

impl std::fmt::Debug for MailboxKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailboxKeys")
            .field("secret", &self.secret.map(|_| ".."))
            .field("public", &self.public.is_some())
            .finish()
    }
}

/// 32 bytes as a hex string in `peers.toml`.
mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(bytes: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => s.serialize_str(&crate::secret::hex(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 32]>, D::Error> {
        let text = String::deserialize(d)?;
        let bad = || D::Error::custom("a mailbox key is 64 hex digits");
        if text.len() != 64 || !text.is_ascii() {
            return Err(bad());
        }
        let mut bytes = [0; 32];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(Some(bytes))
    }
}

#[derive(Default, Serialize, Deserialize)]
struct File {
    #[serde(default, rename = "peer")]
    peers: Vec<PeerEntry>,
}

/// The pinned devices of this home.
#[derive(Clone, Debug)]
pub struct PeerBook {
    /// Where it is saved: `peers.toml`.
    path: std::path::PathBuf,
    /// The devices, in pairing order.
    peers: Vec<PeerEntry>,
    /// Changes since it was loaded: a copy with a higher revision is newer.
    revision: u64,
}

impl PeerBook {
    /// Reads `peers.toml` (none yet is an empty book).
    pub fn load(home: &Home) -> Result<Self, HomeError> {
        let path = home.peers();
        let peers = read_toml::<File>(&path)?.peers;
        Ok(Self {
            path,
            peers,
            revision: 0,
        })
    }

    /// Writes the book to `peers.toml`.
    pub fn save(&self) -> Result<(), HomeError> {
        write_toml(
            &self.path,
            &File {
                peers: self.peers.clone(),
            },
        )
    }

    /// Every paired device.
    pub fn all(&self) -> &[PeerEntry] {
        &self.peers
    }

    /// The entry of `device`, if paired.
    pub fn get(&self, device: &DeviceId) -> Option<&PeerEntry> {
        self.peers.iter().find(|p| p.device_id == *device)
    }

    /// Counts the changes made since loading; saving a copy does not reset it.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Where the book is saved.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Pins a device (or updates it if already pinned).
    pub fn pin(&mut self, entry: PeerEntry) {
        self.peers.retain(|p| p.device_id != entry.device_id);
        self.peers.push(entry);
        self.revision += 1;
    }

    /// Unpins a device; `false` if it was not paired.
    pub fn remove(&mut self, device: &DeviceId) -> bool {
        let before = self.peers.len();
        self.peers.retain(|p| p.device_id != *device);
        let removed = self.peers.len() != before;
        if removed {
            self.revision += 1;
        }
        removed
    }

    /// This device's mailbox secret for `device`, made from `fresh` if it has none yet (the
    /// book changes then). `None` if it is not paired.
    pub fn mailbox_secret(&mut self, device: &DeviceId, fresh: [u8; 32]) -> Option<[u8; 32]> {
        let peer = self.peers.iter_mut().find(|p| p.device_id == *device)?;
        if peer.mailbox.secret.is_none() {
            peer.mailbox.secret = Some(fresh);
            self.revision += 1;
        }
        peer.mailbox.secret
    }

    /// Records `device`'s public half of the mailbox key; counts only a change.
    pub fn heard_mailbox_public(&mut self, device: &DeviceId, public: [u8; 32]) {
        let Some(peer) = self.peers.iter_mut().find(|p| p.device_id == *device) else {
            return;
        };
        if peer.mailbox.public != Some(public) {
            peer.mailbox.public = Some(public);
            self.revision += 1;
        }
    }

    /// Remembers that `device` was reached at `addr`, most recent first. Nothing changes
    /// (not even the revision) if it is not paired or that is already its latest address.
    pub fn remember_addr(&mut self, device: &DeviceId, addr: SocketAddr) {
        let Some(peer) = self.peers.iter_mut().find(|p| p.device_id == *device) else {
            return;
        };
        if peer.addrs.first() == Some(&addr) {
            return;
        }
        peer.addrs.retain(|a| *a != addr);
        peer.addrs.insert(0, addr);
        peer.addrs.truncate(MAX_ADDRS);
        self.revision += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u8) -> PeerEntry {
        PeerEntry {
            device_id: DeviceId::of_certificate(&[n]),
            name: format!("device {n}"),
            person: PersonId::parse("sam").unwrap(),
            relation: Relation::Partner,
            addrs: vec![],
            paired_at: Stamp(jiff::Timestamp::now()),
            mailbox: MailboxKeys::default(),
        }
    }

    #[test]
    fn mailbox_keys_are_kept_and_forgotten_with_the_device() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::resolve(Some(dir.path().to_owned()));
        let mut book = PeerBook::load(&home).unwrap();
        let them = entry(1);
        book.pin(them.clone());
        let me = DeviceId::of_certificate(b"me");
        let secret = book.mailbox_secret(&them.device_id, [4; 32]).unwrap();
        assert_eq!(book.mailbox_secret(&them.device_id, [5; 32]), Some(secret));
        assert!(
            book.get(&them.device_id)
                .unwrap()
                .mailbox
                .key(me, them.device_id)
                .is_none()
        );
        let theirs = PairSecret::from_bytes([6; 32]);
        book.heard_mailbox_public(&them.device_id, theirs.public());
        book.save().unwrap();
        let loaded = PeerBook::load(&home).unwrap();
        let keys = &loaded.get(&them.device_id).unwrap().mailbox;
        assert_eq!(
            keys.key(me, them.device_id),
            theirs.agree(them.device_id, me, PairSecret::from_bytes(secret).public())
        );
        assert!(
            !format!("{keys:?}").contains("04"),
            "the secret is not logged"
        );
        book.remove(&them.device_id);
        book.pin(them.clone());
        assert!(
            book.get(&them.device_id)
                .unwrap()
                .mailbox
                .key(me, them.device_id)
                .is_none(),
            "paired again: a new key"
        );
    }

    #[test]
    fn changes_stay_in_memory_and_count_until_saved() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::resolve(Some(dir.path().to_owned()));
        let mut book = PeerBook::load(&home).unwrap();
        let (first, second) = (entry(1), entry(2));
        let addr: SocketAddr = "10.0.0.2:4000".parse().unwrap();

        book.pin(first.clone());
        book.pin(second.clone());
        book.remember_addr(&first.device_id, addr);
        assert_eq!(book.revision(), 3);
        book.remember_addr(&first.device_id, addr);
        book.remember_addr(&DeviceId::of_certificate(&[9]), addr);
        assert!(!book.remove(&DeviceId::of_certificate(&[9])));
        assert_eq!(book.revision(), 3, "what changed nothing is not counted");
        assert!(!home.peers().exists(), "nothing written before save");

        let copy = book.clone();
        assert!(book.remove(&second.device_id));
        assert_eq!(book.revision(), 4);
        copy.save().unwrap();
        let loaded = PeerBook::load(&home).unwrap();
        assert_eq!(loaded.all().len(), 2, "the copy, as it was when taken");
        assert_eq!(loaded.get(&first.device_id).unwrap().addrs, [addr]);
        book.save().unwrap();
        assert_eq!(
            PeerBook::load(&home).unwrap().all(),
            &[PeerEntry {
                addrs: vec![addr],
                ..first
            }]
        );
    }
}
