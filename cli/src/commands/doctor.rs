//! `tandem doctor`: checks what tandem needs and says how to fix what is wrong.
//!
//! Each check prints `ok` or `PROBLEM` with an action. The exit status is non-zero when
//! anything needs fixing, so scripts and support can rely on it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde::Serialize;
use serde_json::json;
use tandem_protocol::api::PeerStatus;
use tandem_protocol::paths::API_TOKEN_FILE;

use crate::api;
use crate::client::Client;
use crate::failure::Reported;
use crate::show::{self, say};

/// Clock difference between laptops worth a warning: timestamps in the feed and in
/// conflicts would mislead, and reminders would fire at odd times.
const MAX_SKEW_MS: i64 = 60_000;

/// How a finding is printed and whether it fails the run.
#[derive(Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Level {
    /// Works.
    Ok,
    /// Works, but worth knowing (a paired laptop is off, or runs a newer tandem): nothing
    /// to fix on this laptop.
    Note,
    /// Needs fixing: the run exits non-zero.
    Problem,
}

/// One finding.
#[derive(Serialize)]
struct Finding {
    level: Level,
    text: String,
}

fn ok(text: impl Into<String>) -> Finding {
    Finding {
        level: Level::Ok,
        text: text.into(),
    }
}

fn note(text: impl Into<String>) -> Finding {
    Finding {
        level: Level::Note,
        text: text.into(),
    }
}

fn problem(text: impl Into<String>) -> Finding {
    Finding {
        level: Level::Problem,
        text: text.into(),
    }
}

fn check_files(home: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    let token = home.join(API_TOKEN_FILE);
    match std::fs::metadata(&token) {
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => out.push(problem(format!(
            "{} can be read by other users (mode {:o}): run `chmod 600 {}`",
            token.display(),
            meta.permissions().mode() & 0o777,
            token.display()
        ))),
        Ok(_) => out.push(ok("the API token is private (mode 600)")),
        Err(_) => out.push(problem(format!(
            "no API token in {}: start the daemon once (`tandemd`)",
            home.display()
        ))),
    }
    if let Ok(meta) = std::fs::metadata(home)
        && meta.permissions().mode() & 0o077 != 0
    {
        out.push(problem(format!(
            "{} is open to other users: run `chmod 700 {}`",
            home.display(),
            home.display()
        )));
    }
    out
}

fn check_daemon(home: &Path) -> (Vec<Finding>, Option<Client>) {
    let client = match Client::connect(home) {
        Ok(client) => client,
        Err(e) => {
            return (
                vec![problem(format!(
                    "{e} (or `tandem service install` to keep it running)"
                ))],
                None,
            );
        }
    };
    match api::status(&client) {
        Ok(status) => (
            vec![ok(format!(
                "tandemd {} is running for {}",
                status.version, status.me.name
            ))],
            Some(client),
        ),
        Err(e) => (
            vec![problem(format!(
                "{e} (or `tandem service install` to keep it running)"
            ))],
            None,
        ),
    }
}

fn check_peers(client: &Client) -> anyhow::Result<Vec<Finding>> {
    let mut out = Vec::new();
    let peers = api::peers(client)?;
    if peers.is_empty() {
        out.push(ok(
            "no paired devices yet (`tandem pair` to pair with your partner)",
        ));
    }
    for p in &peers {
        if p.connected {
            out.push(ok(format!(
                "{} is connected{}",
                p.name,
                if p.in_sync {
                    " and in sync"
                } else {
                    ", syncing"
                }
            )));
        } else {
            let last = p
                .last_seen
                .map(|s| format!(", last seen {}", show::stamp(&s)))
                .unwrap_or_default();
            let addr = p.addr.as_deref().unwrap_or("no known address");
            out.push(note(format!(
                "{} ({addr}) is not reachable{last}: is that laptop on and on this network? If its address changed, run `tandem peer add HOST:PORT`",
                p.name
            )));
        }
        if let Some(skew) = p.clock_skew_ms.filter(|s| s.abs() > MAX_SKEW_MS) {
            out.push(problem(format!(
                "{}'s clock is {:.0} s {} yours: turn on automatic time on both laptops",
                p.name,
                skew.abs() as f64 / 1000.0,
                if skew > 0 { "ahead of" } else { "behind" }
            )));
        }
    }
    let status = api::status(client)?;
    out.extend(
        super::status::newer_tandem_notes(&status, &peers)
            .into_iter()
            .map(note),
    );
    if !status.mdns {
        out.push(ok(
            "mDNS is off: paired devices are reached at remembered addresses",
        ));
        return Ok(out);
    }
    let nearby = api::nearby(client)?;
    let unseen: Vec<&PeerStatus> = peers
        .iter()
        .filter(|p| !nearby.iter().any(|n| n.device_id == p.device_id))
        .collect();
    if !peers.is_empty() && !unseen.is_empty() {
        let names: Vec<&str> = unseen.iter().map(|p| p.name.as_str()).collect();
        out.push(problem(format!(
            "mDNS does not see {} on this network (it may be off, or the Wi-Fi blocks multicast): remembered addresses and `tandem peer add HOST:PORT` still work",
            names.join(", ")
        )));
    } else if !peers.is_empty() {
        out.push(ok("every paired device is visible by mDNS"));
    }
    Ok(out)
}

