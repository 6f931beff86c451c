//! What needs me: one list of what waits for this person, as a pure function of the
//! documents, who "me" is and "now".
//!
//! `tandem` alone, `tandem status` and the phone page's first screen all show this list
//! (`GET /v1/today`). It gathers what would otherwise be scattered over plans, agreements,
//! check-ins and conflicts: plans the partner proposed that await my answer, other times
//! proposed for my plans, new comments in conversations I am part of, a due check-in
//! (with whether the partner already answered, never what), agreements to accept or
//! review, conflicts to resolve and today's plans.
//!
//! "New" comments are those written by someone else after this person last looked at
//! the plan: the daemon keeps one mark per plan on this laptop ([`InboxInput::seen`]),
//! set when the plan is shown (`POST /v1/plans/{id}/seen`). The marks never enter the
//! shared document, so the partner does not learn when they were read.

use std::collections::BTreeMap;

use jiff::ZonedDateTime;
use serde::{Deserialize, Serialize};

use crate::ids::{EntityId, PersonId};
use crate::model::agreement::Agreement;
use crate::model::checkin::CheckinMarker;
use crate::model::person::Person;
use crate::model::plan::{Plan, PlanStatus};
use crate::model::settings::Settings;
use crate::remind::{ReminderKind, due};
use crate::time::{IsoWeek, Moment, Stamp};

/// What kind of thing waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NeedsMeKind {
    /// The partner proposed a plan; my RSVP is missing.
    PlanToAnswer,
    /// The partner proposed another time for a plan I created.
    TimeToAnswer,
    /// Someone else commented on a plan I created or commented on, since I last looked.
    NewComments,
    /// My check-in is due.
    CheckinDue,
    /// An agreement's current wording awaits my acceptance.
    AgreementToAccept,
    /// An agreement's review date has come.
    AgreementToReview,
    /// An item has values that lost concurrent edits: pick one.
    Conflict,
    /// A plan (proposed or scheduled) happens today.
    TodaysPlan,
}

/// One thing waiting for me.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NeedsMe {
    /// What kind.
    pub kind: NeedsMeKind,
    /// The plan or agreement concerned.
    pub id: Option<EntityId>,
    /// One sentence saying what waits.
    pub message: String,
    /// When: the plan's start, the proposal's or newest comment's time, the due time.
    pub at: Option<Stamp>,
    /// For a due check-in: whether the partner has answered this week already (never
    /// what they answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_answered: Option<bool>,
    /// For new comments: how many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
}

/// `GET /v1/today`: everything waiting for me, in the order of [`NeedsMeKind`], each kind
/// oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Today {
    /// The "now" it was read at.
    pub now: Stamp,
    /// What waits.
    pub items: Vec<NeedsMe>,
}

/// An item with values that lost concurrent edits, as the daemon finds them.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflicted {
    /// `plan`, `idea`, `agreement`, ...
    pub noun: &'static str,
    /// The item.
    pub id: EntityId,
    /// What it is called.
    pub title: String,
    /// The fields in conflict.
    pub fields: Vec<String>,
}

/// What the list is read from.
pub struct InboxInput<'a> {
    /// Now, in this person's time zone ("today" is its day there).
    pub now: &'a ZonedDateTime,
    /// Who is asking.
    pub me: &'a PersonId,
    /// Both partners, for names.
    pub people: &'a [Person],
    /// The check-in cadence.
    pub settings: &'a Settings,
    /// Plans not in the trash, settled.
    pub plans: &'a [Plan],
    /// Agreements not in the trash, settled.
    pub agreements: &'a [Agreement],
    /// Check-in markers.
    pub markers: &'a [CheckinMarker],
    /// Items with conflicts.
    pub conflicts: &'a [Conflicted],
    /// When I last looked at each plan.
    pub seen: &'a BTreeMap<EntityId, Stamp>,
}

/// A plan's time as a person reads it in `now`'s zone, e.g. `Sat 31 Oct 19:30`.
fn when(moment: &Moment, now: &ZonedDateTime) -> String {
    moment
        .timestamp()
        .to_zoned_datetime(now.time_zone().clone())
        .strftime("%a %-d %b %H:%M")
        .to_string()
}

/// `plan`'s time, or that it has none yet.
fn plan_time(plan: &Plan, now: &ZonedDateTime) -> String {
    if plan.is_someday() {
        "some day (no time yet)".to_owned()
    } else {
        when(&plan.start, now)
    }
}

