//! `tandem plan add|list|show|edit|rsvp|done|cancel|delete`.

use serde_json::{Map, Value, json};
use tandem_protocol::document::Conflict;
use tandem_protocol::model::plan::{Frequency, Plan, PlanKind, PlanStatus, Rsvp};

use super::{Ctx, PLANS, choice, full_id, time_range};
use crate::args::{PlanCommand, PlanDetails};
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
            let mut body = json!({ "title": title, "start": start, "end": end });
            let fields = body.as_object_mut().expect("object");
            put_details(fields, details)?;
            if let Some(every) = every {
                let every = choice("--every", &every, Frequency::ALL)?;
                fields.insert(
                    "recurrence".into(),
                    json!({ "every": every, "interval": interval, "until": repeat_until }),
                );
            }
            let plan: Plan = ctx.client.post("/v1/plans", &body)?;
            print_one(ctx, &plan, "Proposed")
        }
        PlanCommand::List { from, to, status } => {
            let status = status
                .map(|s| choice("--status", &s, PlanStatus::ALL))
                .transpose()?
                .map(|s| s.to_string());
            let mut query = Vec::new();
            for (key, value) in [("from", from), ("to", to), ("status", status)] {
                if let Some(v) = value {
                    query.push(format!("{key}={}", encode(&v)));
                }
            }
            let path = if query.is_empty() {
                "/v1/plans".to_owned()
            } else {
                format!("/v1/plans?{}", query.join("&"))
            };
            let plans: Vec<Plan> = ctx.client.get(&path)?;
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
            let path = format!("/v1/plans/{}", encode(&id));
            let plan: Plan = ctx.client.get(&path)?;
            let conflicts: Vec<Conflict> = ctx.client.get(&format!("{path}/conflicts"))?;
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
            let plan: Plan = ctx.client.post(
                &format!("/v1/plans/{}/keep", encode(&id)),
                &json!({ "field": field }),
            )?;
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
            let mut fields = Map::new();
            put(&mut fields, "title", title);
            if let Some((start, end)) = time_range(ctx, &time, false)? {
                fields.insert("start".into(), json!(start));
                fields.insert("end".into(), json!(end));
            }
            put_details(&mut fields, details)?;
            if no_repeat {
                fields.insert("recurrence".into(), Value::Null);
            }
            if fields.is_empty() {
                anyhow::bail!(
                    "nothing to change: give --title, --at, --place, --notes, --kind, --status or --no-repeat"
                );
            }
            let plan: Plan = ctx.client.patch(&PLANS.item_path(&id), &fields)?;
            print_one(ctx, &plan, "Updated")
        }
        PlanCommand::Rsvp { id, answer } => {
            let answer = choice("the answer", &answer, Rsvp::ALL)?;
            let id = full_id(ctx, &PLANS, &id)?;
            let plan: Plan = ctx.client.post(
                &format!("/v1/plans/{}/rsvp", encode(&id)),
                &json!({ "answer": answer }),
            )?;
            print_one(ctx, &plan, "Answered")
        }
        PlanCommand::Done { id } => set_status(ctx, &id, PlanStatus::Done, "Done"),
        PlanCommand::Cancel { id } => set_status(ctx, &id, PlanStatus::Cancelled, "Cancelled"),
        PlanCommand::Delete(args) => super::trash::delete(ctx, &PLANS, args),
    }
}

fn set_status(ctx: &Ctx, id: &str, status: PlanStatus, verb: &str) -> anyhow::Result<()> {
    let id = full_id(ctx, &PLANS, id)?;
    let plan: Plan = ctx
        .client
        .patch(&PLANS.item_path(&id), &json!({ "status": status }))?;
    print_one(ctx, &plan, verb)
}

/// Adds the kind, status, place and notes that were given, checking kind and status.
fn put_details(fields: &mut Map<String, Value>, details: PlanDetails) -> anyhow::Result<()> {
    if let Some(kind) = details.kind {
        fields.insert(
            "kind".into(),
            json!(choice("--kind", &kind, PlanKind::ALL)?),
        );
    }
    if let Some(status) = details.status {
        fields.insert(
            "status".into(),
            json!(choice("--status", &status, PlanStatus::ALL)?),
        );
    }
    put(fields, "place", details.place);
    put(fields, "notes", details.notes);
    Ok(())
}

/// Adds `key: value` when a value was given.
pub fn put(fields: &mut Map<String, Value>, key: &str, value: Option<String>) {
    if let Some(v) = value {
        fields.insert(key.into(), Value::String(v));
    }
}

/// Escapes a path segment or query value.
pub fn encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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
