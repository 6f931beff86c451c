//! Deleting (tombstones), the trash, restoring, and undoing this device's own commands.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use tandem_protocol::activity::Activity;
use tandem_protocol::document::{DocKind, Document};
use tandem_protocol::entity::{Author, Entity, Meta};
use tandem_protocol::error::DocumentError;
use tandem_protocol::ids::{EntityId, PersonId};
use tandem_protocol::kinds::{self, ForKind};
use tandem_protocol::rules;
use tandem_protocol::trash::{self, TrashEntry};
use tandem_protocol::undo::{self, Command, Inverse, UndoError};

use super::{OnKind, Repo, RepoError};

/// The activity record of `author` doing `verb` to `item`, or of undoing `undoing` by it.
pub(super) fn record<E: Entity>(
    author: &Author,
    verb: &str,
    item: &E,
    undoing: Option<&Command>,
) -> Activity {
    match undoing {
        None => Activity::new(
            author,
            &format!("{}.{verb}", E::NOUN),
            Some(item.id().clone()),
            &item.summary(),
        ),
        Some(command) => Activity::new(
            author,
            &format!("{}.undo", E::NOUN),
            Some(item.id().clone()),
            &format!("{} (undid {})", item.summary(), command.activity.action),
        )
        .undoing(command.hash),
    }
}

/// An item that no longer reads back as its own type: the document is damaged.
pub(super) fn malformed(e: serde_json::Error) -> RepoError {
    DocumentError::Malformed(format!("an item could not be read back: {e}")).into()
}

impl Repo {
    /// Puts the `E` with this id (or prefix) in the trash (a tombstone: see
    /// [`tandem_protocol::trash`]).
    pub fn delete<E: Entity>(&mut self, prefix: &str) -> Result<(), RepoError> {
        self.put_in_trash::<E>(prefix, None)
    }

    pub(super) fn put_in_trash<E: Entity>(
        &mut self,
        prefix: &str,
        undoing: Option<&Command>,
    ) -> Result<(), RepoError> {
        let mut item = self.find::<E>(prefix)?;
        self.change(E::COLLECTION.doc(), |doc, author| {
            trash::delete(&mut item, author)?;
            doc.put(E::COLLECTION, &item)?;
            Ok(((), record(author, "delete", &item, undoing)))
        })
    }

    /// Takes the `E` with this id (or prefix) out of the trash.
    pub fn restore<E: Entity>(&mut self, prefix: &str) -> Result<E, RepoError> {
        self.take_out_of_trash::<E>(prefix, None)
    }

    pub(super) fn take_out_of_trash<E: Entity>(
        &mut self,
        prefix: &str,
        undoing: Option<&Command>,
    ) -> Result<E, RepoError> {
        let mut item = self.find::<E>(prefix)?;
        self.change(E::COLLECTION.doc(), |doc, author| {
            trash::restore(&mut item, author)?;
            doc.put(E::COLLECTION, &item)?;
            doc.remove_fields(
                E::COLLECTION,
                item.id().as_str(),
                Meta::KEY,
                &Meta::TOMBSTONE_FIELDS,
            )?;
            let activity = record(author, "restore", &item, undoing);
            Ok((item, activity))
        })
    }

    /// Reverts this person's last command on this device, as a new change, and says
    /// what it was ([`tandem_protocol::undo`]).
    pub fn undo(&mut self) -> Result<Activity, RepoError> {
        let mut commands: Vec<Command> = DocKind::ALL
            .into_iter()
            .flat_map(|kind| self.slot(kind).doc.own_commands())
            .collect();
        commands.sort_by_key(|c| std::cmp::Reverse(c.activity.at));
        let command = undo::next_to_undo(&commands)?.clone();
        let (noun, inverse) = undo::inverse(&command.activity)?;
        let undo = UndoCommand {
            command: &command,
            inverse,
        };
        self.for_noun(noun, undo).unwrap_or_else(|| {
            Err(UndoError::NotUndoable {
                action: command.activity.action.clone(),
                summary: command.activity.summary.clone(),
            }
            .into())
        })?;
        Ok(command.activity)
    }

    pub(super) fn undo_command<E: Entity + DeserializeOwned>(
        &mut self,
        command: &Command,
        inverse: Inverse,
    ) -> Result<(), RepoError> {
        let id = command
            .activity
            .id
            .as_ref()
            .map(|id| id.as_str().to_owned())
            .unwrap_or_default();
        match inverse {
            Inverse::Delete => self.put_in_trash::<E>(&id, Some(command)),
            Inverse::Restore => self.take_out_of_trash::<E>(&id, Some(command)).map(drop),
            Inverse::Revert => self.revert::<E>(&id, command),
        }
    }

