//! Command-line arguments, as clap parses them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// tandem: plans together, time apart, notes to yourself. Talks to your local tandemd.
///
/// Without a command: what needs you (`tandem today`).
#[derive(Parser, Debug)]
#[command(name = "tandem", version, about, propagate_version = true)]
pub struct Cli {
    /// Data directory (default: $TANDEM_HOME, else ~/.local/share/tandem).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Print JSON for scripts instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do; without one, what needs you.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Top-level commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Set up this laptop's data home for a person (run once, before starting tandemd).
    Init(InitArgs),
    /// What needs you: plans and times to answer, new comments, a due check-in,
    /// agreements, conflicts and today's plans (also `tandem` alone).
    Today,
    /// Who you are, your partner, what needs you, and what the daemon holds.
    Status,
    /// Plans for time together.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// The idea jar.
    #[command(subcommand)]
    Idea(IdeaCommand),
    /// Your personal time.
    #[command(subcommand)]
    Me(MeCommand),
    /// Agreements and boundaries.
    #[command(subcommand)]
    Agree(AgreeCommand),
    /// Answer this week's check-in (prompts when run without flags in a terminal).
    Checkin(CheckinArgs),
    /// Private notes that never leave your devices.
    #[command(subcommand)]
    Note(NoteCommand),
    /// Hours together and apart this week against what each of you asked for, and the
    /// next 7 days apart; with --weeks, the trend.
    Balance(BalanceArgs),
    /// What is due: a check-in, plans starting soon, agreements to review.
    Remind,
    /// Recent changes, yours and your partner's.
    Log(LogArgs),
    /// What either of you deleted in the last 30 days; `tandem trash restore ID` brings
    /// one back.
    Trash(TrashArgs),
    /// Bring a deleted plan, idea, personal time, agreement or note back from the trash.
    RestoreItem {
        /// Id or unique prefix, as `tandem trash` shows it.
        id: String,
    },
    /// Revert your last command on this laptop (an add, edit, delete, restore, RSVP or
    /// accept), as a new change both laptops see. Again reverts the one before; there is
    /// no redo. Your partner's changes, check-in answers and settings are never undone.
    Undo,
    /// Pair with your partner's laptop (or your own other device with --own): without a
    /// code, show one; with the code from the other laptop, join it.
    Pair(PairArgs),
    /// Paired devices and whether they are connected.
    Peers {
        /// List tandem devices seen on this network instead (candidates for pairing).
        #[arg(long)]
        nearby: bool,
    },
    /// Manage paired devices.
    #[command(subcommand)]
    Peer(PeerCommand),
    /// Phones on the home network: open tandem in the phone's browser, no app needed.
    #[command(subcommand)]
    Phone(PhoneCommand),
    /// Write everything out as JSON, Markdown or iCalendar.
    Export(ExportArgs),
    /// Sync while apart through a folder you both already sync (a cloud drive, Syncthing, a
    /// USB stick): each laptop drops sealed bundles there that only your devices can open.
    #[command(subcommand)]
    Mailbox(MailboxCommand),
    /// An encrypted archive of both documents and your settings (FILE), or automatic
    /// daily archives in a directory (--auto DIR), or when the last one was made (--status).
    Backup(BackupArgs),
    /// Set up this new laptop from a backup archive: the same person on a new device. Then
    /// pair with your partner again and remove the lost laptop with `tandem peer remove`.
    Restore(RestoreArgs),
    /// Rebuild a damaged document from your partner's laptop or your other device (stop
    /// tandemd first): the damaged files are moved aside, never deleted.
    Repair(RepairArgs),
    /// Two partners on this machine, paired and with a week filled in: try tandem in a minute.
    Demo {
        /// Exit after the scripted part instead of waiting for Ctrl-C.
        #[arg(long)]
        no_wait: bool,
    },
    /// Run tandemd in the background: a systemd user unit (Linux) or launchd agent (macOS).
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Check the daemon, file permissions, paired devices, discovery and clocks; say how to
    /// fix what is wrong.
    Doctor,
    /// Print the manual page (roff): `tandem man > tandem.1; man ./tandem.1`.
    Man,
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// `tandem init`.
#[derive(Args, Debug)]
pub struct InitArgs {
    /// Your name as your partner will see it.
    #[arg(long)]
    pub name: String,
    /// IANA time zone for "this week" (default: the system's).
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Fixed port for the local API (default: any free port).
    #[arg(long)]
    pub api_port: Option<u16>,
}

/// When something starts and how long it lasts. The values may start with a dash, so a
/// negative length reaches tandem's own check (which says why it is refused) instead of
/// clap's advice to write `-- -3h`.
#[derive(Args, Debug, Clone)]
pub struct TimeArgs {
    /// Start: "tonight", "tomorrow evening", "this weekend", "in 2 hours", "fri 19:00",
    /// "2026-12-04 19:30" (--help lists what each means).
    #[arg(
        long = "at",
        value_name = "WHEN",
        allow_hyphen_values = true,
        long_help = crate::when::FORMS
    )]
    pub at: Option<String>,
    /// Length: "2h", "90m", "1h30m" (default 2h); more than zero.
    #[arg(
        long = "for",
        value_name = "DURATION",
        conflicts_with = "until",
        allow_hyphen_values = true
    )]
    pub length: Option<String>,
    /// End instead of a length: "22:00", "sat 01:00"; after the start.
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
    pub until: Option<String>,
    /// Allow a start that has passed (to write down something that already happened).
    #[arg(long)]
    pub past: bool,
}

