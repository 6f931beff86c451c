//! Personal time: hours each partner keeps for themselves.
//!
//! The block (owner and hours, with a neutral label) is shared so the partner can plan
//! around it; what it is for ([`PersonalTimeDetail`]) lives in the owner's private document.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::document::Collection;
use crate::entity::{
    Author, Entity, Meta, Stored, bounded_text, check_range, keyed_by_id, required_text,
};
use crate::error::ValidationError;
use crate::ids::{EntityId, PersonId};
use crate::time::Moment;

/// Longest public label.
pub const MAX_LABEL: usize = 100;
/// Longest private details.
pub const MAX_DETAILS: usize = 2_000;
/// Label shown to the partner when none is given.
pub const DEFAULT_LABEL: &str = "personal time";

/// A block of personal time as both partners see it.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonalTime {
    /// Id of the block; the private details use the same id.
    pub id: EntityId,
    /// Whose time it is: only they may change, delete or restore it ([`crate::rules`]).
    pub owner: PersonId,
    /// Start, with time zone.
    pub start: Moment,
    /// End, after start.
    pub end: Moment,
    /// What the partner sees, by default "personal time".
    pub label: String,
    /// Who created and changed it.
    #[serde(flatten)]
    pub meta: Meta,
}

/// The owner's private side of a block: what it is really for.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonalTimeDetail {
    /// Same id as the shared block.
    pub id: EntityId,
    /// E.g. "climbing with Jo".
    pub details: String,
}

impl Stored for PersonalTimeDetail {
    fn storage_key(&self) -> &str {
        self.id.as_str()
    }
}

/// Body of a request to block personal time.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPersonalTime {
    /// See [`PersonalTime::start`].
    pub start: Moment,
    /// See [`PersonalTime::end`].
    pub end: Moment,
    /// See [`PersonalTime::label`].
    #[serde(default)]
    #[schema(schema_with = crate::entity::required_text_or_null_schema::<MAX_LABEL>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Private details, kept in the owner's private document only.
    #[serde(default)]
    #[schema(schema_with = crate::entity::bounded_text_or_null_schema::<MAX_DETAILS>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// Body of a request to change a block.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonalTimePatch {
    /// New start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Moment>,
    /// New end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<Moment>,
    /// New public label.
    #[schema(schema_with = crate::entity::required_text_or_null_schema::<MAX_LABEL>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// New private details.
    #[schema(schema_with = crate::entity::bounded_text_or_null_schema::<MAX_DETAILS>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// Checks private details from a create or update request.
pub fn check_details(details: &str) -> Result<String, ValidationError> {
    bounded_text("details", details, MAX_DETAILS)
}

keyed_by_id!(PersonalTime);

impl Entity for PersonalTime {
    const COLLECTION: Collection = Collection::PersonalTime;
    const NOUN: &'static str = "personal_time";
    type New = NewPersonalTime;
    type Patch = PersonalTimePatch;

    fn create(
        id: EntityId,
        new: NewPersonalTime,
        author: &Author,
    ) -> Result<Self, ValidationError> {
        check_range(&new.start, &new.end)?;
        if let Some(d) = &new.details {
            check_details(d)?;
        }
        Ok(PersonalTime {
            id,
            owner: author.person.clone(),
            start: new.start,
            end: new.end,
            label: required_text(
                "label",
                new.label.as_deref().unwrap_or(DEFAULT_LABEL),
                MAX_LABEL,
            )?,
            meta: Meta::new(author),
        })
    }

    fn amend(&mut self, patch: PersonalTimePatch, author: &Author) -> Result<(), ValidationError> {
        let start = patch.start.unwrap_or_else(|| self.start.clone());
        let end = patch.end.unwrap_or_else(|| self.end.clone());
        check_range(&start, &end)?;
        let label = patch
            .label
            .map(|l| required_text("label", &l, MAX_LABEL))
            .transpose()?;
        if let Some(d) = &patch.details {
            check_details(d)?;
        }
        let label = label.unwrap_or_else(|| self.label.clone());
        if (&start, &end, &label) == (&self.start, &self.end, &self.label) {
            // Only the private details (if anything) change: the shared block, its
            // `updated_at` included, must not move, or the partner learns when the owner
            // edited their private plans.
            return Ok(());
        }
        self.start = start;
        self.end = end;
        self.label = label;
        self.meta.touch(author);
        Ok(())
    }

    fn summary(&self) -> String {
        self.label.clone()
    }

    fn owner(&self) -> Option<&PersonId> {
        Some(&self.owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::EditError;
    use crate::rules::{Action, Refusal};
    use crate::test_support::author;
    use crate::time::Stamp;

    /// `who` changing something a day after [`author`]'s instant.
    fn later(who: &str) -> Author {
        Author {
            at: Stamp("2026-11-27T10:00:00Z".parse().unwrap()),
            ..author(who)
        }
    }

    fn block() -> PersonalTime {
        let new = NewPersonalTime {
            start: "2026-12-05T09:00[Europe/Paris]".parse().unwrap(),
            end: "2026-12-05T12:00[Europe/Paris]".parse().unwrap(),
            label: None,
            details: Some("climbing with Jo".into()),
        };
        PersonalTime::create(EntityId::parse("b1").unwrap(), new, &author("alex")).unwrap()
    }

    #[test]
    fn a_details_only_patch_leaves_the_shared_block_untouched() {
        let before = block();
        let mut after = before.clone();
        let patch = PersonalTimePatch {
            details: Some("job interview".into()),
            ..Default::default()
        };
        after.edit(patch, &later("alex")).unwrap();
        assert_eq!(after, before);

        // Naming a shared field with the value it already has changes nothing either.
        let patch = PersonalTimePatch {
            label: Some(DEFAULT_LABEL.into()),
            start: Some(before.start.clone()),
            details: Some("dentist".into()),
            ..Default::default()
        };
        after.edit(patch, &later("alex")).unwrap();
        assert_eq!(after, before);
    }

    #[test]
    fn a_new_end_is_an_edit_of_the_shared_block() {
        let mut block = block();
        let patch = PersonalTimePatch {
            end: Some("2026-12-05T13:00[Europe/Paris]".parse().unwrap()),
            ..Default::default()
        };
        block.edit(patch, &later("alex")).unwrap();
        assert_eq!(block.meta.updated_at, later("alex").at);
    }

    #[test]
    fn only_the_owner_may_patch_even_the_details() {
        let mut block = block();
        let before = block.clone();
        let details = || PersonalTimePatch {
            details: Some("spying".into()),
            ..Default::default()
        };
        let err = block.edit(details(), &later("sam")).unwrap_err();
        assert!(
            matches!(
                err,
                EditError::Refused(Refusal::NotYours {
                    action: Action::Edit,
                    ..
                })
            ),
            "{err:?}"
        );
        let relabel = PersonalTimePatch {
            label: Some("gone fishing".into()),
            ..Default::default()
        };
        assert!(block.edit(relabel, &later("sam")).is_err());
        assert_eq!(block, before, "a refused edit changes nothing");
    }

    #[test]
    fn a_block_in_the_trash_is_not_edited_even_by_its_owner() {
        let mut block = block();
        crate::trash::delete(&mut block, &author("alex")).unwrap();
        let before = block.clone();
        let patch = PersonalTimePatch {
            details: Some("dentist".into()),
            ..Default::default()
        };
        let err = block.edit(patch, &later("alex")).unwrap_err();
        assert!(
            matches!(err, EditError::Refused(Refusal::InTrash { .. })),
            "{err:?}"
        );
        assert_eq!(block, before);
    }
}
