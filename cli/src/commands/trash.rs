//! `delete` of every kind, `tandem trash` and `tandem restore-item`: deleting is putting
//! in the trash, which both laptops see and either partner can undo.

use std::io::{BufRead, IsTerminal, Write};

use serde::Serialize;
use serde_json::json;

use super::{Ctx, Item, Named, full_id};
use crate::api;
use crate::args::{DeleteArgs, TrashArgs, TrashCommand};
use crate::failure::Usage;
use crate::safe;
use crate::show::{self, say};

/// Puts the `named` item `args.id` in the trash, after asking unless `--yes` was given.
pub fn delete<I: Item, N: Serialize, P: Serialize>(
    ctx: &Ctx,
    named: &Named<I, N, P>,
    args: DeleteArgs,
) -> anyhow::Result<()> {
    let id = full_id(ctx, named, &args.id)?;
    let item = named.items.get(&ctx.client, &id)?;
    let label = safe::one_line(item.label());
    if !args.yes && !confirmed(&format!("Delete {} \"{label}\"?", named.noun))? {
        say!("Nothing deleted.");
        return Ok(());
    }
    named.items.delete(&ctx.client, &id)?;
    if ctx.json {
        show::json(&json!({ "deleted": { "kind": named.noun, "id": id } }));
    } else {
        say!(
            "Deleted {} \"{label}\": it is in the trash; `tandem restore-item {id}` brings it back.",
            named.noun
        );
    }
    Ok(())
}

/// Asks a yes/no question on the terminal; without one, says how to skip the question.
fn confirmed(question: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(Usage(
            "deleting asks first, and there is no terminal to ask on: add --yes, e.g. \
             tandem idea delete ID --yes"
                .into(),
        )
        .into());
    }
    let mut err = std::io::stderr();
    write!(err, "{question} [y/N] ")?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// `tandem trash [restore ID]`.
pub fn run(ctx: &Ctx, args: TrashArgs) -> anyhow::Result<()> {
    match args.command {
        Some(TrashCommand::Restore { id }) => restore(ctx, &id),
        None => list(ctx),
    }
}

fn list(ctx: &Ctx) -> anyhow::Result<()> {
    let entries = api::trash(&ctx.client)?;
    if ctx.json {
        show::json(&entries);
        return Ok(());
    }
    if entries.is_empty() {
        say!("The trash is empty: nothing was deleted in the last 30 days.");
        return Ok(());
    }
    let ids = show::short_ids(entries.iter().map(|e| e.id.as_str()));
    let rows: Vec<Vec<String>> = entries
        .iter()
        .zip(ids)
        .map(|(e, id)| {
            let edited = if e.conflicts.is_empty() {
                String::new()
            } else {
                "edited while deleted".to_owned()
            };
            vec![
                id,
                e.kind.replace('_', " "),
                e.summary.clone(),
                e.deleted_by_name
                    .clone()
                    .unwrap_or_else(|| e.deleted_by.to_string()),
                show::stamp(&e.deleted_at),
                edited,
            ]
        })
        .collect();
    say!(
        "{}",
        show::table(&["ID", "KIND", "WHAT", "DELETED BY", "WHEN", ""], &rows)
    );
    say!("Bring one back: tandem restore-item ID");
    Ok(())
}

/// `tandem restore-item ID`.
pub fn restore(ctx: &Ctx, id: &str) -> anyhow::Result<()> {
    let id = id.trim();
    if id.is_empty() {
        return Err(
            Usage("give the id of what to restore (ids are in `tandem trash`)".into()).into(),
        );
    }
    let entry = api::restore_item(&ctx.client, id)?;
    if ctx.json {
        show::json(&entry);
    } else {
        say!(
            "Restored {} \"{}\" ({}).",
            entry.kind.replace('_', " "),
            safe::one_line(&entry.summary),
            entry.id
        );
    }
    Ok(())
}
