//! `tandem me add|list|edit|delete`: personal time.

use serde_json::json;
use tandem_protocol::api::PersonalTimeView;

use super::{Ctx, PERSONAL_TIME, edited_fields, full_id, time_range};
use crate::args::MeCommand;
use crate::safe;
use crate::show::{self, say};

/// Runs a personal-time subcommand.
pub fn run(ctx: &Ctx, command: MeCommand) -> anyhow::Result<()> {
    match command {
        MeCommand::Add {
            time,
            label,
            details,
        } => {
            let (start, end) = time_range(ctx, &time, true)?.expect("required range");
            let body = json!({ "start": start, "end": end, "label": label, "details": details });
            let view: PersonalTimeView = ctx.client.post("/v1/personal-time", &body)?;
            if ctx.json {
                show::json(&view);
            } else {
                say!(
                    "Blocked {} for yourself ({}); your partner sees \"{}\".",
                    show::range(&view.block.start, &view.block.end),
                    view.block.id,
                    safe::one_line(&view.block.label)
                );
            }
        }
        MeCommand::Edit {
            id,
            time,
            label,
            details,
        } => {
            let range = time_range(ctx, &time, false)?;
            let (start, end) = range.map(|(s, e)| (json!(s), json!(e))).unzip();
            let fields = edited_fields(
                [
                    ("start", start),
                    ("end", end),
                    ("label", label.map(Into::into)),
                    ("details", details.map(Into::into)),
                ],
                "--at, --label or --details, e.g. --at \"sat 14:00\" --for 2h",
            )?;
            let id = full_id(ctx, &PERSONAL_TIME, &id)?;
            let view: PersonalTimeView =
                ctx.client.patch(&PERSONAL_TIME.item_path(&id), &fields)?;
            if ctx.json {
                show::json(&view);
            } else {
                say!(
                    "Changed your personal time {} ({}); your partner sees \"{}\".",
                    show::range(&view.block.start, &view.block.end),
                    view.block.id,
                    safe::one_line(&view.block.label)
                );
            }
        }
        MeCommand::Delete(args) => super::trash::delete(ctx, &PERSONAL_TIME, args)?,
        MeCommand::List => {
            let blocks: Vec<PersonalTimeView> = ctx.client.get("/v1/personal-time")?;
            if ctx.json {
                show::json(&blocks);
            } else if blocks.is_empty() {
                say!(
                    "No personal time blocked. Take some: tandem me add --at \"sat 10:00\" --for 3h"
                );
            } else {
                let names = ctx.names()?;
                let ids = show::short_ids(blocks.iter().map(|b| b.block.id.as_str()));
                let rows: Vec<Vec<String>> = blocks
                    .iter()
                    .zip(ids)
                    .map(|(b, id)| {
                        vec![
                            id,
                            show::name(&names, &b.block.owner),
                            show::range(&b.block.start, &b.block.end),
                            b.block.label.clone(),
                            b.details.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                say!(
                    "{}",
                    show::table(&["ID", "WHO", "WHEN", "LABEL", "PRIVATE DETAILS"], &rows)
                );
            }
        }
    }
    Ok(())
}
