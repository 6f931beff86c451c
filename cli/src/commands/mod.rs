//! One module per command group: each builds a request, calls the API and prints.

pub mod agree;
pub mod backup;
pub mod balance;
pub mod checkin;
pub mod demo;
pub mod doctor;
pub mod export;
pub mod idea;
pub mod init;
pub mod log;
pub mod me;
pub mod note;
pub mod pair;
pub mod phone;
pub mod plan;
pub mod service;
pub mod status;

use jiff::ZonedDateTime;
use tandem_protocol::api::Status;
use tandem_protocol::time::Moment;

use crate::args::TimeArgs;
use crate::client::Client;
use crate::show::Names;
use crate::when::{parse_duration, parse_when};

/// Plans and blocks last this long when neither `--for` nor `--until` is given.
const DEFAULT_LENGTH: &str = "2h";

/// What every command gets.
pub struct Ctx {
    /// The daemon.
    pub client: Client,
    /// `--json` was given.
    pub json: bool,
}

impl Ctx {
    /// Names of both partners, from the daemon's status.
    pub fn names(&self) -> anyhow::Result<Names> {
        let status: Status = self.client.get("/v1/status")?;
        let mut names = Names::new();
        for p in std::iter::once(status.me).chain(status.partner) {
            names.insert(p.id, p.name);
        }
        Ok(names)
    }

    /// Now, in the person's time zone (the daemon's), as the reference for "fri 19:00".
    pub fn now(&self) -> anyhow::Result<ZonedDateTime> {
        let status: Status = self.client.get("/v1/status")?;
        let tz = jiff::tz::TimeZone::get(&status.time_zone)
            .unwrap_or_else(|_| jiff::tz::TimeZone::system());
        Ok(jiff::Timestamp::now().to_zoned_datetime(tz))
    }
}

/// Resolves `--at` with `--for`/`--until` into a start and end. `required` demands `--at`.
pub fn time_range(
    ctx: &Ctx,
    time: &TimeArgs,
    required: bool,
) -> anyhow::Result<Option<(Moment, Moment)>> {
    let Some(at) = &time.at else {
        if required {
            anyhow::bail!("say when with --at, e.g. --at \"fri 19:00\"");
        }
        if time.length.is_some() || time.until.is_some() {
            anyhow::bail!("--for and --until need --at too");
        }
        return Ok(None);
    };
    let now = ctx.now()?;
    let start = parse_when(at, &now)?;
    let end = match (&time.until, &time.length) {
        (Some(until), _) => parse_when(until, &start)?,
        (None, length) => {
            let span = parse_duration(length.as_deref().unwrap_or(DEFAULT_LENGTH))?;
            start.checked_add(span)?
        }
    };
    Ok(Some((Moment(start), Moment(end))))
}
