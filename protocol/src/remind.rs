//! What is due: a check-in, a plan starting soon, an agreement to review.
//!
//! A pure function of the documents and "now" (with its time zone), so the rules are tested
//! with a fake clock across DST; the daemon evaluates it periodically and announces what is
//! new.

use jiff::{SignedDuration, ZonedDateTime};
use serde::{Deserialize, Serialize};

use crate::ids::{EntityId, PersonId};
use crate::model::agreement::Agreement;
use crate::model::checkin::CheckinMarker;
use crate::model::plan::{Plan, PlanStatus};
use crate::model::settings::Settings;
use crate::time::{IsoWeek, Stamp};

/// How long before a plan starts it is announced.
pub const PLAN_LEAD: SignedDuration = SignedDuration::from_hours(2);
/// Local time on Sunday from which the week's check-in is due.
const CHECKIN_HOUR: i8 = 18;

/// What kind of reminder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReminderKind {
    /// This person's check-in is due.
    CheckinDue,
    /// A plan starts within two hours.
    PlanSoon,
    /// An agreement's review date has come.
    AgreementReview,
}

/// One thing that is due.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reminder {
    /// What kind.
    pub kind: ReminderKind,
    /// What to tell the person.
    pub message: String,
    /// The plan or agreement concerned.
    pub id: Option<EntityId>,
    /// When it became (or becomes) due; with `kind` and `id` it identifies the reminder.
    pub due_at: Stamp,
}

/// Sunday `CHECKIN_HOUR`:00 of `week` in `now`'s zone.
fn checkin_time(week: IsoWeek, now: &ZonedDateTime) -> Option<ZonedDateTime> {
    let sunday = week.monday().checked_add(jiff::Span::new().days(6)).ok()?;
    local(
        sunday,
        jiff::civil::Time::constant(CHECKIN_HOUR, 0, 0, 0),
        now,
    )
}

/// `date` at `time` in `now`'s time zone.
fn local(
    date: jiff::civil::Date,
    time: jiff::civil::Time,
    now: &ZonedDateTime,
) -> Option<ZonedDateTime> {
    date.to_datetime(time)
        .to_zoned_datetime(now.time_zone().clone())
        .ok()
}

fn weeks_between(earlier: IsoWeek, later: IsoWeek) -> i64 {
    let days = later
        .monday()
        .since(earlier.monday())
        .map(|s| s.get_days())
        .unwrap_or(0);
    i64::from(days) / 7
}

