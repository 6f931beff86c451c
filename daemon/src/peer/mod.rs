//! Peers: accepting and dialing paired devices, keeping one live connection per device,
//! and pairing new ones.
//!
//! The [`PeerHub`] owns the peer listener, a dial loop that reconnects to every pinned
//! device at its remembered addresses with jittered backoff, and what is known of each
//! device (in `state`: its live connection, backoff, last Hello...). Connections
//! themselves are in [`connection`]; pairing in [`pairing`].
//!
//! # Tasks
//! Every task the hub spawns is in its [`TaskTracker`], and [`PeerHub::wait_closed`] awaits
//! them all. The accept loop, the dial loop and live connections watch `stopping` and end
//! in good order (a connection says goodbye and saves its sync states); attempts (a dial,
//! an incoming handshake, a pairing attempt) are dropped when `stopping` turns: nothing is
//! established yet, so there is no one to say goodbye to.
//!
//! # Locks
//! - `PeerHub::peers`: the one `std::sync::Mutex` around `state::Peers`, taken only
//!   through `Shared::with`, whose closure cannot await: it is held for a few map
//!   operations (and a non-blocking `watch` send to close a replaced connection), never
//!   across an `.await`, and no other lock is taken while it is held.
//! - `PeerHub::book_on_disk`: a tokio mutex held while `peers.toml` is written, so writes
//!   go one at a time and never put an older copy over a newer one. The book is copied out
//!   of `peers` before it is taken, and `peers` is not taken while it is held.
//! - `strangers` and `notices` have locks of their own, each taken alone.
//!
//! So no two locks are ever held together.

pub mod connection;
mod framed;
pub mod pairing;
mod state;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tandem_protocol::admission;
use tandem_protocol::api::PeerStatus;
use tandem_protocol::device::DeviceId;
use tandem_protocol::mailbox::PairKey;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use crate::home::{Home, HomeError};
use crate::identity::Identity;
use crate::notices::Notices;
use crate::peers::{PeerBook, PeerEntry};
use crate::repo::RepoError;
use crate::slots::SharedSlots;
use crate::tls::{self, ALPN_PAIR, ALPN_SYNC, Trust};
use crate::writer::Writer;
use state::{FoundBy, Shared};

/// How long a dial (TCP connect and TLS handshake) may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an incoming connection may take from accept to a pinned handshake, or to its
/// first pairing message.
const STRANGER_DEADLINE: Duration = Duration::from_secs(10);
/// Incoming connections not yet authenticated (handshaking, or pairing), at once...
const STRANGER_SLOTS: usize = 64;
/// ...and from one source address: a paired laptop needs one or two, a joiner one.
const STRANGER_SLOTS_PER_SOURCE: usize = 8;
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

