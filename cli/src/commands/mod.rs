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
pub mod today;
pub mod trash;
pub mod undo;

use std::fmt::Display;
use std::str::FromStr;

use jiff::ZonedDateTime;
use jiff::civil::Date;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tandem_protocol::api::PersonalTimeView;
use tandem_protocol::model::agreement::{Agreement, AgreementPatch, NewAgreement};
use tandem_protocol::model::idea::{Idea, IdeaPatch, NewIdea};
use tandem_protocol::model::note::{NewNote, Note, NotePatch};
use tandem_protocol::model::personal_time::{NewPersonalTime, PersonalTimePatch};
use tandem_protocol::model::plan::{NewPlan, Plan, PlanPatch};
use tandem_protocol::time::{IsoWeek, Moment};

use crate::api::{self, Collection};
use crate::args::TimeArgs;
use crate::client::Client;
use crate::failure::{NotFound, Usage};
use crate::safe;
use crate::show::{self, Names};
use crate::when::{self, Range, parse_range};

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
        let status = api::status(&self.client)?;
        let mut names = Names::new();
        for p in std::iter::once(status.me).chain(status.partner) {
            names.insert(p.id, p.name);
        }
        Ok(names)
    }

    /// Now (`TANDEM_NOW`'s, in tests), in the person's time zone (the daemon's), as the
    /// reference for "fri 19:00".
    pub fn now(&self) -> anyhow::Result<ZonedDateTime> {
        now_at(&self.client)
    }
}

/// Now in the time zone of the daemon behind `client`.
pub fn now_at(client: &Client) -> anyhow::Result<ZonedDateTime> {
    let status = api::status(client)?;
    let tz =
        jiff::tz::TimeZone::get(&status.time_zone).unwrap_or_else(|_| jiff::tz::TimeZone::system());
    Ok(when::now().to_zoned_datetime(tz))
}

/// A start and end read from the command line, and how the person would say them
/// ("Fri 4 Dec 19:30–22:00"), to echo what was understood.
pub struct Understood {
    /// The start.
    pub start: Moment,
    /// The end.
    pub end: Moment,
    /// Both in local words.
    pub words: String,
}

/// Resolves `--at` with `--for`/`--until` into a start and end, or `None` without `--at`.
pub fn time_range(ctx: &Ctx, time: &TimeArgs) -> anyhow::Result<Option<Understood>> {
    let Some(at) = &time.at else {
        if time.length.is_some() || time.until.is_some() {
            return Err(Usage(
                "--for and --until need --at too, e.g. --at \"fri 19:00\" --for 2h".into(),
            )
            .into());
        }
        return Ok(None);
    };
    let now = ctx.now()?;
    let Range { start, end } = parse_range(
        at,
        time.length.as_deref(),
        time.until.as_deref(),
        DEFAULT_LENGTH,
        time.past,
        &now,
    )?;
    Ok(Some(Understood {
        words: when::span_words(&start, &end, &now),
        start: Moment(start),
        end: Moment(end),
    }))
}

/// [`time_range`] where `--at` is needed.
pub fn required_time(ctx: &Ctx, time: &TimeArgs) -> anyhow::Result<Understood> {
    time_range(ctx, time)?
        .ok_or_else(|| Usage("say when with --at, e.g. --at \"fri 19:00\"".into()).into())
}

/// A collection whose items people name by id or id prefix on the command line.
pub struct Named<I, N, P> {
    /// The item as people say it: "plan".
    pub noun: &'static str,
    /// The command that lists them.
    pub list_command: &'static str,
    /// Its operations.
    pub items: Collection<I, N, P>,
}

/// An item of a [`Named`] collection: its id, and what tells items apart for people.
pub trait Item: DeserializeOwned {
    /// Its full id.
    fn id(&self) -> &str;
    /// Its title, label or text.
    fn label(&self) -> &str;
}

impl Item for Plan {
    fn id(&self) -> &str {
        self.id.as_str()
    }
    fn label(&self) -> &str {
        &self.title
    }
}

impl Item for Idea {
    fn id(&self) -> &str {
        self.id.as_str()
    }
    fn label(&self) -> &str {
        &self.title
    }
}

impl Item for PersonalTimeView {
    fn id(&self) -> &str {
        self.block.id.as_str()
    }
    fn label(&self) -> &str {
        &self.block.label
    }
}

impl Item for Agreement {
    fn id(&self) -> &str {
        self.id.as_str()
    }
    fn label(&self) -> &str {
        &self.text
    }
}

impl Item for Note {
    fn id(&self) -> &str {
        self.id.as_str()
    }
    fn label(&self) -> &str {
        &self.title
    }
}

/// Plans, as `plan show|edit|rsvp|keep|done|cancel` name them.
pub const PLANS: Named<Plan, NewPlan, PlanPatch> = Named {
    noun: "plan",
    list_command: "tandem plan list",
    items: api::PLANS,
};

/// Ideas, as `idea edit|delete` name them.
pub const IDEAS: Named<Idea, NewIdea, IdeaPatch> = Named {
    noun: "idea",
    list_command: "tandem idea list",
    items: api::IDEAS,
};

/// Personal-time blocks, as `me edit|delete` name them.
pub const PERSONAL_TIME: Named<PersonalTimeView, NewPersonalTime, PersonalTimePatch> = Named {
    noun: "personal time",
    list_command: "tandem me list",
    items: api::PERSONAL_TIME,
};

/// Agreements, as `agree accept|edit|delete` name them.
pub const AGREEMENTS: Named<Agreement, NewAgreement, AgreementPatch> = Named {
    noun: "agreement",
    list_command: "tandem agree list",
    items: api::AGREEMENTS,
};

/// Notes, as `note show|edit|delete` name them.
pub const NOTES: Named<Note, NewNote, NotePatch> = Named {
    noun: "note",
    list_command: "tandem note list",
    items: api::NOTES,
};

/// The full id of the one item whose id starts with `typed`. An empty, unknown or
/// ambiguous prefix is refused with the ids to choose from (the daemon only knows that a
/// prefix is ambiguous, not what people call the candidates).
pub fn full_id<I: Item, N: Serialize, P: Serialize>(
    ctx: &Ctx,
    named: &Named<I, N, P>,
    typed: &str,
) -> anyhow::Result<String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(Usage(format!(
            "give the {}'s id (ids are in `{}`)",
            named.noun, named.list_command
        ))
        .into());
    }
    let items = named.items.list(&ctx.client)?;
    let short = show::short_ids(items.iter().map(Item::id));
    let matches: Vec<(usize, &I)> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| item.id().starts_with(typed))
        .collect();
    match matches.as_slice() {
        [(_, item)] => Ok(item.id().to_owned()),
        [] => Err(NotFound(format!(
            "no {} has an id starting with {typed}: see `{}`",
            named.noun, named.list_command
        ))
        .into()),
        several => {
            let listed: Vec<String> = several
                .iter()
                .map(|(n, item)| format!("{} ({})", short[*n], safe::one_line(item.label())))
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

/// Refuses an `edit` command that was given no field to change, naming the `options` it
/// takes.
pub fn some_change(given: bool, options: &str) -> Result<(), Usage> {
    if given {
        Ok(())
    } else {
        Err(Usage(format!("nothing to change: give {options}")))
    }
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