/// Everything waiting for `input.me`.
pub fn needs_me(input: &InboxInput<'_>) -> Today {
    let me = input.me;
    let partner = input.people.iter().find(|p| &p.id != me);
    let name_of = |id: &PersonId| {
        input
            .people
            .iter()
            .find(|p| &p.id == id)
            .map_or_else(|| "Your partner".to_owned(), |p| p.name.clone())
    };
    let now = input.now;
    let mut items = Vec::new();

    let mut to_answer: Vec<&Plan> = input
        .plans
        .iter()
        .filter(|p| p.status == PlanStatus::Proposed && &p.proposed_by != me)
        .filter(|p| !p.rsvps.contains_key(me))
        .collect();
    to_answer.sort_by_key(|p| p.meta.created_at);
    items.extend(to_answer.into_iter().map(|p| NeedsMe {
        kind: NeedsMeKind::PlanToAnswer,
        id: Some(p.id.clone()),
        message: format!(
            "{} proposed \"{}\" for {}: answer with yes, no or maybe",
            name_of(&p.proposed_by),
            p.title,
            plan_time(p, now)
        ),
        at: (!p.is_someday()).then_some(Stamp(p.start.timestamp())),
        partner_answered: None,
        count: None,
    }));

    let mut times: Vec<(&Plan, &crate::model::plan::Proposal)> = input
        .plans
        .iter()
        .filter(|p| &p.proposed_by == me && p.is_open())
        .filter_map(|p| Some((p, p.open_proposal()?.1)))
        .filter(|(_, proposal)| &proposal.by != me)
        .collect();
    times.sort_by_key(|(_, proposal)| proposal.at);
    items.extend(times.into_iter().map(|(p, proposal)| NeedsMe {
        kind: NeedsMeKind::TimeToAnswer,
        id: Some(p.id.clone()),
        message: format!(
            "{} suggests {} instead of {} for \"{}\": accept or decline",
            name_of(&proposal.by),
            when(&proposal.start, now),
            plan_time(p, now),
            p.title
        ),
        at: Some(proposal.at),
        partner_answered: None,
        count: None,
    }));

    let mut talks: Vec<(&Plan, usize, Stamp)> = input
        .plans
        .iter()
        .filter(|p| &p.proposed_by == me || p.comments.values().any(|c| &c.by == me))
        .filter_map(|p| {
            let since = input.seen.get(&p.id);
            let new: Vec<Stamp> = p
                .comments
                .values()
                .filter(|c| &c.by != me && since.is_none_or(|s| c.at > *s))
                .map(|c| c.at)
                .collect();
            Some((p, new.len(), *new.iter().max()?))
        })
        .collect();
    talks.sort_by_key(|(_, _, newest)| *newest);
    items.extend(talks.into_iter().map(|(p, n, newest)| NeedsMe {
        kind: NeedsMeKind::NewComments,
        id: Some(p.id.clone()),
        message: format!(
            "{n} new comment{} on \"{}\"",
            if n == 1 { "" } else { "s" },
            p.title
        ),
        at: Some(newest),
        partner_answered: None,
        count: Some(n),
    }));

    let reminders = due(
        now,
        me,
        input.settings,
        &[],
        input.agreements,
        input.markers,
    );
    let this_week = IsoWeek::of(now);
    for reminder in reminders
        .iter()
        .filter(|r| r.kind == ReminderKind::CheckinDue)
    {
        let answered = partner.is_some_and(|partner| {
            input
                .markers
                .iter()
                .any(|m| m.person == partner.id && m.week == this_week)
        });
        let message = match (answered, partner) {
            (true, Some(partner)) => format!(
                "{} ({} has answered; you see both once you answer too)",
                reminder.message, partner.name
            ),
            _ => reminder.message.clone(),
        };
        items.push(NeedsMe {
            kind: NeedsMeKind::CheckinDue,
            id: None,
            message,
            at: Some(reminder.due_at),
            partner_answered: Some(answered),
            count: None,
        });
    }

    let mut to_accept: Vec<&Agreement> = input
        .agreements
        .iter()
        .filter(|a| !a.accepted_by.contains_key(me))
        .collect();
    to_accept.sort_by_key(|a| a.meta.updated_at);
    items.extend(to_accept.into_iter().map(|a| NeedsMe {
        kind: NeedsMeKind::AgreementToAccept,
        id: Some(a.id.clone()),
        message: format!(
            "{} wrote \"{}\": accept it, or change it together",
            name_of(&a.meta.updated_by),
            a.text
        ),
        at: Some(a.meta.updated_at),
        partner_answered: None,
        count: None,
    }));
    items.extend(
        reminders
            .iter()
            .filter(|r| r.kind == ReminderKind::AgreementReview)
            .map(|r| NeedsMe {
                kind: NeedsMeKind::AgreementToReview,
                id: r.id.clone(),
                message: r.message.clone(),
                at: Some(r.due_at),
                partner_answered: None,
                count: None,
            }),
    );

    items.extend(input.conflicts.iter().map(|c| NeedsMe {
        kind: NeedsMeKind::Conflict,
        id: Some(c.id.clone()),
        message: format!(
            "the {} \"{}\" was changed on both laptops at once ({}): keep one value",
            c.noun.replace('_', " "),
            c.title,
            c.fields.join(", ")
        ),
        at: None,
        partner_answered: None,
        count: None,
    }));

    let (day_start, day_end) = today(now);
    let mut todays: Vec<(jiff::Timestamp, &Plan)> = input
        .plans
        .iter()
        .filter(|p| matches!(p.status, PlanStatus::Proposed | PlanStatus::Scheduled))
        .flat_map(|p| {
            p.occurrences(day_start, day_end)
                .into_iter()
                .map(move |(start, _)| (start, p))
        })
        .collect();
    todays.sort_by_key(|(start, _)| *start);
    items.extend(todays.into_iter().map(|(start, p)| NeedsMe {
        kind: NeedsMeKind::TodaysPlan,
        id: Some(p.id.clone()),
        message: format!(
            "today {}: \"{}\"{}",
            start
                .to_zoned_datetime(now.time_zone().clone())
                .strftime("%H:%M"),
            p.title,
            if p.status == PlanStatus::Proposed {
                " (not agreed yet)"
            } else {
                ""
            }
        ),
        at: Some(Stamp(start)),
        partner_answered: None,
        count: None,
    }));

    Today {
        now: Stamp(now.timestamp()),
        items,
    }
}

