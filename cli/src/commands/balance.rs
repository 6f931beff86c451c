//! `tandem balance`: the week against what each asked for, the next seven days apart,
//! and with `--weeks` the trend as a terminal chart.

use jiff::ZonedDateTime;
use tandem_protocol::api::{BalanceQuery, BalanceWeeksQuery};
use tandem_protocol::balance::{Balance, BalanceSeries, Wish};
use tandem_protocol::time::Stamp;

use super::{Ctx, week_option};
use crate::api;
use crate::args::BalanceArgs;
use crate::safe;
use crate::show::{self, say};
use crate::when;

/// Widest bar of the trend chart, in characters.
const BAR_WIDTH: f64 = 20.0;

/// Prints the week's hours together and apart and the plain-language reading, or the
/// trend over `--weeks`.
pub fn run(ctx: &Ctx, args: BalanceArgs) -> anyhow::Result<()> {
    if let Some(weeks) = args.weeks {
        let query = BalanceWeeksQuery {
            weeks: Some(weeks),
            tz: args.tz,
        };
        let series = api::balance_weeks(&ctx.client, &query)?;
        if ctx.json {
            show::json(&series);
        } else {
            print_trend(&series);
        }
        return Ok(());
    }
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
        print(&report, &ctx.now()?);
    }
    Ok(())
}

/// "alone 2/5, together 1/5": what a check-in asked for.
fn asked(wish: &Wish) -> String {
    format!(
        "alone {}/5, together {}/5",
        wish.enough_alone, wish.enough_together
    )
}

/// The week's hours against what each asked for, the reading, and the next seven days
/// apart from them (never added in, shown in `now`'s zone), for people (`tandem balance`
/// and the demo).
pub fn print(report: &Balance, now: &ZonedDateTime) {
    say!("Week {}", report.week);
    say!("Together: {:.1} h", report.together_hours);
    for p in &report.people {
        let wish = match &p.wish {
            Some(w) => format!(" (asked in check-in {}: {})", w.week, asked(w)),
            None => " (no check-in to compare with)".to_owned(),
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
    let ahead = &report.ahead;
    let (Some(from), Some(to)) = (ahead.from, ahead.to) else {
        return;
    };
    let day = |s: Stamp| when::words(&s.0.to_zoned_datetime(now.time_zone().clone()), now);
    say!("");
    say!(
        "Next 7 days ({} – {}), not counted in the week above:",
        day(from),
        day(to)
    );
    say!(
        "  together: {:.1} h agreed, {:.1} h still proposed",
        ahead.together_hours,
        ahead.proposed_hours
    );
    for p in &ahead.people {
        say!(
            "  {:<9} {:.1} h personal time",
            format!("{}:", safe::one_line(&p.name)),
            p.personal_hours
        );
    }
}

/// A bar of `hours` on a scale where `max` fills [`BAR_WIDTH`], and the figure.
fn bar(hours: f64, max: f64, mark: char) -> String {
    let len = if max > 0.0 {
        (hours / max * BAR_WIDTH).round() as usize
    } else {
        0
    };
    format!("{} {hours:.1} h", mark.to_string().repeat(len))
}

/// The trend as a chart: one row a week, a bar for the hours together and one for each
/// partner's time apart, what each asked for in that week's check-in, and the sentence.
pub fn print_trend(series: &BalanceSeries) {
    let names: Vec<String> = series
        .weeks
        .first()
        .map(|w| {
            w.people
                .iter()
                .map(|p| safe::one_line(&p.name).into_owned())
                .collect()
        })
        .unwrap_or_default();
    let max = series
        .weeks
        .iter()
        .flat_map(|w| {
            std::iter::once(w.together_hours).chain(w.people.iter().map(|p| p.personal_hours))
        })
        .fold(0.0, f64::max);
    let mut headers = vec!["WEEK".to_owned(), "TOGETHER █".to_owned()];
    headers.extend(names.iter().map(|n| format!("{n} APART ░")));
    headers.push("ASKED IN CHECK-INS (1 not at all – 5 plenty)".to_owned());
    let rows: Vec<Vec<String>> = series
        .weeks
        .iter()
        .map(|w| {
            let mut row = vec![w.week.to_string(), bar(w.together_hours, max, '█')];
            row.extend(w.people.iter().map(|p| bar(p.personal_hours, max, '░')));
            let wishes: Vec<String> = w
                .people
                .iter()
                .filter_map(|p| {
                    let wish = p.asked.as_ref()?;
                    Some(format!("{}: {}", safe::one_line(&p.name), asked(wish)))
                })
                .collect();
            row.push(if wishes.is_empty() {
                "–".to_owned()
            } else {
                wishes.join("; ")
            });
            row
        })
        .collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    say!("{}", show::table(&headers, &rows));
    say!("");
    say!("{}", safe::one_line(&series.trend));
}
