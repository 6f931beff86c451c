//! `tandem`: the command line of tandem. It only talks to the local daemon's API; the
//! daemon is the single writer of the data.

mod args;
mod client;
mod commands;
mod private_file;
mod safe;
mod show;
mod when;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::show::say_err;
use args::{Cli, Command};
use commands::Ctx;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`tandem plan list | head`) is not an error worth a message.
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            say_err!("tandem: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let home = tandem_protocol::paths::resolve_home(cli.home, |key| std::env::var_os(key));
    match cli.command {
        Command::Init(args) => commands::init::run(&home, args, cli.json),
        Command::Demo { no_wait } => commands::demo::run(no_wait),
        Command::Restore(args) => commands::backup::restore(&home, args, cli.json),
        Command::Service(c) => commands::service::run(&home, c),
        Command::Doctor => commands::doctor::run(&home),
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(())
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "tandem", &mut std::io::stdout());
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

/// The commands that talk to the running daemon.
fn with_daemon(ctx: &Ctx, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Status => commands::status::run(ctx),
        Command::Plan(c) => commands::plan::run(ctx, c),
        Command::Idea(c) => commands::idea::run(ctx, c),
        Command::Me(c) => commands::me::run(ctx, c),
        Command::Agree(c) => commands::agree::run(ctx, c),
        Command::Checkin(a) => commands::checkin::run(ctx, a),
        Command::Note(c) => commands::note::run(ctx, c),
        Command::Balance(a) => commands::balance::run(ctx, a),
        Command::Log(a) => commands::log::run(ctx, a),
        Command::Remind => commands::status::remind(ctx),
        Command::Export(a) => commands::export::run(ctx, a),
        Command::Pair(a) => commands::pair::pair(ctx, a),
        Command::Peers { nearby } => commands::pair::peers(ctx, nearby),
        Command::Peer(c) => commands::pair::peer(ctx, c),
        Command::Phone(c) => commands::phone::run(ctx, c),
        Command::Backup(a) => commands::backup::backup(ctx, a),
        other => anyhow::bail!("{other:?} does not talk to the daemon"),
    }
}
