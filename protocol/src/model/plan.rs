//! Plans for time together: date nights, trips, outings, quality time.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile, Text};
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};

use super::string_enum;
use crate::document::Collection;
use crate::entity::{
    Author, Entity, Meta, bounded_multiline_text, bounded_text, check_range, keyed_by_id, present,
    required_text, text_as_str, text_from_str, update_text,
};
use crate::error::ValidationError;
use crate::ids::{EntityId, PersonId};
use crate::time::{Day, Moment, Stamp};

/// Longest plan title.
pub const MAX_TITLE: usize = 200;
/// Longest place.
pub const MAX_PLACE: usize = 200;
/// Longest notes.
pub const MAX_NOTES: usize = 10_000;
/// Longest comment.
pub const MAX_COMMENT: usize = 2_000;
/// Most comments one plan keeps: a conversation, not a chat log that slows every read.
pub const MAX_COMMENTS: usize = 500;
/// Most counter-proposals one plan keeps.
pub const MAX_PROPOSALS: usize = 100;
/// Most occurrences of a recurring plan considered in one window, so a daily plan from
/// years ago cannot make a report slow.
const MAX_OCCURRENCES: usize = 5_000;

string_enum!(
    /// What sort of time together.
    PlanKind {
        /// An evening out or in, just the two.
        DateNight = "date_night",
        /// Away for a day or more.
        Trip = "trip",
        /// Doing something together.
        Outing = "outing",
        /// Phones away, just talk.
        QualityTime = "quality_time",
        /// Anything else.
        Other = "other",
    }
);

string_enum!(
    /// Where a plan is in its life.
    PlanStatus {
        /// Just a thought.
        Idea = "idea",
        /// Suggested by one partner, waiting for the other.
        Proposed = "proposed",
        /// Both are in.
        Scheduled = "scheduled",
        /// It happened.
        Done = "done",
        /// It will not happen.
        Cancelled = "cancelled",
    }
);

string_enum!(
    /// A partner's answer to a plan.
    Rsvp {
        /// Count me in.
        Yes = "yes",
        /// Not this one.
        No = "no",
        /// Not sure yet.
        Maybe = "maybe",
    }
);

string_enum!(
    /// What became of a counter-proposal.
    ProposalOutcome {
        /// The plan's creator took the new time.
        Accepted = "accepted",
        /// The plan's creator kept the original time.
        Declined = "declined",
        /// Its author proposed another time after it.
        Superseded = "superseded",
    }
);

string_enum!(
    /// How often a recurring plan repeats.
    Frequency {
        /// Every `interval` days.
        Daily = "daily",
        /// Every `interval` weeks.
        Weekly = "weekly",
        /// Every `interval` months.
        Monthly = "monthly",
    }
);

/// Repetition of a plan, e.g. every Friday.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recurrence {
    /// Unit of repetition.
    #[schema(schema_with = Frequency::choice_schema)]
    pub every: Frequency,
    /// Repeat every this many units (1 to 52).
    #[serde(default = "one", deserialize_with = "crate::entity::whole_number")]
    #[schema(minimum = 1, maximum = 52)]
    pub interval: u32,
    /// Last day an occurrence may start on, if the repetition ends.
    #[serde(default)]
    pub until: Option<Day>,
}

/// The intervals a recurrence may have (the schema states the same bounds; a test holds
/// them together).
pub const INTERVALS: std::ops::RangeInclusive<u32> = 1..=52;

fn one() -> u32 {
    1
}

impl Recurrence {
    fn validate(&self) -> Result<(), ValidationError> {
        self.every.require_known("recurrence.every")?;
        if !INTERVALS.contains(&self.interval) {
            return Err(ValidationError::new(
                "recurrence.interval",
                "must be between 1 and 52",
            ));
        }
        Ok(())
    }

    /// The offset of the `n`th occurrence; `None` for a frequency from a newer tandem.
    fn step(&self, n: i64) -> Option<Span> {
        let n = n * i64::from(self.interval);
        match self.every {
            Frequency::Daily => Some(Span::new().days(n)),
            Frequency::Weekly => Some(Span::new().weeks(n)),
            Frequency::Monthly => Some(Span::new().months(n)),
            Frequency::Unknown => None,
        }
    }
}

