//! `tandem idea add|list|draw|plan|retire|edit|delete`.

use tandem_protocol::model::idea::{IdeaPatch, IdeaToPlan, NewIdea};
use tandem_protocol::model::plan::PlanKind;

use super::{Ctx, IDEAS, choice, full_id, some_change, time_range};
use crate::api;
use crate::args::IdeaCommand;
use crate::safe;
use crate::show::{self, say};

/// Runs an idea subcommand.
pub fn run(ctx: &Ctx, command: IdeaCommand) -> anyhow::Result<()> {
    match command {
        IdeaCommand::Add { title, notes } => {
            let idea = IDEAS.items.create(&ctx.client, &NewIdea { title, notes })?;
            if ctx.json {
                show::json(&idea);
            } else {
                say!("In the jar: {} ({})", safe::one_line(&idea.title), idea.id);
            }
        }
        IdeaCommand::List => {
            let ideas = IDEAS.items.list(&ctx.client)?;
            if ctx.json {
                show::json(&ideas);
            } else if ideas.is_empty() {
                say!("The jar is empty. Add one: tandem idea add \"Night swim\"");
            } else {
                let names = ctx.names()?;
                let ids = show::short_ids(ideas.iter().map(|i| i.id.as_str()));
                let rows: Vec<Vec<String>> = ideas
                    .iter()
                    .zip(ids)
                    .map(|(i, id)| {
                        vec![
                            id,
                            i.title.clone(),
                            show::name(&names, &i.meta.created_by),
                            i.left_jar().map_or_else(
                                || i.notes.clone(),
                                |why| format!("out of the jar: {why}"),
                            ),
                        ]
                    })
                    .collect();
                say!("{}", show::table(&["ID", "IDEA", "FROM", "NOTES"], &rows));
            }
        }
        IdeaCommand::Edit { id, title, notes } => {
            some_change(
                title.is_some() || notes.is_some(),
                "--title or --notes, e.g. --title \"Night swim at the lake\"",
            )?;
            let id = full_id(ctx, &IDEAS, &id)?;
            let idea = IDEAS
                .items
                .update(&ctx.client, &id, &IdeaPatch { title, notes })?;
            if ctx.json {
                show::json(&idea);
            } else {
                say!("Changed: {} ({})", safe::one_line(&idea.title), idea.id);
            }
        }
        IdeaCommand::Delete(args) => super::trash::delete(ctx, &IDEAS, args)?,
        IdeaCommand::Draw => {
            let idea = api::draw_idea(&ctx.client)?;
            if ctx.json {
                show::json(&idea);
            } else {
                say!(
                    "From the jar: {} ({})",
                    safe::one_line(&idea.title),
                    show::short_id(idea.id.as_str())
                );
                if !idea.notes.is_empty() {
                    say!("  {}", idea.notes);
                }
                say!(
                    "  Make it a plan: tandem idea plan {} --at \"sat 19:00\"",
                    show::short_id(idea.id.as_str())
                );
            }
        }
        IdeaCommand::Plan { id, time, kind } => {
            let kind = kind
                .map(|k| choice("--kind", &k, PlanKind::ALL))
                .transpose()?;
            let time = time_range(ctx, &time)?;
            let id = full_id(ctx, &IDEAS, &id)?;
            let words = time.as_ref().map(|t| t.words.clone());
            let (start, end) = time.map(|t| (t.start, t.end)).unzip();
            let plan = api::plan_idea(&ctx.client, &id, &IdeaToPlan { start, end, kind })?;
            if ctx.json {
                show::json(&plan);
            } else {
                say!(
                    "Proposed: {}, {} ({}, proposed); the idea left the jar",
                    safe::one_line(&plan.title),
                    words.as_deref().unwrap_or("some day (no time yet)"),
                    show::short_id(plan.id.as_str())
                );
            }
        }
        IdeaCommand::Retire { id } => {
            let id = full_id(ctx, &IDEAS, &id)?;
            let idea = api::retire_idea(&ctx.client, &id)?;
            if ctx.json {
                show::json(&idea);
            } else {
                say!(
                    "Out of the jar: {} ({}); it stays in `tandem idea list`",
                    safe::one_line(&idea.title),
                    show::short_id(idea.id.as_str())
                );
            }
        }
    }
    Ok(())
}
