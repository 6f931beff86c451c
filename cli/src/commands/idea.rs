//! `tandem idea add|list|draw|edit|delete`.

use serde_json::json;
use tandem_protocol::model::idea::Idea;

use super::{Ctx, IDEAS, edited_fields, full_id};
use crate::args::IdeaCommand;
use crate::safe;
use crate::show::{self, say};

/// Runs an idea subcommand.
pub fn run(ctx: &Ctx, command: IdeaCommand) -> anyhow::Result<()> {
    match command {
        IdeaCommand::Add { title, notes } => {
            let idea: Idea = ctx
                .client
                .post("/v1/ideas", &json!({ "title": title, "notes": notes }))?;
            if ctx.json {
                show::json(&idea);
            } else {
                say!("In the jar: {} ({})", safe::one_line(&idea.title), idea.id);
            }
        }
        IdeaCommand::List => {
            let ideas: Vec<Idea> = ctx.client.get("/v1/ideas")?;
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
            let fields = edited_fields(
                [
                    ("title", title.map(Into::into)),
                    ("notes", notes.map(Into::into)),
                ],
                "--title or --notes, e.g. --title \"Night swim at the lake\"",
            )?;
            let id = full_id(ctx, &IDEAS, &id)?;
            let idea: Idea = ctx.client.patch(&IDEAS.item_path(&id), &fields)?;
            if ctx.json {
                show::json(&idea);
            } else {
                say!("Changed: {} ({})", safe::one_line(&idea.title), idea.id);
            }
        }
        IdeaCommand::Delete(args) => super::trash::delete(ctx, &IDEAS, args)?,
        IdeaCommand::Draw => {
            let idea: Idea = ctx.client.post("/v1/ideas/draw", &json!({}))?;
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