/// All peer networking of one daemon.
pub struct PeerHub {
    /// This device.
    pub identity: Identity,
    /// Where sync states are kept.
    home: Home,
    /// The documents, which connections sync.
    writer: Writer,
    /// The port peers dial.
    port: u16,
    /// The address the peer listener is bound to.
    bound: SocketAddr,
    /// The book, one record per device and the pairing window, behind the hub's one lock;
    /// shared with the TLS verifiers, which ask the book on every handshake.
    peers: Arc<Shared>,
    /// The book's revision last written to `peers.toml`, locked while writing.
    book_on_disk: tokio::sync::Mutex<u64>,
    /// Every task the hub spawned, so the shutdown can wait for them.
    tasks: TaskTracker,
    /// Incoming connections that have not proven a pinned identity yet.
    strangers: SharedSlots<IpAddr>,
    /// Keeps refusals from filling the log.
    notices: Notices,
    /// Turns true when the daemon stops.
    stopping: watch::Receiver<bool>,
    /// Wakes the dial loop before its next tick: a device just paired is dialed at once,
    /// not up to a tick later.
    dial_now: tokio::sync::Notify,
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
            port,
            bound,
            book_on_disk: tokio::sync::Mutex::new(book.revision()),
            peers: Arc::new(Shared::new(book)),
            tasks: TaskTracker::new(),
            strangers: SharedSlots::new(STRANGER_SLOTS, STRANGER_SLOTS_PER_SOURCE),
            notices: Notices::new("peer port"),
            stopping,
            dial_now: tokio::sync::Notify::new(),
        });
        hub.tasks.spawn(hub.clone().accept_loop(listener));
        hub.tasks.spawn(hub.clone().dial_loop());
        hub
    }

    /// Runs `attempt` (a dial, an incoming handshake, a pairing attempt) until it ends or
    /// the daemon stops, whichever comes first: nothing is established yet, so there is no
    /// goodbye to wait for, and a silent peer must not hold up the shutdown.
    fn spawn_attempt(&self, attempt: impl Future<Output = ()> + Send + 'static) {
        let mut stopping = self.stopping.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                () = attempt => {}
                _ = stopping.wait_for(|s| *s) => {}
            }
        });
    }

    /// This daemon's person.
    async fn me(&self) -> Result<tandem_protocol::model::person::Person, RepoError> {
        self.writer.run(|repo| Ok(repo.me().clone())).await
    }

    /// The port peers dial.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Trust in whatever is pinned at handshake time.
    fn pinned_trust(&self) -> Trust {
        let peers = self.peers.clone();
        Trust::Pinned(Arc::new(move |id| peers.with(|p| p.is_paired(id))))
    }

    /// Writes `peers.toml` if the book changed since it was last written. The copy is
    /// taken before waiting for the file, so it holds the caller's change; if a newer copy
    /// was written meanwhile, that one already did.
    async fn save_book(&self) -> Result<(), HomeError> {
        let book = self.peers.with(|p| p.book.clone());
        let mut on_disk = self.book_on_disk.lock().await;
        if *on_disk >= book.revision() {
            return Ok(());
        }
        let (revision, path) = (book.revision(), book.path().to_owned());
        // An fsync'd write: off the runtime's workers.
        tokio::task::spawn_blocking(move || book.save())
            .await
            .map_err(|e| HomeError::Io {
                path,
                source: std::io::Error::other(e),
            })??;
        *on_disk = revision;
        Ok(())
    }

    /// Pins `entry` (a device just paired) and writes `peers.toml`.
    async fn pin(&self, entry: PeerEntry) -> Result<(), HomeError> {
        self.peers.with(|p| p.book.pin(entry));
        self.dial_now.notify_one();
        self.save_book().await
    }

    /// The pinned entry of `device`, if it is paired.
    fn paired(&self, device: &DeviceId) -> Option<PeerEntry> {
        self.peers.with(|p| p.book.get(device).cloned())
    }

    async fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        let mut stopping = self.stopping.clone();
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stopping.wait_for(|s| *s) => return,
            };
            match accepted {
                Ok((tcp, addr)) => self.spawn_attempt(self.clone().handle_incoming(tcp, addr)),
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
        let now = jiff::Timestamp::now();
        let pairing = wants_pairing && self.peers.with(|p| p.pairing_open(now));
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
        if let Err(why) = self.keep(tls, device, route, device).await {
            tracing::info!(%device, "peer connection not established: {why}");
        }
    }

    /// Exchanges Hello over a stream authenticated as `device`; if this is the connection
    /// kept for it, serves it in a task of its own, which ends in good order at shutdown
    /// (so it must not be dropped with the attempt that established it).
    async fn keep<S>(
        self: &Arc<Self>,
        stream: S,
        device: DeviceId,
        route: Route,
        dialed_by: DeviceId,
    ) -> Result<(), String>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        match connection::establish(self.clone(), stream, device, route, dialed_by).await? {
            Some(established) => {
                self.tasks.spawn(connection::serve(established));
            }
            None => tracing::debug!(%device, "keeping the other connection to this device"),
        }
        Ok(())
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
        self.keep(tls, device, route, self.identity.device_id)
            .await?;
        self.peers.with(|p| p.book.remember_addr(&device, addr));
        if let Err(e) = self.save_book().await {
            tracing::warn!(%device, %addr, "cannot remember the address: {e}");
        }
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
        self.peers.with(|p| p.found(&device, FoundBy::Manual));
        Ok(device)
    }

    async fn dial_loop(self: Arc<Self>) {
        let mut stopping = self.stopping.clone();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(DIAL_TICK) => {}
                () = self.dial_now.notified() => {}
                _ = stopping.wait_for(|s| *s) => return,
            }
            let due = self.peers.with(|p| p.due_for_dialing(Instant::now()));
            for peer in due {
                let hub = self.clone();
                self.spawn_attempt(async move {
                    let mut connected = false;
                    for addr in &peer.addrs {
                        if hub.dial(*addr, Trust::Device(peer.device_id)).await.is_ok() {
                            connected = true;
                            break;
                        }
                    }
                    let now = Instant::now();
                    hub.peers
                        .with(|p| p.dialed(&peer.device_id, connected, now));
                });
            }
        }
    }

    /// Registers a connection after the Hello exchange (see `state::Peers::register`).
    /// Returns the serial and close signal, or `None` if this connection is the one to
    /// drop.
    fn register(
        &self,
        device: DeviceId,
        dialed_by: DeviceId,
        route: Route,
        traffic: Arc<framed::Traffic>,
    ) -> Option<(u64, watch::Receiver<bool>)> {
        let me = self.identity.device_id;
        self.peers
            .with(|p| p.register(me, device, dialed_by, route, traffic, Instant::now()))
    }

    /// The connection `serial` to `device` ended.
    fn unregister(&self, device: DeviceId, serial: u64) {
        self.peers.with(|p| p.unregister(&device, serial));
    }

    /// Unpins a device and closes its connection; later attempts are refused.
    pub async fn remove(&self, device: &DeviceId) -> Result<(), PeerError> {
        if !self.peers.with(|p| p.unpin(device)) {
            return Err(PeerError::UnknownDevice(device.to_string()));
        }
        self.save_book().await?;
        Ok(())
    }

    /// Every paired device and its state.
    pub fn status(&self) -> Vec<PeerStatus> {
        self.peers.with(|p| p.status())
    }

    /// mDNS saw `device` at `addrs`: if it is paired, remember them and dial now.
    pub async fn discovered(self: &Arc<Self>, device: &DeviceId, addrs: &[SocketAddr]) {
        let moved = self.peers.with(|p| p.discovered(device, addrs));
        if let Err(e) = self.save_book().await {
            tracing::warn!(%device, "cannot remember the addresses it announced: {e}");
        }
        // Connected, but not at any address it now announces: its address changed and the
        // old connection is probably dead. Dial the new one; it replaces the stale one.
        if let Some(addr) = moved {
            tracing::info!(%device, %addr, "peer announced a new address; reconnecting");
            let (hub, device) = (self.clone(), *device);
            self.spawn_attempt(async move {
                if let Err(e) = hub.dial(addr, Trust::Device(device)).await {
                    tracing::info!(%device, "reconnecting at the new address failed: {e}");
                }
            });
        }
    }

    /// Records what `device`'s Hello said: its clock minus ours and its schema version.
    pub fn heard_hello(&self, device: DeviceId, clock_skew_ms: i64, schema: u32) {
        self.peers
            .with(|p| p.heard_hello(&device, clock_skew_ms, schema));
    }

    /// This device's public half of the mailbox key with `device`, its secret made now
    /// (and `peers.toml` written) if this is the pair's first connection since the
    /// mailbox exists. Made under the lock, so two connections racing send the same one.
    pub async fn mailbox_public(&self, device: DeviceId) -> Result<Option<[u8; 32]>, HomeError> {
        let fresh = rand::random::<[u8; 32]>();
        let secret = self.peers.with(|p| p.book.mailbox_secret(&device, fresh));
        self.save_book().await?;
        Ok(secret.map(|s| tandem_protocol::mailbox::PairSecret::from_bytes(s).public()))
    }

    /// Records the public half of the mailbox key `device` sent in its Hello.
    pub async fn heard_mailbox_public(&self, device: DeviceId, public: [u8; 32]) {
        self.peers
            .with(|p| p.book.heard_mailbox_public(&device, public));
        if let Err(e) = self.save_book().await {
            tracing::warn!(%device, "cannot save the mailbox key: {e}");
        }
    }

    /// The mailbox key of every paired device both halves are known for, with its
    /// relation; devices missing from it have not met this one since the mailbox exists.
    pub fn mailbox_keys(&self) -> Vec<(PeerEntry, Option<PairKey>)> {
        let me = self.identity.device_id;
        self.peers.with(|p| {
            p.book
                .all()
                .iter()
                .map(|e| (e.clone(), e.mailbox.key(me, e.device_id)))
                .collect()
        })
    }

    /// Records whether `device` is in sync with us.
    pub fn set_in_sync(&self, device: DeviceId, in_sync: bool) {
        self.peers.with(|p| p.set_in_sync(&device, in_sync));
    }

    /// Whether `device` is paired.
    pub fn is_paired(&self, device: &DeviceId) -> bool {
        self.peers.with(|p| p.is_paired(device))
    }

    /// Waits, after `stopping`, until every task of the hub has ended (each connection
    /// said goodbye and saved its sync states), at most `limit`.
    pub async fn wait_closed(&self, limit: Duration) {
        self.tasks.close();
        if tokio::time::timeout(limit, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::info!(
                tasks = self.tasks.len(),
                "peer tasks still running after {limit:?}; stopping without them"
            );
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
