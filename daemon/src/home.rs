//! The data home: where one person's tandem keeps everything on this laptop.
//!
//! Chosen by `--home`, else `TANDEM_HOME`, else the platform data directory. Holds the
//! config, the documents, the API address and token, and the lock that keeps a second
//! daemon away.
//!
//! Everything in it is private to the user: the change logs hold note text, the key and
//! tokens let anyone in. Directories are created 0700 and files 0600 as they are opened
//! (never created and then tightened, which leaves a window in which they are readable):
//! [`create_private_dir`], [`open_private_log`], [`write_file_atomic`],
//! [`write_private_file`].

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tandem_protocol::paths::{
    API_ADDR_FILE, API_TOKEN_FILE, CONFIG_FILE, HomeProblem, resolve_home,
};
use thiserror::Error;

/// Errors opening or writing the data home.
#[derive(Debug, Error)]
pub enum HomeError {
    /// Another daemon already holds the lock.
    #[error("another tandemd is already running on {0} (stop it first, or use another --home)")]
    Locked(PathBuf),
    /// The home has no config yet.
    #[error("{}", HomeProblem::NotSetUp(.0.clone()))]
    NotInitialized(PathBuf),
    /// `--home` names a file.
    #[error(transparent)]
    Unusable(#[from] HomeProblem),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The config file is not valid.
    #[error("{path} is not a valid config: {reason}")]
    BadConfig {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Attaches the path to an I/O error.
pub fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> HomeError + '_ {
    move |source| HomeError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The data home directory and the well-known files inside it.
#[derive(Clone, Debug)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// Resolves the home from an explicit directory, `TANDEM_HOME`, or the platform default.
    pub fn resolve(explicit: Option<PathBuf>) -> Self {
        Self {
            root: resolve_home(explicit, |key| std::env::var_os(key)),
        }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config.toml`.
    pub fn config(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// Directory of one document.
    pub fn doc_dir(&self, name: &str) -> PathBuf {
        self.root.join("docs").join(name)
    }

    /// `api.addr`: where the local API listens, for the CLI.
    pub fn api_addr(&self) -> PathBuf {
        self.root.join(API_ADDR_FILE)
    }

    /// `api.token`: the bearer token of the local API, mode 0600.
    pub fn api_token(&self) -> PathBuf {
        self.root.join(API_TOKEN_FILE)
    }

    /// `device.crt`: this device's self-signed certificate (DER).
    pub fn device_cert(&self) -> PathBuf {
        self.root.join("device.crt")
    }

    /// `device.key`: the certificate's private key (PKCS#8 DER), mode 0600.
    pub fn device_key(&self) -> PathBuf {
        self.root.join("device.key")
    }

    /// `peers.toml`: the devices this one trusts.
    pub fn peers(&self) -> PathBuf {
        self.root.join("peers.toml")
    }

    /// Directory of saved sync states, one subdirectory per peer device.
    pub fn sync_states(&self) -> PathBuf {
        self.root.join("sync")
    }

    /// `peer.port`: the peer port used last, reused so paired devices find us again.
    pub fn peer_port(&self) -> PathBuf {
        self.root.join("peer.port")
    }

    /// `phones.toml`: phones allowed in over the home network (token hashes).
    pub fn phones(&self) -> PathBuf {
        self.root.join("phones.toml")
    }

    /// `lan.port`: the phones' HTTPS port used last, reused so bookmarks keep working.
    pub fn lan_port(&self) -> PathBuf {
        self.root.join("lan.port")
    }

    /// `answers.log`: the answers to retried writes of the last day, mode 0600 (they may
    /// hold private text).
    pub fn answers(&self) -> PathBuf {
        self.root.join("answers.log")
    }

    /// `actor.id`: this device's Automerge actor, stable across restarts.
    pub fn actor(&self) -> PathBuf {
        self.root.join("actor.id")
    }

    /// Refuses a home nothing can use, before anything is created in it: a file, or a
    /// directory never set up (unless `may_set_up`: the daemon was given a name to do it).
    pub fn ensure_usable(&self, may_set_up: bool) -> Result<(), HomeError> {
        if self.root.is_file() {
            return Err(HomeProblem::NotADirectory(self.root.clone()).into());
        }
        if !may_set_up && !self.config().exists() {
            return Err(HomeError::NotInitialized(self.root.clone()));
        }
        Ok(())
    }

    /// Creates the directory (mode 0700) if needed, and takes group and other access
    /// away from one that exists (made by hand, or by an older version).
    pub fn create(&self) -> Result<(), HomeError> {
        create_private_dir(&self.root)?;
        fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700))
            .map_err(io_at(&self.root))
    }

    /// Takes the per-home lock, held until the returned file is dropped (at exit).
    pub fn lock(&self) -> Result<File, HomeError> {
        let path = self.root.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_at(&path))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(fs::TryLockError::WouldBlock) => Err(HomeError::Locked(self.root.clone())),
            Err(fs::TryLockError::Error(e)) => Err(io_at(&path)(e)),
        }
    }
}

/// Writes a small file atomically (temp file, fsync, rename) with the given mode, so a
/// reader never sees half of it and secrets are never briefly world-readable. A write
/// that fails (a full disk) takes its temp file away, so failing again and again does not
/// fill the disk with halves.
pub fn write_file_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), HomeError> {
    // A temp name of its own, created exclusively: two writers of the same file (two
    // connections to one device ending together) never write through each other's.
    let tmp = path.with_extension(format!("tmp-{:016x}", rand::random::<u64>()));
    let mut file = OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_at(&tmp))?;
    let written = file
        .write_all(contents)
        .and_then(|()| file.sync_all())
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(source) = written {
        drop(file);
        let _ = fs::remove_file(&tmp);
        return Err(io_at(path)(source));
    }
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Writes a file of the home atomically with mode 0600, creating its directory (0700)
/// if needed: for files kept per peer or per document, whose directory may not exist yet.
pub fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), HomeError> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    write_file_atomic(path, contents, 0o600)
}

/// Creates `dir` and any missing parent with mode 0700.
pub fn create_private_dir(dir: &Path) -> Result<(), HomeError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_at(dir))
}

/// Opens an append-only log of the home, created with mode 0600 if new; one left
/// readable by others (by an older version) is made private.
pub fn open_private_log(path: &Path) -> Result<File, HomeError> {
    let file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(io_at(path))?;
    let mode = file.metadata().map_err(io_at(path))?.permissions().mode();
    if mode & 0o077 != 0 {
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io_at(path))?;
    }
    Ok(file)
}

/// Reads a TOML file of the home; a missing file is the empty default (nothing added
/// yet), a malformed one an error naming it.
pub fn read_toml<T: serde::de::DeserializeOwned + Default>(path: &Path) -> Result<T, HomeError> {
    match fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| HomeError::BadConfig {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(io_at(path)(e)),
    }
}

/// Writes a TOML file of the home atomically, mode 0600.
pub fn write_toml<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), HomeError> {
    let text = toml::to_string(value).expect("home files always serialize to TOML");
    write_file_atomic(path, text.as_bytes(), 0o600)
}

/// Fsyncs a directory so a rename or a new file in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<(), HomeError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_at(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::resolve(Some(dir.path().to_owned()));
        let _held = home.lock().unwrap();
        let err = home.lock().unwrap_err();
        assert!(err.to_string().contains("already running"), "{err}");
    }

    #[test]
    fn new_directories_logs_and_nested_files_are_private_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let nested = dir.path().join("sync").join("device");
        write_private_file(&nested.join("shared.state"), b"x").unwrap();
        assert_eq!(mode(&dir.path().join("sync")), 0o700);
        assert_eq!(mode(&nested), 0o700);
        assert_eq!(mode(&nested.join("shared.state")), 0o600);
        let log = dir.path().join("changes.log");
        open_private_log(&log).unwrap();
        assert_eq!(mode(&log), 0o600);
    }

    #[test]
    fn secrets_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_file_atomic(&path, b"x", 0o600).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
