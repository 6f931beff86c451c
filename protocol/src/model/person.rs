//! A partner, as known to both documents' readers.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::entity::Stored;
use crate::ids::PersonId;
use crate::time::Stamp;

/// One partner. Written by that partner's daemon at start so the other side can show
/// names instead of ids.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Person {
    /// Stable id shared by all of this person's devices.
    pub id: PersonId,
    /// Display name, e.g. "Alex".
    pub name: String,
    /// When this person first joined the shared document.
    pub joined_at: Stamp,
}

impl Stored for Person {
    fn storage_key(&self) -> &str {
        self.id.as_str()
    }
}

/// Longest accepted display name.
pub const MAX_NAME_LEN: usize = 60;
