//! Peers: accepting and dialing paired devices, keeping one live connection per device,
//! and pairing new ones.
//!
//! The [`PeerHub`] owns the peer listener, a dial loop that reconnects to every pinned
//! device at its remembered addresses with jittered backoff, and the table of live
//! connections. Connections themselves are in [`connection`]; pairing in [`pairing`].

pub mod connection;
mod framed;
pub mod pairing;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tandem_protocol::admission;
use tandem_protocol::api::PeerStatus;
use tandem_protocol::device::DeviceId;
use tandem_protocol::pairing::PairingWindow;
use tandem_protocol::time::Stamp;
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::home::{Home, HomeError};
use crate::identity::Identity;
use crate::notices::Notices;
use crate::peers::{PeerBook, PeerEntry};
use crate::repo::RepoError;
use crate::slots::SharedSlots;
use crate::tls::{self, ALPN_PAIR, ALPN_SYNC, Trust};
use crate::writer::Writer;

/// How long a dial (TCP connect and TLS handshake) may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an incoming connection may take from accept to a pinned handshake, or to its
/// first pairing message.
const STRANGER_DEADLINE: Duration = Duration::from_secs(10);
/// Incoming connections not yet authenticated (handshaking, or pairing), at once...
const STRANGER_SLOTS: usize = 64;
/// ...and from one source address: a paired laptop needs one or two, a joiner one.
const STRANGER_SLOTS_PER_SOURCE: usize = 8;
/// First and longest wait between reconnection attempts.
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Connections registered within this window of each other are a simultaneous dial.
const RACE_WINDOW: Duration = Duration::from_secs(5);
/// How often the dial loop looks for peers to reconnect.
const DIAL_TICK: Duration = Duration::from_millis(250);

/// Errors of peer operations requested through the API.
#[derive(Debug, Error)]
pub enum PeerError {
    /// Nothing paired answered at the address.
    #[error("no paired device answered at {addr}: {reason}")]
    Unreachable {
        /// The address tried.
        addr: String,
        /// What went wrong.
        reason: String,
    },
    /// The device is not paired.
    #[error("no paired device {0}")]
    UnknownDevice(String),
    /// peers.toml could not be written.
    #[error(transparent)]
    Home(#[from] HomeError),
}

/// A live connection in the table.
struct Live {
    /// Tells the connection task to close.
    close: watch::Sender<bool>,
    /// Which side dialed: decides which of two simultaneous connections stays.
    dialed_by: DeviceId,
    /// The peer's address.
    addr: SocketAddr,
    /// Our address on this connection.
    local: Option<IpAddr>,
    /// Distinguishes this connection from a later one to the same device.
    serial: u64,
    /// Bytes moved.
    traffic: Arc<framed::Traffic>,
    /// When the connection was registered.
    registered_at: Instant,
}

/// The two ends of a peer connection, as seen from here.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    /// The peer's address.
    pub remote: SocketAddr,
    /// Our address (unknown only if the OS would not say).
    pub local: Option<IpAddr>,
}

impl Route {
    /// The route of a TCP connection.
    fn of(tcp: &TcpStream, remote: SocketAddr) -> Self {
        Self {
            remote,
            local: tcp.local_addr().ok().map(|a| a.ip()),
        }
    }
}

/// Reconnection bookkeeping per device.
#[derive(Clone, Copy)]
struct Backoff {
    next_try: Instant,
    delay: Duration,
}