    /// Puts back the fields `command` changed on the `E` with id `id`.
    pub(super) fn revert<E: Entity + DeserializeOwned>(
        &mut self,
        id: &str,
        command: &Command,
    ) -> Result<(), RepoError> {
        let current = self.get::<E>(id)?;
        rules::may_edit(&current, &self.me().id)?;
        let doc = &mut self.slot(E::COLLECTION.doc()).doc;
        let as_of = |doc: &mut Document, heads: &[automerge::ChangeHash]| {
            let item = doc.at(heads)?.get::<E>(E::COLLECTION, id)?;
            serde_json::to_value(item).map_err(malformed)
        };
        let before = as_of(doc, &command.deps)?;
        let after = as_of(doc, &[command.hash])?;
        let mut reverted = serde_json::to_value(&current).map_err(malformed)?;
        undo::revert_fields(&before, &after, &mut reverted, &Meta::FIELDS);
        let mut item: E = serde_json::from_value(reverted).map_err(malformed)?;
        self.change(E::COLLECTION.doc(), |doc, author| {
            item.meta_mut().touch(author);
            doc.put(E::COLLECTION, &item)?;
            Ok(((), record(author, "edit", &item, Some(command))))
        })
    }

    /// Every deleted `E`, with the concurrent edits that show on its tombstone.
    pub(super) fn deleted<E: Entity>(&mut self) -> Result<Vec<TrashEntry>, RepoError> {
        let mut entries = Vec::new();
        for item in self.every::<E>()? {
            if item.meta().is_deleted() {
                let conflicts = self.named_conflicts::<E>(item.id(), Some(Meta::KEY))?;
                entries.extend(TrashEntry::of(&item, conflicts));
            }
        }
        Ok(entries)
    }

    /// Every deleted item of every kind, newest deletion first.
    pub(super) fn deleted_items(&mut self) -> Result<Vec<TrashEntry>, RepoError> {
        let mut deleted = Deleted {
            repo: self,
            entries: Ok(Vec::new()),
        };
        kinds::each(&mut deleted);
        let mut entries = deleted.entries?;
        let names: BTreeMap<PersonId, String> =
            self.people()?.into_iter().map(|p| (p.id, p.name)).collect();
        for entry in &mut entries {
            entry.deleted_by_name = names.get(&entry.deleted_by).cloned();
        }
        entries.sort_by_key(|e| std::cmp::Reverse(e.deleted_at));
        Ok(entries)
    }

    /// What either partner deleted in the last [`trash::KEEP_DAYS`] days (and this
    /// person's own private notes), newest first.
    pub fn trash(&mut self) -> Result<Vec<TrashEntry>, RepoError> {
        let now = crate::clock::now();
        let mut entries = self.deleted_items()?;
        entries.retain(|e| trash::listed(e.deleted_at, now));
        Ok(entries)
    }

    /// Takes the deleted item of any kind whose id starts with `prefix` out of the trash,
    /// and says what came back.
    pub fn restore_item(&mut self, prefix: &str) -> Result<TrashEntry, RepoError> {
        let prefix = EntityId::parse(&prefix.to_ascii_lowercase())?;
        let mut matches: Vec<TrashEntry> = self
            .deleted_items()?
            .into_iter()
            .filter(|e| e.id.as_str().starts_with(prefix.as_str()))
            .collect();
        if matches.len() > 1 {
            // A full id that is also the prefix of another still names one item.
            matches.retain(|e| e.id == prefix);
            if matches.is_empty() {
                return Err(DocumentError::Ambiguous {
                    collection: "trash",
                    prefix: prefix.to_string(),
                }
                .into());
            }
        }
        let entry = matches.pop().ok_or_else(|| DocumentError::NotFound {
            collection: "trash",
            id: prefix.to_string(),
        })?;
        let restore = Restore {
            id: entry.id.as_str(),
        };
        self.for_noun(&entry.kind, restore).unwrap_or_else(|| {
            Err(DocumentError::Malformed(format!("no such kind {}", entry.kind)).into())
        })?;
        Ok(entry)
    }
}

/// Undoes one command, for the kind its activity record names.
struct UndoCommand<'a> {
    command: &'a Command,
    inverse: Inverse,
}

impl OnKind for UndoCommand<'_> {
    type Out = ();
    fn run<E: Entity + DeserializeOwned>(self, repo: &mut Repo) -> Result<(), RepoError> {
        repo.undo_command::<E>(self.command, self.inverse)
    }
}

/// Takes one item out of the trash, for the kind its tombstone names.
struct Restore<'a> {
    id: &'a str,
}

impl OnKind for Restore<'_> {
    type Out = ();
    fn run<E: Entity + DeserializeOwned>(self, repo: &mut Repo) -> Result<(), RepoError> {
        repo.restore::<E>(self.id).map(drop)
    }
}

/// Collects the deleted items of every kind, or the first error.
struct Deleted<'a> {
    repo: &'a mut Repo,
    entries: Result<Vec<TrashEntry>, RepoError>,
}

impl ForKind for Deleted<'_> {
    fn run<E: Entity + DeserializeOwned>(&mut self) {
        if let Ok(entries) = &mut self.entries {
            match self.repo.deleted::<E>() {
                Ok(more) => entries.extend(more),
                Err(e) => self.entries = Err(e),
            }
        }
    }
}
