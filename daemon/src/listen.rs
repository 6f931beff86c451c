//! Listeners whose port survives restarts: paired devices dial the peer port they
//! remember, and phones keep a bookmark of the phone port, so the port used last is taken
//! again whenever it is free.

use std::net::{IpAddr, SocketAddr};
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
