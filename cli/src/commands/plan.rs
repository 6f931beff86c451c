//! `tandem plan add|list|show|edit|rsvp|comment|propose|accept|decline|keep|done|cancel|
//! delete`.

use std::collections::BTreeSet;

use jiff::ZonedDateTime;
use tandem_protocol::api::{KeepRequest, PlanQuery, TimeBound};
use tandem_protocol::inbox::NeedsMeKind;
use tandem_protocol::model::plan::{
    Frequency, NewComment, NewPlan, NewProposal, Plan, PlanKind, PlanPatch, PlanStatus,
    ProposalOutcome, Recurrence, Rsvp, RsvpRequest,
};
use tandem_protocol::time::{Day, Moment};

use super::{Ctx, PLANS, choice, date_option, full_id, required_time, time_range};
use crate::api;
use crate::args::{PlanCommand, PlanDetails};
use crate::failure::Usage;
use crate::safe;
use crate::show::{self, say};
use crate::when;

/// Runs a plan subcommand.
pub fn run(ctx: &Ctx, command: PlanCommand) -> anyhow::Result<()> {
    match command {
        PlanCommand::Add {
            title,
            time,
            details,
            every,
            interval,
            repeat_until,
        } => {
            let time = time_range(ctx, &time)?;
            let details = Details::of(details)?;
            let recurrence = match every {
                Some(every) => Some(Recurrence {
                    every: choice("--every", &every, Frequency::ALL)?,
                    interval,
                    until: repeat_until
                        .map(|d| date_option("--repeat-until", &d).map(Day))
                        .transpose()?,
                }),
                None => None,
            };
            let (start, end) = time.map(|t| (t.start, t.end)).unzip();
            let new = NewPlan {
                title,
                kind: details.kind,
                start,
                end,
                place: details.place,
                notes: details.notes,
                status: details.status,
                recurrence,
            };
            let plan = PLANS.items.create(&ctx.client, &new)?;
            print_one(ctx, &plan, "Proposed")
        }
        PlanCommand::List {
            from,
            to,
            status,
            all,
        } => {
            let status = status
                .map(|s| choice("--status", &s, PlanStatus::ALL))
                .transpose()?;
            let query = PlanQuery {
                status,
                from: from.map(|f| time_bound("--from", &f)).transpose()?,
                to: to.map(|t| time_bound("--to", &t)).transpose()?,
            };
            let window = query.from.is_some() || query.to.is_some();
            let listed = api::list_plans(&ctx.client, &query)?;
            let now = ctx.now()?;
            let plans: Vec<Plan> = listed
                .into_iter()
                .filter(|p| {
                    all || status == Some(PlanStatus::Cancelled)
                        || p.status != PlanStatus::Cancelled
                })
                .filter(|p| all || window || !is_past(p, &now))
                .collect();
            if ctx.json {
                show::json(&plans);
                return Ok(());
            }
            list(ctx, &plans, &now, all)
        }
        PlanCommand::Show { id } => {
            let id = full_id(ctx, &PLANS, &id)?;
            let plan = PLANS.items.get(&ctx.client, &id)?;
            let conflicts = api::plan_conflicts(&ctx.client, &id)?;
            // Shown is read: what needs me stops listing its comments.
            api::seen_plan(&ctx.client, &id)?;
            if ctx.json {
                let mut value = serde_json::to_value(&plan)?;
                value["conflicts"] = serde_json::to_value(&conflicts)?;
                show::json(&value);
                return Ok(());
            }
            print_one(ctx, &plan, "")?;
            for c in &conflicts {
                let who = c
                    .by_name
                    .as_deref()
                    .map_or("someone".into(), safe::one_line);
                let when =
                    c.at.map(|at| format!(", {}", show::stamp(&at)))
                        .unwrap_or_default();
                say!(
                    "conflict:  {} was also {} ({who}{when}); keep it with `tandem plan keep {} {}`",
                    safe::one_line(&c.field),
                    safe::one_line(&c.value.to_string()),
                    show::short_id(plan.id.as_str()),
                    safe::one_line(&c.field)
                );
            }
            Ok(())
        }
        PlanCommand::Keep { id, field } => {
            let id = full_id(ctx, &PLANS, &id)?;
            let plan = api::keep_plan_value(&ctx.client, &id, &KeepRequest { field })?;
            print_one(ctx, &plan, "Kept")
        }
        PlanCommand::Edit {
            id,
            title,
            time,
            details,
            no_repeat,
        } => {
            let id = full_id(ctx, &PLANS, &id)?;
            let (start, end) = time_range(ctx, &time)?.map(|t| (t.start, t.end)).unzip();
            let details = Details::of(details)?;
            let patch = PlanPatch {
                title,
                kind: details.kind,
                start,
                end,
                place: details.place,
                notes: details.notes,
                status: details.status,
                recurrence: no_repeat.then_some(None),
            };
            let given = patch.title.is_some()
                || patch.kind.is_some()
                || patch.start.is_some()
                || patch.place.is_some()
                || patch.notes.is_some()
                || patch.status.is_some()
                || patch.recurrence.is_some();
            if !given {
                anyhow::bail!(
                    "nothing to change: give --title, --at, --place, --notes, --kind, --status or --no-repeat"
                );
            }
            let plan = PLANS.items.update(&ctx.client, &id, &patch)?;
            print_one(ctx, &plan, "Updated")
        }
        PlanCommand::Rsvp { id, answer } => {
            let answer = choice("the answer", &answer, Rsvp::ALL)?;
            let id = full_id(ctx, &PLANS, &id)?;
            let plan = api::rsvp(&ctx.client, &id, &RsvpRequest { answer })?;
            print_one(ctx, &plan, "Answered")
        }
        PlanCommand::Comment { id, text } => {
            let id = full_id(ctx, &PLANS, &id)?;
            let plan = api::comment_plan(&ctx.client, &id, &NewComment { text })?;
            print_one(ctx, &plan, "Commented on")
        }
        PlanCommand::Propose { id, time } => {
            let time = required_time(ctx, &time)?;
            let id = full_id(ctx, &PLANS, &id)?;
            let new = NewProposal {
                start: time.start,
                end: time.end,
            };
            let plan = api::propose_time(&ctx.client, &id, &new)?;
            if ctx.json {
                show::json(&plan);
                return Ok(());
            }
            let names = ctx.names()?;
            say!(
                "Suggested {} for \"{}\" ({}); {} accepts or declines it",
                time.words,
                safe::one_line(&plan.title),
                show::short_id(plan.id.as_str()),
                show::name(&names, &plan.proposed_by)
            );
            Ok(())
        }
        PlanCommand::Accept { id } => {
            let id = full_id(ctx, &PLANS, &id)?;
            let plan = api::accept_time(&ctx.client, &id)?;
            print_one(ctx, &plan, "Took the new time")
        }
        PlanCommand::Decline { id } => {
            let id = full_id(ctx, &PLANS, &id)?;
            let plan = api::decline_time(&ctx.client, &id)?;
            print_one(ctx, &plan, "Kept the time")
        }
        PlanCommand::Done { id } => set_status(ctx, &id, PlanStatus::Done, "Done"),
        PlanCommand::Cancel { id } => set_status(ctx, &id, PlanStatus::Cancelled, "Cancelled"),
        PlanCommand::Delete(args) => super::trash::delete(ctx, &PLANS, args),
    }
}