/// All peer networking of one daemon.
pub struct PeerHub {
    /// This device.
    pub identity: Identity,
    home: Home,
    writer: Writer,
    book: Arc<RwLock<PeerBook>>,
    port: u16,
    /// The address the peer listener is bound to.
    bound: SocketAddr,
    live: Mutex<HashMap<DeviceId, Live>>,
    last_seen: Mutex<HashMap<DeviceId, Stamp>>,
    backoff: Mutex<HashMap<DeviceId, Backoff>>,
    dialing: Mutex<std::collections::HashSet<DeviceId>>,
    window: Mutex<Option<PairingWindow>>,
    /// Each device's clock minus ours at its last Hello, in milliseconds.
    clock_skew: Mutex<HashMap<DeviceId, i64>>,
    /// The schema version each device's build announced at its last Hello.
    schema: Mutex<HashMap<DeviceId, u32>>,
    /// Whether each connected device had everything we have, as of its last message.
    in_sync: Mutex<HashMap<DeviceId, bool>>,
    /// How each device's address was learned: `mdns`, `manual`, `pairing`.
    found_by: Mutex<HashMap<DeviceId, &'static str>>,
    serial: std::sync::atomic::AtomicU64,
    /// Incoming connections that have not proven a pinned identity yet.
    strangers: SharedSlots<IpAddr>,
    /// Keeps refusals from filling the log.
    notices: Notices,
    stopping: watch::Receiver<bool>,
}

impl PeerHub {
    /// Starts accepting on `listener` and dialing paired devices, until `stopping`.
    pub fn start(
        identity: Identity,
        home: Home,
        writer: Writer,
        book: PeerBook,
        listener: TcpListener,
        stopping: watch::Receiver<bool>,
    ) -> Arc<Self> {
        let bound = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let port = bound.port();
        let hub = Arc::new(Self {
            identity,
            home,
            writer,
            book: Arc::new(RwLock::new(book)),
            port,
            bound,
            live: Mutex::default(),
            last_seen: Mutex::default(),
            backoff: Mutex::default(),
            dialing: Mutex::default(),
            window: Mutex::default(),
            found_by: Mutex::default(),
            in_sync: Mutex::default(),
            clock_skew: Mutex::default(),
            schema: Mutex::default(),
            serial: Default::default(),
            strangers: SharedSlots::new(STRANGER_SLOTS, STRANGER_SLOTS_PER_SOURCE),
            notices: Notices::new("peer port"),
            stopping,
        });
        tokio::spawn(hub.clone().accept_loop(listener));
        tokio::spawn(hub.clone().dial_loop());
        hub
    }

    /// This daemon's person.
    async fn me(&self) -> Result<tandem_protocol::model::person::Person, RepoError> {
        self.writer.run(|repo| Ok(repo.me().clone())).await
    }