/// Plan fields both `plan add` and `plan edit` take.
#[derive(Args, Debug, Clone)]
pub struct PlanDetails {
    /// date_night, trip, outing, quality_time or other.
    #[arg(long)]
    pub kind: Option<String>,
    /// Where.
    #[arg(long)]
    pub place: Option<String>,
    /// Notes.
    #[arg(long)]
    pub notes: Option<String>,
    /// Status: idea, proposed, scheduled, done or cancelled.
    #[arg(long)]
    pub status: Option<String>,
}

/// `delete` (alias `rm`) of every kind: which item, and whether to ask first.
#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Id or unique prefix.
    pub id: String,
    /// Delete without asking.
    #[arg(long, short)]
    pub yes: bool,
}

/// `tandem trash`.
#[derive(Args, Debug)]
pub struct TrashArgs {
    /// What to do; without one, list the trash.
    #[command(subcommand)]
    pub command: Option<TrashCommand>,
}

/// Trash subcommands.
#[derive(Subcommand, Debug)]
pub enum TrashCommand {
    /// Bring a deleted item back (same as `tandem restore-item ID`).
    Restore {
        /// Id or unique prefix, as `tandem trash` shows it.
        id: String,
    },
}

/// Plan subcommands.
#[derive(Subcommand, Debug)]
pub enum PlanCommand {
    /// Propose a plan; without --at it has no time yet ("some day").
    Add {
        /// What it is, e.g. "Dinner at Luigi's".
        title: String,
        /// When.
        #[command(flatten)]
        time: TimeArgs,
        /// Kind, place, notes and status (default proposed).
        #[command(flatten)]
        details: PlanDetails,
        /// Repeat: daily, weekly or monthly.
        #[arg(long, value_name = "FREQ")]
        every: Option<String>,
        /// Repeat every N days/weeks/months.
        #[arg(long, default_value_t = 1, requires = "every")]
        interval: u32,
        /// Last day of the repetition (YYYY-MM-DD).
        #[arg(long, value_name = "DATE", requires = "every")]
        repeat_until: Option<String>,
    },
    /// List plans, soonest first.
    List {
        /// Only plans ending after this (date or RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Only plans starting before this.
        #[arg(long)]
        to: Option<String>,
        /// Only plans with this status.
        #[arg(long)]
        status: Option<String>,
        /// Also past and cancelled plans.
        #[arg(long)]
        all: bool,
    },
    /// Show one plan, its comments and the times proposed for it (marks the comments read).
    Show {
        /// Id or unique prefix.
        id: String,
    },
    /// Change a plan.
    Edit {
        /// Id or unique prefix.
        id: String,
        /// New title.
        #[arg(long)]
        title: Option<String>,
        /// New time.
        #[command(flatten)]
        time: TimeArgs,
        /// New kind, place, notes or status.
        #[command(flatten)]
        details: PlanDetails,
        /// Stop repeating.
        #[arg(long)]
        no_repeat: bool,
    },
    /// Answer a plan: yes, no or maybe.
    Rsvp {
        /// Id or unique prefix.
        id: String,
        /// yes, no or maybe.
        answer: String,
    },
    /// Say something about a plan; both of you see it in `tandem plan show`.
    Comment {
        /// Id or unique prefix.
        id: String,
        /// What you want to say.
        text: String,
    },
    /// Suggest another time for your partner's plan; they accept or decline it.
    Propose {
        /// Id or unique prefix.
        id: String,
        /// The time you suggest (--at is needed).
        #[command(flatten)]
        time: TimeArgs,
    },
    /// Take the time your partner suggested for your plan.
    Accept {
        /// Id or unique prefix.
        id: String,
    },
    /// Keep your plan's time instead of the one your partner suggested.
    Decline {
        /// Id or unique prefix.
        id: String,
    },
    /// Restore the value a field lost when you both edited it while apart.
    Keep {
        /// Id or unique prefix.
        id: String,
        /// The field, e.g. title, place, start.
        field: String,
    },
    /// Mark a plan as done.
    Done {
        /// Id or unique prefix.
        id: String,
    },
    /// Cancel a plan (it stays in the history).
    Cancel {
        /// Id or unique prefix.
        id: String,
    },
    /// Put a plan in the trash (`tandem restore-item ID` brings it back).
    #[command(visible_alias = "rm")]
    Delete(DeleteArgs),
}

