//! `tandemd --check` and `tandemd --repair`: finding damaged documents, and rebuilding one
//! from a paired device that holds all of it.
//!
//! A damaged document stops the daemon from starting (see [`crate::store`]), but the
//! partner's laptop holds the whole shared document, and one's own other devices hold the
//! private one too. The repair, under the home's lock:
//! 1. loads each document the way start-up does; one that loads is left alone;
//! 2. refuses, changing nothing, if no paired device may hold every damaged document (the
//!    private one only syncs with one's own devices: without one, only a backup helps);
//! 3. moves each damaged document's directory to `docs/<doc>.damaged-<UTC time>/`
//!    (a rename, never a deletion) and forgets the sync states of that document, which
//!    describe what peers sent to the damaged copy;
//! 4. runs the peer machinery alone (no local API, so nothing can be edited; no phones,
//!    reminders or backups) with a fresh document in its place, the same as a new home's,
//!    and writes no change of its own into it;
//! 5. stops once a device holding every damaged document reports being in sync, and
//!    compacts. If none does within the wait (or the repair is interrupted), the fresh
//!    directory is dropped and the damaged one put back where it was, so the home is as
//!    before and `tandem repair` can simply be run again.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use automerge::ActorId;
use serde::Serialize;
use tandem_protocol::config::Config;
use tandem_protocol::document::DocKind;
use tandem_protocol::pairing::Relation;
use tandem_protocol::sync::documents_for;
use thiserror::Error;
use tokio::sync::watch;

use crate::daemon::{
    DaemonError, Options, bind_peer_listener, keep_new_files_private, load_actor, start_discovery,
};
use crate::home::{Home, HomeError, io_at, sync_dir};
use crate::identity::Identity;
use crate::peer::PeerHub;
use crate::peers::{PeerBook, PeerEntry};
use crate::repo::{Repo, RepoError};
use crate::store::{DocStore, StoreError};
use crate::writer::Writer;

/// How often the repair looks whether a device is in sync yet.
const POLL: Duration = Duration::from_millis(100);
/// How long connections get to say goodbye once the repair is done.
const GOODBYE: Duration = Duration::from_secs(3);

/// A document that does not load, and why.
#[derive(Debug, Serialize)]
pub struct Damage {
    /// Which document.
    pub document: DocKind,
    /// The damaged file.
    pub file: PathBuf,
    /// What is wrong with it.
    pub problem: String,
}

/// A document the repair brought back.
#[derive(Debug, Serialize)]
pub struct Rebuilt {
    /// Which document.
    pub document: DocKind,
    /// The name of the person whose device sent it.
    pub from: String,
    /// Whether that device is the partner's (else one of this person's own).
    pub partner: bool,
    /// Changes in its history now.
    pub changes: usize,
    /// Where the damaged copy was moved; it is never deleted.
    pub damaged_copy: PathBuf,
}

/// Why a repair did not complete. Unless said otherwise, the damaged files are where they
/// were.
#[derive(Debug, Error)]
pub enum RepairError {
    /// No paired device may hold the damaged private document.
    #[error(
        "the private document is damaged ({file}: {problem}), and only another device of your own (paired with `tandem pair --own`) or a backup (`tandem restore` into a new home) can bring it back: your partner's laptop never gets it. The damaged files were left as they are"
    )]
    NoOwnDevice {
        /// The damaged file.
        file: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// No device is paired at all.
    #[error(
        "the {document} document is damaged ({file}: {problem}), and no device is paired to rebuild it from: only a backup (`tandem restore` into a new home) can bring it back. The damaged files were left as they are"
    )]
    NoPairedDevice {
        /// `shared` or `private`.
        document: &'static str,
        /// The damaged file.
        file: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// No device holding the documents answered and synced in time.
    #[error(
        "no device holding the {documents} document answered within {waited} s: start tandemd on {devices}, then run `tandem repair` again. The damaged files are back where they were"
    )]
    Unreachable {
        /// The damaged documents.
        documents: String,
        /// The devices that could have rebuilt them.
        devices: String,
        /// Seconds waited.
        waited: u64,
    },
    /// The repair was stopped by a signal.
    #[error("the repair was interrupted: the damaged files are back where they were")]
    Interrupted,
    /// The daemon's machinery could not start (a port, the home, the disk).
    #[error(transparent)]
    Daemon(Box<DaemonError>),
}

impl From<DaemonError> for RepairError {
    fn from(e: DaemonError) -> Self {
        Self::Daemon(Box::new(e))
    }
}

impl From<HomeError> for RepairError {
    fn from(e: HomeError) -> Self {
        DaemonError::from(e).into()
    }
}

impl From<RepoError> for RepairError {
    fn from(e: RepoError) -> Self {
        DaemonError::from(e).into()
    }
}

impl From<StoreError> for RepairError {
    fn from(e: StoreError) -> Self {
        RepoError::from(e).into()
    }
}