/// Whether automatic backups are on and the newest is recent.
fn check_backups(client: &Client) -> anyhow::Result<Finding> {
    let status = api::backup_status(client)?;
    let Some(auto) = &status.auto else {
        return Ok(note(
            "no automatic backups: `tandem backup --auto DIR` keeps a daily archive (on another disk), so losing this laptop loses nothing",
        ));
    };
    let why = status
        .error
        .as_deref()
        .map(|e| format!(" (last attempt: {e})"))
        .unwrap_or_default();
    let Some(newest) = &status.newest else {
        return Ok(problem(format!(
            "no backup in {} yet{why}: is that directory's disk there and writable?",
            auto.dir
        )));
    };
    let age = jiff::Timestamp::now().duration_since(newest.at.0);
    if age > super::backup::STALE_AFTER {
        return Ok(problem(format!(
            "the newest backup in {} is {} days old{why}: is that directory's disk there and writable? Is tandemd running?",
            auto.dir,
            age.as_hours() / 24
        )));
    }
    Ok(ok(format!(
        "the newest backup in {} is from {}",
        auto.dir,
        show::stamp(&newest.at)
    )))
}

/// A partner whose bundles have not arrived for this long gets a note.
const MAILBOX_SILENCE: jiff::SignedDuration = jiff::SignedDuration::from_hours(7 * 24);

/// Each mailbox folder: usable here (a PROBLEM otherwise), and each device keyed and
/// heard from lately (notes: the other laptop may simply be off).
fn check_mailbox(client: &Client) -> anyhow::Result<Vec<Finding>> {
    let status = api::mailbox_status(client)?;
    let mut out = Vec::new();
    for folder in [&status.shared, &status.own].into_iter().flatten() {
        match &folder.error {
            Some(error) => out.push(problem(format!("mailbox {}: {error}", folder.dir))),
            None => out.push(ok(format!("the mailbox {} is usable", folder.dir))),
        }
        for device in &folder.devices {
            if let Some(why) = &device.note {
                out.push(note(format!("mailbox with {}: {why}", device.name)));
                continue;
            }
            let silent = device
                .last_read
                .is_none_or(|at| jiff::Timestamp::now().duration_since(at.0) > MAILBOX_SILENCE);
            if silent {
                let since = device.last_read.map_or_else(
                    || "yet".to_owned(),
                    |at| format!("since {}", show::stamp(&at)),
                );
                out.push(note(format!(
                    "nothing from {} in the mailbox {since}: has that laptop set the same folder (`tandem mailbox set DIR`), and does the folder sync there?",
                    device.name
                )));
            }
        }
    }
    Ok(out)
}

/// A document `tandemd --check` found damaged.
#[derive(serde::Deserialize)]
struct Damage {
    document: String,
    file: String,
    problem: String,
}

/// What `tandemd --check` prints.
#[derive(serde::Deserialize)]
struct CheckReport {
    damaged: Vec<Damage>,
}

/// While no daemon runs: whether its documents load, asked of `tandemd --check` (the CLI
/// never opens the store). A damaged one stops the daemon from starting; the finding gives
/// the exact command that rebuilds it.
fn check_documents(home: &Path) -> Vec<Finding> {
    let checked = std::process::Command::new(super::demo::tandemd())
        .arg("--home")
        .arg(home)
        .arg("--check")
        .stdin(std::process::Stdio::null())
        .output();
    let output = match checked {
        Ok(output) => output,
        Err(e) => {
            return vec![note(format!(
                "cannot run tandemd to check the documents: {e}"
            ))];
        }
    };
    if !output.status.success() {
        let why = String::from_utf8_lossy(&output.stderr);
        let why = why.trim().trim_start_matches("tandemd: ");
        return vec![note(format!("the documents could not be checked: {why}"))];
    }
    let report: CheckReport = match serde_json::from_slice(&output.stdout) {
        Ok(report) => report,
        Err(_) => return vec![note("tandemd --check answered something unexpected")],
    };
    if report.damaged.is_empty() {
        return vec![ok("no document is damaged")];
    }
    let repair = repair_command(home);
    report
        .damaged
        .into_iter()
        .map(|d| {
            problem(format!(
                "the {} document is damaged ({}: {}), so tandemd cannot start: rebuild it from your partner's laptop or your other device with `{repair}` (the damaged files are kept)",
                d.document, d.file, d.problem
            ))
        })
        .collect()
}

/// `tandem repair`, with `--home` when `home` is not the one found without it.
fn repair_command(home: &Path) -> String {
    let default = tandem_protocol::paths::resolve_home(None, |key| std::env::var_os(key));
    if default == home {
        "tandem repair".to_owned()
    } else {
        format!("tandem --home {} repair", home.display())
    }
}

/// Runs every check; fails if anything needs fixing on this laptop.
pub fn run(home: &Path, json: bool) -> anyhow::Result<()> {
    let (mut findings, client) = check_daemon(home);
    findings.extend(check_files(home));
    if let Some(client) = &client {
        findings.extend(check_peers(client)?);
        findings.push(check_backups(client)?);
        findings.extend(check_mailbox(client)?);
    } else if home.join(tandem_protocol::paths::CONFIG_FILE).exists() {
        findings.extend(check_documents(home));
    }
    let problems = findings
        .iter()
        .filter(|f| f.level == Level::Problem)
        .count();
    let verdict = format!("{problems} problem(s) found; see above");
    if json {
        show::json(&json!({ "problems": problems, "findings": findings }));
        if problems > 0 {
            return Err(Reported(verdict).into());
        }
        return Ok(());
    }
    for f in &findings {
        let label = match f.level {
            Level::Ok => "ok      ",
            Level::Note => "note    ",
            Level::Problem => "PROBLEM ",
        };
        say!("{label} {}", f.text);
    }
    anyhow::ensure!(problems == 0, verdict);
    Ok(())
}