/// Idea jar subcommands.
#[derive(Subcommand, Debug)]
pub enum IdeaCommand {
    /// Put an idea in the jar.
    Add {
        /// What to do together.
        title: String,
        /// Details.
        #[arg(long)]
        notes: Option<String>,
    },
    /// Everything in the jar.
    List,
    /// Draw one idea from the jar at random, passing over the last few drawn.
    Draw,
    /// Turn an idea into a proposed plan (it leaves the jar); without --at, some day.
    Plan {
        /// Id or unique prefix.
        id: String,
        /// When.
        #[command(flatten)]
        time: TimeArgs,
        /// date-night, trip, outing, quality-time or other.
        #[arg(long)]
        kind: Option<String>,
    },
    /// Take an idea out of the jar without deleting it.
    Retire {
        /// Id or unique prefix.
        id: String,
    },
    /// Change an idea.
    Edit {
        /// Id or unique prefix.
        id: String,
        /// New title.
        #[arg(long)]
        title: Option<String>,
        /// New notes.
        #[arg(long)]
        notes: Option<String>,
    },
    /// Put an idea in the trash (`tandem restore-item ID` brings it back).
    #[command(visible_alias = "rm")]
    Delete(DeleteArgs),
}

/// Personal time subcommands.
#[derive(Subcommand, Debug)]
pub enum MeCommand {
    /// Block personal time.
    Add {
        /// When.
        #[command(flatten)]
        time: TimeArgs,
        /// What your partner sees (default "personal time").
        #[arg(long)]
        label: Option<String>,
        /// What it is really for; stays private to you.
        #[arg(long)]
        details: Option<String>,
    },
    /// Personal-time blocks, both of yours (with details) and your partner's (hours only).
    List,
    /// Change a block of your personal time.
    Edit {
        /// Id or unique prefix.
        id: String,
        /// New time.
        #[command(flatten)]
        time: TimeArgs,
        /// New label your partner sees.
        #[arg(long)]
        label: Option<String>,
        /// New private details.
        #[arg(long)]
        details: Option<String>,
    },
    /// Put a block of your personal time in the trash (only yours; `tandem restore-item
    /// ID` brings it back).
    #[command(visible_alias = "rm")]
    Delete(DeleteArgs),
}