/// Whether every occurrence of `plan` has ended by `now`. A repetition without a last day
/// never has; a someday plan has no time to pass.
fn is_past(plan: &Plan, now: &ZonedDateTime) -> bool {
    if plan.is_someday() || plan.end.timestamp() >= now.timestamp() {
        return false;
    }
    match &plan.recurrence {
        None => true,
        Some(r) if r.every == Frequency::Unknown => true,
        Some(r) => r.until.is_some_and(|until| until.0 < now.date()),
    }
}

/// The table of plans with a time, then the ones for "some day", conflicts marked.
fn list(ctx: &Ctx, plans: &[Plan], now: &ZonedDateTime, all: bool) -> anyhow::Result<()> {
    if plans.is_empty() {
        if all {
            say!("No plans yet. Propose one: tandem plan add \"Dinner\" --at \"fri 19:00\"");
        } else {
            say!(
                "No plans ahead. Propose one: tandem plan add \"Dinner\" --at \"fri 19:00\" (`tandem plan list --all` shows past and cancelled ones)"
            );
        }
        return Ok(());
    }
    let names = ctx.names()?;
    let conflicted: BTreeSet<String> = api::today(&ctx.client)?
        .items
        .into_iter()
        .filter(|i| i.kind == NeedsMeKind::Conflict)
        .filter_map(|i| i.id.map(|id| id.to_string()))
        .collect();
    let ids = show::short_ids(plans.iter().map(|p| p.id.as_str()));
    let row = |p: &Plan, id: &String, when: Option<String>| {
        let mut status = show::word(p.status.as_str());
        if conflicted.contains(p.id.as_str()) {
            status.push_str(", conflict!");
        }
        let mut cells = vec![id.clone()];
        cells.extend(when);
        cells.extend([
            p.title.clone(),
            show::word(p.kind.as_str()),
            status,
            rsvps(&names, p),
        ]);
        cells
    };
    let (someday, dated): (Vec<_>, Vec<_>) =
        plans.iter().zip(&ids).partition(|(p, _)| p.is_someday());
    if !dated.is_empty() {
        let rows: Vec<Vec<String>> = dated
            .iter()
            .map(|(p, id)| row(p, id, Some(plan_when(p, now))))
            .collect();
        say!(
            "{}",
            show::table(&["ID", "WHEN", "TITLE", "KIND", "STATUS", "RSVP"], &rows)
        );
    }
    if !someday.is_empty() {
        if !dated.is_empty() {
            say!("");
        }
        say!("Some day (no time yet):");
        let rows: Vec<Vec<String>> = someday.iter().map(|(p, id)| row(p, id, None)).collect();
        say!(
            "{}",
            show::table(&["ID", "TITLE", "KIND", "STATUS", "RSVP"], &rows)
        );
    }
    if !conflicted.is_empty() && plans.iter().any(|p| conflicted.contains(p.id.as_str())) {
        say!(
            "conflict!: changed on both laptops at once; `tandem plan show ID` says how to keep a value"
        );
    }
    Ok(())
}

