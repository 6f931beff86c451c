//! `tandem balance`.

use tandem_protocol::api::BalanceQuery;
use tandem_protocol::balance::Balance;

use super::{Ctx, week_option};
use crate::api;
use crate::args::BalanceArgs;
use crate::safe;
use crate::show::{self, say};

/// Prints the week's hours together and apart, and the plain-language reading.
pub fn run(ctx: &Ctx, args: BalanceArgs) -> anyhow::Result<()> {
    let query = BalanceQuery {
        week: args
            .week
            .map(|w| week_option(&w).map(|w| w.to_string()))
            .transpose()?,
        tz: args.tz,
    };
    let report = api::balance(&ctx.client, &query)?;
    if ctx.json {
        show::json(&report);
    } else {
        print(&report);
    }
    Ok(())
}

/// The week's hours and the reading, for people (`tandem balance` and the demo).
pub fn print(report: &Balance) {
    say!("Week {}", report.week);
    say!("Together: {:.1} h", report.together_hours);
    for p in &report.people {
        let wish = match &p.wish {
            Some(w) => format!(
                " (check-in {}: alone {}/5, together {}/5)",
                w.week, w.enough_alone, w.enough_together
            ),
            None => String::new(),
        };
        say!(
            "{:<9} {:.1} h personal time{wish}",
            format!("{}:", safe::one_line(&p.name)),
            p.personal_hours
        );
    }
    for line in &report.reading {
        say!("• {}", safe::one_line(line));
    }
}
