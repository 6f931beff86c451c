//! The activity record: who changed what, stored as each Automerge change's message.
//!
//! Keeping it inside the change means the feed syncs with the document for free, and the
//! partner's daemon can show "Sam added plan Dinner at Luigi's" without any side channel.

use serde::{Deserialize, Serialize};

use crate::entity::Author;
use crate::ids::{EntityId, PersonId};
use crate::time::Stamp;

/// One entry of the activity feed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Activity {
    /// When the change was made.
    pub at: Stamp,
    /// Who made it.
    pub by: PersonId,
    /// What was done, `noun.verb`, e.g. `plan.add`, `plan.rsvp`, `note.edit`.
    pub action: String,
    /// The entity concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<EntityId>,
    /// A short human description, e.g. the plan's title.
    pub summary: String,
    /// The change this one reverts, for `tandem undo` ([`crate::undo`]): the hash of a
    /// change of the same device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
}

impl Activity {
    /// A record of `author` doing `action`.
    pub fn new(author: &Author, action: &str, id: Option<EntityId>, summary: &str) -> Self {
        Self {
            at: author.at,
            by: author.person.clone(),
            action: action.to_owned(),
            id,
            summary: summary.to_owned(),
            undoes: None,
        }
    }

    /// The same record, marked as reverting the change `hash`.
    pub fn undoing(mut self, hash: automerge::ChangeHash) -> Self {
        self.undoes = Some(hash.to_string());
        self
    }

    /// The change message carrying this record.
    pub fn to_message(&self) -> String {
        serde_json::to_string(self).expect("activity records always serialize")
    }

    /// Reads a change message; `None` for messages tandem did not write (e.g. genesis).
    pub fn from_message(message: &str) -> Option<Self> {
        serde_json::from_str(message).ok()
    }
}
