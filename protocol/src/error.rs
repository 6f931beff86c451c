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
    /// Whether the API's schema states the rule broken, which decides the answer (400 or
    /// 422) a client can rely on.
    pub kind: Broken,
}

/// Which kind of rule a refused value broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// A constraint the API's schema states (a length, range, pattern or enum): a
    /// client that follows the schema never sends it (HTTP 400).
    Schema,
    /// A rule no JSON Schema can state: across fields (an end after its start) or about
    /// the world (a date, week or time zone that exists). A request can match the schema
    /// and still break it (HTTP 422).
    Rule,
}

impl ValidationError {
    /// `field` breaks a constraint the schema states.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
            kind: Broken::Schema,
        }
    }

    /// `field` breaks a rule no schema can state.
    pub fn rule(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            kind: Broken::Rule,
            ..Self::new(field, problem)
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
    /// The item exists but `field` has no value that lost a conflict, so there is nothing
    /// to keep: the state, not the request, refuses it.
    #[error(
        "{field} of this item has no conflicting value to keep: list its conflicts to see which fields have one"
    )]
    NoConflict {
        /// The field asked for.
        field: String,
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
