//! Listeners whose port survives restarts: paired devices dial the peer port they
//! remember, and phones keep a bookmark of the phone port, so the port used last is taken
//! again whenever it is free.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use tokio::net::TcpListener;

/// The address that could not be bound, and why.
#[derive(Debug)]
pub struct BindError {
    /// The address tried.
    pub addr: SocketAddr,
    /// What the OS said.
    pub source: std::io::Error,
}

async fn bind(ip: IpAddr, port: u16) -> Result<TcpListener, BindError> {
    TcpListener::bind((ip, port))
        .await
        .map_err(|source| BindError {
            addr: SocketAddr::new(ip, port),
            source,
        })
}

/// Binds `ip:port`; with port 0, the port written in `remembered` if it is free, else any
/// free one. The caller writes the bound port back to `remembered`.
pub async fn bind_remembered(
    ip: IpAddr,
    port: u16,
    remembered: &Path,
) -> Result<TcpListener, BindError> {
    let last = std::fs::read_to_string(remembered)
        .ok()
        .and_then(|p| p.trim().parse::<u16>().ok());
    match (port, last) {
        (0, Some(last)) => match bind(ip, last).await {
            Ok(listener) => Ok(listener),
            Err(_) => bind(ip, 0).await,
        },
        (port, _) => bind(ip, port).await,
    }
}

/// Addresses another device on the home network can use to reach a listener bound to
/// `bound`: the bound address itself, or every non-loopback IPv4 address of this machine
/// when bound to all of them.
pub fn reachable_addrs(bound: SocketAddr) -> Vec<SocketAddr> {
    if !bound.ip().is_unspecified() {
        return vec![bound];
    }
    let mut addrs: Vec<SocketAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| !i.is_loopback())
        .filter_map(|i| match i.ip() {
            IpAddr::V4(v4) if !v4.is_link_local() => Some(SocketAddr::new(v4.into(), bound.port())),
            _ => None,
        })
        .collect();
    if addrs.is_empty() {
        addrs.push(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), bound.port()));
    }
    addrs
}
