//! `tandem agree add|list|accept|edit|delete`.

use tandem_protocol::model::agreement::{Agreement, AgreementPatch, NewAgreement};
use tandem_protocol::time::Day;

use super::{AGREEMENTS, Ctx, date_option, full_id, some_change};
use crate::api;
use crate::args::AgreeCommand;
use crate::safe;
use crate::show::say_err;
use crate::show::{self, say};

/// `--review` read as a date. A date that has passed is kept (the person may mean "review
/// it now"), with a warning on stderr so a typo in the year does not go unseen.
fn review_date(ctx: &Ctx, review: Option<&str>) -> anyhow::Result<Option<Day>> {
    let Some(review) = review else {
        return Ok(None);
    };
    let date = date_option("--review", review)?;
    let today = ctx.now()?.date();
    if date < today {
        say_err!(
            "warning: --review {} has passed (today is {today}): the agreement is due for review at once",
            date
        );
    }
    Ok(Some(Day(date)))
}

/// Runs an agreement subcommand.
pub fn run(ctx: &Ctx, command: AgreeCommand) -> anyhow::Result<()> {
    let agreement: Agreement = match command {
        AgreeCommand::Add { text, review } => {
            let review_on = review_date(ctx, review.as_deref())?;
            AGREEMENTS
                .items
                .create(&ctx.client, &NewAgreement { text, review_on })?
        }
        AgreeCommand::Accept { id } => {
            let id = full_id(ctx, &AGREEMENTS, &id)?;
            api::accept_agreement(&ctx.client, &id)?
        }
        AgreeCommand::Edit { id, text, review } => {
            let review_on = review_date(ctx, review.as_deref())?;
            some_change(
                text.is_some() || review_on.is_some(),
                "--text or --review, e.g. --text \"No phones at dinner, except on call\"",
            )?;
            let id = full_id(ctx, &AGREEMENTS, &id)?;
            AGREEMENTS
                .items
                .update(&ctx.client, &id, &AgreementPatch { text, review_on })?
        }
        AgreeCommand::Delete(args) => return super::trash::delete(ctx, &AGREEMENTS, args),
        AgreeCommand::List => {
            let agreements = AGREEMENTS.items.list(&ctx.client)?;
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
