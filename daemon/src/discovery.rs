//! Finding paired devices on the home network with mDNS (mdns-sd).
//!
//! Each daemon announces `_tandem._tcp.local.` with TXT `id=<device id>`, `v=<protocol>` and
//! `name=<person>`, and browses for the same service. A pinned device that shows up gets its
//! addresses remembered and an immediate dial (the TLS handshake, not the TXT record, proves
//! who it is). Unpaired ones are listed as pairing candidates. The mDNS daemon runs its own
//! thread; events are read with `recv_async` so no tokio worker blocks.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use parking_lot::Mutex;

use mdns_sd::{IfKind, ServiceDaemon, ServiceEvent, ServiceInfo};
use tandem_protocol::api::NearbyDevice;
use tandem_protocol::device::DeviceId;
use tandem_protocol::wire::PROTOCOL_VERSION;
use thiserror::Error;
use tokio::sync::watch;

use crate::peer::PeerHub;

/// The DNS-SD service type of tandem.
pub const SERVICE_TYPE: &str = "_tandem._tcp.local.";

/// mDNS could not be started.
#[derive(Debug, Error)]
#[error("mDNS: {0} (start with --no-mdns and use `tandem peer add HOST:PORT` instead)")]
pub struct DiscoveryError(String);

#[derive(Clone)]
struct Seen {
    name: String,
    addrs: Vec<SocketAddr>,
    fullname: String,
}

/// The running announcer and browser.
pub struct Discovery {
    daemon: ServiceDaemon,
    fullname: String,
    seen: Arc<Mutex<HashMap<DeviceId, Seen>>>,
}

/// Addresses worth dialing: IPv4 and routable IPv6 (a link-local IPv6 address needs a
/// scope id the announcement does not carry), loopback only if nothing else is offered.
fn usable(ips: impl IntoIterator<Item = IpAddr>, port: u16) -> Vec<SocketAddr> {
    let mut ips: Vec<IpAddr> = ips
        .into_iter()
        .filter(|ip| match ip {
            IpAddr::V4(_) => true,
            IpAddr::V6(v6) => !v6.is_unicast_link_local(),
        })
        .collect();
    if ips.iter().any(|ip| !ip.is_loopback()) {
        ips.retain(|ip| !ip.is_loopback());
    }
    ips.sort();
    ips.dedup();
    ips.into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect()
}

impl Discovery {
    /// Announces this device and starts browsing, until `stopping`.
    pub fn start(
        hub: Arc<PeerHub>,
        name: &str,
        interfaces: &[String],
        stopping: watch::Receiver<bool>,
    ) -> Result<Self, DiscoveryError> {
        let err = |e: mdns_sd::Error| DiscoveryError(e.to_string());
        let daemon = ServiceDaemon::new().map_err(err)?;
        if !interfaces.is_empty() {
            daemon.disable_interface(IfKind::All).map_err(err)?;
            for interface in interfaces {
                daemon
                    .enable_interface(IfKind::Name(interface.clone()))
                    .map_err(err)?;
            }
        }
        let id = hub.identity.device_id;
        let compact = id.to_string().replace('-', "").to_ascii_lowercase();
        let instance = format!("tandem-{}", &compact[..12]);
        // The host name phones open (`tandem phone add` links to it): answered for as long
        // as this announcement runs.
        let host = format!("{}.", hub.identity.host_name);
        let properties = [
            ("id", id.to_string()),
            ("v", PROTOCOL_VERSION.to_string()),
            ("name", name.to_owned()),
        ];
        let info = ServiceInfo::new(
            SERVICE_TYPE,
            &instance,
            &host,
            "",
            hub.port(),
            &properties[..],
        )
        .map_err(err)?
        .enable_addr_auto();
        let fullname = info.get_fullname().to_owned();
        daemon.register(info).map_err(err)?;
        let events = daemon.browse(SERVICE_TYPE).map_err(err)?;
        let seen: Arc<Mutex<HashMap<DeviceId, Seen>>> = Arc::default();
        tokio::spawn(browse(hub, events, seen.clone(), stopping));
        Ok(Self {
            daemon,
            fullname,
            seen,
        })
    }

    /// Devices seen on the network, paired or not.
    pub fn nearby(&self, is_paired: impl Fn(&DeviceId) -> bool) -> Vec<NearbyDevice> {
        let seen = self.seen.lock();
        let mut out: Vec<NearbyDevice> = seen
            .iter()
            .map(|(id, s)| NearbyDevice {
                device_id: *id,
                name: s.name.clone(),
                addrs: s.addrs.iter().map(|a| a.to_string()).collect(),
                paired: is_paired(id),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Says goodbye on the network and stops the mDNS thread.
    pub fn stop(&self) {
        if let Ok(done) = self.daemon.unregister(&self.fullname) {
            let _ = done.recv_timeout(std::time::Duration::from_secs(1));
        }
        if let Ok(done) = self.daemon.shutdown() {
            let _ = done.recv_timeout(std::time::Duration::from_secs(1));
        }
    }
}

async fn browse(
    hub: Arc<PeerHub>,
    events: mdns_sd::Receiver<ServiceEvent>,
    seen: Arc<Mutex<HashMap<DeviceId, Seen>>>,
    mut stopping: watch::Receiver<bool>,
) {
    loop {
        let event = tokio::select! {
            event = events.recv_async() => match event {
                Ok(event) => event,
                Err(_) => return,
            },
            _ = stopping.wait_for(|s| *s) => return,
        };
        match event {
            ServiceEvent::ServiceResolved(info) => {
                let Some(id) = info
                    .get_property_val_str("id")
                    .and_then(|id| id.parse::<DeviceId>().ok())
                else {
                    continue;
                };
                if id == hub.identity.device_id {
                    continue;
                }
                let addrs = usable(info.addresses.iter().map(|a| a.to_ip_addr()), info.port);
                let name = info.get_property_val_str("name").unwrap_or("?").to_owned();
                tracing::debug!(device = %id, %name, ?addrs, "seen on the network");
                seen.lock().insert(
                    id,
                    Seen {
                        name,
                        addrs: addrs.clone(),
                        fullname: info.fullname.clone(),
                    },
                );
                hub.discovered(&id, &addrs).await;
            }
            ServiceEvent::ServiceRemoved(_, fullname) => {
                seen.lock().retain(|_, s| s.fullname != fullname);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_routable_addresses() {
        let ips: Vec<IpAddr> = [
            "127.0.0.1",
            "10.1.2.3",
            "fe80::1",
            "2001:db8::1",
            "10.1.2.3",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let addrs = usable(ips, 4000);
        let shown: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
        assert_eq!(shown, ["10.1.2.3:4000", "[2001:db8::1]:4000"]);
        let only_loopback = usable(["127.0.0.1".parse().unwrap()], 1);
        assert_eq!(only_loopback.len(), 1);
    }
}
