//! `tandem` alone and `tandem today`: what needs me, with the command that answers each.

use tandem_protocol::inbox::{NeedsMe, NeedsMeKind, Today};

use super::Ctx;
use crate::api;
use crate::safe;
use crate::show::{self, say};

/// Prints what waits for this person (`GET /v1/today`).
pub fn run(ctx: &Ctx) -> anyhow::Result<()> {
    let today = api::today(&ctx.client)?;
    if ctx.json {
        show::json(&today);
    } else {
        print(&today, "");
    }
    Ok(())
}

/// The list for people, each line after `indent` (`tandem status` lines it up with its
/// other fields). The messages are the daemon's, built from the partner's titles, so they
/// go through [`safe`].
pub fn print(today: &Today, indent: &str) {
    if today.items.is_empty() {
        say!("{indent}Nothing needs you now.");
        return;
    }
    for item in &today.items {
        say!("{indent}• {}", safe::one_line(&item.message));
        if let Some(hint) = hint(item) {
            say!("{indent}    {hint}");
        }
    }
}

/// The command that deals with `item`, with its short id (a due check-in's message names
/// its command already).
fn hint(item: &NeedsMe) -> Option<String> {
    let id = item.id.as_ref().map(|id| show::short_id(id.as_str()));
    Some(match (item.kind, id) {
        (NeedsMeKind::PlanToAnswer, Some(id)) => format!("tandem plan rsvp {id} yes|no|maybe"),
        (NeedsMeKind::TimeToAnswer, Some(id)) => {
            format!("tandem plan accept {id}  (or: tandem plan decline {id})")
        }
        (NeedsMeKind::NewComments | NeedsMeKind::TodaysPlan, Some(id)) => {
            format!("tandem plan show {id}")
        }
        (NeedsMeKind::AgreementToAccept, Some(id)) => format!("tandem agree accept {id}"),
        (NeedsMeKind::AgreementToReview, Some(id)) => {
            format!("tandem agree edit {id} --review YYYY-MM-DD")
        }
        (NeedsMeKind::Conflict, Some(id)) => format!("id {id}"),
        _ => return None,
    })
}
