//! The weekly balance: hours together against each partner's personal time, read against
//! what each said they want in their latest check-in.
//!
//! Hours are real elapsed hours (a plan over a DST change counts as lived), clipped to the
//! week's bounds in the reader's time zone, with overlapping plans counted once.
//!
//! Beside the ISO week, the report looks ahead: the next seven days from "now", kept
//! apart from the week's totals (never added to them), so on a Sunday Monday's picnic
//! counts. [`series`] gives the weeks before as a trend, each against what each partner
//! asked for in that week's check-in, with one plain sentence about it.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ZonedDateTime};
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::ids::PersonId;
use crate::model::checkin::CheckinAnswer;
use crate::model::person::Person;
use crate::model::personal_time::PersonalTime;
use crate::model::plan::{Plan, PlanStatus};
use crate::time::{IsoWeek, Stamp};

/// A rating at or below this means "I need more of this".
const WANTS_MORE: u8 = 2;
/// A rating at or above this means "this was enough".
const CONTENT: u8 = 4;

/// What the report is computed from: a read-only view of the documents.
pub struct BalanceInput<'a> {
    /// The week to report on.
    pub week: IsoWeek,
    /// The time zone whose Monday-to-Monday the week means.
    pub tz: &'a TimeZone,
    /// Both partners (names for the reading).
    pub people: &'a [Person],
    /// Every plan; only scheduled and done ones count.
    pub plans: &'a [Plan],
    /// Every personal-time block.
    pub personal_time: &'a [PersonalTime],
    /// The check-in answers the reader may see.
    pub answers: &'a [CheckinAnswer],
    /// "Now": the next seven days are counted from here.
    pub now: Timestamp,
}

/// How far the report looks ahead.
pub const AHEAD: SignedDuration = SignedDuration::from_hours(7 * 24);

/// The most weeks a trend covers.
pub const MAX_WEEKS: u32 = 52;

/// What a person said they want, from their latest check-in up to the reported week.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Wish {
    /// The week of that check-in.
    pub week: IsoWeek,
    /// "I had enough time to myself", 1–5.
    pub enough_alone: u8,
    /// "I had enough time with you", 1–5.
    pub enough_together: u8,
}

/// One partner's side of the week.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonBalance {
    /// Who.
    pub person: PersonId,
    /// Their name.
    pub name: String,
    /// Hours of personal time blocked this week.
    pub personal_hours: f64,
    /// What they said they want, if they ever checked in.
    pub wish: Option<Wish>,
}

/// The balance report for one week.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Balance {
    /// The week reported on.
    pub week: IsoWeek,
    /// Monday 00:00 of the week, in the report's time zone.
    pub from: Stamp,
    /// The following Monday 00:00.
    pub to: Stamp,
    /// Hours of scheduled or done plans.
    pub together_hours: f64,
    /// Each partner.
    pub people: Vec<PersonBalance>,
    /// Whose turn it is to plan time together: the partner who did not propose the most
    /// recently proposed plan that is still on. Absent until both have joined and one plan
    /// exists.
    #[serde(default)]
    pub turn_to_plan: Option<PersonId>,
    /// Plain-language sentences, e.g. "Sam wants more time alone this week."
    pub reading: Vec<String>,
    /// The next seven days from now, apart from the week's totals.
    #[serde(default)]
    pub ahead: Ahead,
}

/// The next seven days from now: what is coming, whatever the week.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ahead {
    /// Now.
    pub from: Option<Stamp>,
    /// Seven days later.
    pub to: Option<Stamp>,
    /// Hours of scheduled plans in those days.
    pub together_hours: f64,
    /// Hours of plans still proposed (not yet agreed) in those days, not counted above.
    pub proposed_hours: f64,
    /// Each partner's personal time in those days.
    pub people: Vec<PersonHours>,
}

/// One partner's hours of personal time in a span.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonHours {
    /// Who.
    pub person: PersonId,
    /// Their name.
    pub name: String,
    /// Hours of personal time.
    pub personal_hours: f64,
}

/// One week of a trend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WeekTotals {
    /// The week.
    pub week: IsoWeek,
    /// Hours of scheduled or done plans.
    pub together_hours: f64,
    /// Each partner's personal time, and what they asked for in that week's check-in.
    pub people: Vec<PersonWeek>,
}

/// One partner's side of one week of a trend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonWeek {
    /// Who.
    pub person: PersonId,
    /// Their name.
    pub name: String,
    /// Hours of personal time.
    pub personal_hours: f64,
    /// Their answer for that week, if they checked in.
    pub asked: Option<Wish>,
}

