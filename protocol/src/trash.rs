//! Deleting and bringing back: tombstones and the trash listing.
//!
//! A delete is a tombstone (`deleted_at`/`deleted_by` in [`crate::entity::Meta`]), never a removal of
//! the item: the partner's laptop may be editing it at the same moment, and that edit must
//! land on the deleted item instead of vanishing, so either of them can restore it with
//! the edit kept. Lists, the balance, reminders and exports skip tombstoned items; the
//! trash shows those deleted in the last [`KEEP_DAYS`] days. Who may delete or restore
//! what is [`crate::rules`] ([`rules::may_delete`], [`rules::may_restore`]).

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::document::Conflict;
use crate::entity::{Author, Entity};
use crate::ids::{EntityId, PersonId};
use crate::rules::{self, Refusal};
use crate::time::Stamp;

/// How long a deleted item is listed in the trash.
pub const KEEP_DAYS: i64 = 30;

/// Puts `item` in the trash on behalf of `author`, if [`rules::may_delete`] allows it.
pub fn delete<E: Entity>(item: &mut E, author: &Author) -> Result<(), Refusal> {
    rules::may_delete(item, &author.person)?;
    let meta = item.meta_mut();
    meta.deleted_at = Some(author.at);
    meta.deleted_by = Some(author.person.clone());
    meta.touch(author);
    Ok(())
}

/// Takes `item` out of the trash on behalf of `author`, if [`rules::may_restore`] allows
/// it. The caller also removes [`crate::entity::Meta::TOMBSTONE_FIELDS`] from the
/// document: they are never written back as empty.
pub fn restore<E: Entity>(item: &mut E, author: &Author) -> Result<(), Refusal> {
    rules::may_restore(item, &author.person)?;
    let meta = item.meta_mut();
    meta.deleted_at = None;
    meta.deleted_by = None;
    meta.touch(author);
    Ok(())
}

/// Whether an item deleted at `deleted_at` is still listed in the trash at `now`: for
/// [`KEEP_DAYS`] days. Older ones can still be restored by id.
pub fn listed(deleted_at: Stamp, now: Timestamp) -> bool {
    now.duration_since(deleted_at.0) <= SignedDuration::from_hours(24 * KEEP_DAYS)
}

/// One deleted item, as `GET /v1/trash` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrashEntry {
    /// What sort of item: `plan`, `idea`, `personal_time`, `agreement` or `note`.
    pub kind: String,
    /// Its id, for `tandem restore-item`.
    pub id: EntityId,
    /// Its title or text.
    pub summary: String,
    /// When it was deleted.
    pub deleted_at: Stamp,
    /// Who deleted it.
    pub deleted_by: PersonId,
    /// Who deleted it, by name, when the shared document knows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_by_name: Option<String>,
    /// Writes to the item's bookkeeping (`meta.updated_by`, `meta.updated_at`) made at
    /// the same time as the delete: the delete stamps the item, so an edit on the other
    /// laptop while it was being deleted always shows here, with who made it. The edit's
    /// fields are kept on the deleted item and come back with it.
    pub conflicts: Vec<Conflict>,
}

impl TrashEntry {
    /// The entry of a deleted `item` with its `conflicts`; `None` if it is not deleted.
    pub fn of<E: Entity>(item: &E, conflicts: Vec<Conflict>) -> Option<Self> {
        let meta = item.meta();
        Some(Self {
            kind: E::NOUN.to_owned(),
            id: item.id().clone(),
            summary: item.summary(),
            deleted_at: meta.deleted_at?,
            deleted_by: meta.deleted_by.clone()?,
            deleted_by_name: None,
            conflicts,
        })
    }
}

#[cfg(test)]
mod tests {
    use automerge::ActorId;

    use super::*;
    use crate::activity::Activity;
    use crate::document::{Collection, DocKind, Document};
    use crate::entity::Meta;
    use crate::model::idea::{Idea, IdeaPatch, NewIdea};
    use crate::model::personal_time::{NewPersonalTime, PersonalTime};
    use crate::rules::Action;
    use crate::test_support::author;
    use crate::time::Moment;

    fn idea() -> Idea {
        let new = NewIdea {
            title: "Night swim".into(),
            notes: None,
        };
        Idea::create(EntityId::parse("i1").unwrap(), new, &author("alex")).unwrap()
    }

    fn alexs_personal_time() -> PersonalTime {
        let new = NewPersonalTime {
            start: Moment("2030-01-04T19:00:00+01:00[Europe/Paris]".parse().unwrap()),
            end: Moment("2030-01-04T21:00:00+01:00[Europe/Paris]".parse().unwrap()),
            label: None,
            details: None,
        };
        PersonalTime::create(EntityId::parse("t1").unwrap(), new, &author("alex")).unwrap()
    }

