//! Names of the data home and the files in it that both binaries need to agree on.
//!
//! The environment is passed in, so the rule is testable and the crate stays free of I/O.

use std::ffi::OsString;
use std::path::PathBuf;

use thiserror::Error;

/// The config file, written by `tandem init`.
pub const CONFIG_FILE: &str = "config.toml";
/// Where the daemon's local API listens (`127.0.0.1:PORT`), written at each start.
pub const API_ADDR_FILE: &str = "api.addr";
/// The API's bearer token, mode 0600.
pub const API_TOKEN_FILE: &str = "api.token";

/// The data home: `explicit` (from `--home`), else `$TANDEM_HOME`, else
/// `$XDG_DATA_HOME/tandem`, else `$HOME/.local/share/tandem`.
pub fn resolve_home(explicit: Option<PathBuf>, env: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    explicit
        .or_else(|| env("TANDEM_HOME").map(PathBuf::from))
        .unwrap_or_else(|| {
            env("XDG_DATA_HOME")
                .map(PathBuf::from)
                .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local/share")))
                .unwrap_or_else(|| PathBuf::from("."))
                .join("tandem")
        })
}

/// A data home nothing can use yet. Both binaries find these and say them in these words,
/// so `tandem` and `tandemd` never give contradicting advice about the same directory.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum HomeProblem {
    /// `--home` names a file.
    #[error("{0} is a file, not a tandem data directory: give a directory with --home")]
    NotADirectory(PathBuf),
    /// No `config.toml` there (or no directory at all): `tandem init` was never run.
    #[error(
        "there is no tandem data home at {0}: set it up with `tandem init --name YOUR_NAME --home {0}`"
    )]
    NotSetUp(PathBuf),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_then_env_then_platform() {
        let env = |k: &str| match k {
            "TANDEM_HOME" => Some("/t".into()),
            "HOME" => Some("/home/a".into()),
            _ => None,
        };
        assert_eq!(resolve_home(Some("/x".into()), env), PathBuf::from("/x"));
        assert_eq!(resolve_home(None, env), PathBuf::from("/t"));
        let env = |k: &str| (k == "HOME").then(|| OsString::from("/home/a"));
        assert_eq!(
            resolve_home(None, env),
            PathBuf::from("/home/a/.local/share/tandem")
        );
    }
}