/// Agreement subcommands.
#[derive(Subcommand, Debug)]
pub enum AgreeCommand {
    /// Propose an agreement.
    Add {
        /// The agreement, e.g. "no phones at dinner".
        text: String,
        /// When to review it (YYYY-MM-DD; default in 90 days).
        #[arg(long, value_name = "DATE")]
        review: Option<String>,
    },
    /// All agreements and who accepted them.
    List,
    /// Accept an agreement.
    Accept {
        /// Id or unique prefix.
        id: String,
    },
    /// Change an agreement (new wording must be accepted by both again).
    Edit {
        /// Id or unique prefix.
        id: String,
        /// New wording.
        #[arg(long)]
        text: Option<String>,
        /// New review date (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        review: Option<String>,
    },
    /// Put an agreement in the trash (`tandem restore-item ID` brings it back).
    #[command(visible_alias = "rm")]
    Delete(DeleteArgs),
}

/// `tandem checkin`.
#[derive(Args, Debug)]
pub struct CheckinArgs {
    /// What to do; without one, answer this week's check-in.
    #[command(subcommand)]
    pub command: Option<CheckinCommand>,
    /// "I had enough time to myself", 1–5.
    #[arg(long, value_name = "1-5")]
    pub alone: Option<i64>,
    /// "I had enough time with you", 1–5.
    #[arg(long, value_name = "1-5")]
    pub together: Option<i64>,
    /// What went well.
    #[arg(long)]
    pub went_well: Option<String>,
    /// What I need next week.
    #[arg(long)]
    pub need: Option<String>,
    /// The week, e.g. 2026-W48 (default: this week).
    #[arg(long)]
    pub week: Option<String>,
}

/// Check-in subcommands.
#[derive(Subcommand, Debug)]
pub enum CheckinCommand {
    /// Past check-ins you may see.
    List,
}

/// Note subcommands.
#[derive(Subcommand, Debug)]
pub enum NoteCommand {
    /// Write a note (text from the argument, or standard input).
    Add {
        /// The text; read from standard input when absent.
        text: Option<String>,
        /// Title (default: the first line).
        #[arg(long)]
        title: Option<String>,
    },
    /// Your notes, newest last.
    List,
    /// Show one note.
    Show {
        /// Id or unique prefix.
        id: String,
    },
    /// Change a note.
    Edit {
        /// Id or unique prefix.
        id: String,
        /// New title.
        #[arg(long)]
        title: Option<String>,
        /// New text.
        #[arg(long)]
        body: Option<String>,
    },
    /// Put a note in the trash: it disappears from every list and export.
    ///
    /// Put a note in the trash: it disappears from every list and export, and
    /// `tandem restore-item ID` brings it back. Its earlier versions stay in the history
    /// of your private document on your own devices (the note never left them), so
    /// deleting it does not erase it from those disks.
    #[command(visible_alias = "rm")]
    Delete(DeleteArgs),
}

/// `tandem balance`.
#[derive(Args, Debug)]
pub struct BalanceArgs {
    /// Week, e.g. 2026-W48 or a date in it (default: this week).
    #[arg(long, conflicts_with = "weeks")]
    pub week: Option<String>,
    /// The trend over this many weeks up to this one (1 to 52): a chart of hours
    /// together and apart against what each asked for.
    #[arg(long, value_name = "N")]
    pub weeks: Option<u32>,
    /// Time zone of the week (default: the daemon's).
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
}

