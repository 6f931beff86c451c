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
    /// The wording each acceptance was given to ([`wording_of`]). An acceptance of other
    /// words (given while the other laptop changed them) does not count
    /// ([`Entity::settle`]); acceptances from builds before this field have none and count.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[autosurgeon(missing = "Default::default")]
    pub accepted_wording: BTreeMap<PersonId, String>,
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

/// What an acceptance records of the words accepted: a short digest, so the document does
/// not hold every wording twice. 64 bits tell two wordings of one agreement apart.
pub fn wording_of(text: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

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
        let text = required_text("text", &new.text, MAX_TEXT)?;
        Ok(Agreement {
            id,
            review_on,
            accepted_by: BTreeMap::from([(author.person.clone(), author.at)]),
            accepted_wording: BTreeMap::from([(author.person.clone(), wording_of(&text))]),
            text,
            meta: Meta::new(author),
        })
    }

    fn amend(&mut self, patch: AgreementPatch, author: &Author) -> Result<(), ValidationError> {
        if let Some(text) = patch.text {
            let text = required_text("text", &text, MAX_TEXT)?;
            if text != self.text {
                self.text = text;
                self.accepted_by.clear();
                self.accepted_wording.clear();
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

    /// Acceptances of other words than the current ones are dropped.
    fn settle(&mut self) {
        let current = wording_of(&self.text);
        let stale: Vec<PersonId> = self
            .accepted_wording
            .iter()
            .filter(|(_, wording)| **wording != current)
            .map(|(person, _)| person.clone())
            .collect();
        for person in &stale {
            self.accepted_by.remove(person);
            self.accepted_wording.remove(person);
        }
    }
}

impl Agreement {
    /// Records that `author` accepts the current wording.
    pub fn accept(&mut self, author: &Author) {
        self.accepted_by.insert(author.person.clone(), author.at);
        self.accepted_wording
            .insert(author.person.clone(), wording_of(&self.text));
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
    fn an_acceptance_of_words_changed_meanwhile_does_not_count() {
        // Sam accepts on his laptop while Alex rewrites it on hers; the merge keeps Sam's
        // entry (a concurrent put wins over the clear) beside Alex's new words.
        let before = accepted_by_both();
        let mut alex = before.clone();
        alex.amend(
            AgreementPatch {
                text: Some("phones away after 22:00".into()),
                ..Default::default()
            },
            &author("alex"),
        )
        .unwrap();
        let mut sam = before.clone();
        sam.accept(&author("sam"));
        let mut merged = alex.clone();
        merged.accepted_by = sam.accepted_by.clone();
        merged.accepted_wording = sam.accepted_wording.clone();
        merged.settle();
        assert!(merged.accepted_by.is_empty(), "{merged:?}");
        // An acceptance of the current words stays; one from an older build (no wording
        // recorded) counts as it always did.
        merged.accept(&author("sam"));
        merged
            .accepted_by
            .insert(PersonId::parse("alex").unwrap(), author("alex").at);
        merged.settle();
        assert_eq!(merged.accepted_by.len(), 2);
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
