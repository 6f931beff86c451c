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
pub mod mailbox;
pub mod me;
pub mod note;
pub mod pair;
pub mod phone;
pub mod plan;
pub mod repair;
pub mod service;
pub mod status;
pub mod trash;
pub mod undo;

use std::fmt::Display;
use std::str::FromStr;

use jiff::ZonedDateTime;
use jiff::civil::Date;
use tandem_protocol::api::Status;
use tandem_protocol::time::{IsoWeek, Moment};

use crate::args::TimeArgs;
use crate::client::Client;
use crate::failure::{NotFound, Usage};
use crate::safe;
use crate::show::{self, Names};
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
            return Err(Usage("say when with --at, e.g. --at \"fri 19:00\"".into()).into());
        }
        if time.length.is_some() || time.until.is_some() {
            return Err(Usage(
                "--for and --until need --at too, e.g. --at \"fri 19:00\" --for 2h".into(),
            )
            .into());
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

/// A collection whose items people name by id or id prefix on the command line.
pub struct Named {
    /// The item as people say it: "plan".
    pub noun: &'static str,
    /// Its list route.
    pub path: &'static str,
    /// The field that tells items apart for people: "title".
    pub label: &'static str,
    /// The command that lists them.
    pub list_command: &'static str,
}

impl Named {
    /// The route of the item with the full id `id`.
    pub fn item_path(&self, id: &str) -> String {
        format!("{}/{}", self.path, plan::encode(id))
    }
}

/// Plans, as `plan show|edit|rsvp|keep|done|cancel` name them.
pub const PLANS: Named = Named {
    noun: "plan",
    path: "/v1/plans",
    label: "title",
    list_command: "tandem plan list",
};

/// Ideas, as `idea edit|delete` name them.
pub const IDEAS: Named = Named {
    noun: "idea",
    path: "/v1/ideas",
    label: "title",
    list_command: "tandem idea list",
};

/// Personal-time blocks, as `me edit|delete` name them.
pub const PERSONAL_TIME: Named = Named {
    noun: "personal time",
    path: "/v1/personal-time",
    label: "label",
    list_command: "tandem me list",
};

/// Agreements, as `agree accept|edit|delete` name them.
pub const AGREEMENTS: Named = Named {
    noun: "agreement",
    path: "/v1/agreements",
    label: "text",
    list_command: "tandem agree list",
};

/// Notes, as `note show|edit|delete` name them.
pub const NOTES: Named = Named {
    noun: "note",
    path: "/v1/notes",
    label: "title",
    list_command: "tandem note list",
};

/// The full id of the one item whose id starts with `typed`. An empty, unknown or
/// ambiguous prefix is refused with the ids to choose from (the daemon only knows that a
/// prefix is ambiguous, not what people call the candidates).
pub fn full_id(ctx: &Ctx, named: &Named, typed: &str) -> anyhow::Result<String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(Usage(format!(
            "give the {}'s id (ids are in `{}`)",
            named.noun, named.list_command
        ))
        .into());
    }
    let items: Vec<serde_json::Value> = ctx.client.get(named.path)?;
    let ids: Vec<&str> = items.iter().filter_map(|i| i["id"].as_str()).collect();
    let short = show::short_ids(ids.iter().copied());
    let matches: Vec<(usize, &str)> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| id.starts_with(typed))
        .map(|(n, id)| (n, *id))
        .collect();
    match matches.as_slice() {
        [(_, id)] => Ok((*id).to_owned()),
        [] => Err(NotFound(format!(
            "no {} has an id starting with {typed}: see `{}`",
            named.noun, named.list_command
        ))
        .into()),
        several => {
            let listed: Vec<String> = several
                .iter()
                .map(|(n, _)| {
                    let label = items[*n][named.label].as_str().unwrap_or_default();
                    format!("{} ({})", short[*n], safe::one_line(label))
                })
                .collect();
            Err(Usage(format!(
                "{typed} could be {} {}s: {}; give more of the id",
                several.len(),
                named.noun,
                listed.join(", ")
            ))
            .into())
        }
    }
}

/// The fields an `edit` command was given, as a patch body; refused when it was given
/// none, naming the `options` it takes.
pub fn edited_fields(
    fields: impl IntoIterator<Item = (&'static str, Option<serde_json::Value>)>,
    options: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, Usage> {
    let fields: serde_json::Map<String, serde_json::Value> = fields
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_owned(), value?)))
        .collect();
    if fields.is_empty() {
        return Err(Usage(format!("nothing to change: give {options}")));
    }
    Ok(fields)
}

/// `--week` as an ISO week (or a date in it), or a message showing both forms.
pub fn week_option(text: &str) -> Result<IsoWeek, Usage> {
    text.trim().parse::<IsoWeek>().map_err(|_| {
        Usage(format!(
            "--week {text:?} is not a week: give one like 2026-W49, or a date in it like 2026-12-03"
        ))
    })
}

/// A date option such as `--review`, or a message showing one.
pub fn date_option(option: &str, text: &str) -> Result<Date, Usage> {
    text.trim().parse::<Date>().map_err(|_| {
        Usage(format!(
            "{option} {text:?} is not a date: give one like 2027-03-01"
        ))
    })
}

/// An option whose value is one of `all` (typed with `-`, `_` or a space between words),
/// or a message listing the values as people type them.
pub fn choice<T>(option: &str, text: &str, all: &[T]) -> Result<T, Usage>
where
    T: FromStr + Display + Copy,
{
    text.parse().map_err(|_| {
        let names: Vec<String> = all.iter().map(|v| show::word(&v.to_string())).collect();
        Usage(format!(
            "{option} {text:?} is not one of {}: e.g. {option} {}",
            names.join(", "),
            names.first().map(String::as_str).unwrap_or_default()
        ))
    })
}
