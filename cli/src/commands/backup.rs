//! `tandem backup` and `tandem restore`: losing a laptop is a chore, not a loss.
//!
//! The daemon takes the snapshot and encrypts it (it alone holds the documents and the
//! archive format); the passphrase goes to it over the token-guarded loopback API and is
//! never written anywhere. The CLI writes the archive it gets back privately. Restoring
//! is set-up of a new home, done by `tandemd --restore` before any daemon runs on it.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Context;
use tandem_protocol::api::{AutoBackupRequest, BackupRequest};

use super::Ctx;
use crate::api;
use crate::args::{BackupArgs, RestoreArgs};
use crate::safe;
use crate::show::{self, say};

/// A backup older than this makes `tandem doctor` warn.
pub const STALE_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_hours(3 * 24);

/// `tandem backup FILE | --auto DIR [--keep N] | --status`.
pub fn backup(ctx: &Ctx, args: BackupArgs) -> anyhow::Result<()> {
    if args.status {
        return status(ctx);
    }
    if let Some(dir) = args.auto {
        let dir = std::path::absolute(&dir)
            .with_context(|| format!("cannot resolve {}", dir.display()))?;
        let passphrase = passphrase(args.passphrase_file.as_deref(), true)?;
        let status = api::auto_backup(
            &ctx.client,
            &AutoBackupRequest {
                dir: dir.display().to_string(),
                keep: args.keep,
                passphrase,
            },
        )?;
        if ctx.json {
            show::json(&status);
        } else {
            say!(
                "Automatic backups on: one a day to {}, keeping the newest {}.",
                dir.display(),
                args.keep
            );
            say!(
                "Restoring one needs only the passphrase (and identity.age, kept in that directory)."
            );
        }
        return Ok(());
    }
    let file = args.file.expect("clap requires FILE, --auto or --status");
    let passphrase = passphrase(args.passphrase_file.as_deref(), true)?;
    let sealed = api::backup(&ctx.client, &BackupRequest { passphrase })?;
    crate::private_file::write(&file, &sealed)?;
    if ctx.json {
        show::json(&serde_json::json!({ "file": file, "bytes": sealed.len() }));
    } else {
        say!(
            "Backup written to {} ({} KiB). Keep it off this laptop; restore it with `tandem restore`.",
            file.display(),
            sealed.len().div_ceil(1024)
        );
    }
    Ok(())
}

fn status(ctx: &Ctx) -> anyhow::Result<()> {
    let status = api::backup_status(&ctx.client)?;
    if ctx.json {
        show::json(&status);
        return Ok(());
    }
    let Some(auto) = &status.auto else {
        say!("Automatic backups are off: turn them on with `tandem backup --auto DIR`.");
        return Ok(());
    };
    say!(
        "Automatic backups to {}, keeping {} ({} there now).",
        safe::one_line(&auto.dir),
        auto.keep,
        status.count
    );
    match &status.newest {
        Some(newest) => say!(
            "Newest:  {} ({}, {} KiB)",
            safe::one_line(&newest.path),
            show::stamp(&newest.at),
            newest.bytes.div_ceil(1024)
        ),
        None => say!("Newest:  none yet"),
    }
    if let Some(error) = &status.error {
        say!("Last attempt failed: {}", safe::one_line(error));
    }
    Ok(())
}

/// `tandem restore FILE`: runs `tandemd --restore` on this home, handing it the passphrase
/// on its standard input.
pub fn restore(home: &Path, args: RestoreArgs, json: bool) -> anyhow::Result<()> {
    let passphrase = passphrase(args.passphrase_file.as_deref(), false)?;
    let mut child = Command::new(super::demo::tandemd())
        .arg("--home")
        .arg(home)
        .arg("--restore")
        .arg(&args.file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start tandemd: put it next to tandem or on your PATH")?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(format!("{passphrase}\n").as_bytes())
        .context("cannot hand the passphrase to tandemd")?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        let message = String::from_utf8_lossy(&output.stderr);
        let message = message.trim().trim_start_matches("tandemd: ");
        anyhow::bail!("{message}");
    }
    let restored: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("tandemd --restore answered something unexpected")?;
    if json {
        show::json(&restored);
        return Ok(());
    }
    say!(
        "Restored {} into {}: a new device for the same person.",
        safe::one_line(restored["name"].as_str().unwrap_or_default()),
        home.display()
    );
    say!(
        "Next: start tandemd (or `tandem service install`), then `tandem pair` with your partner,"
    );
    say!("and `tandem peer remove OLD-DEVICE` on their laptop to stop trusting the lost one.");
    Ok(())
}

/// The passphrase: the first line of `file`, else asked on the terminal (twice when it
/// is a new one, so a typo does not lock the archive away).
fn passphrase(file: Option<&Path>, new: bool) -> anyhow::Result<String> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the passphrase file {}", file.display()))?;
        let line = text.lines().next().unwrap_or_default().to_owned();
        anyhow::ensure!(
            !line.is_empty(),
            "the passphrase file {} is empty",
            file.display()
        );
        return Ok(line);
    }
    anyhow::ensure!(
        std::io::stdin().is_terminal(),
        "no terminal to ask for the passphrase on: give it with --passphrase-file FILE"
    );
    let first = rpassword::prompt_password("Passphrase: ")?;
    anyhow::ensure!(!first.is_empty(), "the passphrase is empty");
    if new {
        let again = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(
            first == again,
            "the two passphrases differ: nothing was written"
        );
    }
    Ok(first)
}