/// `tandemd --check`: the documents of `home` that do not load, under the home's lock (so
/// it fails while a daemon runs, whose documents loaded). A damaged file is left exactly
/// as found; a document that loads gets only what the next start would do anyway (a torn
/// tail set aside, a legacy log rewritten).
pub fn check(home: &Home) -> Result<Vec<Damage>, RepairError> {
    home.ensure_usable(false)?;
    let _lock = home.lock()?;
    find_damage(home)
}

/// Loads each document as start-up does; a missing one is not damaged (start-up creates
/// it).
fn find_damage(home: &Home) -> Result<Vec<Damage>, RepairError> {
    let mut damaged = Vec::new();
    for kind in DocKind::ALL {
        let dir = home.doc_dir(kind.name());
        if !dir.exists() {
            continue;
        }
        let (file, problem) = match DocStore::open(&dir, kind, ActorId::random()) {
            Ok(_) => continue,
            Err(StoreError::Corrupt { path, reason }) => (path, reason),
            Err(StoreError::DamagedLog { path, at, kind }) => {
                (path, format!("damaged at byte {at}: {kind}"))
            }
            Err(other) => return Err(other.into()),
        };
        damaged.push(Damage {
            document: kind,
            file,
            problem,
        });
    }
    Ok(damaged)
}

/// `tandemd --repair`: rebuilds every damaged document of the home from a paired device
/// holding it, telling `progress` what happens. Returns what was rebuilt (nothing when
/// every document loads). Waits at most `wait` for a device to be in sync, or until
/// `stop` resolves.
pub async fn repair(
    options: &Options,
    wait: Duration,
    stop: impl std::future::Future<Output = ()>,
    progress: impl Fn(&str),
) -> Result<Vec<Rebuilt>, RepairError> {
    keep_new_files_private();
    let home = &options.home;
    home.ensure_usable(false)?;
    let _lock = home.lock()?;
    let config = crate::config::load(home)?;
    let actor = load_actor(home)?;
    let damaged = find_damage(home)?;
    if damaged.is_empty() {
        return Ok(Vec::new());
    }
    let kinds: Vec<DocKind> = damaged.iter().map(|d| d.document).collect();
    let holders = holders_of(&PeerBook::load(home)?, &kinds);
    for damage in &damaged {
        progress(&format!(
            "The {} document is damaged: {}: {}.",
            damage.document.name(),
            damage.file.display(),
            damage.problem
        ));
    }
    if holders.is_empty() {
        return Err(nobody_holds(damaged));
    }

    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let mut moved = Vec::new();
    for &kind in &kinds {
        match move_aside(home, kind, &stamp) {
            Ok(aside) => {
                progress(&format!(
                    "Moved it aside to {} (kept, never deleted).",
                    aside.display()
                ));
                moved.push((kind, aside));
            }
            Err(e) => {
                put_back(home, &moved, &stamp);
                return Err(e);
            }
        }
    }
    progress(&format!(
        "Waiting up to {} s for {} to sync it back...",
        wait.as_secs(),
        describe(&holders)
    ));
    match rebuild(options, &config, actor, &kinds, wait, &holders, stop).await {
        Ok((source, changes)) => Ok(moved
            .into_iter()
            .zip(changes)
            .map(|((kind, damaged_copy), changes)| Rebuilt {
                document: kind,
                from: source.name.clone(),
                partner: source.relation == Relation::Partner,
                changes,
                damaged_copy,
            })
            .collect()),
        Err(e) => {
            put_back(home, &moved, &stamp);
            Err(e)
        }
    }
}

/// The paired devices that may hold every document of `kinds`.
fn holders_of(book: &PeerBook, kinds: &[DocKind]) -> Vec<PeerEntry> {
    book.all()
        .iter()
        .filter(|p| kinds.iter().all(|k| documents_for(p.relation).contains(k)))
        .cloned()
        .collect()
}

/// The error for damage no paired device can repair: the private document's when it is
/// damaged (only an own device or a backup holds it), else the shared one's (nothing is
/// paired at all).
fn nobody_holds(mut damaged: Vec<Damage>) -> RepairError {
    damaged.sort_by_key(|d| d.document != DocKind::Private);
    let first = damaged.remove(0);
    if first.document == DocKind::Private {
        RepairError::NoOwnDevice {
            file: first.file,
            problem: first.problem,
        }
    } else {
        RepairError::NoPairedDevice {
            document: first.document.name(),
            file: first.file,
            problem: first.problem,
        }
    }
}