/// When a plan happens, in local words: "Fri 4 Dec 19:30–22:00", "every Sunday 10:00",
/// or "some day (no time yet)".
fn plan_when(plan: &Plan, now: &ZonedDateTime) -> String {
    if plan.is_someday() {
        return "some day (no time yet)".to_owned();
    }
    match &plan.recurrence {
        Some(r) if r.every != Frequency::Unknown => {
            let until = r
                .until
                .map(|d| format!(" until {}", d.0.strftime("%-d %b %Y")))
                .unwrap_or_default();
            format!("{}{until}", repetition(r, &plan.start))
        }
        _ => when::span_words(&plan.start.0, &plan.end.0, now),
    }
}

/// "every Sunday 10:00", "every 2 weeks on Sunday 10:00", "every day 08:00",
/// "every month on the 6th 10:00": in the plan's own zone, where it repeats.
fn repetition(r: &Recurrence, start: &Moment) -> String {
    let clock = start.0.strftime("%H:%M");
    let weekday = start.0.strftime("%A");
    let day = start.0.day();
    let nth = match (day % 10, day) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    match (r.every, r.interval) {
        (Frequency::Weekly, 1) => format!("every {weekday} {clock}"),
        (Frequency::Weekly, n) => format!("every {n} weeks on {weekday} {clock}"),
        (Frequency::Daily, 1) => format!("every day {clock}"),
        (Frequency::Daily, n) => format!("every {n} days {clock}"),
        (Frequency::Monthly, 1) => format!("every month on the {day}{nth} {clock}"),
        (Frequency::Monthly, n) => format!("every {n} months on the {day}{nth} {clock}"),
        (Frequency::Unknown, _) => format!("repeating, from {}", show::moment(start)),
    }
}

fn set_status(ctx: &Ctx, id: &str, status: PlanStatus, verb: &str) -> anyhow::Result<()> {
    let id = full_id(ctx, &PLANS, id)?;
    let patch = PlanPatch {
        status: Some(status),
        ..PlanPatch::default()
    };
    let plan = PLANS.items.update(&ctx.client, &id, &patch)?;
    print_one(ctx, &plan, verb)
}

/// The kind, status, place and notes that were given, kind and status checked.
struct Details {
    kind: Option<PlanKind>,
    status: Option<PlanStatus>,
    place: Option<String>,
    notes: Option<String>,
}

impl Details {
    fn of(details: PlanDetails) -> Result<Self, Usage> {
        Ok(Self {
            kind: details
                .kind
                .map(|k| choice("--kind", &k, PlanKind::ALL))
                .transpose()?,
            status: details
                .status
                .map(|s| choice("--status", &s, PlanStatus::ALL))
                .transpose()?,
            place: details.place,
            notes: details.notes,
        })
    }
}

