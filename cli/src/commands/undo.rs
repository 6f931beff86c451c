//! `tandem undo`: revert this person's last command on this laptop.

use super::Ctx;
use crate::api;
use crate::safe;
use crate::show::{self, say};

/// Asks the daemon to revert the last command made here, and says which one it was.
pub fn run(ctx: &Ctx) -> anyhow::Result<()> {
    let undone = api::undo(&ctx.client)?;
    if ctx.json {
        show::json(&undone);
    } else {
        say!(
            "Undid {} \"{}\" from {}. `tandem undo` again reverts the command before it.",
            safe::one_line(&undone.action),
            safe::one_line(&undone.summary),
            show::stamp(&undone.at)
        );
    }
    Ok(())
}
