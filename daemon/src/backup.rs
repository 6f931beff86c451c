//! Backups the daemon takes: a consistent snapshot of both documents (taken under the
//! writer's lock, so writes continue right after), and automatic archives written to a
//! directory on a schedule, encrypted to a public key and pruned to the newest few.
//!
//! Automatic backups need no passphrase while they run: `tandem backup --auto` creates an
//! age key pair once, keeps the public key in `config.toml` and writes the secret key,
//! sealed with the passphrase given then, to [`IDENTITY_FILE`] in the directory, where a
//! new laptop finds it beside the archives.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::{Duration, SystemTime};

use age::secrecy::SecretString;
use tandem_protocol::api::{AutoBackupView, BackupFile, BackupStatus};
use tandem_protocol::config::AutoBackup;
use tandem_protocol::document::DocKind;
use tandem_protocol::time::Stamp;
use thiserror::Error;
use tokio::sync::watch;

use crate::archive::{Archive, ArchiveError, IDENTITY_FILE, new_identity, parse_recipient};
use crate::home::{Home, HomeError, create_private_dir, io_at, sync_dir, write_file_atomic};
use crate::repo::RepoError;
use crate::writer::Writer;

/// One archive a day unless `backup_interval_secs` says otherwise (tests).
const DAILY: Duration = Duration::from_secs(24 * 60 * 60);
/// After a failed attempt (the directory's disk unplugged), try again this soon at most.
const RETRY: Duration = Duration::from_secs(60);
/// Names of the archives automatic backups write: the prefix, a UTC time, the suffix.
const PREFIX: &str = "tandem-backup-";
const SUFFIX: &str = ".age";

/// Why a backup was not made or set up.
#[derive(Debug, Error)]
pub enum BackupError {
    /// The documents could not be saved (boxed: it is large, and rare).
    #[error(transparent)]
    Repo(Box<RepoError>),
    /// A file of the home or the backup directory could not be written.
    #[error(transparent)]
    Home(#[from] HomeError),
    /// Encryption failed.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// The directory given for automatic backups is unusable.
    #[error("{0}")]
    BadSetup(String),
}

impl From<RepoError> for BackupError {
    fn from(e: RepoError) -> Self {
        BackupError::Repo(Box::new(e))
    }
}

/// Both documents and the person, as one archive, taken now. Both documents are copied
/// in one operation of the writer, so they show one moment: every acknowledged write is in
/// both or after both.
pub async fn take(writer: &Writer, home: &Home) -> Result<Archive, BackupError> {
    let config = crate::config::load(home)?;
    let (shared, private, me) = writer
        .run(|repo| {
            let shared = repo.save_copy(DocKind::Shared)?;
            let private = repo.save_copy(DocKind::Private)?;
            Ok((shared, private, repo.me().clone()))
        })
        .await?;
    Ok(Archive {
        created_at: Stamp(jiff::Timestamp::now()),
        person: me.id,
        name: me.name,
        time_zone: config.time_zone,
        shared,
        private,
    })
}

/// Automatic backups: their settings, the task writing them and what it last hit.
pub struct AutoBackups {
    home: Home,
    writer: Writer,
    every: Duration,
    settings: watch::Sender<Option<AutoBackup>>,
    last_error: Mutex<Option<String>>,
}

impl AutoBackups {
    /// Automatic backups as `config.toml` sets them (off until set up).
    pub fn new(home: Home, writer: Writer, config: &tandem_protocol::config::Config) -> Self {
        Self {
            home,
            writer,
            every: config
                .backup_interval_secs
                .map_or(DAILY, |secs| Duration::from_secs(secs.max(1))),
            settings: watch::Sender::new(config.backup.clone()),
            last_error: Mutex::new(None),
        }
    }

    /// Turns automatic backups on (or moves them): a new key pair, its secret key sealed
    /// with `passphrase` into the directory, the settings saved. The first archive follows
    /// at once. Blocking: scrypt takes about a second on purpose.
    pub fn set_up(
        &self,
        dir: &Path,
        keep: u32,
        passphrase: &SecretString,
    ) -> Result<(), BackupError> {
        if !dir.is_absolute() {
            return Err(BackupError::BadSetup(format!(
                "{} is not an absolute path: give the full path of the backup directory",
                dir.display()
            )));
        }
        if keep == 0 {
            return Err(BackupError::BadSetup(
                "--keep must be at least 1: an automatic backup that keeps nothing protects nothing".into(),
            ));
        }
        create_private_dir(dir)?;
        let (recipient, sealed) = new_identity(passphrase)?;
        write_file_atomic(&dir.join(IDENTITY_FILE), &sealed, 0o600)?;
        let settings = AutoBackup {
            dir: dir.to_owned(),
            keep,
            recipient: recipient.to_string(),
        };
        let mut config = crate::config::load(&self.home)?;
        config.backup = Some(settings.clone());
        crate::config::save(&self.home, &config)?;
        self.settings.send_replace(Some(settings));
        Ok(())
    }

