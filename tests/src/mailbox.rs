//! Two laptops that share only a mailbox folder, for the mailbox's tests and the bench.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{Daemon, Home, eventually, pair};

/// How long a mailbox step may take before a test gives up.
pub const SOON: Duration = Duration::from_secs(15);

/// Pairs two fresh homes (their first connection agrees the mailbox key), then restarts
/// both unable to reach each other: mDNS is off in tests and the remembered addresses are
/// taken out of `peers.toml`.
pub fn apart(names: [&str; 2]) -> (Home, Home, Daemon, Daemon) {
    let (a_home, b_home) = (Home::init(names[0]), Home::init(names[1]));
    let (mut a, mut b) = (a_home.start(), b_home.start());
    pair(&a, &b, false);
    assert!(eventually(SOON, || b.get("/v1/peers").body[0]["connected"] == true));
    assert!(
        eventually(SOON, || keyed_with(&a, 1) && keyed_with(&b, 1)),
        "the pair agreed a mailbox key"
    );
    a.terminate();
    b.terminate();
    for home in [a_home.path(), b_home.path()] {
        forget_addresses(home);
    }
    let (a, b) = (a_home.start(), b_home.start());
    (a_home, b_home, a, b)
}

/// Whether `d`'s peers.toml holds both halves of a mailbox key for `n` peers.
pub fn keyed_with(d: &Daemon, n: usize) -> bool {
    let book = std::fs::read_to_string(d.home().join("peers.toml")).unwrap_or_default();
    book.matches("secret = ").count() == n && book.matches("public = ").count() == n
}

/// Takes the remembered addresses out of the `peers.toml` of `home` (no daemon running
/// on it), so its daemon cannot dial its peers.
pub fn forget_addresses(home: &Path) {
    let path = home.join("peers.toml");
    let book = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = book.lines().filter(|l| !l.starts_with("addrs")).collect();
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();
}

/// Sets `dir` as `d`'s shared mailbox folder; returns the mailbox status.
pub fn set_mailbox(d: &Daemon, dir: &Path) -> Value {
    let reply = d.request(
        "POST",
        "/v1/mailbox",
        Some(&json!({"dir": dir.to_str().unwrap()})),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// The bundles (`<seq>.tdm`) in `device`'s directory of the folder.
pub fn bundles(folder: &Path, device: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder.join(device)) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.ends_with(".tdm")
                && name
                    .trim_end_matches(".tdm")
                    .bytes()
                    .all(|b| b.is_ascii_digit())
        })
        .collect();
    found.sort();
    found
}

/// Waits for a bundle in `device`'s directory that is not in `before`; returns it and
/// when it was first seen (polled every 2 ms).
pub fn new_bundle(folder: &Path, device: &str, before: &[PathBuf]) -> (PathBuf, Instant) {
    let deadline = Instant::now() + SOON;
    loop {
        if let Some(path) = bundles(folder, device)
            .into_iter()
            .find(|p| !before.contains(p))
        {
            return (path, Instant::now());
        }
        assert!(Instant::now() < deadline, "no new bundle from {device}");
        std::thread::sleep(Duration::from_millis(2));
    }
}
