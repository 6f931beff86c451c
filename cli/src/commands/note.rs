//! `tandem note add|list|show`: the private journal.

use std::io::Read;

use tandem_protocol::model::note::{NewNote, NotePatch};

use super::{Ctx, NOTES, full_id, some_change};
use crate::args::NoteCommand;
use crate::safe;
use crate::show::{self, say};

/// Runs a note subcommand.
pub fn run(ctx: &Ctx, command: NoteCommand) -> anyhow::Result<()> {
    match command {
        NoteCommand::Add { text, title } => {
            let body = match text {
                Some(t) => t,
                None => {
                    let mut t = String::new();
                    std::io::stdin().read_to_string(&mut t)?;
                    t
                }
            };
            let note = NOTES.items.create(&ctx.client, &NewNote { title, body })?;
            if ctx.json {
                show::json(&note);
            } else {
                say!(
                    "Noted, privately: {} ({})",
                    safe::one_line(&note.title),
                    note.id
                );
            }
        }
        NoteCommand::List => {
            let notes = NOTES.items.list(&ctx.client)?;
            if ctx.json {
                show::json(&notes);
            } else if notes.is_empty() {
                say!("No notes yet. Only you will ever see them: tandem note add \"...\"");
            } else {
                let ids = show::short_ids(notes.iter().map(|n| n.id.as_str()));
                let rows: Vec<Vec<String>> = notes
                    .iter()
                    .zip(ids)
                    .map(|(n, id)| vec![id, show::stamp(&n.meta.created_at), n.title.clone()])
                    .collect();
                say!("{}", show::table(&["ID", "WRITTEN", "TITLE"], &rows));
            }
        }
        NoteCommand::Edit { id, title, body } => {
            some_change(
                title.is_some() || body.is_some(),
                "--title or --body, e.g. --title \"Thursday\"",
            )?;
            let id = full_id(ctx, &NOTES, &id)?;
            let note = NOTES
                .items
                .update(&ctx.client, &id, &NotePatch { title, body })?;
            if ctx.json {
                show::json(&note);
            } else {
                say!("Changed note {} ({})", safe::one_line(&note.title), note.id);
            }
        }
        NoteCommand::Delete(args) => super::trash::delete(ctx, &NOTES, args)?,
        NoteCommand::Show { id } => {
            let id = full_id(ctx, &NOTES, &id)?;
            let note = NOTES.items.get(&ctx.client, &id)?;
            if ctx.json {
                show::json(&note);
            } else {
                say!(
                    "{}\n{}\n\n{}",
                    safe::one_line(&note.title),
                    note.meta.created_at,
                    note.body.as_str()
                );
            }
        }
    }
    Ok(())
}
