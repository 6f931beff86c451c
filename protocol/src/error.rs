//! Errors of the pure core.

use thiserror::Error;

/// A value a person supplied is not acceptable. Names the field so the API and CLI can
/// point at exactly what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {problem}")]
pub struct ValidationError {
    /// The request field at fault, e.g. `title` or `end`.
    pub field: String,
    /// What is wrong with it, phrased so the reader knows what to change.
    pub problem: String,
}

impl ValidationError {
    /// Builds an error for `field`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Something went wrong reading or changing an Automerge document.
#[derive(Debug, Error)]
pub enum DocumentError {
    /// The request itself was invalid; nothing was changed.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No entity with this id exists in the collection.
    #[error("no {collection} with id {id}")]
    NotFound {
        /// Collection searched, e.g. `plans`.
        collection: &'static str,
        /// The id that was asked for.
        id: String,
    },
    /// An id prefix matched more than one entity.
    #[error("id prefix {prefix} matches several {collection}: give more characters")]
    Ambiguous {
        /// Collection searched.
        collection: &'static str,
        /// The prefix that was asked for.
        prefix: String,
    },
    /// The document does not have the shape tandem writes (a foreign or damaged document).
    #[error("document is malformed: {0}")]
    Malformed(String),
    /// Automerge refused an operation.
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
}

impl From<autosurgeon::HydrateError> for DocumentError {
    fn from(e: autosurgeon::HydrateError) -> Self {
        DocumentError::Malformed(e.to_string())
    }
}

impl From<autosurgeon::ReconcileError> for DocumentError {
    fn from(e: autosurgeon::ReconcileError) -> Self {
        DocumentError::Malformed(e.to_string())
    }
}