/// `GET /v1/balance/weeks`: the weeks up to this one, oldest first, and one sentence
/// about the trend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BalanceSeries {
    /// Oldest first; the last is the week holding "now".
    pub weeks: Vec<WeekTotals>,
    /// One plain sentence, e.g. "You have been together less than Sam wanted for 3 weeks."
    pub trend: String,
}

/// What a trend is computed from.
pub struct SeriesInput<'a> {
    /// "Now", in the zone whose weeks are counted: the last week holds it.
    pub now: &'a ZonedDateTime,
    /// How many weeks, 1 to [`MAX_WEEKS`].
    pub weeks: u32,
    /// Both partners.
    pub people: &'a [Person],
    /// Every plan.
    pub plans: &'a [Plan],
    /// Every personal-time block.
    pub personal_time: &'a [PersonalTime],
    /// The check-in answers the reader may see.
    pub answers: &'a [CheckinAnswer],
}

/// The partner who did not propose the latest plan that is not cancelled.
fn turn_to_plan(people: &[Person], plans: &[Plan]) -> Option<PersonId> {
    let [a, b] = people else { return None };
    let latest = plans
        .iter()
        .filter(|p| p.status != PlanStatus::Cancelled)
        .max_by_key(|p| &p.meta.created_at)?;
    if latest.proposed_by == a.id {
        Some(b.id.clone())
    } else if latest.proposed_by == b.id {
        Some(a.id.clone())
    } else {
        None
    }
}

/// Hours covered by `intervals` inside `[from, to)`, counting overlaps once.
fn covered_hours(
    mut intervals: Vec<(Timestamp, Timestamp)>,
    from: Timestamp,
    to: Timestamp,
) -> f64 {
    intervals.retain_mut(|(s, e)| {
        *s = (*s).max(from);
        *e = (*e).min(to);
        s < e
    });
    intervals.sort();
    let mut total = jiff::SignedDuration::ZERO;
    let mut current: Option<(Timestamp, Timestamp)> = None;
    for (s, e) in intervals {
        match &mut current {
            Some((_, ce)) if s <= *ce => *ce = (*ce).max(e),
            _ => {
                if let Some((cs, ce)) = current.replace((s, e)) {
                    total += ce.duration_since(cs);
                }
            }
        }
    }
    if let Some((cs, ce)) = current {
        total += ce.duration_since(cs);
    }
    (total.as_secs_f64() / 360.0).round() / 10.0
}

/// Hours of the plans `counts` picks inside `[from, to)`.
fn plan_hours(
    plans: &[Plan],
    counts: impl Fn(&Plan) -> bool,
    from: Timestamp,
    to: Timestamp,
) -> f64 {
    let intervals = plans
        .iter()
        .filter(|p| counts(p))
        .flat_map(|p| p.occurrences(from, to))
        .collect();
    covered_hours(intervals, from, to)
}

/// Hours of `person`'s personal time inside `[from, to)`.
fn personal_hours(blocks: &[PersonalTime], person: &Person, from: Timestamp, to: Timestamp) -> f64 {
    let intervals = blocks
        .iter()
        .filter(|b| b.owner == person.id)
        .map(|b| (b.start.timestamp(), b.end.timestamp()))
        .collect();
    covered_hours(intervals, from, to)
}

/// The people by name, so readings come in the same order whatever their random ids.
fn by_name(people: &[Person]) -> Vec<&Person> {
    let mut sorted: Vec<&Person> = people.iter().collect();
    sorted.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    sorted
}

/// The seven days from `now`.
fn ahead(input: &BalanceInput<'_>) -> Ahead {
    let from = input.now;
    let to = from.checked_add(AHEAD).unwrap_or(Timestamp::MAX);
    Ahead {
        from: Some(Stamp(from)),
        to: Some(Stamp(to)),
        together_hours: plan_hours(input.plans, |p| p.status == PlanStatus::Scheduled, from, to),
        proposed_hours: plan_hours(input.plans, |p| p.status == PlanStatus::Proposed, from, to),
        people: by_name(input.people)
            .into_iter()
            .map(|p| PersonHours {
                person: p.id.clone(),
                name: p.name.clone(),
                personal_hours: personal_hours(input.personal_time, p, from, to),
            })
            .collect(),
    }
}