/// A plan for time together.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Plan {
    /// Id of the plan.
    pub id: EntityId,
    /// What it is, e.g. "Dinner at Luigi's".
    pub title: String,
    /// What sort of time together.
    pub kind: PlanKind,
    /// When it starts, with its time zone.
    pub start: Moment,
    /// When it ends; after `start`.
    pub end: Moment,
    /// Where, free text.
    pub place: String,
    /// Notes both may edit; merged character by character.
    #[serde(serialize_with = "text_as_str", deserialize_with = "text_from_str")]
    #[schema(value_type = String)]
    pub notes: Text,
    /// Who suggested it.
    pub proposed_by: PersonId,
    /// Each partner's answer.
    pub rsvps: BTreeMap<PersonId, Rsvp>,
    /// The start each answer was given to. An answer to another start (given while the
    /// other laptop moved the plan) does not count ([`Entity::settle`]); answers from
    /// builds before this field have none and count.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[autosurgeon(missing = "Default::default")]
    pub rsvp_to: BTreeMap<PersonId, Stamp>,
    /// Where it is in its life.
    pub status: PlanStatus,
    /// Optional repetition.
    pub recurrence: Option<Recurrence>,
    /// What the two said about it, by comment id (each written once, by its author, so
    /// comments made on both laptops at once merge).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub comments: BTreeMap<EntityId, Comment>,
    /// Other times suggested for it, by proposal id, decided or not: the history of how
    /// the time was agreed.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub proposals: BTreeMap<EntityId, Proposal>,
    /// Who created and changed it, and when.
    #[serde(flatten)]
    pub meta: Meta,
}

/// A comment on a plan.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Comment {
    /// Who wrote it.
    pub by: PersonId,
    /// When.
    pub at: Stamp,
    /// What they said; several lines allowed.
    pub text: String,
}

/// Another time suggested for a plan by the partner who did not create it.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Proposal {
    /// Who suggested it.
    pub by: PersonId,
    /// When.
    pub at: Stamp,
    /// The suggested start.
    pub start: Moment,
    /// The suggested end; after `start`.
    pub end: Moment,
    /// What became of it; absent while it awaits the plan's creator.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub outcome: Option<ProposalOutcome>,
    /// Who decided it, and when.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub decided: Option<Stamp>,
}

/// Body of `POST /v1/plans/{id}/comments`.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// See [`Comment::text`].
    #[schema(schema_with = crate::entity::required_multiline_text_schema::<MAX_COMMENT>)]
    pub text: String,
}

/// Body of `POST /v1/plans/{id}/proposals`: another time for the plan.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProposal {
    /// See [`Proposal::start`].
    pub start: Moment,
    /// See [`Proposal::end`].
    pub end: Moment,
}

/// Body of a request to create a plan.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlan {
    /// See [`Plan::title`].
    #[schema(schema_with = crate::entity::required_text_schema::<MAX_TITLE>)]
    pub title: String,
    /// Defaults to `other`.
    #[serde(default)]
    #[schema(schema_with = PlanKind::choice_or_null_schema)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<PlanKind>,
    /// See [`Plan::start`]. Leave out both `start` and `end` for a plan with no time yet
    /// ("someday"); give both or neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Moment>,
    /// See [`Plan::end`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Moment>,
    /// See [`Plan::place`].
    #[serde(default)]
    #[schema(schema_with = crate::entity::bounded_text_or_null_schema::<MAX_PLACE>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// See [`Plan::notes`].
    #[serde(default)]
    #[schema(schema_with = crate::entity::bounded_multiline_text_or_null_schema::<MAX_NOTES>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Defaults to `proposed`.
    #[serde(default)]
    #[schema(schema_with = PlanStatus::choice_or_null_schema)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<PlanStatus>,
    /// See [`Plan::recurrence`].
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<Recurrence>,
}

/// Body of a request to change a plan; absent fields stay as they are.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanPatch {
    /// New title.
    #[schema(schema_with = crate::entity::required_text_or_null_schema::<MAX_TITLE>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New kind.
    #[schema(schema_with = PlanKind::choice_or_null_schema)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<PlanKind>,
    /// New start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Moment>,
    /// New end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<Moment>,
    /// New place.
    #[schema(schema_with = crate::entity::bounded_text_or_null_schema::<MAX_PLACE>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// New notes (replaces the text; the change is stored as a minimal edit).
    #[schema(schema_with = crate::entity::bounded_multiline_text_or_null_schema::<MAX_NOTES>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// New status.
    #[schema(schema_with = PlanStatus::choice_or_null_schema)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<PlanStatus>,
    /// New repetition; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Recurrence>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<Option<Recurrence>>,
}

/// Body of an RSVP.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RsvpRequest {
    /// The answer of the person calling.
    #[schema(schema_with = Rsvp::choice_schema)]
    pub answer: Rsvp,
}

keyed_by_id!(Plan);

impl Entity for Plan {
    const COLLECTION: Collection = Collection::Plans;
    const NOUN: &'static str = "plan";
    type New = NewPlan;
    type Patch = PlanPatch;