    /// The port peers dial.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn book(&self) -> std::sync::RwLockReadGuard<'_, PeerBook> {
        self.book.read().unwrap_or_else(|p| p.into_inner())
    }

    fn book_mut(&self) -> std::sync::RwLockWriteGuard<'_, PeerBook> {
        self.book.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Trust in whatever is pinned at handshake time.
    fn pinned_trust(&self) -> Trust {
        let book = self.book.clone();
        Trust::Pinned(Arc::new(move |id| {
            book.read().map(|b| b.get(id).is_some()).unwrap_or(false)
        }))
    }

    async fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        let mut stopping = self.stopping.clone();
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stopping.wait_for(|s| *s) => return,
            };
            match accepted {
                Ok((tcp, addr)) => {
                    tokio::spawn(self.clone().handle_incoming(tcp, addr));
                }
                Err(e) => {
                    tracing::warn!("peer listener: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// Logs why a connection from `addr` was refused, once per source and minute: anyone on
    /// the network can cause refusals, and must not be able to fill the disk.
    fn refused(&self, addr: SocketAddr, why: std::fmt::Arguments<'_>) {
        self.notices.note(addr.ip(), why);
    }

    /// Whether a pairing code was opened recently enough to answer pairing requests (it
    /// may be spent or expired: the joiner is then told why in a pairing message). A stale
    /// window is forgotten, so the pairing protocol is refused in the handshake again.
    fn pairing_open(&self) -> bool {
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        if window
            .as_ref()
            .is_some_and(|w| w.stale(jiff::Timestamp::now()))
        {
            *window = None;
        }
        window.is_some()
    }

    /// An incoming connection: until it has proven a pinned identity (or while it pairs) it
    /// holds one of the strangers' slots, has a deadline, and may send only small frames.
    async fn handle_incoming(self: Arc<Self>, tcp: TcpStream, addr: SocketAddr) {
        let slot = match self.strangers.try_take(admission::source(addr.ip())) {
            Ok(slot) => slot,
            Err(full) => {
                self.refused(
                    addr,
                    format_args!(
                        "refused a connection: {full:?} unauthenticated-connection cap reached"
                    ),
                );
                return;
            }
        };
        let _ = tcp.set_nodelay(true);
        let route = Route::of(&tcp, addr);
        let deadline = tokio::time::Instant::now() + STRANGER_DEADLINE;
        let acceptor =
            tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp);
        let start = match tokio::time::timeout_at(deadline, acceptor).await {
            Ok(Ok(start)) => start,
            Ok(Err(e)) => {
                self.refused(addr, format_args!("refused a peer connection: {e}"));
                return;
            }
            Err(_) => {
                self.refused(
                    addr,
                    format_args!("a connection sent no TLS greeting in time"),
                );
                return;
            }
        };
        let wants_pairing = start
            .client_hello()
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ALPN_PAIR));
        let pairing = wants_pairing && self.pairing_open();
        if wants_pairing && !pairing {
            self.refused(addr, format_args!("refused pairing: no code is open"));
        }
        // A pairing request while no code is open meets the sync configuration, which does
        // not speak the pairing protocol: the handshake ends with `no_application_protocol`
        // and nothing is read.
        let config = if pairing {
            tls::server_config(&self.identity, Trust::Anyone, ALPN_PAIR)
        } else {
            tls::server_config(&self.identity, self.pinned_trust(), ALPN_SYNC)
        };
        let tls = match tokio::time::timeout_at(deadline, start.into_stream(config)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => return self.refused(addr, format_args!("refused a peer: {e}")),
            Err(_) => return self.refused(addr, format_args!("peer handshake timed out")),
        };
        if pairing {
            pairing::respond(&self, tls, addr, deadline).await;
            return;
        }
        drop(slot);
        let cert = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first().cloned());
        let Some(cert) = cert else { return };
        let device = DeviceId::of_certificate(&cert);
        connection::run(self.clone(), tls, device, route, device).await;
    }

    /// Dials `addr` expecting `trust`; runs the connection in the background and returns
    /// the device that answered.
    async fn dial(self: &Arc<Self>, addr: SocketAddr, trust: Trust) -> Result<DeviceId, String> {
        let connector =
            tokio_rustls::TlsConnector::from(tls::client_config(&self.identity, trust, ALPN_SYNC));
        let attempt = async {
            let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
            let _ = tcp.set_nodelay(true);
            let route = Route::of(&tcp, addr);
            connector
                .connect(tls::server_name(), tcp)
                .await
                .map(|tls| (tls, route))
                .map_err(|e| e.to_string())
        };
        let (tls, route) = tokio::time::timeout(DIAL_TIMEOUT, attempt)
            .await
            .map_err(|_| "timed out".to_owned())??;
        let cert = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first().cloned())
            .ok_or("no certificate")?;
        let device = DeviceId::of_certificate(&cert);
        if let Some(established) =
            connection::establish(self.clone(), tls, device, route, self.identity.device_id).await?
        {
            tokio::spawn(connection::serve(established));
        }
        let _ = self.book_mut().remember_addr(&device, addr);
        Ok(device)
    }

    /// Connects to whatever paired device listens at `addr` (`tandem peer add`).
    pub async fn add_address(self: &Arc<Self>, addr: &str) -> Result<DeviceId, PeerError> {
        let unreachable = |reason: String| PeerError::Unreachable {
            addr: addr.to_owned(),
            reason,
        };
        let resolved = tokio::net::lookup_host(addr)
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .next()
            .ok_or_else(|| unreachable("no address".into()))?;
        let device = self
            .dial(resolved, self.pinned_trust())
            .await
            .map_err(unreachable)?;
        self.found_by
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(device, "manual");
        Ok(device)
    }

    async fn dial_loop(self: Arc<Self>) {
        let mut stopping = self.stopping.clone();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(DIAL_TICK) => {}
                _ = stopping.wait_for(|s| *s) => return,
            }
            let due: Vec<PeerEntry> = {
                let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
                let backoff = self.backoff.lock().unwrap_or_else(|p| p.into_inner());
                let dialing = self.dialing.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                self.book()
                    .all()
                    .iter()
                    .filter(|p| {
                        !p.addrs.is_empty()
                            && !live.contains_key(&p.device_id)
                            && !dialing.contains(&p.device_id)
                    })
                    .filter(|p| backoff.get(&p.device_id).is_none_or(|b| b.next_try <= now))
                    .cloned()
                    .collect()
            };
            for peer in due {
                self.dialing
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(peer.device_id);
                let hub = self.clone();
                tokio::spawn(async move {
                    let mut connected = false;
                    for addr in &peer.addrs {
                        if hub.dial(*addr, Trust::Device(peer.device_id)).await.is_ok() {
                            connected = true;
                            break;
                        }
                    }
                    hub.dialing
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&peer.device_id);
                    let mut backoff = hub.backoff.lock().unwrap_or_else(|p| p.into_inner());
                    if connected {
                        backoff.remove(&peer.device_id);
                    } else {
                        let previous = backoff
                            .get(&peer.device_id)
                            .map(|b| b.delay)
                            .unwrap_or(BACKOFF_MIN / 2);
                        let delay = (previous * 2).min(BACKOFF_MAX);
                        let jitter = delay.mul_f64(rand::random_range(0.0..0.25));
                        backoff.insert(
                            peer.device_id,
                            Backoff {
                                next_try: Instant::now() + delay + jitter,
                                delay,
                            },
                        );
                    }
                });
            }
        }
    }

    /// Registers a connection after the Hello exchange. Of two connections to the same
    /// device, both sides keep the one dialed by the lower device id (or the newer, if the
    /// same side dialed both, or if the new one runs between other addresses: a laptop
    /// changed address and the old connection is dead). Returns the serial and close
    /// signal, or `None` if this connection is the one to drop.
    fn register(
        &self,
        device: DeviceId,
        dialed_by: DeviceId,
        route: Route,
        traffic: Arc<framed::Traffic>,
    ) -> Option<(u64, watch::Receiver<bool>)> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let preferred_dialer = self.identity.device_id.min(device);
        if let Some(existing) = live.get(&device) {
            // Two fresh connections are a race: both sides keep the one the lower device id
            // dialed. An older one is stale (the peer redialed because it lost it, e.g. it
            // restarted), so the new one wins.
            // A new connection between other addresses means the network changed under the
            // existing one (a new DHCP lease on either side): the existing one is dead even
            // if it is young.
            let race = existing.registered_at.elapsed() < RACE_WINDOW
                && existing.addr.ip() == route.remote.ip()
                && existing.local == route.local;
            let keep_existing =
                race && existing.dialed_by != dialed_by && existing.dialed_by == preferred_dialer;
            if keep_existing {
                return None;
            }
            let _ = existing.close.send(true);
        }
        let serial = self
            .serial
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (close, closed) = watch::channel(false);
        live.insert(
            device,
            Live {
                close,
                dialed_by,
                addr: route.remote,
                local: route.local,
                serial,
                traffic,
                registered_at: Instant::now(),
            },
        );
        self.backoff
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&device);
        self.last_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(device, Stamp(jiff::Timestamp::now()));
        Some((serial, closed))
    }

    fn unregister(&self, device: DeviceId, serial: u64) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if live.get(&device).is_some_and(|l| l.serial == serial) {
            live.remove(&device);
        }
        self.last_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(device, Stamp(jiff::Timestamp::now()));
    }

    /// Unpins a device and closes its connection; later attempts are refused.
    pub fn remove(&self, device: &DeviceId) -> Result<(), PeerError> {
        if !self.book_mut().remove(device)? {
            return Err(PeerError::UnknownDevice(device.to_string()));
        }
        if let Some(live) = self
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(device)
        {
            let _ = live.close.send(true);
        }
        Ok(())
    }

    /// Every paired device and its state.
    pub fn status(&self) -> Vec<PeerStatus> {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let seen = self.last_seen.lock().unwrap_or_else(|p| p.into_inner());
        let found_by = self.found_by.lock().unwrap_or_else(|p| p.into_inner());
        let in_sync = self.in_sync.lock().unwrap_or_else(|p| p.into_inner());
        let skew = self.clock_skew.lock().unwrap_or_else(|p| p.into_inner());
        let schema = self.schema.lock().unwrap_or_else(|p| p.into_inner());
        self.book()
            .all()
            .iter()
            .map(|p| {
                let connection = live.get(&p.device_id);
                PeerStatus {
                    device_id: p.device_id,
                    name: p.name.clone(),
                    relation: p.relation,
                    connected: connection.is_some(),
                    addr: connection
                        .map(|l| l.addr)
                        .or(p.addrs.first().copied())
                        .map(|a| a.to_string()),
                    last_seen: seen.get(&p.device_id).copied(),
                    clock_skew_ms: skew.get(&p.device_id).copied(),
                    schema: schema.get(&p.device_id).copied(),
                    in_sync: connection.is_some()
                        && in_sync.get(&p.device_id).copied().unwrap_or(false),
                    found_by: found_by
                        .get(&p.device_id)
                        .map(|f| f.to_string())
                        .unwrap_or_else(|| "pairing".into()),
                    bytes_sent: connection.map_or(0, |l| {
                        l.traffic.sent.load(std::sync::atomic::Ordering::Relaxed)
                    }),
                    bytes_received: connection.map_or(0, |l| {
                        l.traffic
                            .received
                            .load(std::sync::atomic::Ordering::Relaxed)
                    }),
                }
            })
            .collect()
    }

    /// mDNS saw `device` at `addrs`: if it is paired, remember them and dial now.
    pub fn discovered(self: &Arc<Self>, device: &DeviceId, addrs: &[SocketAddr]) {
        if self.book().get(device).is_none() {
            return;
        }
        {
            let mut book = self.book_mut();
            for addr in addrs.iter().rev() {
                if let Err(e) = book.remember_addr(device, *addr) {
                    tracing::warn!("cannot remember {addr}: {e}");
                }
            }
        }
        self.found_by
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(*device, "mdns");
        // Skip the backoff: the device just said it is here.
        self.backoff
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(device);
        // Connected, but not at any address it now announces: its address changed and the
        // old connection is probably dead. Dial the new one; it replaces the stale one.
        let stale = self
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(device)
            .is_some_and(|live| !addrs.iter().any(|a| a.ip() == live.addr.ip()));
        if let (true, Some(&addr)) = (stale, addrs.first()) {
            tracing::info!(%device, %addr, "peer announced a new address; reconnecting");
            let (hub, device) = (self.clone(), *device);
            tokio::spawn(async move {
                if let Err(e) = hub.dial(addr, Trust::Device(device)).await {
                    tracing::info!(%device, "reconnecting at the new address failed: {e}");
                }
            });
        }
    }

    /// Records how far `device`'s clock is from ours.
    pub fn set_clock_skew(&self, device: DeviceId, skew_ms: i64) {
        self.clock_skew
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(device, skew_ms);
    }

    /// Records the schema version `device`'s build knows.
    pub fn set_schema(&self, device: DeviceId, schema: u32) {
        self.schema
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(device, schema);
    }

    /// Records whether `device` is in sync with us.
    pub fn set_in_sync(&self, device: DeviceId, in_sync: bool) {
        self.in_sync
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(device, in_sync);
    }

    /// Whether `device` is paired.
    pub fn is_paired(&self, device: &DeviceId) -> bool {
        self.book().get(device).is_some()
    }

    /// Waits until every connection has said goodbye (after `stopping`), at most `limit`.
    pub async fn wait_closed(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline
            && !self
                .live
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_empty()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Where sync states with `device` are kept.
    fn sync_state_path(&self, device: &DeviceId, doc: &str) -> std::path::PathBuf {
        self.home
            .sync_states()
            .join(device.to_string().replace('-', "").to_ascii_lowercase())
            .join(format!("{doc}.state"))
    }
}