    /// The settings and the newest archive, for `tandem backup --status` and `doctor`.
    pub fn status(&self) -> BackupStatus {
        let Some(settings) = self.settings.borrow().clone() else {
            return BackupStatus::default();
        };
        let archives = archives(&settings.dir);
        let newest = archives.last().map(|(path, at, bytes)| BackupFile {
            path: path.display().to_string(),
            at: Stamp(jiff::Timestamp::try_from(*at).unwrap_or_default()),
            bytes: *bytes,
        });
        BackupStatus {
            auto: Some(AutoBackupView {
                dir: settings.dir.display().to_string(),
                keep: settings.keep,
                every_secs: self.every.as_secs(),
            }),
            newest,
            count: archives.len(),
            error: self.last_error.lock().clone(),
        }
    }

    /// Writes an archive whenever the newest in the directory is `every` old, until
    /// `stopping`. Settings changed by [`Self::set_up`] take effect at once.
    pub async fn run(self: Arc<Self>, mut stopping: watch::Receiver<bool>) {
        let mut settings = self.settings.subscribe();
        let mut retry_at: Option<SystemTime> = None;
        loop {
            let current = settings.borrow_and_update().clone();
            let wait = current.as_ref().map(|s| self.until_due(s, retry_at));
            tokio::select! {
                _ = stopping.wait_for(|s| *s) => return,
                changed = settings.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    retry_at = None;
                    continue;
                }
                _ = tokio::time::sleep(wait.unwrap_or_default()), if wait.is_some() => {}
            }
            let Some(current) = current else { continue };
            let written = match take(&self.writer, &self.home).await {
                Ok(archive) => {
                    let this = self.clone();
                    tokio::task::spawn_blocking(move || this.write_one(&current, &archive)).await
                }
                Err(e) => Ok(Err(e)),
            };
            let error = match written {
                Ok(Ok(path)) => {
                    tracing::info!(archive = %path.display(), "automatic backup written");
                    None
                }
                Ok(Err(e)) => Some(e.to_string()),
                Err(e) => Some(format!("the backup task failed: {e}")),
            };
            if let Some(error) = &error {
                tracing::warn!("automatic backup failed: {error}");
            }
            retry_at = error
                .is_some()
                .then(|| SystemTime::now() + RETRY.min(self.every));
            *self.last_error.lock() = error;
        }
    }

    /// How long until the next archive is due: `every` after the newest one, and not
    /// before a retry after a failure.
    fn until_due(&self, settings: &AutoBackup, retry_at: Option<SystemTime>) -> Duration {
        let newest = archives(&settings.dir).last().map(|(_, at, _)| *at);
        let due = newest.map_or(SystemTime::UNIX_EPOCH, |at| at + self.every);
        let due = retry_at.map_or(due, |retry| due.max(retry));
        due.duration_since(SystemTime::now()).unwrap_or_default()
    }

    /// Takes a snapshot, writes it encrypted to the directory (0600) and keeps only the
    /// newest `keep`. The new archive is durable under a name no one lists before the
    /// oldest are deleted, and only then takes its place: the directory never holds more
    /// than `keep` archives, nor fewer than `keep - 1` plus the complete new one.
    fn write_one(&self, settings: &AutoBackup, archive: &Archive) -> Result<PathBuf, BackupError> {
        let recipient = parse_recipient(&settings.recipient)?;
        let sealed = archive.seal_to(&recipient)?;
        create_private_dir(&settings.dir)?;
        let name = format!(
            "{PREFIX}{}{SUFFIX}",
            archive.created_at.0.strftime("%Y%m%dT%H%M%S%.3fZ")
        );
        let path = settings.dir.join(&name);
        let incoming = settings.dir.join(format!(".{name}.part"));
        write_file_atomic(&incoming, &sealed, 0o600)?;
        let archives = archives(&settings.dir);
        let surplus = (archives.len() + 1).saturating_sub(settings.keep.max(1) as usize);
        for (old, _, _) in &archives[..surplus.min(archives.len())] {
            std::fs::remove_file(old).map_err(io_at(old))?;
        }
        std::fs::rename(&incoming, &path).map_err(io_at(&path))?;
        sync_dir(&settings.dir)?;
        Ok(path)
    }
}

/// The archives automatic backups wrote in `dir`, oldest first (their names sort by
/// time), with when they were written and their size. Anything else there is ignored.
fn archives(dir: &Path) -> Vec<(PathBuf, SystemTime, u64)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<_> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(PREFIX) && name.ends_with(SUFFIX)
        })
        .filter_map(|e| {
            let meta = e.metadata().ok().filter(|m| m.is_file())?;
            Some((e.path(), meta.modified().ok()?, meta.len()))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}