    fn create(id: EntityId, new: NewPlan, author: &Author) -> Result<Self, ValidationError> {
        let (start, end) = match (new.start, new.end) {
            (Some(start), Some(end)) => {
                check_range(&start, &end)?;
                (start, end)
            }
            (None, None) => {
                if new.recurrence.is_some() {
                    return Err(ValidationError::rule(
                        "recurrence",
                        "a plan with no time yet cannot repeat: give it a start and an end",
                    ));
                }
                let written = Moment(author.at.0.to_zoned_datetime(jiff::tz::TimeZone::UTC));
                (written.clone(), written)
            }
            (Some(_), None) => {
                return Err(ValidationError::rule(
                    "end",
                    "give an end with the start, or neither for a plan with no time yet",
                ));
            }
            (None, Some(_)) => {
                return Err(ValidationError::rule(
                    "start",
                    "give a start with the end, or neither for a plan with no time yet",
                ));
            }
        };
        if let Some(r) = &new.recurrence {
            r.validate()?;
        }
        let answered_to = Stamp(start.timestamp());
        Ok(Plan {
            id,
            title: required_text("title", &new.title, MAX_TITLE)?,
            kind: new.kind.unwrap_or(PlanKind::Other).require_known("kind")?,
            start,
            end,
            place: bounded_text("place", new.place.as_deref().unwrap_or(""), MAX_PLACE)?,
            notes: Text::with_value(bounded_multiline_text(
                "notes",
                new.notes.as_deref().unwrap_or(""),
                MAX_NOTES,
            )?),
            proposed_by: author.person.clone(),
            rsvps: BTreeMap::from([(author.person.clone(), Rsvp::Yes)]),
            rsvp_to: BTreeMap::from([(author.person.clone(), answered_to)]),
            status: new
                .status
                .unwrap_or(PlanStatus::Proposed)
                .require_known("status")?,
            recurrence: new.recurrence,
            comments: BTreeMap::new(),
            proposals: BTreeMap::new(),
            meta: Meta::new(author),
        })
    }

    fn amend(&mut self, patch: PlanPatch, author: &Author) -> Result<(), ValidationError> {
        let mut next = self.clone();
        if let Some(title) = patch.title {
            next.title = required_text("title", &title, MAX_TITLE)?;
        }
        if let Some(kind) = patch.kind {
            next.kind = kind.require_known("kind")?;
        }
        let someday = self.is_someday();
        match (someday, &patch.start, &patch.end) {
            // A plan with no time yet gets one only whole.
            (true, Some(_), None) => {
                return Err(ValidationError::rule(
                    "end",
                    "this plan has no time yet: give an end with the start",
                ));
            }
            (true, None, Some(_)) => {
                return Err(ValidationError::rule(
                    "start",
                    "this plan has no time yet: give a start with the end",
                ));
            }
            _ => {}
        }
        if let Some(start) = patch.start {
            next.start = start;
        }
        if let Some(end) = patch.end {
            next.end = end;
        }
        if !(someday && next.is_someday()) {
            check_range(&next.start, &next.end)?;
        }
        if let Some(place) = patch.place {
            next.place = bounded_text("place", &place, MAX_PLACE)?;
        }
        if let Some(notes) = patch.notes {
            update_text(
                &mut next.notes,
                &bounded_multiline_text("notes", &notes, MAX_NOTES)?,
            );
        }
        if let Some(status) = patch.status {
            next.status = status.require_known("status")?;
        }
        if let Some(recurrence) = patch.recurrence {
            if let Some(r) = &recurrence {
                r.validate()?;
                if next.is_someday() {
                    return Err(ValidationError::rule(
                        "recurrence",
                        "a plan with no time yet cannot repeat: give it a start and an end",
                    ));
                }
            }
            next.recurrence = recurrence;
        }
        if next.asks_again(self).is_some() {
            next.rsvps.clear();
            next.rsvp_to.clear();
            next.status = PlanStatus::Proposed;
        }
        next.meta.touch(author);
        *self = next;
        Ok(())
    }

    fn summary(&self) -> String {
        self.title.clone()
    }

