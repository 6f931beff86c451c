//! `tandemd`: parses arguments and runs the daemon.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use std::process::ExitCode;

use clap::Parser;
use tandem_daemon::daemon::{self, Options};
use tandem_daemon::home::Home;
use tracing_subscriber::EnvFilter;

/// Tandem's background daemon: keeps a couple's plans and one's private notes, serves the
/// local API the `tandem` command uses.
#[derive(Parser, Debug)]
#[command(name = "tandemd", version, about)]
struct Args {
    /// Data directory (default: $TANDEM_HOME, else ~/.local/share/tandem).
    #[arg(long, value_name = "DIR")]
    home: Option<PathBuf>,
    /// Port of the local API on 127.0.0.1 (default: api_port of config.toml, 0 = any free).
    #[arg(long, value_name = "PORT")]
    api_port: Option<u16>,
    /// Port other devices dial (default: peer_port of config.toml, else the last one used).
    #[arg(long, value_name = "PORT")]
    peer_port: Option<u16>,
    /// Address the peer listener binds (default 0.0.0.0, the home network).
    #[arg(long, value_name = "IP")]
    peer_listen: Option<std::net::IpAddr>,
    /// Address phones' HTTPS listener binds once a phone is added (default 0.0.0.0).
    #[arg(long, value_name = "IP")]
    lan_listen: Option<std::net::IpAddr>,
    /// How often to check for due reminders, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    remind_every: u64,
    /// Do not announce or look for devices with mDNS (manual `tandem peer add` still works).
    #[arg(long)]
    no_mdns: bool,
    /// Network interface for mDNS (repeatable; default: all that are up).
    #[arg(long = "mdns-interface", value_name = "NAME")]
    mdns_interfaces: Vec<String>,
    /// Your name: sets up a fresh data home on first start (like `tandem init --name`).
    #[arg(long)]
    name: Option<String>,
    /// Set up this new, empty data home from a backup archive, then exit (`tandem restore`
    /// runs this). The passphrase comes from --passphrase-file, else standard input.
    #[arg(long, value_name = "FILE")]
    restore: Option<PathBuf>,
    /// File whose first line is the archive's passphrase.
    #[arg(long, value_name = "FILE", requires = "restore")]
    passphrase_file: Option<PathBuf>,
    /// Load each document as start-up does, print the damaged ones as JSON, then exit
    /// (`tandem doctor` runs this while no daemon runs).
    #[arg(long, conflicts_with_all = ["restore", "repair"])]
    check: bool,
    /// Rebuild damaged documents from a paired device that holds them, then exit (`tandem
    /// repair` runs this). The damaged files are moved aside, never deleted.
    #[arg(long, conflicts_with = "restore")]
    repair: bool,
    /// How long the repair waits for a paired device to sync, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60, requires = "repair")]
    repair_wait: u64,
}

/// Restores `archive` into `home` and prints the person restored as JSON.
fn restore(home: &Home, archive: &Path, passphrase_file: Option<&Path>) -> ExitCode {
    let passphrase = match read_passphrase(passphrase_file) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("tandemd: cannot read the passphrase: {e}");
            return ExitCode::FAILURE;
        }
    };
    match tandem_daemon::restore::restore_file(home, archive, &passphrase) {
        Ok(restored) => {
            let person = serde_json::json!({
                "person": restored.config.person_id,
                "name": restored.config.name,
                "home": home.root(),
            });
            println!("{person}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tandemd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The first line of `file`, else of standard input, without its line ending.
fn read_passphrase(file: Option<&Path>) -> std::io::Result<SecretString> {
    let text = match file {
        Some(path) => std::fs::read_to_string(path)?,
        None => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line
        }
    };
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        return Err(std::io::Error::other("it is empty"));
    }
    Ok(SecretString::from(line.to_owned()))
}

/// Prints the damaged documents of `home` as JSON.
fn check(home: &Home) -> ExitCode {
    match tandem_daemon::repair::check(home) {
        Ok(damaged) => {
            println!("{}", serde_json::json!({ "damaged": damaged }));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tandemd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Repairs the documents of `options.home`: progress for a person on standard error, what
/// was rebuilt as JSON on standard output.
async fn repair(options: Options, wait: std::time::Duration) -> ExitCode {
    let progress = |line: &str| eprintln!("{line}");
    let stop = tandem_daemon::shutdown::signal();
    match tandem_daemon::repair::repair(&options, wait, stop, progress).await {
        Ok(rebuilt) => {
            println!("{}", serde_json::json!({ "rebuilt": rebuilt }));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tandemd: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    // Before any thread exists, as glibc asks.
    tandem_daemon::memory::use_few_arenas();
    // Crash points named in `FAILPOINTS`, for the end-to-end crash tests; without the
    // `crash-points` feature there are none and this does nothing.
    let _crash_points = fail::FailScenario::setup();
    let args = Args::parse();
    if let Some(archive) = &args.restore {
        return restore(
            &Home::resolve(args.home),
            archive,
            args.passphrase_file.as_deref(),
        );
    }
    if args.check {
        return check(&Home::resolve(args.home));
    }
    // A repair talks to a person through its standard error: only its own errors are
    // logged there unless RUST_LOG asks for more (it reports the damage Automerge logs).
    let quiet = if args.repair {
        "error,automerge=off"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(quiet)),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, never escape codes in a log file.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    if let Err(e) = tandem_daemon::clock::init() {
        eprintln!("tandemd: {e}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tandemd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = Options {
        home: Home::resolve(args.home),
        api_port: args.api_port,
        peer_port: args.peer_port,
        peer_listen: args.peer_listen,
        lan_listen: args.lan_listen,
        no_mdns: args.no_mdns,
        remind_every: std::time::Duration::from_secs(args.remind_every.max(1)),
        mdns_interfaces: args.mdns_interfaces,
        name: args.name,
    };
    if args.repair {
        let wait = std::time::Duration::from_secs(args.repair_wait);
        return runtime.block_on(repair(options, wait));
    }
    match runtime.block_on(daemon::run(options, tandem_daemon::shutdown::signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandemd: {e}");
            ExitCode::FAILURE
        }
    }
}
