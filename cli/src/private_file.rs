//! Writing files that hold private data (an export with notes, the config) so that no
//! other user can read them, not even for a moment, and nothing is written through a
//! link someone planted where the file goes.
//!
//! The contents go to a new temporary file in the same directory, created 0600 with
//! `O_EXCL` (so it cannot be a pre-existing file or link), then renamed over the target.
//! A rename replaces a symlink rather than following it; a target that is a symlink is
//! refused outright all the same, since the person most likely meant the file it points
//! to and should choose.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Why a private file was not written.
#[derive(Debug, Error)]
pub enum PrivateFileError {
    /// The target is a symbolic link.
    #[error(
        "{0} is a symlink; refusing to write through it (remove the link or choose another path)"
    )]
    Symlink(PathBuf),
    /// The disk refused.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file being written.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}

/// Writes `contents` to `path` atomically with mode 0600.
pub fn write(path: &Path, contents: &[u8]) -> Result<(), PrivateFileError> {
    let io = |source| PrivateFileError::Io {
        path: path.to_owned(),
        source,
    };
    refuse_symlink(path)?;
    let tmp = temporary_beside(path);
    let written = write_new(&tmp, contents).map_err(io).and_then(|()| {
        // Checked again just before the rename: a link planted meanwhile would be
        // replaced by the rename, never followed, but the person should still hear of it.
        refuse_symlink(path)?;
        fs::rename(&tmp, path).map_err(io)
    });
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Creates `path` (which must not exist yet) with mode 0600 and writes it to disk.
fn write_new(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

fn refuse_symlink(path: &Path) -> Result<(), PrivateFileError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            Err(PrivateFileError::Symlink(path.to_owned()))
        }
        _ => Ok(()),
    }
}

/// A fresh hidden name in `path`'s directory (a rename only stays atomic within one
/// file system).
fn temporary_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{:016x}.tmp", rand::random::<u64>()))
}
