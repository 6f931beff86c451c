//! Private notes: a journal only its owner can read.

use autosurgeon::{Hydrate, Reconcile, Text};
use serde::{Deserialize, Serialize};

use crate::document::Collection;
use crate::entity::{
    Author, Entity, Meta, bounded_multiline_text, keyed_by_id, required_multiline_text,
    required_text, text_as_str, text_from_str, update_text,
};
use crate::error::ValidationError;
use crate::ids::EntityId;

/// Longest note title.
pub const MAX_TITLE: usize = 200;
/// Longest note body.
pub const MAX_BODY: usize = 50_000;

/// A journal entry. Lives in the private document, which never leaves its owner's devices.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Note {
    /// Id of the note.
    pub id: EntityId,
    /// Title; defaults to the body's first line.
    pub title: String,
    /// The text, merged character by character between one's own devices.
    #[serde(serialize_with = "text_as_str", deserialize_with = "text_from_str")]
    #[schema(value_type = String)]
    pub body: Text,
    /// When it was written and changed.
    #[serde(flatten)]
    pub meta: Meta,
}

/// Body of a request to write a note.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    /// See [`Note::title`]; the body's first line when absent.
    #[serde(default)]
    #[schema(schema_with = crate::entity::required_text_or_null_schema::<MAX_TITLE>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// See [`Note::body`].
    #[schema(schema_with = crate::entity::required_multiline_text_schema::<MAX_BODY>)]
    pub body: String,
}

/// Body of a request to change a note.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotePatch {
    /// New title.
    #[schema(schema_with = crate::entity::required_text_or_null_schema::<MAX_TITLE>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New body.
    #[schema(schema_with = crate::entity::bounded_multiline_text_or_null_schema::<MAX_BODY>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

keyed_by_id!(Note);

impl Entity for Note {
    const COLLECTION: Collection = Collection::Notes;
    const NOUN: &'static str = "note";
    type New = NewNote;
    type Patch = NotePatch;

    fn create(id: EntityId, new: NewNote, author: &Author) -> Result<Self, ValidationError> {
        let body = required_multiline_text("body", &new.body, MAX_BODY)?;
        let title = match new.title {
            Some(t) => required_text("title", &t, MAX_TITLE)?,
            None => body
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                // A title is one line: the body's tabs become spaces.
                .map(|c| if c == '\t' { ' ' } else { c })
                .take(MAX_TITLE)
                .collect(),
        };
        Ok(Note {
            id,
            title,
            body: Text::with_value(body),
            meta: Meta::new(author),
        })
    }

    fn amend(&mut self, patch: NotePatch, author: &Author) -> Result<(), ValidationError> {
        let title = patch
            .title
            .map(|t| required_text("title", &t, MAX_TITLE))
            .transpose()?;
        let body = patch
            .body
            .map(|b| bounded_multiline_text("body", &b, MAX_BODY))
            .transpose()?;
        if let Some(title) = title {
            self.title = title;
        }
        if let Some(body) = body {
            update_text(&mut self.body, &body);
        }
        self.meta.touch(author);
        Ok(())
    }

    fn summary(&self) -> String {
        self.title.clone()
    }
}