/// "Alex's laptop (127.0.0.1:4040)" for each device, joined with "or".
fn describe(devices: &[PeerEntry]) -> String {
    devices
        .iter()
        .map(|p| {
            let whose = match p.relation {
                Relation::Partner => format!("{}'s laptop", p.name),
                Relation::Own => "your other device".to_owned(),
            };
            match p.addrs.first() {
                Some(addr) => format!("{whose} ({addr})"),
                None => whose,
            }
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Where a damaged document's directory goes.
fn aside_dir(home: &Home, kind: DocKind, stamp: &str) -> PathBuf {
    home.doc_dir(&format!("{}.damaged-{stamp}", kind.name()))
}

/// Renames the document's directory aside (0700, as every directory of the home) and
/// forgets the sync states peers had with it.
fn move_aside(home: &Home, kind: DocKind, stamp: &str) -> Result<PathBuf, RepairError> {
    let dir = home.doc_dir(kind.name());
    let aside = aside_dir(home, kind, stamp);
    fs::rename(&dir, &aside).map_err(io_at(&dir))?;
    fs::set_permissions(&aside, fs::Permissions::from_mode(0o700)).map_err(io_at(&aside))?;
    sync_dir(parent(&dir))?;
    forget_sync_states(home, kind)?;
    Ok(aside)
}

/// Removes every peer's saved sync state of `kind`. A state records what the peer already
/// sent to the damaged copy: kept, it would make the peer skip exactly those changes. It
/// is a cache: without it a session starts with a full exchange.
fn forget_sync_states(home: &Home, kind: DocKind) -> Result<(), HomeError> {
    let root = home.sync_states();
    let Ok(devices) = fs::read_dir(&root) else {
        return Ok(());
    };
    for device in devices {
        let state = device
            .map_err(io_at(&root))?
            .path()
            .join(format!("{}.state", kind.name()));
        match fs::remove_file(&state) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_at(&state)(e)),
        }
    }
    Ok(())
}

/// Undoes [`move_aside`] for each of `moved`: the fresh directory (holding nothing but
/// what peers sent) is dropped and the damaged one renamed back. Best effort: a failure is
/// logged, and the damaged copy stays aside, never lost.
fn put_back(home: &Home, moved: &[(DocKind, PathBuf)], stamp: &str) {
    for (kind, aside) in moved {
        let dir = home.doc_dir(kind.name());
        let abandoned = home.doc_dir(&format!(".{}.abandoned-{stamp}", kind.name()));
        let restored = (|| {
            if dir.exists() {
                fs::rename(&dir, &abandoned).map_err(io_at(&dir))?;
            }
            fs::rename(aside, &dir).map_err(io_at(aside))?;
            sync_dir(parent(&dir))?;
            if abandoned.exists() {
                fs::remove_dir_all(&abandoned).map_err(io_at(&abandoned))?;
            }
            Ok::<(), HomeError>(())
        })();
        if let Err(e) = restored {
            tracing::error!(
                "could not put {} back to {}: {e}",
                aside.display(),
                dir.display()
            );
        }
    }
}

fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}

/// Runs the peer machinery over fresh documents in place of the damaged `kinds` until a
/// device holding them all is in sync, at most `wait` or until `stop`. Returns that device
/// and each document's change count, after compacting. However it ends, the documents'
/// writer has stopped (its last flush done) when it returns, so the caller may put a
/// damaged copy back in their place.
async fn rebuild(
    options: &Options,
    config: &Config,
    actor: ActorId,
    kinds: &[DocKind],
    wait: Duration,
    holders: &[PeerEntry],
    stop: impl std::future::Future<Output = ()>,
) -> Result<(PeerEntry, Vec<usize>), RepairError> {
    let home = &options.home;
    let writer = Writer::spawn(Repo::open_without_introduction(home, config, actor)?)?;
    let (stopping_tx, stopping) = watch::channel(false);
    let listener = bind_peer_listener(home, options, config).await?;
    let hub = PeerHub::start(
        Identity::load_or_create(home)?,
        home.clone(),
        writer.clone(),
        PeerBook::load(home)?,
        listener,
        stopping.clone(),
    );
    let discovery = start_discovery(&hub, options, config, &stopping);
    let source = tokio::select! {
        synced = tokio::time::timeout(wait, in_sync_holder(&hub, holders)) => {
            synced.map_err(|_| RepairError::Unreachable {
                documents: kinds
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(" and "),
                devices: describe(holders),
                waited: wait.as_secs(),
            })
        }
        () = stop => Err(RepairError::Interrupted),
    };
    let _ = stopping_tx.send(true);
    hub.wait_closed(GOODBYE).await;
    if let Some(discovery) = discovery {
        // Waits up to a second for the goodbye to go out: off the runtime's workers.
        let _ = tokio::task::spawn_blocking(move || discovery.stop()).await;
    }
    // Given up: the peers are closed, so nothing writes to the fresh documents any more,
    // and a writer dropped without `stop` leaves their directories as they are while the
    // damaged copy is put back.
    let source = source?;
    let documents = writer.run(|repo| repo.status()).await?.documents;
    writer.stop().await?;
    let changes = kinds
        .iter()
        .map(|kind| {
            documents
                .iter()
                .find(|d| d.kind == kind.name())
                .map_or(0, |d| d.changes)
        })
        .collect();
    Ok((source, changes))
}

/// Resolves with the first of `holders` that is connected and in sync.
async fn in_sync_holder(hub: &PeerHub, holders: &[PeerEntry]) -> PeerEntry {
    loop {
        let status = hub.status();
        let synced = holders.iter().find(|holder| {
            status
                .iter()
                .any(|s| s.device_id == holder.device_id && s.connected && s.in_sync)
        });
        if let Some(holder) = synced {
            return holder.clone();
        }
        tokio::time::sleep(POLL).await;
    }
}