/// Computes the report.
pub fn balance(input: &BalanceInput<'_>) -> Result<Balance, ValidationError> {
    let (from, to) = input.week.bounds(input.tz)?;
    let together_hours = plan_hours(input.plans, Plan::counts_as_together, from, to);

    let mut people = Vec::new();
    let mut reading = Vec::new();
    for person in by_name(input.people) {
        let personal_hours = personal_hours(input.personal_time, person, from, to);
        let wish = input
            .answers
            .iter()
            .filter(|a| a.person == person.id && a.week <= input.week)
            .max_by_key(|a| (a.week, a.answered_at))
            .map(|a| Wish {
                week: a.week,
                enough_alone: a.enough_alone,
                enough_together: a.enough_together,
            });
        if let Some(w) = &wish {
            reading.extend(read_wish(&person.name, w, personal_hours));
        }
        people.push(PersonBalance {
            person: person.id.clone(),
            name: person.name.clone(),
            personal_hours,
            wish,
        });
    }
    if together_hours == 0.0 {
        reading.push("No time together is scheduled this week.".to_owned());
    }
    let turn = turn_to_plan(input.people, input.plans);
    if let Some(person) = input.people.iter().find(|p| Some(&p.id) == turn.as_ref()) {
        reading.push(format!(
            "It is {}'s turn to plan time together.",
            person.name
        ));
    }
    Ok(Balance {
        turn_to_plan: turn,
        week: input.week,
        from: Stamp(from),
        to: Stamp(to),
        together_hours,
        people,
        reading,
        ahead: ahead(input),
    })
}

/// The trend over the weeks up to the one holding `now`.
pub fn series(input: &SeriesInput<'_>) -> Result<BalanceSeries, ValidationError> {
    if !(1..=MAX_WEEKS).contains(&input.weeks) {
        return Err(ValidationError::new(
            "weeks",
            format!("is {}; give 1 to {MAX_WEEKS} weeks", input.weeks),
        ));
    }
    let tz = input.now.time_zone();
    let this_week = IsoWeek::of(input.now);
    let mut weeks = Vec::new();
    for back in (0..input.weeks).rev() {
        let monday = this_week
            .monday()
            .checked_sub(jiff::Span::new().weeks(i64::from(back)))
            .map_err(|e| ValidationError::rule("weeks", e.to_string()))?;
        let week = IsoWeek::containing(monday);
        let (from, to) = week.bounds(tz)?;
        weeks.push(WeekTotals {
            week,
            together_hours: plan_hours(input.plans, Plan::counts_as_together, from, to),
            people: by_name(input.people)
                .into_iter()
                .map(|person| PersonWeek {
                    person: person.id.clone(),
                    name: person.name.clone(),
                    personal_hours: personal_hours(input.personal_time, person, from, to),
                    asked: input
                        .answers
                        .iter()
                        .filter(|a| a.person == person.id && a.week == week)
                        .max_by_key(|a| a.answered_at)
                        .map(|a| Wish {
                            week: a.week,
                            enough_alone: a.enough_alone,
                            enough_together: a.enough_together,
                        }),
                })
                .collect(),
        });
    }
    let trend = trend(&weeks, input.people);
    Ok(BalanceSeries { weeks, trend })
}

/// How many of `person`'s latest check-ins in a row (newest first, weeks without one
/// passed over) say they wanted more of what `rating` reads.
fn streak(weeks: &[WeekTotals], person: &PersonId, rating: impl Fn(&Wish) -> u8) -> usize {
    weeks
        .iter()
        .rev()
        .filter_map(|w| {
            w.people
                .iter()
                .find(|p| &p.person == person)?
                .asked
                .as_ref()
        })
        .take_while(|wish| rating(wish) <= WANTS_MORE)
        .count()
}

