//! `tandem repair`: rebuilds a damaged document from a paired device, through
//! `tandemd --repair` (the CLI never opens the store). The daemon's lock makes it refuse
//! while a daemon runs on the home.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Context;
use serde::Deserialize;

use crate::args::RepairArgs;
use crate::safe;
use crate::show::{self, say};

/// What `tandemd --repair` prints on standard output when it is done.
#[derive(Deserialize, serde::Serialize)]
struct Outcome {
    rebuilt: Vec<Rebuilt>,
}

/// One document brought back.
#[derive(Deserialize, serde::Serialize)]
struct Rebuilt {
    document: String,
    from: String,
    partner: bool,
    changes: usize,
    damaged_copy: String,
}

/// The prefix of the line `tandemd` gives its reason for failing on.
const FAILURE_PREFIX: &str = "tandemd: ";

/// Runs `tandemd --repair` on `home`, showing its progress as it comes.
pub fn run(home: &Path, args: RepairArgs, json: bool) -> anyhow::Result<()> {
    let mut child = Command::new(super::demo::tandemd())
        .arg("--home")
        .arg(home)
        .arg("--repair")
        .arg("--repair-wait")
        .arg(args.wait.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start tandemd: put it next to tandem or on your PATH")?;
    let mut failure = None;
    let stderr = child.stderr.take().expect("stderr is piped");
    for line in BufReader::new(stderr).lines() {
        let line = line.context("cannot read what tandemd --repair says")?;
        match line.strip_prefix(FAILURE_PREFIX) {
            Some(reason) => failure = Some(reason.to_owned()),
            None if !json => say!("{}", safe::one_line(&line)),
            None => {}
        }
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        anyhow::bail!(
            "{}",
            failure.unwrap_or_else(|| format!("tandemd --repair failed ({})", output.status))
        );
    }
    let outcome: Outcome = serde_json::from_slice(&output.stdout)
        .context("tandemd --repair answered something unexpected")?;
    if json {
        show::json(&outcome);
        return Ok(());
    }
    if outcome.rebuilt.is_empty() {
        say!("Both documents load: nothing to repair.");
    }
    for rebuilt in &outcome.rebuilt {
        let source = if rebuilt.partner {
            format!("{}'s laptop", safe::one_line(&rebuilt.from))
        } else {
            "your other device".to_owned()
        };
        say!(
            "The {} document is rebuilt from {source}: {}.",
            rebuilt.document,
            show::count(rebuilt.changes as u64, "change", "changes")
        );
        say!(
            "The damaged copy stays in {}: delete it once everything is back.",
            rebuilt.damaged_copy
        );
    }
    say!("Start the daemon again: `tandemd` (or `tandem service install` to keep it running).");
    Ok(())
}
