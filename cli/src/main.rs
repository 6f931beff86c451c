//! `tandem`: the command line of tandem. It only talks to the local daemon's API; the
//! daemon is the single writer of the data.

// Only the daemon needs `unsafe` (two glibc calls in its `memory.rs`).
#![forbid(unsafe_code)]

mod api;
mod args;
mod client;
mod commands;
mod failure;
mod private_file;
mod safe;
mod show;
mod when;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use serde_json::json;
use tandem_protocol::api::{ErrorBody, ErrorDetail};

use crate::show::say_err;
use args::{Cli, Command};
use commands::Ctx;
use failure::Failure;

/// Exit status of a command line clap could not read, as clap itself uses.
const USAGE_EXIT: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let json = cli.json;
    let outcome = run(cli).and_then(|()| Ok(show::stdout_outcome()?));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let failure = Failure::of(&e);
            if json {
                if !failure.already_shown {
                    show::json(&failure.body());
                }
            } else {
                say_err!("tandem: {}", failure.message);
            }
            ExitCode::FAILURE
        }
    }
}

/// A command line clap refused. With `--json` anywhere in it, scripts get the error as
/// JSON on stdout like every other error; help and `--version` are not errors.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let wants_json = std::env::args_os()
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    if !wants_json || matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit();
    }
    let rendered = e.render().to_string();
    let message = rendered
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ");
    show::json(&ErrorBody {
        error: ErrorDetail {
            code: "usage".to_owned(),
            message: format!("{message}; see `tandem --help`"),
            field: None,
        },
    });
    ExitCode::from(USAGE_EXIT)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    when::start_clock()?;
    let home = tandem_protocol::paths::resolve_home(cli.home, |key| std::env::var_os(key));
    match cli.command.unwrap_or(Command::Today) {
        Command::Init(args) => commands::init::run(&home, args, cli.json),
        Command::Demo { no_wait } => commands::demo::run(no_wait, cli.json),
        Command::Restore(args) => commands::backup::restore(&home, args, cli.json),
        Command::Repair(args) => commands::repair::run(&home, args, cli.json),
        Command::Service(c) => commands::service::run(&home, c, cli.json),
        Command::Doctor => commands::doctor::run(&home, cli.json),
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page)?;
            print_generated("man", page, cli.json);
            Ok(())
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "tandem", &mut script);
            print_generated("completions", script, cli.json);
            Ok(())
        }
        command => {
            let ctx = Ctx {
                client: client::Client::connect(&home)?,
                json: cli.json,
            };
            with_daemon(&ctx, command)
        }
    }
}

/// Prints generated text (a manual page, a completion script) exactly, or inside JSON.
fn print_generated(what: &str, text: Vec<u8>, json: bool) {
    if json {
        show::json(&json!({ what: String::from_utf8_lossy(&text) }));
    } else {
        show::stdout_bytes(&text);
    }
}

/// The commands that talk to the running daemon.
fn with_daemon(ctx: &Ctx, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Today => commands::today::run(ctx),
        Command::Status => commands::status::run(ctx),
        Command::Plan(c) => commands::plan::run(ctx, c),
        Command::Idea(c) => commands::idea::run(ctx, c),
        Command::Me(c) => commands::me::run(ctx, c),
        Command::Agree(c) => commands::agree::run(ctx, c),
        Command::Checkin(a) => commands::checkin::run(ctx, a),
        Command::Note(c) => commands::note::run(ctx, c),
        Command::Balance(a) => commands::balance::run(ctx, a),
        Command::Log(a) => commands::log::run(ctx, a),
        Command::Trash(a) => commands::trash::run(ctx, a),
        Command::RestoreItem { id } => commands::trash::restore(ctx, &id),
        Command::Undo => commands::undo::run(ctx),
        Command::Remind => commands::status::remind(ctx),
        Command::Export(a) => commands::export::run(ctx, a),
        Command::Pair(a) => commands::pair::pair(ctx, a),
        Command::Peers { nearby } => commands::pair::peers(ctx, nearby),
        Command::Peer(c) => commands::pair::peer(ctx, c),
        Command::Phone(c) => commands::phone::run(ctx, c),
        Command::Backup(a) => commands::backup::backup(ctx, a),
        Command::Mailbox(c) => commands::mailbox::run(ctx, c),
        other => anyhow::bail!("{other:?} does not talk to the daemon"),
    }
}