/// Everything due for `me` at `now`, oldest first.
pub fn due(
    now: &ZonedDateTime,
    me: &PersonId,
    settings: &Settings,
    plans: &[Plan],
    agreements: &[Agreement],
    markers: &[CheckinMarker],
) -> Vec<Reminder> {
    let mut out = Vec::new();
    let this_week = IsoWeek::of(now);
    let last = markers
        .iter()
        .filter(|m| &m.person == me)
        .map(|m| m.week)
        .max();
    let cadence = i64::from(settings.checkin_every_weeks.max(1));
    let since = last.map(|w| weeks_between(w, this_week));
    let in_window = since.is_none_or(|s| s >= cadence);
    if let Some(sunday) = checkin_time(this_week, now)
        && in_window
    {
        let overdue = since.is_none_or(|s| s > cadence) && last.is_some();
        if overdue || now.timestamp() >= sunday.timestamp() {
            let message = match since {
                Some(s) if overdue => {
                    format!("Check-in due: your last one was {s} weeks ago (tandem checkin)")
                }
                _ => "Check-in due for this week (tandem checkin)".to_owned(),
            };
            let due_at = if overdue {
                now.timestamp()
            } else {
                sunday.timestamp()
            };
            out.push(Reminder {
                kind: ReminderKind::CheckinDue,
                message,
                id: None,
                due_at: Stamp(due_at),
            });
        }
    }
    let horizon = now.timestamp() + PLAN_LEAD;
    for plan in plans
        .iter()
        .filter(|p| matches!(p.status, PlanStatus::Proposed | PlanStatus::Scheduled))
    {
        for (start, _) in plan.occurrences(now.timestamp(), horizon) {
            if start < now.timestamp() {
                continue;
            }
            let minutes = start.duration_since(now.timestamp()).as_mins();
            let local = start.to_zoned_datetime(plan.start.0.time_zone().clone());
            out.push(Reminder {
                kind: ReminderKind::PlanSoon,
                message: format!(
                    "{} starts at {} (in {minutes} min)",
                    plan.title,
                    local.strftime("%H:%M")
                ),
                id: Some(plan.id.clone()),
                due_at: Stamp(start - PLAN_LEAD),
            });
        }
    }
    let today = now.date();
    for agreement in agreements.iter().filter(|a| a.review_on.0 <= today) {
        let due_at = local(agreement.review_on.0, jiff::civil::Time::midnight(), now)
            .map_or(now.timestamp(), |z| z.timestamp());
        out.push(Reminder {
            kind: ReminderKind::AgreementReview,
            message: format!(
                "Time to review together: \"{}\" (since {})",
                agreement.text, agreement.review_on
            ),
            id: Some(agreement.id.clone()),
            due_at: Stamp(due_at),
        });
    }
    out.sort_by_key(|r| r.due_at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::Entity;
    use crate::model::agreement::NewAgreement;
    use crate::model::plan::PlanStatus;
    use crate::test_support::{author, new_plan};
    use crate::time::Day;

    fn me() -> PersonId {
        PersonId::parse("alex").unwrap()
    }

    fn at(s: &str) -> ZonedDateTime {
        s.parse().unwrap()
    }

    fn marker(week: &str) -> CheckinMarker {
        let w: IsoWeek = week.parse().unwrap();
        CheckinMarker {
            key: format!("{w}_alex"),
            week: w,
            person: me(),
            answered_at: Stamp("2026-01-01T00:00:00Z".parse().unwrap()),
        }
    }

    fn kinds(r: &[Reminder]) -> Vec<ReminderKind> {
        r.iter().map(|r| r.kind).collect()
    }

    #[test]
    fn checkin_is_due_from_sunday_evening_until_answered() {
        let s = Settings::default();
        let answered_last_week = [marker("2026-W47")];
        // Thursday of W48: not yet.
        assert!(
            due(
                &at("2026-11-26T10:00[Europe/Paris]"),
                &me(),
                &s,
                &[],
                &[],
                &answered_last_week
            )
            .is_empty()
        );
        // Sunday 17:59: not yet; 18:00: due.
        assert!(
            due(
                &at("2026-11-29T17:59[Europe/Paris]"),
                &me(),
                &s,
                &[],
                &[],
                &answered_last_week
            )
            .is_empty()
        );
        let r = due(
            &at("2026-11-29T18:00[Europe/Paris]"),
            &me(),
            &s,
            &[],
            &[],
            &answered_last_week,
        );
        assert_eq!(kinds(&r), [ReminderKind::CheckinDue]);
        // Answered this week: nothing.
        let both = [marker("2026-W47"), marker("2026-W48")];
        assert!(
            due(
                &at("2026-11-29T20:00[Europe/Paris]"),
                &me(),
                &s,
                &[],
                &[],
                &both
            )
            .is_empty()
        );
        // Missed a whole week: due any day, saying how long it has been.
        let r = due(
            &at("2026-12-02T09:00[Europe/Paris]"),
            &me(),
            &s,
            &[],
            &[],
            &answered_last_week,
        );
        assert!(r[0].message.contains("2 weeks ago"), "{r:?}");
    }

    #[test]
    fn checkin_cadence_and_dst() {
        let fortnightly = Settings {
            checkin_every_weeks: 2,
        };
        // Answered W47; on Sunday of W48 a fortnightly check-in is not due yet.
        assert!(
            due(
                &at("2026-11-29T19:00[Europe/Paris]"),
                &me(),
                &fortnightly,
                &[],
                &[],
                &[marker("2026-W47")]
            )
            .is_empty()
        );
        // Sunday 25 Oct 2026 is the DST change in Europe; 18:00 local is 17:00Z.
        let r = due(
            &at("2026-10-25T18:30[Europe/Paris]"),
            &me(),
            &Settings::default(),
            &[],
            &[],
            &[marker("2026-W42")],
        );
        assert_eq!(r[0].due_at.0.to_string(), "2026-10-25T17:00:00Z");
    }

    #[test]
    fn plans_two_hours_ahead_and_reviews_on_their_day() {
        let mut plan = Plan::create(
            EntityId::parse("p").unwrap(),
            new_plan(
                "2026-11-27T19:30[Europe/Paris]",
                "2026-11-27T21:00[Europe/Paris]",
            ),
            &author("alex"),
        )
        .unwrap();
        let plans = [plan.clone()];
        let none: [CheckinMarker; 1] = [marker("2026-W48")];
        let s = Settings::default();
        assert!(
            due(
                &at("2026-11-27T17:00[Europe/Paris]"),
                &me(),
                &s,
                &plans,
                &[],
                &none
            )
            .is_empty()
        );
        let r = due(
            &at("2026-11-27T18:00[Europe/Paris]"),
            &me(),
            &s,
            &plans,
            &[],
            &none,
        );
        assert_eq!(r[0].message, "Dinner starts at 19:30 (in 90 min)");
        assert!(
            due(
                &at("2026-11-27T19:45[Europe/Paris]"),
                &me(),
                &s,
                &plans,
                &[],
                &none
            )
            .is_empty(),
            "started already"
        );
        plan.status = PlanStatus::Cancelled;
        assert!(
            due(
                &at("2026-11-27T18:00[Europe/Paris]"),
                &me(),
                &s,
                &[plan],
                &[],
                &none
            )
            .is_empty()
        );

        let new = NewAgreement {
            text: "No phones at dinner".into(),
            review_on: Some(Day("2026-12-01".parse().unwrap())),
        };
        let agreement =
            Agreement::create(EntityId::parse("a").unwrap(), new, &author("alex")).unwrap();
        let agreements = [agreement];
        assert!(
            due(
                &at("2026-11-30T23:00[Europe/Paris]"),
                &me(),
                &s,
                &[],
                &agreements,
                &none
            )
            .is_empty()
        );
        let r = due(
            &at("2026-12-01T08:00[Europe/Paris]"),
            &me(),
            &s,
            &[],
            &agreements,
            &none,
        );
        assert_eq!(kinds(&r), [ReminderKind::AgreementReview]);
    }
}
