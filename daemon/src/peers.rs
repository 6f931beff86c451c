//! `peers.toml`: the devices this one trusts, with their relation and last known
//! addresses. Pairing adds to it, `tandem peer remove` takes away; the TLS verifiers read it
//! on every handshake, so a removal takes effect at once.

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
#[derive(Debug)]
pub struct PeerBook {
    path: std::path::PathBuf,
    peers: Vec<PeerEntry>,
}

impl PeerBook {
    /// Reads `peers.toml` (none yet is an empty book).
    pub fn load(home: &Home) -> Result<Self, HomeError> {
        let path = home.peers();
        let peers = read_toml::<File>(&path)?.peers;
        Ok(Self { path, peers })
    }

    fn save(&self) -> Result<(), HomeError> {
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

    /// Pins a device (or updates it if already pinned).
    pub fn pin(&mut self, entry: PeerEntry) -> Result<(), HomeError> {
        self.peers.retain(|p| p.device_id != entry.device_id);
        self.peers.push(entry);
        self.save()
    }

    /// Unpins a device; `false` if it was not paired.
    pub fn remove(&mut self, device: &DeviceId) -> Result<bool, HomeError> {
        let before = self.peers.len();
        self.peers.retain(|p| p.device_id != *device);
        if self.peers.len() == before {
            return Ok(false);
        }
        self.save()?;
        Ok(true)
    }

    /// Remembers that `device` was reached at `addr`.
    pub fn remember_addr(&mut self, device: &DeviceId, addr: SocketAddr) -> Result<(), HomeError> {
        let Some(peer) = self.peers.iter_mut().find(|p| p.device_id == *device) else {
            return Ok(());
        };
        if peer.addrs.first() == Some(&addr) {
            return Ok(());
        }
        peer.addrs.retain(|a| *a != addr);
        peer.addrs.insert(0, addr);
        peer.addrs.truncate(MAX_ADDRS);
        self.save()
    }
}