    /// A plan still being agreed on or agreed on (proposed or scheduled) moved to another
    /// time: the answers were to the old time, so they are cleared and it is proposed
    /// again. Done and cancelled plans keep theirs.
    fn asks_again(&self, before: &Self) -> Option<&'static str> {
        let open = matches!(before.status, PlanStatus::Proposed | PlanStatus::Scheduled);
        let moved = self.start.timestamp() != before.start.timestamp()
            || self.end.timestamp() != before.end.timestamp();
        // An accepted counter-proposal moves it with both answers to the new time given.
        let start = Stamp(self.start.timestamp());
        let answered_again =
            self.rsvp_to.len() >= 2 && self.rsvp_to.values().all(|to| *to == start);
        (open && moved && !answered_again).then_some("moved the time: asks both to RSVP again")
    }

    /// Answers to another start than the current one are dropped; a scheduled plan that
    /// had one and is left without two yeses is proposed again, as the move asked.
    fn settle(&mut self) {
        let start = self.start.timestamp();
        let stale: Vec<PersonId> = self
            .rsvp_to
            .iter()
            .filter(|(_, to)| to.0 != start)
            .map(|(person, _)| person.clone())
            .collect();
        if stale.is_empty() {
            return;
        }
        for person in &stale {
            self.rsvps.remove(person);
            self.rsvp_to.remove(person);
        }
        let yes = self.rsvps.values().filter(|a| **a == Rsvp::Yes).count();
        if self.status == PlanStatus::Scheduled && yes < 2 {
            self.status = PlanStatus::Proposed;
        }
    }
}

impl Plan {
    /// Whether the plan has no time yet ("someday"). Stored as a start equal to its end
    /// (the moment it was written, in UTC), which no build lets a dated plan have (the end
    /// must follow the start), so older builds read it as an ordinary zero-length plan
    /// instead of failing on a missing field, and a time an older build gives it makes it
    /// an ordinary plan.
    pub fn is_someday(&self) -> bool {
        self.start.timestamp() == self.end.timestamp()
    }

    /// Whether the plan is still being agreed on or is on: what a counter-proposal, an
    /// RSVP or a reminder is about. Done and cancelled plans are closed.
    pub fn is_open(&self) -> bool {
        matches!(
            self.status,
            PlanStatus::Idea | PlanStatus::Proposed | PlanStatus::Scheduled
        )
    }

    /// Comments oldest first.
    pub fn comments_in_order(&self) -> Vec<(&EntityId, &Comment)> {
        let mut out: Vec<_> = self.comments.iter().collect();
        out.sort_by_key(|(id, c)| (c.at, *id));
        out
    }

    /// Adds `author`'s comment under `id`. Whether they may is [`crate::rules::may_comment`].
    pub fn comment(
        &mut self,
        id: EntityId,
        text: &str,
        author: &Author,
    ) -> Result<(), ValidationError> {
        if self.comments.len() >= MAX_COMMENTS {
            return Err(ValidationError::rule(
                "text",
                format!("this plan already has {MAX_COMMENTS} comments, the most it keeps"),
            ));
        }
        let text = crate::entity::required_multiline_text("text", text, MAX_COMMENT)?;
        self.comments.insert(
            id,
            Comment {
                by: author.person.clone(),
                at: author.at,
                text,
            },
        );
        Ok(())
    }

    /// The counter-proposal awaiting the plan's creator: the newest one not decided.
    pub fn open_proposal(&self) -> Option<(&EntityId, &Proposal)> {
        self.proposals
            .iter()
            .filter(|(_, p)| p.outcome.is_none())
            .max_by_key(|(id, p)| (p.at, *id))
    }

    /// Records `author`'s suggestion of another time under `id`; an earlier one of theirs
    /// still open is superseded. Whether they may is [`crate::rules::may_propose`].
    pub fn propose(
        &mut self,
        id: EntityId,
        new: NewProposal,
        author: &Author,
    ) -> Result<(), ValidationError> {
        check_range(&new.start, &new.end)?;
        if self.proposals.len() >= MAX_PROPOSALS {
            return Err(ValidationError::rule(
                "start",
                format!("this plan already has {MAX_PROPOSALS} proposed times, the most it keeps"),
            ));
        }
        for earlier in self.proposals.values_mut() {
            if earlier.by == author.person && earlier.outcome.is_none() {
                earlier.outcome = Some(ProposalOutcome::Superseded);
                earlier.decided = Some(author.at);
            }
        }
        self.proposals.insert(
            id,
            Proposal {
                by: author.person.clone(),
                at: author.at,
                start: new.start,
                end: new.end,
                outcome: None,
                decided: None,
            },
        );
        Ok(())
    }

