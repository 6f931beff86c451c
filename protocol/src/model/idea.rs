//! The idea jar: things to do together some day.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::document::Collection;
use crate::entity::{Author, Entity, Meta, bounded_multiline_text, keyed_by_id, required_text};
use crate::error::ValidationError;
use crate::ids::EntityId;

/// Longest idea title.
pub const MAX_TITLE: usize = 200;
/// Longest idea notes.
pub const MAX_NOTES: usize = 2_000;

/// Something to do together some day.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Idea {
    /// Id of the idea.
    pub id: EntityId,
    /// What to do, e.g. "Night swim".
    pub title: String,
    /// Details, links, who would love it.
    pub notes: String,
    /// Who put it in the jar and when.
    #[serde(flatten)]
    pub meta: Meta,
}

/// Body of a request to add an idea.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIdea {
    /// See [`Idea::title`].
    #[schema(schema_with = crate::entity::required_text_schema::<MAX_TITLE>)]
    pub title: String,
    /// See [`Idea::notes`].
    #[serde(default)]
    #[schema(schema_with = crate::entity::bounded_multiline_text_or_null_schema::<MAX_NOTES>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// Body of a request to change an idea.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdeaPatch {
    /// New title.
    #[schema(schema_with = crate::entity::required_text_or_null_schema::<MAX_TITLE>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New notes.
    #[schema(schema_with = crate::entity::bounded_multiline_text_or_null_schema::<MAX_NOTES>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

keyed_by_id!(Idea);

impl Entity for Idea {
    const COLLECTION: Collection = Collection::Ideas;
    const NOUN: &'static str = "idea";
    type New = NewIdea;
    type Patch = IdeaPatch;

    fn create(id: EntityId, new: NewIdea, author: &Author) -> Result<Self, ValidationError> {
        Ok(Idea {
            id,
            title: required_text("title", &new.title, MAX_TITLE)?,
            notes: bounded_multiline_text("notes", new.notes.as_deref().unwrap_or(""), MAX_NOTES)?,
            meta: Meta::new(author),
        })
    }

    fn amend(&mut self, patch: IdeaPatch, author: &Author) -> Result<(), ValidationError> {
        let title = patch
            .title
            .map(|t| required_text("title", &t, MAX_TITLE))
            .transpose()?;
        let notes = patch
            .notes
            .map(|n| bounded_multiline_text("notes", &n, MAX_NOTES))
            .transpose()?;
        self.title = title.unwrap_or_else(|| self.title.clone());
        self.notes = notes.unwrap_or_else(|| self.notes.clone());
        self.meta.touch(author);
        Ok(())
    }

    fn summary(&self) -> String {
        self.title.clone()
    }
}
