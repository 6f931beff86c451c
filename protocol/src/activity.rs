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
    /// The `Idempotency-Key` request that made this change, as digests ([`RequestMark`]):
    /// kept inside the change so the key is exactly as durable as the write it caused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestMark>,
}

/// Which request a change came from, by digests only (the raw key never leaves the
/// daemon, and the record syncs to the partner): a retry with the same key is recognised,
/// and one with a different request under that key is refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RequestMark {
    /// Digest of the caller and the `Idempotency-Key` it sent.
    pub key: String,
    /// Digest of the method, path and body of the request.
    pub digest: String,
}

/// The longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// Whether `key` is a usable `Idempotency-Key`: 1 to [`MAX_IDEMPOTENCY_KEY`] visible ASCII
/// characters (no spaces or controls), so it is one token whatever client sent it.
pub fn valid_idempotency_key(key: &[u8]) -> bool {
    (1..=MAX_IDEMPOTENCY_KEY).contains(&key.len()) && key.iter().all(|b| b.is_ascii_graphic())
}

impl RequestMark {
    /// The mark of `caller` (who presented which token, so two callers' keys never meet)
    /// sending `key` with `method path` and `body`.
    pub fn new(caller: &str, key: &str, method: &str, path: &str, body: &[u8]) -> Self {
        Self {
            key: digest(&[b"tandem idempotency key", caller.as_bytes(), key.as_bytes()]),
            digest: digest(&[b"tandem request", method.as_bytes(), path.as_bytes(), body]),
        }
    }
}

/// The first 128 bits of SHA-256 over length-prefixed `parts`, in hex: enough to tell
/// requests apart, short enough to ride in every change message.
fn digest(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
            request: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(valid_idempotency_key(
            b"8e03978e-40d5-43e8-bc93-6894a57f9324"
        ));
        assert!(valid_idempotency_key(&[b'k'; MAX_IDEMPOTENCY_KEY]));
        assert!(!valid_idempotency_key(&[b'k'; MAX_IDEMPOTENCY_KEY + 1]));
        assert!(!valid_idempotency_key(b""));
        assert!(!valid_idempotency_key(b"two words"));
        assert!(!valid_idempotency_key("caf\u{e9}".as_bytes()));
    }

    #[test]
    fn a_mark_tells_callers_keys_and_requests_apart() {
        let mark = RequestMark::new("laptop", "k1", "POST", "/v1/plans", b"{}");
        assert_eq!(
            mark,
            RequestMark::new("laptop", "k1", "POST", "/v1/plans", b"{}")
        );
        let other_caller = RequestMark::new("phone:a", "k1", "POST", "/v1/plans", b"{}");
        assert_ne!(mark.key, other_caller.key);
        let other_body = RequestMark::new("laptop", "k1", "POST", "/v1/plans", b"{ }");
        assert_eq!(mark.key, other_body.key);
        assert_ne!(mark.digest, other_body.digest);
        assert_ne!(
            RequestMark::new("laptop", "k1", "POST", "/v1/plan", b"s{}").digest,
            mark.digest
        );
    }

    #[test]
    fn records_without_a_mark_read_as_before() {
        let old = r#"{"at":"2024-01-01T00:00:00Z","by":"p","action":"plan.add","summary":"x"}"#;
        let activity = Activity::from_message(old).expect("an old record reads");
        assert_eq!(activity.request, None);
        assert!(!activity.to_message().contains("request"));
    }
}
