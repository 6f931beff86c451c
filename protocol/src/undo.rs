//! `tandem undo`: which command comes undone, and what its inverse is.
//!
//! Undo reverts this person's last command *on this device* as a new change, so both
//! laptops see it and nothing in the history is rewritten. Only changes made by this
//! device's own actor are candidates: a partner's synced change, or one made on another
//! of one's own devices, is never touched. Each undo records the change it reverts, so a
//! second undo reverts the command before that one; an undo is never itself undone (there
//! is no redo). Automatic changes (a check-in reveal, joining the couple) are not
//! commands and are passed over. [`crate::rules`] lists this with the other rules of who
//! may do what; what an undo writes is still subject to them.

use automerge::ChangeHash;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::activity::Activity;

/// Why nothing could be undone.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UndoError {
    /// Every command made on this device has been undone already, or there was none.
    #[error("there is nothing to undo: no command made on this laptop is left to revert")]
    Nothing,
    /// The last command is of a kind undo does not revert.
    #[error(
        "your last command ({action}: {summary}) cannot be undone; change it with its own \
         command instead"
    )]
    NotUndoable {
        /// The command, e.g. `checkin.answer`.
        action: String,
        /// What it was about.
        summary: String,
    },
}

/// One change this device made, as read from a document's history.
#[derive(Clone, Debug)]
pub struct Command {
    /// The change itself.
    pub hash: ChangeHash,
    /// The heads just before it: the state an undo puts back.
    pub deps: Vec<ChangeHash>,
    /// Its activity record.
    pub activity: Activity,
}

/// How a command is reverted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inverse {
    /// It created the item: the item goes to the trash.
    Delete,
    /// It put the item in the trash: the item comes back.
    Restore,
    /// It changed fields (edit, RSVP, accept, done, cancel, keep): they get the values
    /// they had before, leaving every field it did not change as it is now.
    Revert,
}

/// The entity kinds undo reverts, by their noun.
const ENTITY_NOUNS: [&str; 5] = ["plan", "idea", "personal_time", "agreement", "note"];

/// The oldest-undone-last walk: `commands` is this device's changes, newest first. Undo
/// changes mark what they reverted; the first command neither undone nor an undo is the
/// one to revert. Automatic changes are passed over.
pub fn next_to_undo(commands: &[Command]) -> Result<&Command, UndoError> {
    let mut undone: Vec<String> = Vec::new();
    for command in commands {
        if let Some(hash) = &command.activity.undoes {
            undone.push(hash.clone());
            continue;
        }
        if undone.contains(&command.hash.to_string()) || is_automatic(&command.activity.action) {
            continue;
        }
        return Ok(command);
    }
    Err(UndoError::Nothing)
}

/// Changes a daemon makes by itself, not at a person's request.
fn is_automatic(action: &str) -> bool {
    matches!(action, "checkin.reveal" | "person.join" | "person.merge")
}

/// The kind of item `activity` concerns and how to revert it; check-in answers,
/// settings and private personal-time details are not reverted by undo.
pub fn inverse(activity: &Activity) -> Result<(&str, Inverse), UndoError> {
    let refused = || UndoError::NotUndoable {
        action: activity.action.clone(),
        summary: activity.summary.clone(),
    };
    let (noun, verb) = activity.action.split_once('.').ok_or_else(refused)?;
    if !ENTITY_NOUNS.contains(&noun) || activity.id.is_none() {
        return Err(refused());
    }
    let inverse = match verb {
        "add" => Inverse::Delete,
        "delete" => Inverse::Restore,
        "restore" => Inverse::Delete,
        "details" | "undo" => return Err(refused()),
        _ => Inverse::Revert,
    };
    Ok((noun, inverse))
}

/// Puts back in `current` the values of the fields a command changed (those that differ
/// between `before` and `after`, the item just before and just after it), except `kept`
/// (bookkeeping). Maps (RSVPs, acceptances) are reverted key by key, so the partner's
/// own answer given since stays.
pub fn revert_fields(before: &Value, after: &Value, current: &mut Value, kept: &[&str]) {
    let (Some(before), Some(after), Some(current)) = (
        before.as_object(),
        after.as_object(),
        current.as_object_mut(),
    ) else {
        return;
    };
    for key in changed_keys(before, after) {
        if kept.contains(&key.as_str()) {
            continue;
        }
        let (was, became) = (field(before, &key), field(after, &key));
        match (was, became, current.get_mut(&key)) {
            (Value::Object(was), Value::Object(became), Some(Value::Object(now))) => {
                for inner in changed_keys(&was, &became) {
                    match was.get(&inner) {
                        Some(value) => now.insert(inner, value.clone()),
                        None => now.remove(&inner),
                    };
                }
            }
            (was, _, _) => {
                current.insert(key, was);
            }
        }
    }
}

