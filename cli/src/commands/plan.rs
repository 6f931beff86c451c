//! `tandem plan add|list|show|edit|rsvp|done|cancel|delete`.

use tandem_protocol::api::{KeepRequest, PlanQuery, TimeBound};
use tandem_protocol::model::plan::{
    Frequency, NewPlan, Plan, PlanKind, PlanPatch, PlanStatus, Recurrence, Rsvp, RsvpRequest,
};
use tandem_protocol::time::Day;

use super::{Ctx, PLANS, choice, date_option, full_id, time_range};
use crate::api;
use crate::args::{PlanCommand, PlanDetails};
use crate::failure::Usage;
use crate::safe;
use crate::show::{self, say};

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
            let (start, end) = time_range(ctx, &time, true)?.expect("required range");
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
            let new = NewPlan {
                title,
                kind: details.kind,
                start: Some(start),
                end: Some(end),
                place: details.place,
                notes: details.notes,
                status: details.status,
                recurrence,
            };
            let plan = PLANS.items.create(&ctx.client, &new)?;
            print_one(ctx, &plan, "Proposed")
        }
        PlanCommand::List { from, to, status } => {
            let query = PlanQuery {
                status: status
                    .map(|s| choice("--status", &s, PlanStatus::ALL))
                    .transpose()?,
                from: from.map(|f| time_bound("--from", &f)).transpose()?,
                to: to.map(|t| time_bound("--to", &t)).transpose()?,
            };
            let plans = api::list_plans(&ctx.client, &query)?;
            if ctx.json {
                show::json(&plans);
                return Ok(());
            }
            if plans.is_empty() {
                say!("No plans yet. Propose one: tandem plan add \"Dinner\" --at \"fri 19:00\"");
                return Ok(());
            }
            let names = ctx.names()?;
            let ids = show::short_ids(plans.iter().map(|p| p.id.as_str()));
            let rows: Vec<Vec<String>> = plans
                .iter()
                .zip(ids)
                .map(|(p, id)| {
                    vec![
                        id,
                        show::range(&p.start, &p.end),
                        p.title.clone(),
                        show::word(p.kind.as_str()),
                        show::word(p.status.as_str()),
                        rsvps(&names, p),
                    ]
                })
                .collect();
            say!(
                "{}",
                show::table(&["ID", "WHEN", "TITLE", "KIND", "STATUS", "RSVP"], &rows)
            );
            Ok(())
        }
        PlanCommand::Show { id } => {
            let id = full_id(ctx, &PLANS, &id)?;
            let plan = PLANS.items.get(&ctx.client, &id)?;
            let conflicts = api::plan_conflicts(&ctx.client, &id)?;
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
                    &plan.id.as_str()[..8],
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
            let (start, end) = time_range(ctx, &time, false)?.unzip();
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
        PlanCommand::Done { id } => set_status(ctx, &id, PlanStatus::Done, "Done"),
        PlanCommand::Cancel { id } => set_status(ctx, &id, PlanStatus::Cancelled, "Cancelled"),
        PlanCommand::Delete(args) => super::trash::delete(ctx, &PLANS, args),
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

fn print_one(ctx: &Ctx, plan: &Plan, verb: &str) -> anyhow::Result<()> {
    if ctx.json {
        show::json(plan);
        return Ok(());
    }
    if !verb.is_empty() {
        say!(
            "{verb}: {} ({}, {})",
            safe::one_line(&plan.title),
            plan.id,
            show::word(plan.status.as_str())
        );
        return Ok(());
    }
    let names = ctx.names()?;
    let mut lines = vec![
        format!("id:        {}", plan.id),
        format!("title:     {}", safe::one_line(&plan.title)),
        format!("when:      {}", show::range(&plan.start, &plan.end)),
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
