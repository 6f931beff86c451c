//! Agreements and boundaries both partners accept, each with a date to review it.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use jiff::Span;
use serde::{Deserialize, Serialize};

use crate::document::Collection;
use crate::entity::{Author, Entity, Meta, keyed_by_id, required_text};
use crate::error::ValidationError;
use crate::ids::{EntityId, PersonId};
use crate::time::{Day, Stamp};

/// Longest agreement text.
pub const MAX_TEXT: usize = 500;
/// Days until review when none is given.
pub const DEFAULT_REVIEW_DAYS: i64 = 90;

/// A short written agreement, e.g. "no phones at dinner".
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Agreement {
    /// Id of the agreement.
    pub id: EntityId,
    /// The agreement itself.
    pub text: String,
    /// When to look at it again together.
    pub review_on: Day,
    /// Who accepted the current wording, and when. The author accepts on creation; a change
    /// of wording clears it, the editor's too, since nobody agreed to the new words yet:
    /// both are asked again.
    pub accepted_by: BTreeMap<PersonId, Stamp>,
    /// Who wrote it and when.
    #[serde(flatten)]
    pub meta: Meta,
}

/// Body of a request to propose an agreement.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgreement {
    /// See [`Agreement::text`].
    #[schema(schema_with = crate::entity::required_text_schema::<MAX_TEXT>)]
    pub text: String,
    /// Defaults to 90 days from now.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_on: Option<Day>,
}

/// Body of a request to change an agreement.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreementPatch {
    /// New wording (clears every acceptance, the editor's too).
    #[schema(schema_with = crate::entity::required_text_or_null_schema::<MAX_TEXT>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// New review date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_on: Option<Day>,
}

keyed_by_id!(Agreement);

impl Entity for Agreement {
    const COLLECTION: Collection = Collection::Agreements;
    const NOUN: &'static str = "agreement";
    type New = NewAgreement;
    type Patch = AgreementPatch;

    fn create(id: EntityId, new: NewAgreement, author: &Author) -> Result<Self, ValidationError> {
        let today = author
            .at
            .0
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date();
        let review_on = match new.review_on {
            Some(day) => day,
            None => Day(today
                .checked_add(Span::new().days(DEFAULT_REVIEW_DAYS))
                .map_err(|e| ValidationError::new("review_on", e.to_string()))?),
        };
        Ok(Agreement {
            id,
            text: required_text("text", &new.text, MAX_TEXT)?,
            review_on,
            accepted_by: BTreeMap::from([(author.person.clone(), author.at)]),
            meta: Meta::new(author),
        })
    }

    fn amend(&mut self, patch: AgreementPatch, author: &Author) -> Result<(), ValidationError> {
        if let Some(text) = patch.text {
            let text = required_text("text", &text, MAX_TEXT)?;
            if text != self.text {
                self.text = text;
                self.accepted_by.clear();
            }
        }
        if let Some(day) = patch.review_on {
            self.review_on = day;
        }
        self.meta.touch(author);
        Ok(())
    }

    fn summary(&self) -> String {
        self.text.clone()
    }

    fn asks_again(&self, before: &Self) -> Option<&'static str> {
        (self.text != before.text).then_some("changed the text: asks both to accept again")
    }
}

impl Agreement {
    /// Records that `author` accepts the current wording.
    pub fn accept(&mut self, author: &Author) {
        self.accepted_by.insert(author.person.clone(), author.at);
        self.meta.touch(author);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::author;

    fn accepted_by_both() -> Agreement {
        let new = NewAgreement {
            text: "No phones at dinner".into(),
            review_on: None,
        };
        let mut agreement =
            Agreement::create(EntityId::parse("a1").unwrap(), new, &author("alex")).unwrap();
        agreement.accept(&author("sam"));
        agreement
    }

    #[test]
    fn a_new_wording_clears_both_acceptances() {
        let mut agreement = accepted_by_both();
        let before = agreement.clone();
        let patch = AgreementPatch {
            text: Some("No phones at dinner or in bed".into()),
            review_on: None,
        };
        agreement.edit(patch, &author("alex")).unwrap();
        assert!(agreement.accepted_by.is_empty(), "the editor is asked too");
        assert_eq!(
            agreement.asks_again(&before),
            Some("changed the text: asks both to accept again")
        );
    }

    #[test]
    fn a_new_review_date_or_the_same_words_keep_both_acceptances() {
        let mut agreement = accepted_by_both();
        let before = agreement.clone();
        let patch = AgreementPatch {
            text: Some("  No phones at dinner ".into()),
            review_on: Some(Day("2031-01-01".parse().unwrap())),
        };
        agreement.edit(patch, &author("sam")).unwrap();
        assert_eq!(agreement.accepted_by, before.accepted_by);
        assert_eq!(agreement.asks_again(&before), None);
    }
}