/// `--from` or `--to`: a date, or an instant; or a message showing both.
fn time_bound(option: &str, text: &str) -> Result<TimeBound, Usage> {
    text.trim().parse().map_err(|_| {
        Usage(format!(
            "{option} {text:?} is not a date or an instant: give one like 2026-12-10, or 2026-12-10T18:00:00Z"
        ))
    })
}

fn rsvps(names: &show::Names, plan: &Plan) -> String {
    let answers: Vec<String> = plan
        .rsvps
        .iter()
        .map(|(who, a)| format!("{}: {a}", show::name(names, who)))
        .collect();
    answers.join(", ")
}

/// One plan: with a `verb`, one line saying what was done and what tandem understood
/// ("Proposed: Dinner, Fri 4 Dec 19:30–22:00 (3kf9a1b2, proposed)"); without, all of it,
/// its comments and the history of the times proposed for it.
fn print_one(ctx: &Ctx, plan: &Plan, verb: &str) -> anyhow::Result<()> {
    if ctx.json {
        show::json(plan);
        return Ok(());
    }
    let now = ctx.now()?;
    if !verb.is_empty() {
        say!(
            "{verb}: {}, {} ({}, {})",
            safe::one_line(&plan.title),
            plan_when(plan, &now),
            show::short_id(plan.id.as_str()),
            show::word(plan.status.as_str())
        );
        return Ok(());
    }
    let names = ctx.names()?;
    let at = |stamp: &tandem_protocol::time::Stamp| {
        when::words(&stamp.0.to_zoned_datetime(now.time_zone().clone()), &now)
    };
    let mut lines = vec![
        format!("id:        {}", plan.id),
        format!("title:     {}", safe::one_line(&plan.title)),
        format!("when:      {}", plan_when(plan, &now)),
        format!("kind:      {}", show::word(plan.kind.as_str())),
        format!("status:    {}", show::word(plan.status.as_str())),
        format!("proposed:  by {}", show::name(&names, &plan.proposed_by)),
        format!("rsvp:      {}", rsvps(&names, plan)),
    ];
    if !plan.place.is_empty() {
        lines.push(format!("place:     {}", safe::one_line(&plan.place)));
    }
    if let Some(r) = &plan.recurrence {
        let until = r.until.map(|d| format!(" until {d}")).unwrap_or_default();
        lines.push(format!(
            "repeats:   {}{until}",
            repeats(r.every, r.interval)
        ));
    }
    if !plan.notes.as_str().is_empty() {
        lines.push(format!("notes:     {}", plan.notes.as_str()));
    }
    lines.push(format!(
        "updated:   {} by {}",
        show::stamp(&plan.meta.updated_at),
        show::name(&names, &plan.meta.updated_by)
    ));
    let mut proposals: Vec<_> = plan.proposals.values().collect();
    proposals.sort_by_key(|p| p.at);
    if !proposals.is_empty() {
        lines.push("times:".to_owned());
    }
    for p in proposals {
        let creator = show::name(&names, &plan.proposed_by);
        let outcome = match p.outcome {
            None => format!(
                "waiting for {creator} (`tandem plan accept {id}` or `tandem plan decline {id}`)",
                id = show::short_id(plan.id.as_str())
            ),
            Some(ProposalOutcome::Accepted) => format!("{creator} accepted it"),
            Some(ProposalOutcome::Declined) => format!("{creator} kept the time"),
            Some(ProposalOutcome::Superseded) => "replaced by a later suggestion".to_owned(),
            Some(other) => other.to_string(),
        };
        lines.push(format!(
            "  {}: {} suggested {}; {outcome}",
            at(&p.at),
            show::name(&names, &p.by),
            when::span_words(&p.start.0, &p.end.0, &now)
        ));
    }
    let comments = plan.comments_in_order();
    if !comments.is_empty() {
        lines.push("comments:".to_owned());
    }
    for (_, c) in comments {
        let text = c.text.replace('\n', "\n    ");
        lines.push(format!(
            "  {}, {}:\n    {text}",
            show::name(&names, &c.by),
            at(&c.at)
        ));
    }
    say!("{}", lines.join("\n"));
    Ok(())
}

/// "every week", "every 2 weeks".
fn repeats(every: Frequency, interval: u32) -> String {
    let unit = match every {
        Frequency::Daily => "day",
        Frequency::Weekly => "week",
        Frequency::Monthly => "month",
        Frequency::Unknown => "period",
    };
    match interval {
        1 => format!("every {unit}"),
        n => format!("every {n} {unit}s"),
    }
}
