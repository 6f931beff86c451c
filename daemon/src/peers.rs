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
        }
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
