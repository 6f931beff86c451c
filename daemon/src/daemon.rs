//! Start-up and the main loop: open the home, load the documents, serve the API until
//! told to stop, then flush and exit.

use std::future::Future;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use automerge::ActorId;
use thiserror::Error;
use tokio::sync::watch;

use tandem_protocol::config::Config;
use tandem_protocol::ids::PersonId;

use crate::api::{self, AppState};
use crate::backup::AutoBackups;
use crate::discovery::Discovery;
use crate::home::{Home, HomeError, io_at, write_file_atomic};
use crate::http::Limits;
use crate::identity::Identity;
use crate::lan::LanOptions;
use crate::listen::bind_remembered;
use crate::peer::PeerHub;
use crate::peers::PeerBook;
use crate::phones::Phones;
use crate::repo::{Repo, RepoError};
use crate::writer::Writer;

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, Error)]
pub enum DaemonError {
    /// The data home is unusable.
    #[error(transparent)]
    Home(#[from] HomeError),
    /// The documents could not be opened or flushed.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// The API port could not be bound.
    #[error(
        "cannot listen on {addr}: {source} (is another program using it? set api_port = 0 in config.toml to pick a free port)"
    )]
    Bind {
        /// The address tried.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("API server failed: {0}")]
    Serve(std::io::Error),
}

/// What local clients may hold of the API. Every client on 127.0.0.1 has the same
/// source address, so there is no per-source cap, only a total high enough for many
/// scripts, CLIs and event streams at once. A connection that sends no request within
/// 10 s (or none for 10 s after its last response) is closed, so idle ones cannot pile
/// up to that total.
const LOCAL_LIMITS: Limits = Limits {
    total: 512,
    per_source: 512,
    // Plain TCP: the "handshake" is done at once.
    handshake: Duration::from_secs(10),
    header_read: Duration::from_secs(10),
};

/// How to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The data home.
    pub home: Home,
    /// Overrides `api_port` of the config.
    pub api_port: Option<u16>,
    /// Overrides `peer_port` of the config.
    pub peer_port: Option<u16>,
    /// Overrides `peer_listen` of the config.
    pub peer_listen: Option<std::net::IpAddr>,
    /// Overrides `lan_listen` of the config (the phones' HTTPS listener).
    pub lan_listen: Option<std::net::IpAddr>,
    /// How often reminders are checked.
    pub remind_every: std::time::Duration,
    /// Turns mDNS off whatever the config says.
    pub no_mdns: bool,
    /// Overrides `mdns_interfaces` of the config when not empty.
    pub mdns_interfaces: Vec<String>,
    /// Initialises a fresh home for this person when it has no config yet, so a first
    /// start needs no separate `tandem init`.
    pub name: Option<String>,
}