    #[test]
    fn either_partner_deletes_shared_items_and_only_the_owner_their_personal_time() {
        let mut shared = idea();
        delete(&mut shared, &author("sam")).unwrap();
        assert_eq!(shared.meta.deleted_by.as_ref().unwrap().as_str(), "sam");
        assert_eq!(
            delete(&mut shared, &author("alex")),
            Err(Refusal::AlreadyDeleted { noun: "idea" })
        );
        restore(&mut shared, &author("alex")).unwrap();
        assert!(!shared.meta.is_deleted());
        assert_eq!(
            restore(&mut shared, &author("alex")),
            Err(Refusal::NotDeleted { noun: "idea" })
        );

        let mut block = alexs_personal_time();
        let before = block.clone();
        let not_yours = |action| {
            Err(Refusal::NotYours {
                noun: "personal_time",
                action,
                owner: PersonId::parse("alex").unwrap(),
                owner_name: None,
            })
        };
        assert_eq!(
            delete(&mut block, &author("sam")),
            not_yours(Action::Delete)
        );
        assert_eq!(block, before, "a refused delete changes nothing");
        delete(&mut block, &author("alex")).unwrap();
        let deleted = block.clone();
        assert_eq!(
            restore(&mut block, &author("sam")),
            not_yours(Action::Restore)
        );
        assert_eq!(block, deleted, "a refused restore changes nothing");
        restore(&mut block, &author("alex")).unwrap();
    }

    #[test]
    fn the_trash_lists_the_last_thirty_days() {
        let mut item = idea();
        delete(&mut item, &author("alex")).unwrap();
        let deleted = item.meta.deleted_at.unwrap();
        let days = |n: i64| deleted.0 + SignedDuration::from_hours(24 * n);
        assert!(listed(deleted, days(0)));
        assert!(listed(deleted, days(KEEP_DAYS)));
        assert!(!listed(deleted, days(KEEP_DAYS + 1)));
        let entry = TrashEntry::of(&item, Vec::new()).unwrap();
        assert_eq!(
            (entry.kind.as_str(), entry.summary.as_str()),
            ("idea", "Night swim")
        );
        assert!(TrashEntry::of(&idea(), Vec::new()).is_none());
    }

    /// Alex deletes the idea while Sam, offline, edits its title: after merging both ways
    /// both see it deleted, with Sam's title on the tombstone, and restoring brings the
    /// edit back.
    #[test]
    fn a_delete_and_a_concurrent_edit_converge_to_a_tombstone_keeping_the_edit() {
        let mut alex = Document::create(DocKind::Shared, ActorId::random());
        alex.put(Collection::Ideas, &idea()).unwrap();
        alex.commit(&Activity::new(&author("alex"), "idea.add", None, "i1"));
        let mut sam = Document::load(DocKind::Shared, &alex.save(), ActorId::random()).unwrap();

        // Some hours after the idea was added, each on their own laptop.
        let later = |who: &str, hours: i64| Author {
            at: Stamp(author(who).at.0 + SignedDuration::from_hours(hours)),
            ..author(who)
        };
        let mut deleted: Idea = alex.get(Collection::Ideas, "i1").unwrap().unwrap();
        delete(&mut deleted, &later("alex", 1)).unwrap();
        alex.put(Collection::Ideas, &deleted).unwrap();
        alex.commit(&Activity::new(&author("alex"), "idea.delete", None, "i1"));

        let mut edited: Idea = sam.get(Collection::Ideas, "i1").unwrap().unwrap();
        let patch = IdeaPatch {
            title: Some("Night swim at the lake".into()),
            notes: None,
        };
        edited.edit(patch, &later("sam", 2)).unwrap();
        sam.put(Collection::Ideas, &edited).unwrap();
        sam.commit(&Activity::new(&author("sam"), "idea.edit", None, "i1"));

        let (alex_bytes, sam_bytes) = (alex.save(), sam.save());
        alex.apply_changes(&sam_bytes).unwrap();
        sam.apply_changes(&alex_bytes).unwrap();
        for doc in [&alex, &sam] {
            let merged: Idea = doc.get(Collection::Ideas, "i1").unwrap().unwrap();
            assert!(
                merged.meta.is_deleted(),
                "the delete is not undone by the edit"
            );
            assert_eq!(merged.title, "Night swim at the lake", "the edit is kept");
        }
        let conflicts = alex
            .conflicts(Collection::Ideas, "i1", Some(Meta::KEY))
            .unwrap();
        assert!(
            conflicts.iter().any(|c| c.field == "meta.updated_at"),
            "the concurrent edit shows as a conflict: {conflicts:?}"
        );

        let mut back: Idea = sam.get(Collection::Ideas, "i1").unwrap().unwrap();
        restore(&mut back, &author("sam")).unwrap();
        sam.put(Collection::Ideas, &back).unwrap();
        sam.remove_fields(Collection::Ideas, "i1", Meta::KEY, &Meta::TOMBSTONE_FIELDS)
            .unwrap();
        sam.commit(&Activity::new(&author("sam"), "idea.restore", None, "i1"));
        let restored: Idea = sam.get(Collection::Ideas, "i1").unwrap().unwrap();
        assert!(!restored.meta.is_deleted());
        assert_eq!(restored.title, "Night swim at the lake");
    }
}