    /// The creator's answer to the open counter-proposal. Accepted, the plan takes its
    /// time and is scheduled with a yes from both (the proposal was its author's yes to
    /// that time; the acceptance is the creator's); a plan that is only an idea stays one.
    /// Declined, the plan keeps its time. Either way the proposal stays in the history.
    /// Whether `author` may is [`crate::rules::may_answer_proposal`], which also makes
    /// sure there is one open.
    pub fn answer_proposal(&mut self, accept: bool, author: &Author) {
        let Some(id) = self.open_proposal().map(|(id, _)| id.clone()) else {
            return;
        };
        let Some(proposal) = self.proposals.get_mut(&id) else {
            return;
        };
        proposal.outcome = Some(if accept {
            ProposalOutcome::Accepted
        } else {
            ProposalOutcome::Declined
        });
        proposal.decided = Some(author.at);
        if accept {
            let (start, end, by) = (
                proposal.start.clone(),
                proposal.end.clone(),
                proposal.by.clone(),
            );
            let to = Stamp(start.timestamp());
            self.start = start;
            self.end = end;
            self.rsvps =
                BTreeMap::from([(by.clone(), Rsvp::Yes), (author.person.clone(), Rsvp::Yes)]);
            self.rsvp_to = BTreeMap::from([(by, to), (author.person.clone(), to)]);
            if matches!(self.status, PlanStatus::Proposed | PlanStatus::Scheduled) {
                self.status = PlanStatus::Scheduled;
            }
        }
        self.meta.touch(author);
    }

    /// Records `author`'s answer. A proposed plan becomes scheduled once two people said yes.
    pub fn rsvp(&mut self, answer: Rsvp, author: &Author) {
        self.rsvps.insert(author.person.clone(), answer);
        self.rsvp_to
            .insert(author.person.clone(), Stamp(self.start.timestamp()));
        let yes = self.rsvps.values().filter(|a| **a == Rsvp::Yes).count();
        if self.status == PlanStatus::Proposed && yes >= 2 {
            self.status = PlanStatus::Scheduled;
        }
        self.meta.touch(author);
    }

    /// Whether the plan counts as time together (it is on, or it happened).
    pub fn counts_as_together(&self) -> bool {
        matches!(self.status, PlanStatus::Scheduled | PlanStatus::Done)
    }