/// One plain sentence about the weeks: a streak of wanting more time together comes
/// first, then of wanting more time alone, then whether the latest check-ins were
/// content; without check-ins, the hours.
fn trend(weeks: &[WeekTotals], people: &[Person]) -> String {
    let longest = |rating: fn(&Wish) -> u8| {
        by_name(people)
            .into_iter()
            .map(|p| (streak(weeks, &p.id, rating), p))
            .filter(|(n, _)| *n >= 2)
            .max_by_key(|(n, _)| *n)
    };
    let both = |rating: fn(&Wish) -> u8| {
        people.len() == 2 && people.iter().all(|p| streak(weeks, &p.id, rating) >= 2)
    };
    if let Some((n, person)) = longest(|w| w.enough_together) {
        if both(|w| w.enough_together) {
            let n = people
                .iter()
                .map(|p| streak(weeks, &p.id, |w| w.enough_together))
                .min()
                .unwrap_or(n);
            return format!("You have been together less than both of you wanted for {n} weeks.");
        }
        return format!(
            "You have been together less than {} wanted for {n} weeks.",
            person.name
        );
    }
    if let Some((n, person)) = longest(|w| w.enough_alone) {
        return format!(
            "{} has had less time alone than they wanted for {n} weeks.",
            person.name
        );
    }
    let latest: Vec<&Wish> = people
        .iter()
        .filter_map(|p| {
            weeks
                .iter()
                .rev()
                .find_map(|w| w.people.iter().find(|x| x.person == p.id)?.asked.as_ref())
        })
        .collect();
    let hours: f64 = weeks.iter().map(|w| w.together_hours).sum();
    let average = (hours / weeks.len().max(1) as f64 * 10.0).round() / 10.0;
    if latest.is_empty() {
        return format!(
            "No check-ins in these weeks yet; you spent {average} hours a week together."
        );
    }
    if latest
        .iter()
        .all(|w| w.enough_alone >= CONTENT && w.enough_together >= CONTENT)
    {
        return "Lately you have had the time together and apart you asked for.".to_owned();
    }
    format!(
        "You spent {average} hours a week together over these {} weeks.",
        weeks.len()
    )
}

