//! `tandem export`: everything out, as JSON, Markdown or iCalendar.
//!
//! Own your data: the export is built from the same API the CLI uses, so it contains
//! exactly what this person may see: the shared document and their own private notes.

use std::io::IsTerminal;

use serde::Serialize;
use tandem_protocol::api::{CheckinWeek, PersonalTimeView, Status};
use tandem_protocol::model::agreement::Agreement;
use tandem_protocol::model::idea::Idea;
use tandem_protocol::model::note::Note;
use tandem_protocol::model::plan::Plan;
use tandem_protocol::model::settings::Settings;

use super::Ctx;
use crate::api;
use crate::args::{ExportArgs, ExportFormat};
use crate::show;

/// Everything one person can see.
#[derive(Serialize)]
struct Export {
    exported_at: String,
    status: Status,
    plans: Vec<Plan>,
    ideas: Vec<Idea>,
    personal_time: Vec<PersonalTimeView>,
    agreements: Vec<Agreement>,
    checkins: Vec<CheckinWeek>,
    settings: Settings,
    notes: Vec<Note>,
}

/// Fetches everything and writes it in the chosen format.
pub fn run(ctx: &Ctx, args: ExportArgs) -> anyhow::Result<()> {
    let steps = [
        "status",
        "plans",
        "ideas",
        "personal time",
        "agreements",
        "check-ins",
        "settings",
        "notes",
    ];
    let progress = |i: usize| {
        if args.out.is_some() {
            show::progress(
                &format!("exporting {:<14} ({}/{})", steps[i], i + 1, steps.len()),
                false,
            );
        }
    };
    progress(0);
    let status = api::status(&ctx.client)?;
    progress(1);
    let plans = api::PLANS.list(&ctx.client)?;
    progress(2);
    let ideas = api::IDEAS.list(&ctx.client)?;
    progress(3);
    let personal_time = api::PERSONAL_TIME.list(&ctx.client)?;
    progress(4);
    let agreements = api::AGREEMENTS.list(&ctx.client)?;
    progress(5);
    let checkins = api::checkins(&ctx.client)?;
    progress(6);
    let settings = api::settings(&ctx.client)?;
    progress(7);
    let notes = api::NOTES.list(&ctx.client)?;
    let export = Export {
        exported_at: jiff::Timestamp::now().to_string(),
        status,
        plans,
        ideas,
        personal_time,
        agreements,
        checkins,
        settings,
        notes,
    };
    let text = match args.format {
        ExportFormat::Json => serde_json::to_string_pretty(&export)?,
        ExportFormat::Markdown => markdown(&export, &ctx.names()?),
        ExportFormat::Ics => tandem_protocol::ics::calendar(
            &export.plans,
            &export.personal_time,
            &[
                Some(export.status.me.clone()),
                export.status.partner.clone(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>(),
            jiff::Timestamp::now(),
        ),
    };
    match &args.out {
        Some(path) => {
            crate::private_file::write(path, text.as_bytes())?;
            show::progress(&format!("exported to {}", path.display()), true);
        }
        // Exact bytes into a pipe or file; a terminal gets them made safe like any
        // other text from the documents.
        None if std::io::stdout().is_terminal() => show::line(&text),
        None => show::stdout_bytes(text.as_bytes()),
    }
    Ok(())
}

fn markdown(e: &Export, names: &show::Names) -> String {
    let mut md = format!(
        "# Tandem export for {}\n\nExported {}.\n\n## Plans\n\n",
        e.status.me.name, e.exported_at
    );
    for p in &e.plans {
        md += &format!(
            "- **{}** ({}, {}): {}",
            p.title,
            p.kind,
            p.status,
            show::range(&p.start, &p.end)
        );
        if !p.place.is_empty() {
            md += &format!(" at {}", p.place);
        }
        md += "\n";
        if !p.notes.as_str().is_empty() {
            md += &format!("  - notes: {}\n", p.notes.as_str());
        }
    }
    md += "\n## Idea jar\n\n";
    for i in &e.ideas {
        md += &format!("- {}\n", i.title);
    }
    md += "\n## Personal time\n\n";
    for b in &e.personal_time {
        md += &format!(
            "- {}: {} ({})\n",
            show::name(names, &b.block.owner),
            show::range(&b.block.start, &b.block.end),
            b.details.as_deref().unwrap_or(&b.block.label)
        );
    }
    md += "\n## Agreements\n\n";
    for a in &e.agreements {
        md += &format!("- {} (review on {})\n", a.text, a.review_on);
    }
    md += "\n## Check-ins\n\n";
    for w in &e.checkins {
        for a in &w.answers {
            md += &format!(
                "- {} {}: time to myself {}/5, time together {}/5\n",
                w.week,
                show::name(names, &a.person),
                a.enough_alone,
                a.enough_together
            );
        }
    }
    md += "\n## Private notes\n\n";
    for n in &e.notes {
        md += &format!("### {}\n\n{}\n\n", n.title, n.body.as_str());
    }
    md
}