/// Today's bounds in `now`'s zone: its first instant to the next day's (23 or 25 hours on
/// a DST day).
fn today(now: &ZonedDateTime) -> (jiff::Timestamp, jiff::Timestamp) {
    let start = now.start_of_day().unwrap_or_else(|_| now.clone());
    let end = start
        .tomorrow()
        .and_then(|t| t.start_of_day())
        .unwrap_or_else(|_| start.clone());
    (start.timestamp(), end.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::Entity;
    use crate::model::agreement::NewAgreement;
    use crate::model::plan::{Frequency, NewPlan, NewProposal, Recurrence, Rsvp};
    use crate::test_support::{author, new_plan};

    fn id(raw: &str) -> EntityId {
        EntityId::parse(raw).unwrap()
    }

    fn person(who: &str, name: &str) -> Person {
        Person {
            id: PersonId::parse(who).unwrap(),
            name: name.into(),
            joined_at: author(who).at,
        }
    }

    fn plan(key: &str, by: &str, new: NewPlan) -> Plan {
        Plan::create(id(key), new, &author(by)).unwrap()
    }

    fn kinds(today: &Today) -> Vec<NeedsMeKind> {
        today.items.iter().map(|i| i.kind).collect()
    }

    /// A week in which Sam proposed a someday trip, suggested another time for Alex's
    /// dinner, commented on her picnic and wrote an agreement; a daily walk at 19:00 is
    /// scheduled; Sam has checked in for the week.
    struct World {
        people: Vec<Person>,
        plans: Vec<Plan>,
        agreements: Vec<Agreement>,
        markers: Vec<CheckinMarker>,
    }

    fn world() -> World {
        let trip = plan(
            "trip",
            "sam",
            NewPlan {
                start: None,
                end: None,
                title: "Trip to Lisbon".into(),
                ..new_plan("2026-10-01T00:00[UTC]", "2026-10-01T01:00[UTC]")
            },
        );
        let mut dinner = plan(
            "dinner",
            "alex",
            new_plan(
                "2026-10-30T19:30[Europe/Paris]",
                "2026-10-30T22:00[Europe/Paris]",
            ),
        );
        dinner
            .propose(
                id("c1"),
                NewProposal {
                    start: Moment("2026-10-31T19:30[Europe/Paris]".parse().unwrap()),
                    end: Moment("2026-10-31T22:00[Europe/Paris]".parse().unwrap()),
                },
                &author("sam"),
            )
            .unwrap();
        let mut picnic = plan(
            "picnic",
            "alex",
            NewPlan {
                title: "Picnic".into(),
                ..new_plan(
                    "2026-11-02T12:00[Europe/Paris]",
                    "2026-11-02T15:00[Europe/Paris]",
                )
            },
        );
        picnic
            .comment(id("m1"), "I'll bring the rug", &author("sam"))
            .unwrap();
        picnic.comment(id("m2"), "Great", &author("alex")).unwrap();
        let mut walk = plan(
            "walk",
            "alex",
            NewPlan {
                title: "Walk".into(),
                recurrence: Some(Recurrence {
                    every: Frequency::Daily,
                    interval: 1,
                    until: None,
                }),
                ..new_plan(
                    "2026-10-01T19:00[Europe/Paris]",
                    "2026-10-01T19:30[Europe/Paris]",
                )
            },
        );
        walk.rsvp(Rsvp::Yes, &author("sam"));
        let agreement = Agreement::create(
            id("a1"),
            NewAgreement {
                text: "Sunday mornings are mine".into(),
                review_on: Some(crate::time::Day("2027-01-01".parse().unwrap())),
            },
            &author("sam"),
        )
        .unwrap();
        World {
            people: vec![person("alex", "Alex"), person("sam", "Sam")],
            plans: vec![trip, dinner, picnic, walk],
            agreements: vec![agreement],
            markers: vec![CheckinMarker {
                key: "2026-W43_sam".into(),
                week: "2026-W43".parse().unwrap(),
                person: PersonId::parse("sam").unwrap(),
                answered_at: author("sam").at,
            }],
        }
    }

    fn read(
        world: &World,
        me: &str,
        now: &ZonedDateTime,
        seen: &BTreeMap<EntityId, Stamp>,
    ) -> Today {
        needs_me(&InboxInput {
            now,
            me: &PersonId::parse(me).unwrap(),
            people: &world.people,
            settings: &Settings::default(),
            plans: &world.plans,
            agreements: &world.agreements,
            markers: &world.markers,
            conflicts: &[],
            seen,
        })
    }

    #[test]
    fn every_day_of_a_week_across_dst_lists_what_waits() {
        let world = world();
        let none = BTreeMap::new();
        // Monday 19 to Sunday 25 October 2026; clocks go back early on the Sunday.
        for day in 19..=25 {
            let now: ZonedDateTime = format!("2026-10-{day}T18:30[Europe/Paris]")
                .parse()
                .unwrap();
            let today = read(&world, "alex", &now, &none);
            let mut expected = vec![
                NeedsMeKind::PlanToAnswer,
                NeedsMeKind::TimeToAnswer,
                NeedsMeKind::NewComments,
            ];
            if day == 25 {
                expected.push(NeedsMeKind::CheckinDue);
            }
            expected.extend([NeedsMeKind::AgreementToAccept, NeedsMeKind::TodaysPlan]);
            assert_eq!(kinds(&today), expected, "{now}");
            let walk = today.items.last().unwrap();
            assert_eq!(walk.message, "today 19:00: \"Walk\"", "{now}");
            assert_eq!(
                walk.at
                    .unwrap()
                    .0
                    .to_zoned_datetime(now.time_zone().clone())
                    .hour(),
                19,
                "the walk stays at 19:00 local across the change"
            );
            let answer = &today.items[0];
            assert_eq!(
                answer.message,
                "Sam proposed \"Trip to Lisbon\" for some day (no time yet): answer with yes, no or maybe"
            );
            assert_eq!(
                today.items[1].message,
                "Sam suggests Sat 31 Oct 19:30 instead of Fri 30 Oct 19:30 for \"Dinner\": accept or decline"
            );
            if day == 25 {
                let checkin = &today.items[3];
                assert_eq!(checkin.partner_answered, Some(true));
                assert!(
                    checkin.message.contains("Sam has answered"),
                    "{}",
                    checkin.message
                );
            }
        }
    }

    #[test]
    fn seen_comments_answered_plans_and_the_partners_side() {
        let mut world = world();
        let now: ZonedDateTime = "2026-10-21T10:00[Europe/Paris]".parse().unwrap();
        let comments = read(&world, "alex", &now, &BTreeMap::new());
        let new = comments
            .items
            .iter()
            .find(|i| i.kind == NeedsMeKind::NewComments)
            .unwrap();
        assert_eq!(
            (new.count, new.message.as_str()),
            (Some(1), "1 new comment on \"Picnic\"")
        );
        // Looked at since: nothing new. Her own comment never counts.
        let seen = BTreeMap::from([(id("picnic"), author("sam").at)]);
        assert!(!kinds(&read(&world, "alex", &now, &seen)).contains(&NeedsMeKind::NewComments));
        // Alex answers the trip and accepts the agreement: those leave her list.
        world.plans[0].rsvp(Rsvp::Maybe, &author("alex"));
        world.agreements[0].accept(&author("alex"));
        let after = kinds(&read(&world, "alex", &now, &BTreeMap::new()));
        assert!(!after.contains(&NeedsMeKind::PlanToAnswer), "{after:?}");
        assert!(
            !after.contains(&NeedsMeKind::AgreementToAccept),
            "{after:?}"
        );
        // Sam's side: Alex's plans await his answer; his own proposal awaits Alex, not him.
        let sam = kinds(&read(&world, "sam", &now, &BTreeMap::new()));
        assert_eq!(
            sam,
            [
                NeedsMeKind::PlanToAnswer,
                NeedsMeKind::PlanToAnswer,
                NeedsMeKind::NewComments,
                NeedsMeKind::TodaysPlan
            ]
        );
    }
}