    /// The (start, end) instants of every occurrence overlapping `[from, to)`. Repetition is
    /// calendar arithmetic in the plan's own time zone, so "every Friday 19:00" stays at
    /// 19:00 local time across DST. A repetition from a newer tandem that this build cannot
    /// read counts as none: the plan's own start and end. A someday plan has none.
    pub fn occurrences(&self, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        if self.is_someday() {
            return Vec::new();
        }
        let length = self.end.timestamp().duration_since(self.start.timestamp());
        let readable = self
            .recurrence
            .as_ref()
            .filter(|r| r.every != Frequency::Unknown);
        let Some(rule) = readable else {
            let (s, e) = (self.start.timestamp(), self.end.timestamp());
            return if s < to && e > from {
                vec![(s, e)]
            } else {
                Vec::new()
            };
        };
        let mut out = Vec::new();
        for n in 0..MAX_OCCURRENCES as i64 {
            let Some(Ok(start)) = rule.step(n).map(|step| self.start.0.checked_add(step)) else {
                break;
            };
            if rule.until.is_some_and(|until| start.date() > until.0) {
                break;
            }
            let s = start.timestamp();
            if s >= to {
                break;
            }
            let Ok(e) = s.checked_add(length) else {
                break;
            };
            if e > from {
                out.push((s, e));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{author, new_plan};

    fn plan(start: &str, end: &str) -> Plan {
        Plan::create(
            EntityId::parse("p1").unwrap(),
            new_plan(start, end),
            &author("alex"),
        )
        .unwrap()
    }

    #[test]
    fn end_must_follow_start() {
        let new = new_plan(
            "2026-12-04T19:00[Europe/Paris]",
            "2026-12-04T18:00[Europe/Paris]",
        );
        let err = Plan::create(EntityId::parse("p").unwrap(), new, &author("alex")).unwrap_err();
        assert_eq!(err.field, "end");
        let mut p = plan(
            "2026-12-04T19:00[Europe/Paris]",
            "2026-12-04T21:00[Europe/Paris]",
        );
        let before = p.clone();
        let patch = PlanPatch {
            title: Some("Changed".into()),
            end: Some(Moment("2026-12-04T10:00[Europe/Paris]".parse().unwrap())),
            ..Default::default()
        };
        assert!(p.edit(patch, &author("alex")).is_err());
        assert_eq!(p, before, "a failed patch must change nothing");
    }

    #[test]
    fn second_yes_schedules() {
        let mut p = plan(
            "2026-12-04T19:00[Europe/Paris]",
            "2026-12-04T21:00[Europe/Paris]",
        );
        assert_eq!(p.status, PlanStatus::Proposed);
        p.rsvp(Rsvp::Maybe, &author("sam"));
        assert_eq!(p.status, PlanStatus::Proposed);
        p.rsvp(Rsvp::Yes, &author("sam"));
        assert_eq!(p.status, PlanStatus::Scheduled);
        assert_eq!(p.meta.updated_by.as_str(), "sam");
    }

    fn scheduled() -> Plan {
        let mut p = plan(
            "2026-12-04T19:00[Europe/Paris]",
            "2026-12-04T21:00[Europe/Paris]",
        );
        p.rsvp(Rsvp::Yes, &author("sam"));
        assert_eq!(p.status, PlanStatus::Scheduled);
        p
    }

    fn at(time: &str) -> Option<Moment> {
        Some(Moment(time.parse().unwrap()))
    }

    #[test]
    fn an_rsvp_to_a_time_moved_meanwhile_does_not_count() {
        // Alex moves the plan on her laptop while Sam says yes to the old time on his; the
        // merge keeps Sam's answer (a concurrent put wins over the clear) and, say, his
        // `scheduled` over her `proposed`.
        let before = plan(
            "2026-12-04T19:00[Europe/Paris]",
            "2026-12-04T21:00[Europe/Paris]",
        );
        let mut alex = before.clone();
        alex.amend(
            PlanPatch {
                start: at("2026-12-05T20:00[Europe/Paris]"),
                end: at("2026-12-05T22:00[Europe/Paris]"),
                ..Default::default()
            },
            &author("alex"),
        )
        .unwrap();
        let mut sam = before.clone();
        sam.rsvp(Rsvp::Yes, &author("sam"));
        assert_eq!(sam.status, PlanStatus::Scheduled);
        let mut merged = alex.clone();
        merged.rsvps = sam.rsvps.clone();
        merged.rsvp_to = sam.rsvp_to.clone();
        merged.status = sam.status;
        merged.settle();
        assert!(merged.rsvps.is_empty(), "{:?}", merged.rsvps);
        assert_eq!(merged.status, PlanStatus::Proposed);
        // Answers to the new time count, and answers from an older build (no time
        // recorded) count as they always did.
        merged.rsvp(Rsvp::Yes, &author("sam"));
        merged
            .rsvps
            .insert(PersonId::parse("alex").unwrap(), Rsvp::Yes);
        merged.settle();
        assert_eq!(merged.rsvps.len(), 2);
    }

    #[test]
    fn moving_a_scheduled_plan_asks_both_to_rsvp_again() {
        let mut p = scheduled();
        let before = p.clone();
        let patch = PlanPatch {
            start: at("2026-12-05T19:00[Europe/Paris]"),
            end: at("2026-12-05T21:00[Europe/Paris]"),
            ..Default::default()
        };
        p.edit(patch, &author("alex")).unwrap();
        assert_eq!(p.status, PlanStatus::Proposed);
        assert!(p.rsvps.is_empty(), "the mover is asked too");
        assert_eq!(
            p.asks_again(&before),
            Some("moved the time: asks both to RSVP again")
        );
        p.rsvp(Rsvp::Yes, &author("alex"));
        p.rsvp(Rsvp::Yes, &author("sam"));
        assert_eq!(p.status, PlanStatus::Scheduled);
    }

    #[test]
    fn other_edits_and_the_same_instant_keep_the_answers() {
        let mut p = scheduled();
        let before = p.clone();
        let patch = PlanPatch {
            title: Some("Dinner at Luigi's".into()),
            place: Some("Luigi's".into()),
            // The same instants written in another zone are the same time.
            start: at("2026-12-04T18:00[UTC]"),
            end: at("2026-12-04T20:00[UTC]"),
            ..Default::default()
        };
        p.edit(patch, &author("alex")).unwrap();
        assert_eq!(
            (p.status, p.rsvps.clone()),
            (before.status, before.rsvps.clone())
        );
        assert_eq!(p.asks_again(&before), None);

        let mut done = scheduled();
        done.status = PlanStatus::Done;
        let before = done.clone();
        let patch = PlanPatch {
            start: at("2026-12-04T20:00[Europe/Paris]"),
            ..Default::default()
        };
        done.edit(patch, &author("alex")).unwrap();
        assert_eq!((done.status, done.rsvps.len()), (PlanStatus::Done, 2));
        assert_eq!(done.asks_again(&before), None);
    }

    #[test]
    fn weekly_plans_keep_local_time_across_dst() {
        let mut p = plan(
            "2026-10-16T19:00[Europe/Paris]",
            "2026-10-16T21:00[Europe/Paris]",
        );
        p.recurrence = Some(Recurrence {
            every: Frequency::Weekly,
            interval: 1,
            until: Some(Day("2026-11-06".parse().unwrap())),
        });
        let from: Timestamp = "2026-10-01T00:00Z".parse().unwrap();
        let to: Timestamp = "2027-01-01T00:00Z".parse().unwrap();
        let occ = p.occurrences(from, to);
        assert_eq!(occ.len(), 4, "Oct 16, 23, 30 and Nov 6");
        // 19:00 CEST is 17:00Z; after the change 19:00 CET is 18:00Z.
        assert_eq!(occ[0].0.to_string(), "2026-10-16T17:00:00Z");
        assert_eq!(occ[2].0.to_string(), "2026-10-30T18:00:00Z");
        assert!(
            occ.iter()
                .all(|(s, e)| e.duration_since(*s).as_hours() == 2)
        );
    }

    proptest::proptest! {
        /// Any JSON object of plausible and implausible fields either fails to parse or
        /// yields a plan only when its rules hold; nothing panics.
        #[test]
        fn api_input_is_parsed_or_refused(
            title in proptest::option::of("\\PC{0,20}"),
            start_hour in 0u32..30,
            end_hour in 0u32..30,
            kind in proptest::option::of("[a-z_]{0,12}"),
            extra in proptest::option::of("[a-z]{1,8}"),
        ) {
            let mut body = serde_json::json!({
                "start": format!("2026-12-04T{start_hour:02}:00[Europe/Paris]"),
                "end": format!("2026-12-04T{end_hour:02}:00[Europe/Paris]"),
            });
            if let Some(t) = &title { body["title"] = t.clone().into(); }
            if let Some(k) = &kind { body["kind"] = k.clone().into(); }
            if let Some(x) = &extra { body[x.as_str()] = 1.into(); }
            if let Ok(new) = serde_json::from_value::<NewPlan>(body)
                && let Ok(plan) = Plan::create(EntityId::parse("p").unwrap(), new, &author("alex"))
            {
                proptest::prop_assert!(plan.end.timestamp() > plan.start.timestamp());
                proptest::prop_assert!(!plan.title.is_empty());
            }
        }
    }

    fn someday() -> Plan {
        let new = NewPlan {
            start: None,
            end: None,
            ..new_plan(
                "2026-12-04T19:00[Europe/Paris]",
                "2026-12-04T21:00[Europe/Paris]",
            )
        };
        Plan::create(EntityId::parse("p2").unwrap(), new, &author("alex")).unwrap()
    }

    #[test]
    fn a_someday_plan_has_no_time_until_it_gets_a_whole_one() {
        let mut p = someday();
        assert!(p.is_someday());
        assert_eq!(
            p.start.timestamp(),
            author("alex").at.0,
            "written when it was made"
        );
        let all = p.occurrences(Timestamp::MIN, Timestamp::MAX);
        assert!(
            all.is_empty(),
            "no time: in no week, no reminder, no calendar"
        );
        // Other edits keep it someday; half a time is refused; a whole one dates it.
        p.edit(
            PlanPatch {
                title: Some("Trip to Lisbon".into()),
                ..Default::default()
            },
            &author("sam"),
        )
        .unwrap();
        assert!(p.is_someday());
        let half = PlanPatch {
            start: at("2027-04-02T09:00[Europe/Lisbon]"),
            ..Default::default()
        };
        assert_eq!(
            p.clone()
                .edit(half, &author("sam"))
                .unwrap_err()
                .to_string(),
            "end: this plan has no time yet: give an end with the start"
        );
        let repeat = PlanPatch {
            recurrence: Some(Some(Recurrence {
                every: Frequency::Weekly,
                interval: 1,
                until: None,
            })),
            ..Default::default()
        };
        assert!(p.clone().edit(repeat, &author("sam")).is_err());
        p.edit(
            PlanPatch {
                start: at("2027-04-02T09:00[Europe/Lisbon]"),
                end: at("2027-04-05T18:00[Europe/Lisbon]"),
                ..Default::default()
            },
            &author("sam"),
        )
        .unwrap();
        assert!(!p.is_someday());
        // Half a time at creation is refused too, naming what is missing.
        let half = NewPlan {
            end: None,
            ..new_plan(
                "2026-12-04T19:00[Europe/Paris]",
                "2026-12-04T21:00[Europe/Paris]",
            )
        };
        let err = Plan::create(EntityId::parse("p3").unwrap(), half, &author("alex")).unwrap_err();
        assert_eq!(err.field, "end");
    }

    #[test]
    fn an_older_build_reads_a_someday_plan_as_a_plan() {
        // What the first release's `Plan` hydrates: every field it knows is there.
        let p = someday();
        let mut doc = automerge::AutoCommit::new();
        autosurgeon::reconcile_prop(&mut doc, automerge::ROOT, "p", &p).unwrap();
        let back: Plan = autosurgeon::hydrate_prop(&doc, automerge::ROOT, "p").unwrap();
        assert_eq!(back, p);
        use automerge::ReadDoc;
        let (_, obj) = doc.get(automerge::ROOT, "p").unwrap().unwrap();
        for field in ["start", "end", "title", "status", "rsvps"] {
            assert!(doc.get(&obj, field).unwrap().is_some(), "{field}");
        }
    }

    fn new_time(start: &str, end: &str) -> NewProposal {
        NewProposal {
            start: Moment(start.parse().unwrap()),
            end: Moment(end.parse().unwrap()),
        }
    }

    #[test]
    fn an_accepted_proposal_moves_the_plan_and_schedules_it() {
        let mut p = plan(
            "2026-12-04T19:00[Europe/Paris]",
            "2026-12-04T21:00[Europe/Paris]",
        );
        let first = EntityId::parse("c1").unwrap();
        p.propose(
            first.clone(),
            new_time(
                "2026-12-05T19:00[Europe/Paris]",
                "2026-12-05T21:00[Europe/Paris]",
            ),
            &author("sam"),
        )
        .unwrap();
        // Sam changes his mind: the newer one is what awaits Alex.
        let mut later = author("sam");
        later.at = Stamp(later.at.0 + jiff::SignedDuration::from_secs(60));
        p.propose(
            EntityId::parse("c2").unwrap(),
            new_time(
                "2026-12-06T12:00[Europe/Paris]",
                "2026-12-06T15:00[Europe/Paris]",
            ),
            &later,
        )
        .unwrap();
        assert_eq!(p.open_proposal().unwrap().0.as_str(), "c2");
        assert_eq!(
            p.proposals[&first].outcome,
            Some(ProposalOutcome::Superseded)
        );
        let bad = new_time(
            "2026-12-06T15:00[Europe/Paris]",
            "2026-12-06T12:00[Europe/Paris]",
        );
        assert!(
            p.propose(EntityId::parse("c3").unwrap(), bad, &later)
                .is_err()
        );

        p.answer_proposal(true, &author("alex"));
        assert_eq!(p.start.0.hour(), 12);
        assert_eq!(
            p.status,
            PlanStatus::Scheduled,
            "both said yes to the new time"
        );
        let mut settled = p.clone();
        settled.settle();
        assert_eq!(settled.rsvps.len(), 2, "the answers are to the new start");
        assert_eq!(p.open_proposal(), None);
        assert_eq!(p.proposals.len(), 2, "the history is kept");
    }

    #[test]
    fn a_declined_proposal_keeps_the_time() {
        let mut p = someday();
        p.propose(
            EntityId::parse("c1").unwrap(),
            new_time(
                "2026-12-05T19:00[Europe/Paris]",
                "2026-12-05T21:00[Europe/Paris]",
            ),
            &author("sam"),
        )
        .unwrap();
        let before = (p.start.clone(), p.end.clone(), p.status);
        p.answer_proposal(false, &author("alex"));
        assert_eq!((p.start.clone(), p.end.clone(), p.status), before);
        assert!(p.is_someday());
        let c1 = &p.proposals[&EntityId::parse("c1").unwrap()];
        assert_eq!(c1.outcome, Some(ProposalOutcome::Declined));
        assert_eq!(c1.decided, Some(author("alex").at));
    }

    #[test]
    fn comments_keep_lines_refuse_controls_and_are_bounded() {
        let mut p = someday();
        let id = |n: usize| EntityId::parse(&format!("m{n}")).unwrap();
        p.comment(id(0), "Sounds good\r\nbut Saturday?", &author("sam"))
            .unwrap();
        assert_eq!(p.comments[&id(0)].text, "Sounds good\nbut Saturday?");
        assert!(p.comment(id(1), "   ", &author("sam")).is_err());
        assert!(p.comment(id(1), "bell\u{7}", &author("sam")).is_err());
        let long = "x".repeat(MAX_COMMENT + 1);
        assert!(p.comment(id(1), &long, &author("sam")).is_err());
        for n in 1..MAX_COMMENTS {
            p.comment(id(n), "ok", &author("alex")).unwrap();
        }
        let err = p
            .comment(id(MAX_COMMENTS), "one more", &author("alex"))
            .unwrap_err();
        assert_eq!(err.field, "text");
        assert_eq!(p.comments_in_order()[0].0, &id(0));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<PlanPatch>(r#"{"titel":"x"}"#).unwrap_err();
        assert!(err.to_string().contains("titel"), "{err}");
        let p: PlanPatch = serde_json::from_str(r#"{"recurrence":null}"#).unwrap();
        assert_eq!(p.recurrence, Some(None));
    }
}
