//! Check-ins: each partner says how the week felt, on two 1–5 scales plus free text.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::entity::{Stored, bounded_multiline_text};
use crate::error::ValidationError;
use crate::ids::PersonId;
use crate::time::{IsoWeek, Stamp};

/// Longest free-text answer.
pub const MAX_TEXT: usize = 2_000;

/// One person's answers for one week. Kept in its author's private document until both
/// partners have answered that week; then published to the shared one.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckinAnswer {
    /// `<week>_<person>`: one answer per person per week, and concurrent answers by the
    /// two partners never touch the same key.
    pub key: String,
    /// The week answered for.
    pub week: IsoWeek,
    /// Who answered.
    pub person: PersonId,
    /// "I had enough time to myself", 1 (not at all) to 5 (plenty).
    pub enough_alone: u8,
    /// "I had enough time with you", 1 to 5.
    pub enough_together: u8,
    /// What went well.
    pub went_well: String,
    /// What I need next week.
    pub need_next: String,
    /// When the answer was given.
    pub answered_at: Stamp,
}

/// The shared trace of an answer: "this person has answered this week", nothing more.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckinMarker {
    /// `<week>_<person>`, as for the answer.
    pub key: String,
    /// The week answered for.
    pub week: IsoWeek,
    /// Who answered.
    pub person: PersonId,
    /// When they first answered. Answering again before the reveal replaces only the
    /// private draft, so the partner learns nothing from it.
    pub answered_at: Stamp,
}

impl Stored for CheckinAnswer {
    fn storage_key(&self) -> &str {
        &self.key
    }
}

impl Stored for CheckinMarker {
    fn storage_key(&self) -> &str {
        &self.key
    }
}

/// Body of a check-in.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCheckin {
    /// Defaults to the current week.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub week: Option<IsoWeek>,
    /// See [`CheckinAnswer::enough_alone`].
    #[schema(minimum = 1, maximum = 5)]
    #[serde(deserialize_with = "crate::entity::whole_number")]
    pub enough_alone: i64,
    /// See [`CheckinAnswer::enough_together`].
    #[schema(minimum = 1, maximum = 5)]
    #[serde(deserialize_with = "crate::entity::whole_number")]
    pub enough_together: i64,
    /// See [`CheckinAnswer::went_well`].
    #[serde(default)]
    #[schema(schema_with = crate::entity::bounded_multiline_text_or_null_schema::<MAX_TEXT>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub went_well: Option<String>,
    /// See [`CheckinAnswer::need_next`].
    #[serde(default)]
    #[schema(schema_with = crate::entity::bounded_multiline_text_or_null_schema::<MAX_TEXT>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub need_next: Option<String>,
}

/// The storage key of `person`'s answer for `week`.
pub fn answer_key(week: IsoWeek, person: &PersonId) -> String {
    format!("{week}_{person}")
}

/// What a rating may be (the schema states the same bounds; a test holds them together).
pub const RATINGS: std::ops::RangeInclusive<u8> = 1..=5;

fn rating(field: &str, value: i64) -> Result<u8, ValidationError> {
    match u8::try_from(value) {
        Ok(v) if RATINGS.contains(&v) => Ok(v),
        _ => Err(ValidationError::new(
            field,
            format!("must be 1 to 5, got {value}"),
        )),
    }
}

impl CheckinAnswer {
    /// A validated answer by `person` for `week`.
    pub fn new(
        week: IsoWeek,
        person: PersonId,
        new: NewCheckin,
        at: Stamp,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            key: answer_key(week, &person),
            week,
            enough_alone: rating("enough_alone", new.enough_alone)?,
            enough_together: rating("enough_together", new.enough_together)?,
            went_well: bounded_multiline_text(
                "went_well",
                new.went_well.as_deref().unwrap_or(""),
                MAX_TEXT,
            )?,
            need_next: bounded_multiline_text(
                "need_next",
                new.need_next.as_deref().unwrap_or(""),
                MAX_TEXT,
            )?,
            person,
            answered_at: at,
        })
    }

    /// The marker that announces this answer without revealing it.
    pub fn marker(&self) -> CheckinMarker {
        CheckinMarker {
            key: self.key.clone(),
            week: self.week,
            person: self.person.clone(),
            answered_at: self.answered_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_one_to_five() {
        let new = |a, t| NewCheckin {
            week: None,
            enough_alone: a,
            enough_together: t,
            went_well: None,
            need_next: None,
        };
        let week: IsoWeek = "2026-W48".parse().unwrap();
        let person = PersonId::parse("sam").unwrap();
        let at = Stamp("2026-11-26T10:00:00Z".parse().unwrap());
        assert!(CheckinAnswer::new(week, person.clone(), new(1, 5), at).is_ok());
        let err = CheckinAnswer::new(week, person.clone(), new(0, 3), at).unwrap_err();
        assert_eq!(err.field, "enough_alone");
        let err = CheckinAnswer::new(week, person, new(3, 6), at).unwrap_err();
        assert_eq!(err.field, "enough_together");
    }
}
