//! `tandem idea add|list|draw|edit|delete`.

use tandem_protocol::model::idea::{IdeaPatch, NewIdea};

use super::{Ctx, IDEAS, full_id, some_change};
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
                            i.notes.clone(),
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
                say!("Tonight: {}", safe::one_line(&idea.title));
                if !idea.notes.is_empty() {
                    say!("  {}", idea.notes);
                }
            }
        }
    }
    Ok(())
}
