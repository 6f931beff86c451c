//! The weekly balance: hours together against each partner's personal time, read against
//! what each said they want in their latest check-in.
//!
//! Hours are real elapsed hours (a plan over a DST change counts as lived), clipped to the
//! week's bounds in the reader's time zone, with overlapping plans counted once.

use jiff::Timestamp;
use jiff::tz::TimeZone;
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
}

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

/// Computes the report.
pub fn balance(input: &BalanceInput<'_>) -> Result<Balance, ValidationError> {
    let (from, to) = input.week.bounds(input.tz)?;
    let together = input
        .plans
        .iter()
        .filter(|p| p.counts_as_together())
        .flat_map(|p| p.occurrences(from, to))
        .collect();
    let together_hours = covered_hours(together, from, to);

    let mut people = Vec::new();
    let mut reading = Vec::new();
    // By name, so the reading is in the same order whatever the people's random ids.
    let mut by_name: Vec<&Person> = input.people.iter().collect();
    by_name.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    for person in by_name {
        let blocks = input
            .personal_time
            .iter()
            .filter(|b| b.owner == person.id)
            .map(|b| (b.start.timestamp(), b.end.timestamp()))
            .collect();
        let personal_hours = covered_hours(blocks, from, to);
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
    })
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
        })
        .unwrap();
        assert_eq!(report.together_hours, 0.0);
        assert_eq!(
            report.reading,
            vec!["No time together is scheduled this week.".to_string()]
        );
    }
}
