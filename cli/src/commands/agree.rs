//! `tandem agree add|list|accept|edit|delete`.

use serde_json::json;
use tandem_protocol::model::agreement::Agreement;

use super::plan::encode;
use super::{AGREEMENTS, Ctx, date_option, edited_fields, full_id};
use crate::args::AgreeCommand;
use crate::safe;
use crate::show::{self, say};

/// Runs an agreement subcommand.
pub fn run(ctx: &Ctx, command: AgreeCommand) -> anyhow::Result<()> {
    let agreement: Agreement = match command {
        AgreeCommand::Add { text, review } => {
            let review = review.map(|r| date_option("--review", &r)).transpose()?;
            ctx.client.post(
                "/v1/agreements",
                &json!({ "text": text, "review_on": review }),
            )?
        }
        AgreeCommand::Accept { id } => {
            let id = full_id(ctx, &AGREEMENTS, &id)?;
            ctx.client.post(
                &format!("/v1/agreements/{}/accept", encode(&id)),
                &json!({}),
            )?
        }
        AgreeCommand::Edit { id, text, review } => {
            let review = review.map(|r| date_option("--review", &r)).transpose()?;
            let fields = edited_fields(
                [
                    ("text", text.map(Into::into)),
                    ("review_on", review.map(|d| d.to_string().into())),
                ],
                "--text or --review, e.g. --text \"No phones at dinner, except on call\"",
            )?;
            let id = full_id(ctx, &AGREEMENTS, &id)?;
            ctx.client.patch(&AGREEMENTS.item_path(&id), &fields)?
        }
        AgreeCommand::Delete(args) => return super::trash::delete(ctx, &AGREEMENTS, args),
        AgreeCommand::List => {
            let agreements: Vec<Agreement> = ctx.client.get("/v1/agreements")?;
            if ctx.json {
                show::json(&agreements);
            } else if agreements.is_empty() {
                say!("No agreements yet. Propose one: tandem agree add \"No phones at dinner\"");
            } else {
                let names = ctx.names()?;
                let ids = show::short_ids(agreements.iter().map(|a| a.id.as_str()));
                let rows: Vec<Vec<String>> = agreements
                    .iter()
                    .zip(ids)
                    .map(|(a, id)| {
                        let accepted: Vec<String> = a
                            .accepted_by
                            .keys()
                            .map(|p| show::name(&names, p))
                            .collect();
                        vec![
                            id,
                            a.text.clone(),
                            accepted.join(", "),
                            a.review_on.to_string(),
                        ]
                    })
                    .collect();
                say!(
                    "{}",
                    show::table(&["ID", "AGREEMENT", "ACCEPTED BY", "REVIEW ON"], &rows)
                );
            }
            return Ok(());
        }
    };
    if ctx.json {
        show::json(&agreement);
    } else {
        let names = ctx.names()?;
        let accepted: Vec<String> = agreement
            .accepted_by
            .keys()
            .map(|p| show::name(&names, p))
            .collect();
        let accepted = if accepted.is_empty() {
            "accepted by nobody yet".to_owned()
        } else {
            format!("accepted by {}", accepted.join(" and "))
        };
        say!(
            "\"{}\" ({}), {accepted}; review on {}",
            safe::one_line(&agreement.text),
            agreement.id,
            agreement.review_on
        );
    }
    Ok(())
}
