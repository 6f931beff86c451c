//! `tandem checkin` and `tandem checkin list`.

use std::io::{BufRead, IsTerminal, Write};

use std::time::{Duration, Instant};

use tandem_protocol::api::CheckinWeek;
use tandem_protocol::ids::PersonId;
use tandem_protocol::model::checkin::NewCheckin;
use tandem_protocol::model::person::Person;
use tandem_protocol::pairing::Relation;

use super::{Ctx, week_option};
use crate::api;
use crate::args::{CheckinArgs, CheckinCommand};
use crate::failure::Usage;
use crate::show::{self, say, say_err};

/// How long the second answer waits for the partner's laptop to publish its own answer:
/// while connected that is one round trip, so both answers are shown together.
const REVEAL_WAIT: Duration = Duration::from_secs(10);

/// How often the second answer looks for the partner's published answer.
const REVEAL_POLL: Duration = Duration::from_millis(50);

/// Answers a check-in (from flags, or by asking in a terminal) or lists past ones.
pub fn run(ctx: &Ctx, args: CheckinArgs) -> anyhow::Result<()> {
    if let Some(CheckinCommand::List) = args.command {
        let weeks = api::checkins(&ctx.client)?;
        if ctx.json {
            show::json(&weeks);
        } else if weeks.is_empty() {
            say!("No check-ins yet. Answer this week's: tandem checkin");
        } else {
            let people = People::of(ctx)?;
            for w in &weeks {
                print_week(&people, w);
            }
        }
        return Ok(());
    }
    let alone = args.alone.map(|n| rating("--alone", n)).transpose()?;
    let together = args.together.map(|n| rating("--together", n)).transpose()?;
    let example = "e.g. `tandem checkin --alone 3 --together 4`";
    let (alone, together, went_well, need) = match (alone, together) {
        (Some(a), Some(t)) => (a, t, args.went_well, args.need),
        (None, None) if std::io::stdin().is_terminal() => ask()?,
        (Some(_), None) => return Err(Usage(format!("give --together too, {example}")).into()),
        (None, Some(_)) => return Err(Usage(format!("give --alone too, {example}")).into()),
        (None, None) => {
            return Err(Usage(format!(
                "give --alone and --together (1 to 5), {example}, or run `tandem checkin` in a terminal to be asked"
            ))
            .into());
        }
    };
    let week = args.week.as_deref().map(week_option).transpose()?;
    let answer = NewCheckin {
        week,
        enough_alone: alone,
        enough_together: together,
        went_well,
        need_next: need,
    };
    let mut answered = api::answer_checkin(&ctx.client, &answer)?;
    answered.week = with_partner_answer(ctx, answered.week)?;
    if ctx.json {
        show::json(&answered);
        return Ok(());
    }
    let people = People::of(ctx)?;
    let week = answered.week;
    if answered.replaced {
        say!("This replaces your earlier answer for {}.", week.week);
    }
    if !week.revealed {
        say!(
            "Thanks. Your answer for {} stays private until {} answers too.",
            week.week,
            people.partner_name()
        );
    } else if people.partner_answer_missing(&week) {
        say!(
            "Thanks. You both answered {}. {}'s answer shows here once {} laptop is back in touch: `tandem checkin list`.",
            week.week,
            people.partner_name(),
            people.partner_possessive()
        );
        print_answers(&people, &week);
    } else {
        say!("Thanks. You both answered {}:", week.week);
        print_answers(&people, &week);
    }
    Ok(())
}

/// `1..=5`, or a message naming the option as typed.
fn rating(option: &str, value: i64) -> Result<i64, Usage> {
    if (1..=5).contains(&value) {
        Ok(value)
    } else {
        Err(Usage(format!(
            "{option} must be a number from 1 (not at all) to 5 (plenty), e.g. {option} 4; got {value}"
        )))
    }
}

/// The week once the partner's answer is here too. The partner's laptop publishes its
/// answer when it sees ours, so while it is connected the second answer waits that one
/// round trip and shows both; an unreachable partner is not waited for.
fn with_partner_answer(ctx: &Ctx, mut week: CheckinWeek) -> anyhow::Result<CheckinWeek> {
    let missing = |w: &CheckinWeek| w.revealed && w.answers.len() < w.answered.len();
    // Asked once: a connection that is replaced meanwhile (the laptops redialing each
    // other) must not cut the wait short.
    if !missing(&week) || !partner_connected(ctx)? {
        return Ok(week);
    }
    let deadline = Instant::now() + REVEAL_WAIT;
    while missing(&week) && Instant::now() < deadline {
        std::thread::sleep(REVEAL_POLL);
        week = api::checkin(&ctx.client, week.week)?;
    }
    Ok(week)
}

fn partner_connected(ctx: &Ctx) -> anyhow::Result<bool> {
    let peers = api::peers(&ctx.client)?;
    Ok(peers
        .iter()
        .any(|p| p.relation == Relation::Partner && p.connected))
}

/// Who "you" and the partner are, to say whose turn a week is.
struct People {
    me: PersonId,
    partner: Option<Person>,
    names: show::Names,
}

impl People {
    fn of(ctx: &Ctx) -> anyhow::Result<Self> {
        let status = api::status(&ctx.client)?;
        let mut names = show::Names::new();
        for p in std::iter::once(&status.me).chain(&status.partner) {
            names.insert(p.id.clone(), p.name.clone());
        }
        Ok(Self {
            me: status.me.id,
            partner: status.partner,
            names,
        })
    }

    fn partner_name(&self) -> String {
        match &self.partner {
            Some(p) => show::name(&self.names, &p.id),
            None => "your partner".to_owned(),
        }
    }

    fn partner_possessive(&self) -> String {
        match &self.partner {
            Some(p) => format!("{}'s", show::name(&self.names, &p.id)),
            None => "their".to_owned(),
        }
    }

    /// Both answered, but the partner's answer has not arrived on this laptop yet.
    fn partner_answer_missing(&self, week: &CheckinWeek) -> bool {
        week.revealed && !week.answers.iter().any(|a| a.person != self.me)
    }

    /// Where the week stands, from this person's side; never the partner's content
    /// before the reveal.
    fn state(&self, week: &CheckinWeek) -> String {
        let i_answered = week.answered.contains(&self.me);
        let others: Vec<String> = week
            .answered
            .iter()
            .filter(|p| **p != self.me)
            .map(|p| show::name(&self.names, p))
            .collect();
        if self.partner_answer_missing(week) {
            format!(
                "both answered; {}'s answer arrives when {} laptop is back in touch",
                self.partner_name(),
                self.partner_possessive()
            )
        } else if week.revealed {
            "both answered".to_owned()
        } else if i_answered {
            format!("waiting for {}'s answer", self.partner_name())
        } else if !others.is_empty() {
            format!("{} answered; your turn", others.join(" and "))
        } else {
            "nobody answered yet".to_owned()
        }
    }
}

fn print_week(people: &People, week: &CheckinWeek) {
    say!("{} ({})", week.week, people.state(week));
    print_answers(people, week);
}

fn print_answers(people: &People, week: &CheckinWeek) {
    // By name, so both laptops show a week the same way whatever order the answers
    // were published in.
    let mut answers: Vec<_> = week
        .answers
        .iter()
        .map(|a| (show::name(&people.names, &a.person), a))
        .collect();
    answers.sort_by(|(x, _), (y, _)| x.cmp(y));
    for (name, a) in answers {
        say!(
            "  {}: time to myself {}/5, time together {}/5",
            name,
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
