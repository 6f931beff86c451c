//! `tandem status`.

use tandem_protocol::api::{PeerStatus, Status};

use super::Ctx;
use crate::api;
use crate::safe;
use crate::show::{self, say};

/// Prints who this is, the partner, what needs this person (conflicts included), and the
/// documents' sizes.
pub fn run(ctx: &Ctx) -> anyhow::Result<()> {
    let status = api::status(&ctx.client)?;
    if ctx.json {
        show::json(&status);
        return Ok(());
    }
    say!(
        "You:      {} ({})",
        safe::one_line(&status.me.name),
        status.me.id
    );
    match &status.partner {
        Some(p) => say!("Partner:  {} ({})", safe::one_line(&p.name), p.id),
        None => say!("Partner:  not paired yet (run `tandem pair`)"),
    }
    let peers = api::peers(&ctx.client)?;
    for peer in &peers {
        let state = match (peer.connected, peer.in_sync, peer.last_seen) {
            (true, true, _) => "connected, in sync".to_owned(),
            (true, false, _) => "connected, syncing".to_owned(),
            (false, _, Some(seen)) => {
                format!("offline, last seen {}", show::stamp(&seen))
            }
            (false, _, None) => "offline, not seen since this daemon started".to_owned(),
        };
        say!(
            "Device:   {} ({}, {}): {state}",
            safe::one_line(&peer.name),
            format!("{:?}", peer.relation).to_lowercase(),
            peer.device_id.short()
        );
    }
    for note in newer_tandem_notes(&status, &peers) {
        say!("Note:     {note}");
    }
    say!("Home:     {}", status.home);
    say!("Daemon:   tandemd {}", status.version);
    let count = |k: &str| status.counts.get(k).copied().unwrap_or(0) as u64;
    say!(
        "Holding:  {}, {}, {}, {}, {}",
        show::count(count("plans"), "plan", "plans"),
        show::count(count("ideas"), "idea", "ideas"),
        show::count(
            count("personal_time"),
            "personal-time block",
            "personal-time blocks"
        ),
        show::count(count("agreements"), "agreement", "agreements"),
        show::count(count("notes"), "private note", "private notes")
    );
    // A daemon from before "what needs me" sends none.
    if let Some(today) = &status.today {
        say!("Needs you:");
        super::today::print(today, "  ");
    }
    for d in &status.documents {
        say!(
            "Document: {:<8} {}, {} on disk",
            d.kind,
            show::count(d.changes as u64, "change", "changes"),
            show::count(d.bytes_on_disk, "byte", "bytes")
        );
    }
    Ok(())
}

/// What to tell the person when a paired laptop, or the documents, come from a newer
/// tandem than this daemon: nothing is lost (unknown data is kept and passed on), but
/// what the newer version added is not shown here until this laptop is upgraded.
pub fn newer_tandem_notes(status: &Status, peers: &[PeerStatus]) -> Vec<String> {
    let mut notes: Vec<String> = peers
        .iter()
        .filter(|p| p.schema.is_some_and(|s| s > status.schema))
        .map(|p| {
            format!(
                "{}'s laptop runs a newer tandem: upgrade to keep every feature",
                safe::one_line(&p.name)
            )
        })
        .collect();
    let newer_document = status.documents.iter().any(|d| d.schema > status.schema);
    if notes.is_empty() && newer_document {
        notes.push(
            "a newer tandem on a paired laptop upgraded your documents: upgrade to keep every feature"
                .to_owned(),
        );
    }
    notes
}

/// Lists what is due.
pub fn remind(ctx: &Ctx) -> anyhow::Result<()> {
    let due = api::reminders(&ctx.client)?;
    if ctx.json {
        show::json(&due);
    } else if due.is_empty() {
        say!("Nothing due.");
    } else {
        for r in &due {
            say!("• {}", safe::one_line(&r.message));
        }
    }
    Ok(())
}