fn read_wish(name: &str, wish: &Wish, personal_hours: f64) -> Vec<String> {
    let alone = wish.enough_alone <= WANTS_MORE;
    let together = wish.enough_together <= WANTS_MORE;
    let mut out = Vec::new();
    match (alone, together) {
        (true, true) => out.push(format!("{name} wants more time both alone and together.")),
        (true, false) => out.push(format!("{name} wants more time alone this week.")),
        (false, true) => out.push(format!("{name} wants more time together this week.")),
        (false, false) if wish.enough_alone >= CONTENT && wish.enough_together >= CONTENT => {
            out.push(format!("{name} is happy with the balance."))
        }
        (false, false) => {}
    }
    if alone && personal_hours == 0.0 {
        out.push(format!("{name} has no personal time blocked yet."));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::Entity;
    use crate::ids::EntityId;
    use crate::model::checkin::NewCheckin;
    use crate::model::personal_time::NewPersonalTime;
    use crate::model::plan::{NewPlan, PlanStatus};
    use crate::test_support::{author, new_plan};
    use crate::time::Moment;

    fn person(who: &str, name: &str) -> Person {
        Person {
            id: PersonId::parse(who).unwrap(),
            name: name.into(),
            joined_at: Stamp("2026-01-01T00:00:00Z".parse().unwrap()),
        }
    }

    fn plan(start: &str, end: &str, status: PlanStatus) -> Plan {
        let new = NewPlan {
            status: Some(status),
            ..new_plan(start, end)
        };
        Plan::create(EntityId::parse("p").unwrap(), new, &author("alex")).unwrap()
    }

    fn block(who: &str, start: &str, end: &str) -> PersonalTime {
        let new = NewPersonalTime {
            start: Moment(start.parse().unwrap()),
            end: Moment(end.parse().unwrap()),
            label: None,
            details: None,
        };
        PersonalTime::create(EntityId::parse("b").unwrap(), new, &author(who)).unwrap()
    }

    #[test]
    fn counts_hours_across_the_dst_change() {
        let tz = TimeZone::get("Europe/Paris").unwrap();
        let people = [person("alex", "Alex"), person("sam", "Sam")];
        // Clocks go back at 03:00 on Sunday 2026-10-25: 00:00 to 06:00 lasts 7 hours.
        let plans = [
            plan(
                "2026-10-25T00:00[Europe/Paris]",
                "2026-10-25T06:00[Europe/Paris]",
                PlanStatus::Scheduled,
            ),
            // Overlaps the first by an hour: counted once.
            plan(
                "2026-10-25T05:00[Europe/Paris]",
                "2026-10-25T07:00[Europe/Paris]",
                PlanStatus::Done,
            ),
            // Proposed and cancelled plans are not time together.
            plan(
                "2026-10-20T19:00[Europe/Paris]",
                "2026-10-20T21:00[Europe/Paris]",
                PlanStatus::Proposed,
            ),
            plan(
                "2026-10-21T19:00[Europe/Paris]",
                "2026-10-21T21:00[Europe/Paris]",
                PlanStatus::Cancelled,
            ),
            // Starts Sunday 23:00, clipped at Monday 00:00.
            plan(
                "2026-10-25T23:00[Europe/Paris]",
                "2026-10-26T02:00[Europe/Paris]",
                PlanStatus::Scheduled,
            ),
        ];
        let blocks = [
            block(
                "sam",
                "2026-10-22T18:00[Europe/Paris]",
                "2026-10-22T20:30[Europe/Paris]",
            ),
            // In New York time: 3 hours wherever you read it from.
            block(
                "sam",
                "2026-10-24T09:00[America/New_York]",
                "2026-10-24T12:00[America/New_York]",
            ),
            // The previous week: not counted.
            block(
                "alex",
                "2026-10-18T10:00[Europe/Paris]",
                "2026-10-18T12:00[Europe/Paris]",
            ),
        ];
        let answers = [CheckinAnswer::new(
            "2026-W42".parse().unwrap(),
            PersonId::parse("sam").unwrap(),
            NewCheckin {
                week: None,
                enough_alone: 1,
                enough_together: 4,
                went_well: None,
                need_next: None,
            },
            Stamp("2026-10-18T20:00:00Z".parse().unwrap()),
        )
        .unwrap()];
        let report = balance(&BalanceInput {
            week: "2026-W43".parse().unwrap(),
            tz: &tz,
            people: &people,
            plans: &plans,
            personal_time: &blocks,
            answers: &answers,
            now: "2026-10-25T12:00:00Z".parse().unwrap(),
        })
        .unwrap();
        assert_eq!(
            report.together_hours, 9.0,
            "7h + 1h extension + 1h before midnight"
        );
        assert_eq!(report.people[0].personal_hours, 0.0);
        assert_eq!(report.people[1].personal_hours, 5.5);
        assert_eq!(report.people[1].wish.as_ref().unwrap().enough_alone, 1);
        assert_eq!(
            report.reading,
            vec![
                "Sam wants more time alone this week.".to_string(),
                "It is Sam's turn to plan time together.".to_string(),
            ],
            "Alex proposed the latest plan"
        );
        assert_eq!(report.turn_to_plan, Some(people[1].id.clone()));
        assert_eq!(report.to.0.duration_since(report.from.0).as_hours(), 169);
    }

    #[test]
    fn an_empty_week_says_so() {
        let tz = TimeZone::UTC;
        let report = balance(&BalanceInput {
            week: "2026-W48".parse().unwrap(),
            tz: &tz,
            people: &[person("alex", "Alex")],
            plans: &[],
            personal_time: &[],
            answers: &[],
            now: "2026-11-26T12:00:00Z".parse().unwrap(),
        })
        .unwrap();
        assert_eq!(report.together_hours, 0.0);
        assert_eq!(
            report.reading,
            vec!["No time together is scheduled this week.".to_string()]
        );
    }

    fn answer(who: &str, week: &str, alone: i64, together: i64) -> CheckinAnswer {
        CheckinAnswer::new(
            week.parse().unwrap(),
            PersonId::parse(who).unwrap(),
            NewCheckin {
                week: None,
                enough_alone: alone,
                enough_together: together,
                went_well: None,
                need_next: None,
            },
            Stamp("2026-10-18T20:00:00Z".parse().unwrap()),
        )
        .unwrap()
    }

    #[test]
    fn on_sunday_the_look_ahead_counts_mondays_picnic_apart_from_the_week() {
        let tz = TimeZone::get("Europe/Paris").unwrap();
        let people = [person("alex", "Alex"), person("sam", "Sam")];
        let plans = [
            // Monday of the next week: not this week, but within seven days.
            plan(
                "2026-10-26T12:00[Europe/Paris]",
                "2026-10-26T15:00[Europe/Paris]",
                PlanStatus::Scheduled,
            ),
            plan(
                "2026-10-27T19:00[Europe/Paris]",
                "2026-10-27T21:00[Europe/Paris]",
                PlanStatus::Proposed,
            ),
            // This Saturday: in the week, already past on Sunday.
            plan(
                "2026-10-24T19:00[Europe/Paris]",
                "2026-10-24T20:00[Europe/Paris]",
                PlanStatus::Scheduled,
            ),
            // Eight days on: beyond the look-ahead.
            plan(
                "2026-11-02T12:00[Europe/Paris]",
                "2026-11-02T15:00[Europe/Paris]",
                PlanStatus::Scheduled,
            ),
        ];
        let blocks = [block(
            "sam",
            "2026-10-28T09:00[Europe/Paris]",
            "2026-10-28T11:00[Europe/Paris]",
        )];
        // Sunday 25 October 10:00, the morning the clocks went back.
        let now: ZonedDateTime = "2026-10-25T10:00[Europe/Paris]".parse().unwrap();
        let report = balance(&BalanceInput {
            week: IsoWeek::of(&now),
            tz: &tz,
            people: &people,
            plans: &plans,
            personal_time: &blocks,
            answers: &[],
            now: now.timestamp(),
        })
        .unwrap();
        assert_eq!(report.together_hours, 1.0, "the week: Saturday only");
        assert_eq!(
            report.ahead.together_hours, 3.0,
            "ahead: Monday's picnic only"
        );
        assert_eq!(report.ahead.proposed_hours, 2.0);
        assert_eq!(report.ahead.people[1].personal_hours, 2.0);
        assert_eq!(
            report
                .ahead
                .to
                .unwrap()
                .0
                .duration_since(report.ahead.from.unwrap().0),
            AHEAD
        );
    }

    #[test]
    fn the_trend_reads_every_weekday_and_across_dst() {
        let people = [person("alex", "Alex"), person("sam", "Sam")];
        let answers = [
            answer("sam", "2026-W41", 3, 2),
            answer("sam", "2026-W42", 4, 1),
            answer("sam", "2026-W43", 3, 2),
            answer("alex", "2026-W43", 4, 4),
        ];
        // One scheduled evening in W43, across the DST change on its Sunday.
        let plans = [plan(
            "2026-10-25T01:00[Europe/Paris]",
            "2026-10-25T04:00[Europe/Paris]",
            PlanStatus::Scheduled,
        )];
        // Every day of the week after (W44): the last week has no check-ins yet, which
        // does not break the streak.
        for day in 26..=31 {
            for hour in [0, 12, 23] {
                let now: ZonedDateTime = format!("2026-10-{day}T{hour:02}:30[Europe/Paris]")
                    .parse()
                    .unwrap();
                let trend = series(&SeriesInput {
                    now: &now,
                    weeks: 4,
                    people: &people,
                    plans: &plans,
                    personal_time: &[],
                    answers: &answers,
                })
                .unwrap();
                let weeks: Vec<String> = trend.weeks.iter().map(|w| w.week.to_string()).collect();
                assert_eq!(
                    weeks,
                    ["2026-W41", "2026-W42", "2026-W43", "2026-W44"],
                    "{now}"
                );
                assert_eq!(
                    trend.weeks[2].together_hours, 4.0,
                    "01:00 to 04:00 lasts 4 hours that night"
                );
                assert_eq!(
                    trend.weeks[2].people[1]
                        .asked
                        .as_ref()
                        .unwrap()
                        .enough_together,
                    2
                );
                assert_eq!(
                    trend.trend, "You have been together less than Sam wanted for 3 weeks.",
                    "{now}"
                );
            }
        }
        // Fewer weeks see a shorter streak; a content check-in reads as such.
        let now: ZonedDateTime = "2026-11-01T10:00[Europe/Paris]".parse().unwrap();
        let short = |answers: &[CheckinAnswer], weeks| {
            series(&SeriesInput {
                now: &now,
                weeks,
                people: &people,
                plans: &plans,
                personal_time: &[],
                answers,
            })
            .unwrap()
            .trend
        };
        assert_eq!(
            short(&answers, 3),
            "You have been together less than Sam wanted for 2 weeks."
        );
        let content = [
            answer("sam", "2026-W44", 4, 5),
            answer("alex", "2026-W44", 5, 4),
        ];
        assert_eq!(
            short(&content, 2),
            "Lately you have had the time together and apart you asked for."
        );
        assert_eq!(
            short(&[], 2),
            "No check-ins in these weeks yet; you spent 2 hours a week together."
        );
        let lonely = [
            answer("alex", "2026-W43", 1, 4),
            answer("alex", "2026-W44", 2, 5),
        ];
        assert_eq!(
            short(&lonely, 2),
            "Alex has had less time alone than they wanted for 2 weeks."
        );
        assert!(
            series(&SeriesInput {
                now: &now,
                weeks: 0,
                people: &people,
                plans: &plans,
                personal_time: &[],
                answers: &[]
            })
            .is_err()
        );
    }
}
