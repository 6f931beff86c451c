//! `tandem log`: the activity feed.

use tandem_protocol::api::{LogQuery, MAX_LOG};

use super::Ctx;
use crate::api;
use crate::args::LogArgs;
use crate::show::{self, say};

/// Prints recent changes, newest first.
pub fn run(ctx: &Ctx, args: LogArgs) -> anyhow::Result<()> {
    // More than the daemon keeps in one answer shows all it has, as it always did.
    let limit = args.limit.min(MAX_LOG);
    let entries = api::log(&ctx.client, &LogQuery { limit: Some(limit) })?;
    if ctx.json {
        show::json(&entries);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                show::stamp(&e.activity.at),
                e.by_name
                    .clone()
                    .unwrap_or_else(|| e.activity.by.to_string()),
                e.activity.action.clone(),
                e.activity.summary.clone(),
            ]
        })
        .collect();
    say!("{}", show::table(&["WHEN", "WHO", "WHAT", ""], &rows));
    Ok(())
}
