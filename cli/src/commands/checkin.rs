//! `tandem checkin` and `tandem checkin list`.

use std::io::{BufRead, IsTerminal, Write};

use serde_json::json;
use tandem_protocol::api::{CheckinAnswered, CheckinWeek};

use super::Ctx;
use crate::args::{CheckinArgs, CheckinCommand};
use crate::show::{self, say, say_err};

/// Answers a check-in (from flags, or by asking in a terminal) or lists past ones.
pub fn run(ctx: &Ctx, args: CheckinArgs) -> anyhow::Result<()> {
    if let Some(CheckinCommand::List) = args.command {
        let weeks: Vec<CheckinWeek> = ctx.client.get("/v1/checkins")?;
        if ctx.json {
            show::json(&weeks);
        } else if weeks.is_empty() {
            say!("No check-ins yet. Answer this week's: tandem checkin");
        } else {
            let names = ctx.names()?;
            for w in &weeks {
                print_week(&names, w);
            }
        }
        return Ok(());
    }
    let (alone, together, went_well, need) = match (args.alone, args.together) {
        (Some(a), Some(t)) => (a, t, args.went_well, args.need),
        (None, None) if std::io::stdin().is_terminal() => ask()?,
        _ => anyhow::bail!(
            "give both --alone N and --together N (1-5), or run `tandem checkin` in a terminal to be asked"
        ),
    };
    let body = json!({
        "week": args.week,
        "enough_alone": alone,
        "enough_together": together,
        "went_well": went_well,
        "need_next": need,
    });
    let answered: CheckinAnswered = ctx.client.post("/v1/checkins", &body)?;
    if ctx.json {
        show::json(&answered);
        return Ok(());
    }
    let week = answered.week;
    if answered.replaced {
        say!("This replaces your earlier answer for {}.", week.week);
    }
    if week.revealed {
        say!("Thanks. You both answered {}:", week.week);
        print_week(&ctx.names()?, &week);
    } else {
        say!(
            "Thanks. Your answer for {} stays private until your partner answers too.",
            week.week
        );
    }
    Ok(())
}

fn print_week(names: &show::Names, week: &CheckinWeek) {
    let state = if week.revealed {
        "both answered"
    } else {
        "waiting for both answers"
    };
    say!("{} ({state})", week.week);
    for a in &week.answers {
        say!(
            "  {}: time to myself {}/5, time together {}/5",
            show::name(names, &a.person),
            a.enough_alone,
            a.enough_together
        );
        if !a.went_well.is_empty() {
            say!("    went well: {}", a.went_well);
        }
        if !a.need_next.is_empty() {
            say!("    needs next: {}", a.need_next);
        }
    }
}

fn prompt(question: &str) -> anyhow::Result<String> {
    let mut err = std::io::stderr();
    write!(err, "{question} ")?;
    err.flush()?;
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line)? == 0 {
        anyhow::bail!("check-in abandoned (end of input)");
    }
    Ok(line.trim().to_owned())
}

fn ask_rating(question: &str) -> anyhow::Result<i64> {
    loop {
        let answer = prompt(&format!("{question} (1 = not at all, 5 = plenty):"))?;
        match answer.parse::<i64>() {
            Ok(n @ 1..=5) => return Ok(n),
            _ => say_err!("Please answer with a number from 1 to 5."),
        }
    }
}

fn ask() -> anyhow::Result<(i64, i64, Option<String>, Option<String>)> {
    let alone = ask_rating("I had enough time to myself")?;
    let together = ask_rating("I had enough time with you")?;
    let went_well = prompt("What went well?")?;
    let need = prompt("What do you need next week?")?;
    let some = |s: String| (!s.is_empty()).then_some(s);
    Ok((alone, together, some(went_well), some(need)))
}