/// The device's Automerge actor: created once, then reused so a device's changes are
/// recognisable as its own across restarts.
pub(crate) fn load_actor(home: &Home) -> Result<ActorId, HomeError> {
    let path = home.actor();
    match std::fs::read_to_string(&path) {
        Ok(hex) => ActorId::try_from(hex.trim()).map_err(|e| HomeError::BadConfig {
            path: path.clone(),
            reason: format!("not an actor id: {e}"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let actor = ActorId::random();
            write_file_atomic(&path, actor.to_hex_string().as_bytes(), 0o600)?;
            Ok(actor)
        }
        Err(e) => Err(io_at(&path)(e)),
    }
}

/// The API token, created on first start (32 random bytes, hex) and kept across restarts
/// so scripts keep working. Mode 0600 is re-applied in case someone loosened it.
fn load_token(home: &Home) -> Result<String, HomeError> {
    let path = home.api_token();
    match std::fs::read_to_string(&path) {
        Ok(token) if token.trim().len() >= 32 => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(io_at(&path))?;
            Ok(token.trim().to_owned())
        }
        Ok(_) | Err(_) => {
            let token = crate::secret::new_token();
            write_file_atomic(&path, token.as_bytes(), 0o600)?;
            Ok(token)
        }
    }
}

/// Runs the daemon until `stop` resolves, then flushes the documents. Returns only after
/// every connection has closed and the store is compacted.
pub async fn run(
    options: Options,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DaemonError> {
    keep_new_files_private();
    let home = options.home.clone();
    home.ensure_usable(options.name.is_some())?;
    home.create()?;
    let _lock = home.lock()?;
    let config = match (crate::config::load(&home), &options.name) {
        (Err(HomeError::NotInitialized(_)), Some(name)) => {
            let config = Config::new(name, PersonId::from_random(rand::random())).map_err(|e| {
                HomeError::BadConfig {
                    path: home.config(),
                    reason: e.to_string(),
                }
            })?;
            crate::config::save(&home, &config)?;
            tracing::info!(name = %config.name, "initialised a new data home");
            config
        }
        (loaded, _) => loaded?,
    };
    let actor = load_actor(&home)?;
    let started = std::time::Instant::now();
    let writer = Writer::spawn(Repo::open(&home, &config, actor)?)?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "documents loaded"
    );

    let addr = SocketAddr::from((
        Ipv4Addr::LOCALHOST,
        options.api_port.unwrap_or(config.api_port),
    ));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| DaemonError::Bind { addr, source })?;
    let bound = listener.local_addr().map_err(DaemonError::Serve)?;
    let token = load_token(&home)?;
    write_file_atomic(&home.api_addr(), bound.to_string().as_bytes(), 0o600)?;
    tracing::info!(api = %bound, home = %home.root().display(), "tandemd ready");

    let (stopping_tx, stopping) = watch::channel(false);
    let identity = Identity::load_or_create(&home)?;
    let peer_listener = bind_peer_listener(&home, &options, &config).await?;
    let hub = PeerHub::start(
        identity,
        home.clone(),
        writer.clone(),
        PeerBook::load(&home)?,
        peer_listener,
        stopping.clone(),
    );
    tracing::info!(device = %hub.identity.device_id, peer_port = hub.port(), "accepting paired devices");
    // Whoever started it in a terminal learns at once that it runs and where; a closed
    // stdout is no reason to stop.
    let _ = writeln!(
        std::io::stdout(),
        "tandemd for {}: local API on {bound}, paired devices on port {}, data in {}",
        config.name,
        hub.port(),
        home.root().display()
    );
    let discovery = start_discovery(&hub, &options, &config, &stopping);
    let (reminders, _) = tokio::sync::broadcast::channel(64);
    tokio::spawn(crate::reminders::run(
        writer.clone(),
        options.remind_every,
        reminders.clone(),
        stopping.clone(),
    ));
    let backups = Arc::new(AutoBackups::new(home.clone(), writer.clone(), &config));
    tokio::spawn(backups.clone().run(stopping.clone()));
    let mailboxes = Arc::new(crate::mailbox::Mailboxes::new(
        home.clone(),
        writer.clone(),
        hub.clone(),
        &config,
    ));
    tokio::spawn(mailboxes.clone().run(stopping.clone()));
    tokio::spawn(crate::memory::release_after_bursts(
        writer.clone(),
        stopping.clone(),
    ));
    let (lan_bound_tx, lan_bound) = watch::channel(None);
    let state = AppState {
        reminders,
        writer: writer.clone(),
        hub: hub.clone(),
        discovery: discovery.clone(),
        token: token.into(),
        phones: Arc::new(Phones::load(&home)?),
        lan: lan_bound,
        throttle: api::new_throttle(),
        port: bound.port(),
        stopping: stopping.clone(),
        home: home.clone(),
        backups,
        mailboxes,
        answers: Arc::new(api::idempotency::Answers::open(&home.answers())),
    };
    crate::lan::start(
        home.clone(),
        &hub.identity,
        LanOptions {
            ip: options
                .lan_listen
                .or(config.lan_listen)
                .unwrap_or(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            port: config.lan_port,
        },
        api::lan_router(state.clone()),
        state.phones.changed(),
        stopping.clone(),
        lan_bound_tx,
    );
    let stop = async move {
        stop.await;
        let _ = stopping_tx.send(true);
    };
    let plain = |tcp| std::future::ready(Ok(tcp));
    let serve = crate::http::serve(
        "local API",
        listener,
        LOCAL_LIMITS,
        api::router(state),
        plain,
        stopping.clone(),
    );
    tokio::join!(stop, serve);
    remove_addr_file(home.api_addr());
    hub.wait_closed(std::time::Duration::from_secs(3)).await;
    if let Some(discovery) = discovery {
        // Goodbye packets, so the partner's daemon stops listing us at once.
        // Waits up to a second for the goodbye to go out: off the runtime's workers.
        let _ = tokio::task::spawn_blocking(move || discovery.stop()).await;
    }

    writer.stop().await?;
    tracing::info!("store flushed, bye");
    Ok(())
}

/// Starts mDNS announcement and browsing for paired devices, unless it is off (by
/// `--no-mdns` or the config) or the network refuses it (then a warning, and paired
/// devices are still dialed at their remembered addresses).
pub(crate) fn start_discovery(
    hub: &Arc<PeerHub>,
    options: &Options,
    config: &Config,
    stopping: &watch::Receiver<bool>,
) -> Option<Arc<Discovery>> {
    if options.no_mdns || !config.mdns {
        tracing::info!(
            "mDNS is off: paired devices are reached at remembered addresses and `tandem peer add`"
        );
        return None;
    }
    let interfaces = if options.mdns_interfaces.is_empty() {
        &config.mdns_interfaces
    } else {
        &options.mdns_interfaces
    };
    match Discovery::start(hub.clone(), &config.name, interfaces, stopping.clone()) {
        Ok(discovery) => Some(Arc::new(discovery)),
        Err(e) => {
            tracing::warn!("{e}");
            None
        }
    }
}

/// Sets the process umask to 077. The home's own functions already create files 0600
/// and directories 0700 (see [`crate::home`]); this makes sure anything else the daemon
/// or a library creates in the home is private from the moment it exists too, whatever
/// umask the shell or service manager started the daemon with.
pub(crate) fn keep_new_files_private() {
    use nix::sys::stat::{Mode, umask};
    umask(Mode::S_IRWXG | Mode::S_IRWXO);
}

/// Binds the peer port: the configured one, else the one used last (so paired devices
/// find us at the address they remember), else any free one.
pub(crate) async fn bind_peer_listener(
    home: &Home,
    options: &Options,
    config: &Config,
) -> Result<tokio::net::TcpListener, DaemonError> {
    let ip = options
        .peer_listen
        .or(config.peer_listen)
        .unwrap_or(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let fixed = options.peer_port.unwrap_or(config.peer_port);
    let listener = bind_remembered(ip, fixed, &home.peer_port())
        .await
        .map_err(|e| DaemonError::Bind {
            addr: e.addr,
            source: e.source,
        })?;
    let port = listener.local_addr().map_err(DaemonError::Serve)?.port();
    write_file_atomic(&home.peer_port(), port.to_string().as_bytes(), 0o600)?;
    Ok(listener)
}

fn remove_addr_file(path: PathBuf) {
    if let Err(e) = std::fs::remove_file(&path) {
        tracing::debug!("could not remove {}: {e}", path.display());
    }
}
