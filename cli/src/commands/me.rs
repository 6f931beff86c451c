//! `tandem me add|list|edit|delete`: personal time.

use tandem_protocol::model::personal_time::{NewPersonalTime, PersonalTimePatch};

use super::{Ctx, PERSONAL_TIME, full_id, required_time, some_change, time_range};
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
            let time = required_time(ctx, &time)?;
            let new = NewPersonalTime {
                start: time.start,
                end: time.end,
                label,
                details,
            };
            let view = PERSONAL_TIME.items.create(&ctx.client, &new)?;
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
            let (start, end) = time_range(ctx, &time)?.map(|t| (t.start, t.end)).unzip();
            some_change(
                start.is_some() || label.is_some() || details.is_some(),
                "--at, --label or --details, e.g. --at \"sat 14:00\" --for 2h",
            )?;
            let id = full_id(ctx, &PERSONAL_TIME, &id)?;
            let patch = PersonalTimePatch {
                start,
                end,
                label,
                details,
            };
            let view = PERSONAL_TIME.items.update(&ctx.client, &id, &patch)?;
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
            let blocks = PERSONAL_TIME.items.list(&ctx.client)?;
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
