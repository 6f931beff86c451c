//! `tandemd --restore FILE`: sets up a fresh data home from a backup archive.
//!
//! It is set-up, like `tandem init`, done by the daemon binary because the daemon owns the
//! store's layout and the home's lock: while it restores, no daemon can start on the
//! home, and the documents are written through [`DocStore`] like any other.
//!
//! The home must be empty: restoring never mixes with data already there. The restored
//! home has the same person (id and name) and both documents, and nothing of the old
//! device: the daemon makes a new certificate and a new Automerge actor at its first start
//! (reusing the lost laptop's actor would give two devices the same sequence numbers for
//! different changes). The person then pairs with their partner again.

use std::path::{Path, PathBuf};

use automerge::ActorId;
use tandem_protocol::config::Config;
use tandem_protocol::document::{DocKind, Document};
use thiserror::Error;

use age::secrecy::SecretString;

use crate::archive::{Archive, ArchiveError, IDENTITY_FILE};
use crate::home::{Home, HomeError};
use crate::store::{DocStore, StoreError};

/// Why a home was not restored. Nothing was left in it.
#[derive(Debug, Error)]
pub enum RestoreError {
    /// The home already holds something.
    #[error(
        "{0} already holds data ({1}): restore into a new, empty home (e.g. `tandem --home NEW_DIR restore FILE`); nothing was changed"
    )]
    NotEmpty(PathBuf, String),
    /// The archive's contents are not tandem documents.
    #[error("the archive's {0} document cannot be read ({1}): nothing was restored")]
    BadDocument(&'static str, String),
    /// The archive could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The archive.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The archive could not be opened (passphrase, damage, newer version).
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// The home could not be written.
    #[error(transparent)]
    Home(#[from] HomeError),
    /// A document could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What was restored, for the person to check.
#[derive(Debug)]
pub struct Restored {
    /// The config written.
    pub config: Config,
}

/// Opens the archive at `file` with `passphrase` (an automatic backup's with the sealed
/// key beside it) and restores it into `home`. Nothing is written unless it opens.
pub fn restore_file(
    home: &Home,
    file: &Path,
    passphrase: &SecretString,
) -> Result<Restored, RestoreError> {
    let bytes = std::fs::read(file).map_err(|source| RestoreError::Read {
        path: file.to_owned(),
        source,
    })?;
    let identity = file.with_file_name(IDENTITY_FILE);
    let archive = Archive::open(&bytes, passphrase, || std::fs::read(&identity))?;
    restore(home, &archive)
}

/// Writes `archive` into `home`, which must be empty (or not exist yet).
pub fn restore(home: &Home, archive: &Archive) -> Result<Restored, RestoreError> {
    for kind in DocKind::ALL {
        Document::load(kind, &archive.document(kind).bytes, ActorId::random())
            .map_err(|e| RestoreError::BadDocument(kind.name(), e.to_string()))?;
    }
    let config = {
        let mut config = Config::new(&archive.name, archive.person.clone())
            .map_err(|e| RestoreError::BadDocument("person", e.to_string()))?;
        config.time_zone = archive.time_zone.clone();
        config
    };
    home.create()?;
    let _lock = home.lock()?;
    if let Some(found) = something_in(home.root())? {
        return Err(RestoreError::NotEmpty(home.root().to_owned(), found));
    }
    let written = write(home, archive, &config);
    if written.is_err() {
        // The home was empty: take away what was written, so trying again finds it empty.
        for kind in DocKind::ALL {
            let _ = std::fs::remove_dir_all(home.doc_dir(kind.name()));
        }
        let _ = std::fs::remove_file(home.config());
    }
    written.map(|()| Restored { config })
}

fn write(home: &Home, archive: &Archive, config: &Config) -> Result<(), RestoreError> {
    for kind in DocKind::ALL {
        // The actor only opens the store: restoring commits nothing, and the daemon picks
        // this device's own actor at its first start.
        let (mut store, mut doc) =
            DocStore::open(&home.doc_dir(kind.name()), kind, ActorId::random())?;
        doc.apply_changes(&archive.document(kind).bytes)
            .map_err(|e| RestoreError::BadDocument(kind.name(), e.to_string()))?;
        store.compact(&mut doc)?;
    }
    // Last: a home with a config is a home, so it appears only once the documents are in.
    crate::config::save(home, config)?;
    Ok(())
}

/// The name of the first entry of `dir` other than the lock, if any.
fn something_in(dir: &Path) -> Result<Option<String>, HomeError> {
    let entries = std::fs::read_dir(dir).map_err(crate::home::io_at(dir))?;
    for entry in entries {
        let entry = entry.map_err(crate::home::io_at(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != "lock" {
            return Ok(Some(name));
        }
    }
    Ok(None)
}