fn field(map: &Map<String, Value>, key: &str) -> Value {
    map.get(key).cloned().unwrap_or(Value::Null)
}

fn changed_keys(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<String> {
    let mut keys: Vec<String> = before.keys().chain(after.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys.retain(|k| before.get(k) != after.get(k));
    keys
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ids::EntityId;
    use crate::test_support::author;

    fn command(n: u8, action: &str, undoes: Option<u8>) -> Command {
        let mut activity = Activity::new(
            &author("alex"),
            action,
            Some(EntityId::parse("p1").unwrap()),
            "Dinner",
        );
        activity.undoes = undoes.map(|u| ChangeHash([u; 32]).to_string());
        Command {
            hash: ChangeHash([n; 32]),
            deps: Vec::new(),
            activity,
        }
    }

    #[test]
    fn each_undo_goes_one_command_further_back_and_never_redoes() {
        let add = command(1, "plan.add", None);
        let edit = command(2, "plan.edit", None);
        let reveal = command(3, "checkin.reveal", None);
        let newest_first =
            |cs: &[&Command]| cs.iter().rev().map(|c| (*c).clone()).collect::<Vec<_>>();
        let history = newest_first(&[&add, &edit, &reveal]);
        assert_eq!(
            next_to_undo(&history).unwrap().hash,
            edit.hash,
            "a reveal is passed over"
        );
        let undo_edit = command(4, "plan.undo", Some(2));
        let history = newest_first(&[&add, &edit, &reveal, &undo_edit]);
        assert_eq!(next_to_undo(&history).unwrap().hash, add.hash);
        let undo_add = command(5, "plan.undo", Some(1));
        let history = newest_first(&[&add, &edit, &reveal, &undo_edit, &undo_add]);
        assert_eq!(next_to_undo(&history).unwrap_err(), UndoError::Nothing);
    }

    #[test]
    fn each_command_kind_has_its_inverse() {
        let of = |action: &str| inverse(&command(1, action, None).activity).map(|(_, i)| i);
        assert_eq!(of("idea.add"), Ok(Inverse::Delete));
        assert_eq!(of("note.delete"), Ok(Inverse::Restore));
        assert_eq!(of("agreement.restore"), Ok(Inverse::Delete));
        for action in [
            "plan.edit",
            "plan.rsvp",
            "agreement.accept",
            "plan.cancel",
            "plan.keep",
        ] {
            assert_eq!(of(action), Ok(Inverse::Revert), "{action}");
        }
        for action in ["checkin.answer", "settings.edit", "personal_time.details"] {
            assert!(
                matches!(of(action), Err(UndoError::NotUndoable { .. })),
                "{action}"
            );
        }
    }

    #[test]
    fn only_what_the_command_changed_is_put_back() {
        let before =
            json!({"title": "Dinner", "place": "", "rsvps": {"alex": "yes"}, "updated_at": 1});
        let after = json!({"title": "Dinner", "place": "", "rsvps": {"alex": "yes", "sam": "no"}, "updated_at": 2});
        // Since then Alex changed the place and answered maybe.
        let mut now = json!({"title": "Dinner", "place": "Luigi's", "rsvps": {"alex": "maybe", "sam": "no"}, "updated_at": 3});
        revert_fields(&before, &after, &mut now, &["updated_at"]);
        assert_eq!(
            now,
            json!({"title": "Dinner", "place": "Luigi's", "rsvps": {"alex": "maybe"}, "updated_at": 3})
        );
        let before = json!({"title": "Dinner", "status": "scheduled"});
        let after = json!({"title": "Supper", "status": "cancelled"});
        let mut now = after.clone();
        revert_fields(&before, &after, &mut now, &[]);
        assert_eq!(now, before);
    }
}