/// `tandem pair`.
#[derive(Args, Debug)]
pub struct PairArgs {
    /// The code shown on the other laptop; omit it to show a code here.
    pub code: Option<String>,
    /// The other laptop's peer address, HOST:PORT, when mDNS cannot find it.
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,
    /// Pair your own other device: it also gets your private notes.
    #[arg(long)]
    pub own: bool,
    /// Show the code and return instead of waiting for the other laptop.
    #[arg(long)]
    pub no_wait: bool,
}

/// Service subcommands.
#[derive(Subcommand, Debug)]
pub enum ServiceCommand {
    /// Write, enable and start the service (harmless to repeat).
    Install {
        /// Print what would be written instead.
        #[arg(long)]
        dry_run: bool,
    },
    /// Stop, disable and remove the service.
    Uninstall {
        /// Say what would be removed instead.
        #[arg(long)]
        dry_run: bool,
    },
    /// Whether the service is installed, enabled and running.
    Status,
}

/// Peer subcommands.
#[derive(Subcommand, Debug)]
pub enum PeerCommand {
    /// Connect to a paired device at a known address (when discovery cannot find it).
    Add {
        /// HOST:PORT of its peer port.
        addr: String,
    },
    /// Unpair a device: it is disconnected and refused from now on.
    Remove {
        /// Its device id (or the start of it, as `tandem peers` shows).
        id: String,
    },
}

/// `tandem log`.
#[derive(Args, Debug)]
pub struct LogArgs {
    /// How many entries.
    #[arg(long, short = 'n', default_value_t = 20)]
    pub limit: usize,
}

/// Export formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// Everything, machine-readable.
    Json,
    /// Readable document.
    Markdown,
    /// Plans and personal time for calendars.
    Ics,
}

/// `tandem export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
    pub format: ExportFormat,
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `tandem mailbox`.
#[derive(Subcommand, Debug)]
pub enum MailboxCommand {
    /// Use DIR as the mailbox: the same synced folder on both laptops (its path may differ).
    Set {
        /// The folder (it must exist; tandem writes only its own sub-folder there).
        dir: PathBuf,
        /// The folder your own devices share for your private notes; never give your
        /// partner this one.
        #[arg(long)]
        own: bool,
    },
    /// Stop using the mailbox folder (its files stay where they are).
    Off {
        /// The own-devices folder instead.
        #[arg(long)]
        own: bool,
    },
    /// The folders, what this laptop last wrote and read, and what is missing.
    Status,
}

/// `tandem backup`.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["file", "auto", "status"])))]
pub struct BackupArgs {
    /// Write the archive here (mode 0600; never through a symlink).
    pub file: Option<PathBuf>,
    /// Instead, let the daemon write one archive a day to this directory (another disk, a
    /// synced folder). Asks for a passphrase once; restoring any of them needs only it.
    #[arg(long, value_name = "DIR")]
    pub auto: Option<PathBuf>,
    /// With --auto: how many archives to keep.
    #[arg(long, value_name = "N", default_value_t = 7, requires = "auto")]
    pub keep: u32,
    /// Show the automatic backups' directory and newest archive.
    #[arg(long)]
    pub status: bool,
    /// Read the passphrase from the first line of this file instead of asking.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// `tandem restore`.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The archive: from `tandem backup FILE`, or one of the automatic ones (its directory's
    /// identity.age must be beside it).
    pub file: PathBuf,
    /// Read the passphrase from the first line of this file instead of asking.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// `tandem repair`.
#[derive(Args, Debug)]
pub struct RepairArgs {
    /// How long to wait for a paired device to answer and sync, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub wait: u64,
}

/// `tandem phone ...`
#[derive(Subcommand, Debug)]
pub enum PhoneCommand {
    /// Let a phone in: turns on the HTTPS listener for phones and shows a QR code to scan.
    Add {
        /// What to call it, e.g. "Alex's Pixel".
        name: String,
    },
    /// Phones allowed in.
    List,
    /// Shut a phone out at once (by id or name).
    Revoke {
        /// Its id (or a prefix) or name, from `tandem phone list`.
        phone: String,
    },
}
