//! Both documents and every operation on them.
//!
//! The repo is owned by the writer thread ([`crate::writer`]), which is the only code that
//! touches it. Each operation validates, changes the document, commits one Automerge change
//! whose message is the activity record, and stages it in the store's log; the writer then
//! makes the batch durable with one fsync per log and only after that acknowledges it and
//! announces its [`ChangeEvent`]. An operation that changes both documents is a joint
//! commit ([`tandem_protocol::joint`]): all of it survives a crash, or none of it.

use std::collections::{BTreeMap, BTreeSet};

use automerge::ActorId;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tandem_protocol::activity::Activity;
use tandem_protocol::api::{
    ActivityEntry, CheckinAnswered, CheckinWeek, DocumentStatus, PersonalTimeView, Status,
};
use tandem_protocol::balance::{Balance, BalanceInput, balance};
use tandem_protocol::checkin::{
    AlreadyRevealed, answers_to_reveal, complete_weeks, ensure_answer_open,
};
use tandem_protocol::config::Config;
use tandem_protocol::device::DeviceId;
use tandem_protocol::document::{Collection, Conflict, DocKind, Document};
use tandem_protocol::entity::{Author, Entity, Meta};
use tandem_protocol::error::{DocumentError, ValidationError};
use tandem_protocol::ids::{EntityId, PersonId};
use tandem_protocol::joint::{JointCommit, Step};
use tandem_protocol::model::agreement::Agreement;
use tandem_protocol::model::checkin::{CheckinAnswer, CheckinMarker, NewCheckin};
use tandem_protocol::model::idea::Idea;
use tandem_protocol::model::note::Note;
use tandem_protocol::model::person::Person;
use tandem_protocol::model::personal_time::{
    NewPersonalTime, PersonalTime, PersonalTimeDetail, PersonalTimePatch, check_details,
};
use tandem_protocol::model::plan::Plan;
use tandem_protocol::model::settings::{Settings, SettingsPatch};
use tandem_protocol::remind::{Reminder, due};
use tandem_protocol::schema::Schema;
use tandem_protocol::sync::{PeerSync, SyncError};
use tandem_protocol::time::{IsoWeek, Stamp};
use tandem_protocol::trash::{self, TrashEntry, TrashError};
use tandem_protocol::undo::{self, Command, Inverse, UndoError};
use tandem_protocol::wire::Message;
use thiserror::Error;

use crate::archive::DocumentImage;
use crate::home::Home;
use crate::store::{DocStore, StoreError};

/// Where a cross-document commit is written whole before either log (see
/// [`tandem_protocol::joint`]).
const JOINT_FILE: &str = "joint-commit";

/// Errors of repo operations.
#[derive(Debug, Error)]
pub enum RepoError {
    /// The request was invalid or named something that does not exist.
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// The disk failed; the change was not acknowledged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A peer's sync message was refused.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// The data home could not be updated.
    #[error(transparent)]
    Home(#[from] crate::home::HomeError),
    /// A check-in answer was given for a week already revealed: answers are final then.
    #[error(transparent)]
    Revealed(#[from] AlreadyRevealed),
    /// A delete or restore was refused, or the item is in the trash.
    #[error(transparent)]
    Trash(#[from] TrashError),
    /// There was nothing to undo, or the last command cannot be undone.
    #[error(transparent)]
    Undo(#[from] UndoError),
    /// The disk failed while the batch holding this change was made durable; the change
    /// was not acknowledged.
    #[error("the change could not be saved: {0}")]
    NotDurable(std::sync::Arc<StoreError>),
    /// The system would not start the writer's thread.
    #[error("cannot start a thread: {0}")]
    Thread(std::io::Error),
    /// The writer has stopped: the daemon is shutting down.
    #[error("the daemon is stopping; try again once it is running")]
    Stopped,
}

impl From<ValidationError> for RepoError {
    fn from(e: ValidationError) -> Self {
        RepoError::Document(e.into())
    }
}

/// The activity record of `author` doing `verb` to `item`, or of undoing `undoing` by it.
fn record<E: Entity>(author: &Author, verb: &str, item: &E, undoing: Option<&Command>) -> Activity {
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
fn malformed(e: serde_json::Error) -> RepoError {
    DocumentError::Malformed(format!("an item could not be read back: {e}")).into()
}

/// A change, as announced on `/v1/events`: one per operation, or one per change a peer
/// brought.
#[derive(Clone, Debug, Serialize)]
pub struct ChangeEvent {
    /// Which document the operation changed first (its own record is there).
    pub document: DocKind,
    /// What happened.
    #[serde(flatten)]
    pub activity: Activity,
    /// Every document it changed: peers sync each of them.
    #[serde(skip)]
    pub documents: Vec<DocKind>,
    /// The paired device it came from, if a peer brought it: the connection to that device
    /// does not send it back.
    #[serde(skip)]
    pub from: Option<DeviceId>,
}

/// What operations changed since the writer last made them durable.
#[derive(Debug, Default)]
pub struct Unsynced {
    /// The documents whose logs have records staged.
    pub documents: Vec<DocKind>,
    /// The events to announce once they are durable.
    pub events: Vec<ChangeEvent>,
}

impl Unsynced {
    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.documents.is_empty() && self.events.is_empty()
    }

    fn touch(&mut self, kind: DocKind) {
        if !self.documents.contains(&kind) {
            self.documents.push(kind);
        }
    }
}

struct Slot {
    doc: Document,
    store: DocStore,
}

/// What the reminder rules read from the shared document.
struct ReminderInputs {
    settings: Settings,
    plans: Vec<Plan>,
    agreements: Vec<Agreement>,
    markers: Vec<CheckinMarker>,
}

/// The two documents of this person, and their stores.
pub struct Repo {
    home: Home,
    me: Person,
    tz: TimeZone,
    shared: Slot,
    private: Slot,
    /// Staged but not yet durable; taken by the writer after each operation.
    unsynced: Unsynced,
    /// Whether the operation running changes both documents: its commits then wait to be
    /// written as one joint commit instead of going to each log as they are made.
    joint: bool,
    /// The reminder rules' inputs and the shared heads they were read at.
    reminder_inputs: Option<(Vec<automerge::ChangeHash>, ReminderInputs)>,
}

impl Repo {
    /// Opens both documents and makes sure this person is listed in the shared one.
    pub fn open(home: &Home, config: &Config, actor: ActorId) -> Result<Self, RepoError> {
        let mut repo = Self::open_without_introduction(home, config, actor)?;
        repo.introduce_myself()?;
        Ok(repo)
    }

    /// Opens both documents without writing a change of this device's own. A repair
    /// rebuilds a document from a peer's copy, which already lists this person: a
    /// `person.join` written into the fresh document would compete with that entry (and
    /// change it on the partner's laptop too).
    pub fn open_without_introduction(
        home: &Home,
        config: &Config,
        actor: ActorId,
    ) -> Result<Self, RepoError> {
        let open = |kind: DocKind| -> Result<Slot, RepoError> {
            let dir = home.doc_dir(kind.name());
            let (mut store, mut doc) = DocStore::open(&dir, kind, actor.clone())?;
            crate::upgrade::upgrade(&dir, &mut store, &mut doc, &Schema::CURRENT)?;
            Ok(Slot { doc, store })
        };
        // Loading is CPU-bound Automerge work: the two documents load on two cores.
        let (shared, private) = std::thread::scope(|scope| {
            let private = scope.spawn(|| open(DocKind::Private));
            let shared = open(DocKind::Shared);
            (
                shared,
                private
                    .join()
                    .expect("loading the private document panicked"),
            )
        });
        let (shared, private) = (shared?, private?);
        let me = Person {
            id: config.person_id.clone(),
            name: config.name.clone(),
            joined_at: Stamp(Timestamp::now()),
        };
        let mut repo = Self {
            home: home.clone(),
            me,
            tz: config.tz(),
            shared,
            private,
            unsynced: Unsynced::default(),
            joint: false,
            reminder_inputs: None,
        };
        repo.finish_joint_commit()?;
        Ok(repo)
    }

    /// Finishes a joint commit a crash interrupted (or drops one cut short, which was
    /// never acted on), so each such operation is there whole or not at all.
    fn finish_joint_commit(&mut self) -> Result<(), RepoError> {
        let path = self.home.doc_dir(JOINT_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(crate::home::io_at(&path)(e).into()),
        };
        match JointCommit::decode(&bytes) {
            Some(joint) => {
                self.apply_joint(&joint)?;
                tracing::info!("finished an operation a crash had interrupted");
            }
            None => tracing::info!("dropped an operation a crash cut short before it began"),
        }
        std::fs::remove_file(&path).map_err(crate::home::io_at(&path))?;
        Ok(())
    }

    /// Puts every step of `joint` in place durably: the documents' logs, then the config.
    fn apply_joint(&mut self, joint: &JointCommit) -> Result<(), RepoError> {
        for kind in DocKind::ALL {
            let slot = self.slot(kind);
            for changes in joint.changes_for(kind) {
                slot.doc.apply_changes(changes)?;
            }
            slot.store.persist(&mut slot.doc)?;
        }
        if let Some((person, name)) = joint.becomes() {
            let mut config = crate::config::load(&self.home)?;
            if config.person_id != *person || config.name != name {
                config.person_id = person.clone();
                config.name = name.to_owned();
                crate::config::save(&self.home, &config)?;
            }
            self.me.id = person.clone();
            self.me.name = name.to_owned();
        }
        Ok(())
    }

    fn introduce_myself(&mut self) -> Result<(), RepoError> {
        let known: Option<Person> = self
            .shared
            .doc
            .get(Collection::People, self.me.id.as_str())?;
        match known {
            Some(p) if p.name == self.me.name => {
                self.me.joined_at = p.joined_at;
                Ok(())
            }
            known => {
                if let Some(p) = known {
                    self.me.joined_at = p.joined_at;
                }
                let me = self.me.clone();
                self.shared.doc.put(Collection::People, &me)?;
                let author = self.author();
                self.commit(
                    DocKind::Shared,
                    Activity::new(&author, "person.join", None, &me.name),
                )
            }
        }
    }

    /// Becomes `id` (named `name`): a device paired with `--own` joins its owner's person,
    /// so its notes and answers are that person's. The entry this device had written for
    /// its old person is removed from the shared document and the config follows, as one
    /// joint commit: a crash never leaves the config and the documents disagreeing.
    pub fn adopt_person(&mut self, id: PersonId, name: &str) -> Result<(), RepoError> {
        if self.me.id == id {
            return Ok(());
        }
        let becoming = Step::Become {
            person: id.clone(),
            name: name.to_owned(),
        };
        let old = std::mem::replace(
            &mut self.me,
            Person {
                id,
                name: name.to_owned(),
                joined_at: Stamp(Timestamp::now()),
            },
        );
        self.jointly(vec![becoming], |repo| {
            repo.change(DocKind::Shared, |doc, author| {
                doc.remove(Collection::People, old.id.as_str())?;
                Ok(((), Activity::new(author, "person.merge", None, &old.name)))
            })?;
            repo.introduce_myself()
        })
    }

    /// What changed since the last call: the writer makes it durable, then acknowledges
    /// and announces it.
    pub fn take_unsynced(&mut self) -> Unsynced {
        std::mem::take(&mut self.unsynced)
    }

    /// Runs `op`, which may change both documents, as one joint commit with `extra` steps
    /// ([`tandem_protocol::joint`]). Everything `op` needs to check is checked before its
    /// first change, so an error after that is a failing disk.
    fn jointly<T>(
        &mut self,
        extra: Vec<Step>,
        op: impl FnOnce(&mut Self) -> Result<T, RepoError>,
    ) -> Result<T, RepoError> {
        self.joint = true;
        let result = op(self);
        self.joint = false;
        let mut joint = JointCommit::default();
        for kind in DocKind::ALL {
            let changes = self.slot(kind).doc.save_incremental();
            if !changes.is_empty() {
                joint.steps.push(Step::Changes { doc: kind, changes });
            }
        }
        joint.steps.extend(extra);
        self.write_joint(&joint)?;
        result
    }

    /// Writes `joint` whole to its own file, then to each log, then removes the file. A
    /// commit that touches one document only needs no file: its log record is already
    /// all-or-nothing.
    fn write_joint(&mut self, joint: &JointCommit) -> Result<(), RepoError> {
        if let [Step::Changes { doc, changes }] = joint.steps.as_slice() {
            self.slot(*doc).store.stage_bytes(changes)?;
            self.unsynced.touch(*doc);
            return Ok(());
        }
        if joint.steps.is_empty() {
            return Ok(());
        }
        fail::fail_point!("joint.begun", |_| std::process::abort());
        let path = self.home.doc_dir(JOINT_FILE);
        crate::home::write_file_atomic(&path, &joint.encode(), 0o600)?;
        fail::fail_point!("joint.written", |_| std::process::abort());
        for kind in DocKind::ALL {
            let store = &mut self.slot(kind).store;
            for changes in joint.changes_for(kind) {
                store.stage_bytes(changes)?;
            }
            store.sync()?;
            fail::fail_point!("joint.one_log", |_| std::process::abort());
        }
        if let Some((person, name)) = joint.becomes() {
            let mut config = crate::config::load(&self.home)?;
            config.person_id = person.clone();
            config.name = name.to_owned();
            crate::config::save(&self.home, &config)?;
        }
        std::fs::remove_file(&path).map_err(crate::home::io_at(&path))?;
        Ok(())
    }

    /// This daemon's person.
    pub fn me(&self) -> &Person {
        &self.me
    }

    /// The time zone "this week" is read in.
    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }

    fn author(&self) -> Author {
        Author {
            person: self.me.id.clone(),
            at: Stamp(Timestamp::now()),
        }
    }

    fn slot(&mut self, kind: DocKind) -> &mut Slot {
        match kind {
            DocKind::Shared => &mut self.shared,
            DocKind::Private => &mut self.private,
        }
    }

    fn doc_slot(&self, kind: DocKind) -> &Slot {
        match kind {
            DocKind::Shared => &self.shared,
            DocKind::Private => &self.private,
        }
    }

    fn doc(&self, kind: DocKind) -> &Document {
        &self.doc_slot(kind).doc
    }

    /// Commits pending operations as one change and stages it (or, in a joint commit,
    /// keeps it for [`Repo::jointly`]). The operation's event is the one of its first
    /// change; later changes add their document to it.
    fn commit(&mut self, kind: DocKind, activity: Activity) -> Result<(), RepoError> {
        let joint = self.joint;
        let slot = self.slot(kind);
        if slot.doc.commit(&activity).is_none() {
            return Ok(());
        }
        if !joint {
            slot.store.stage(&mut slot.doc)?;
            self.unsynced.touch(kind);
        }
        match self.unsynced.events.iter_mut().find(|e| e.from.is_none()) {
            Some(event) if !event.documents.contains(&kind) => event.documents.push(kind),
            Some(_) => {}
            None => self.unsynced.events.push(ChangeEvent {
                document: kind,
                activity,
                documents: vec![kind],
                from: None,
            }),
        }
        Ok(())
    }

    /// Runs `change` on a document and commits it, or rolls everything back on error.
    fn change<T>(
        &mut self,
        kind: DocKind,
        change: impl FnOnce(&mut Document, &Author) -> Result<(T, Activity), RepoError>,
    ) -> Result<T, RepoError> {
        let author = self.author();
        let slot = self.slot(kind);
        match change(&mut slot.doc, &author) {
            Ok((value, activity)) => {
                self.commit(kind, activity)?;
                Ok(value)
            }
            Err(e) => {
                slot.doc.rollback();
                Err(e)
            }
        }
    }

    /// The full id of the `E` whose id starts with `prefix`.
    pub fn resolve<E: Entity>(&self, prefix: &str) -> Result<EntityId, RepoError> {
        let prefix = EntityId::parse(&prefix.to_ascii_lowercase())?;
        let doc = self.doc(E::COLLECTION.doc());
        if doc.get::<E>(E::COLLECTION, prefix.as_str())?.is_some() {
            return Ok(prefix);
        }
        let prefix = prefix.as_str();
        Ok(EntityId::parse(
            &doc.resolve_prefix(E::COLLECTION, prefix)?,
        )?)
    }

    /// The `E` with this id (or unique id prefix), in the trash or not.
    fn find<E: Entity>(&self, prefix: &str) -> Result<E, RepoError> {
        let id = self.resolve::<E>(prefix)?;
        let doc = self.doc(E::COLLECTION.doc());
        doc.get::<E>(E::COLLECTION, id.as_str())?.ok_or_else(|| {
            RepoError::Document(DocumentError::NotFound {
                collection: E::COLLECTION.key(),
                id: prefix.to_owned(),
            })
        })
    }

    /// The `E` with this id (or unique id prefix); one in the trash must be restored
    /// before it can be read or changed.
    pub fn get<E: Entity>(&self, prefix: &str) -> Result<E, RepoError> {
        let item = self.find::<E>(prefix)?;
        if item.meta().is_deleted() {
            return Err(TrashError::InTrash {
                noun: E::NOUN,
                id: item.id().clone(),
            }
            .into());
        }
        Ok(item)
    }

    /// Every `E` not in the trash, oldest first.
    pub fn list<E: Entity>(&self) -> Result<Vec<E>, RepoError> {
        let mut items: Vec<E> = self.every::<E>()?;
        items.retain(|item| !item.meta().is_deleted());
        Ok(items)
    }

    /// Every `E`, deleted ones too, oldest first.
    fn every<E: Entity>(&self) -> Result<Vec<E>, RepoError> {
        let mut items: Vec<E> = self.doc(E::COLLECTION.doc()).list(E::COLLECTION)?;
        items.sort_by_key(|item| item.meta().created_at);
        Ok(items)
    }

    /// Creates an `E`.
    pub fn create<E: Entity>(&mut self, new: E::New) -> Result<E, RepoError> {
        let id = EntityId::from_random(rand::random());
        self.change(E::COLLECTION.doc(), |doc, author| {
            let item = E::create(id, new, author)?;
            doc.put(E::COLLECTION, &item)?;
            let activity = Activity::new(
                author,
                &format!("{}.add", E::NOUN),
                Some(item.id().clone()),
                &item.summary(),
            );
            Ok((item, activity))
        })
    }

    /// Applies `patch` to the `E` with this id (or prefix).
    /// Applies `patch` to the `E` with this id (or prefix).
    pub fn update<E: Entity>(&mut self, prefix: &str, patch: E::Patch) -> Result<E, RepoError> {
        self.modify::<E>(prefix, "edit", |item, author| item.apply(patch, author))
    }

    /// Changes the `E` with `f`, recording `verb` (e.g. `rsvp`) in the activity feed; a
    /// change that asks both partners again ([`Entity::asks_again`]) says so there.
    pub fn modify<E: Entity>(
        &mut self,
        prefix: &str,
        verb: &str,
        f: impl FnOnce(&mut E, &Author) -> Result<(), ValidationError>,
    ) -> Result<E, RepoError> {
        let mut item = self.get::<E>(prefix)?;
        self.change(E::COLLECTION.doc(), |doc, author| {
            let before = item.clone();
            f(&mut item, author)?;
            doc.put(E::COLLECTION, &item)?;
            let summary = match item.asks_again(&before) {
                Some(why) => format!("{} ({why})", item.summary()),
                None => item.summary(),
            };
            let activity = Activity::new(
                author,
                &format!("{}.{verb}", E::NOUN),
                Some(item.id().clone()),
                &summary,
            );
            Ok((item, activity))
        })
    }

    /// Puts the `E` with this id (or prefix) in the trash (a tombstone: see
    /// [`tandem_protocol::trash`]).
    pub fn delete<E: Entity>(&mut self, prefix: &str) -> Result<(), RepoError> {
        self.put_in_trash::<E>(prefix, None)
    }

    fn put_in_trash<E: Entity>(
        &mut self,
        prefix: &str,
        undoing: Option<&Command>,
    ) -> Result<(), RepoError> {
        let mut item = self.get::<E>(prefix)?;
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

    fn take_out_of_trash<E: Entity>(
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
        match noun {
            Plan::NOUN => self.undo_command::<Plan>(&command, inverse),
            Idea::NOUN => self.undo_command::<Idea>(&command, inverse),
            PersonalTime::NOUN => self.undo_command::<PersonalTime>(&command, inverse),
            Agreement::NOUN => self.undo_command::<Agreement>(&command, inverse),
            Note::NOUN => self.undo_command::<Note>(&command, inverse),
            _ => Err(UndoError::NotUndoable {
                action: command.activity.action.clone(),
                summary: command.activity.summary.clone(),
            }
            .into()),
        }?;
        Ok(command.activity)
    }

    fn undo_command<E: Entity + DeserializeOwned>(
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
    fn revert<E: Entity + DeserializeOwned>(
        &mut self,
        id: &str,
        command: &Command,
    ) -> Result<(), RepoError> {
        let current = self.get::<E>(id)?;
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
    fn deleted<E: Entity>(&mut self) -> Result<Vec<TrashEntry>, RepoError> {
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
    fn deleted_items(&mut self) -> Result<Vec<TrashEntry>, RepoError> {
        let mut entries = self.deleted::<Plan>()?;
        entries.extend(self.deleted::<Idea>()?);
        entries.extend(self.deleted::<PersonalTime>()?);
        entries.extend(self.deleted::<Agreement>()?);
        entries.extend(self.deleted::<Note>()?);
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
        let now = Timestamp::now();
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
        let id = entry.id.as_str();
        match entry.kind.as_str() {
            Plan::NOUN => self.restore::<Plan>(id).map(drop),
            Idea::NOUN => self.restore::<Idea>(id).map(drop),
            PersonalTime::NOUN => self.restore::<PersonalTime>(id).map(drop),
            Agreement::NOUN => self.restore::<Agreement>(id).map(drop),
            Note::NOUN => self.restore::<Note>(id).map(drop),
            other => Err(DocumentError::Malformed(format!("no such kind {other}")).into()),
        }?;
        Ok(entry)
    }

    /// Values that lost concurrent writes to the `E`'s fields, with who wrote them.
    pub fn conflicts<E: Entity>(&mut self, prefix: &str) -> Result<Vec<Conflict>, RepoError> {
        let id = self.resolve::<E>(prefix)?;
        self.named_conflicts::<E>(&id, None)
    }

    /// The conflicts of the `E` with id `id` (in its nested map `within`), named.
    fn named_conflicts<E: Entity>(
        &mut self,
        id: &EntityId,
        within: Option<&str>,
    ) -> Result<Vec<Conflict>, RepoError> {
        let names: BTreeMap<PersonId, String> =
            self.people()?.into_iter().map(|p| (p.id, p.name)).collect();
        let mut conflicts =
            self.slot(E::COLLECTION.doc())
                .doc
                .conflicts(E::COLLECTION, id.as_str(), within)?;
        for c in &mut conflicts {
            c.by_name = c.by.as_ref().and_then(|by| names.get(by).cloned());
        }
        Ok(conflicts)
    }

    /// Restores the value `field` of the `E` lost in a conflict.
    pub fn keep<E: Entity>(&mut self, prefix: &str, field: &str) -> Result<E, RepoError> {
        let id = self.resolve::<E>(prefix)?;
        self.change(E::COLLECTION.doc(), |doc, author| {
            doc.keep_losing_value(E::COLLECTION, id.as_str(), field)?;
            let item: E =
                doc.get(E::COLLECTION, id.as_str())?
                    .ok_or_else(|| DocumentError::NotFound {
                        collection: E::COLLECTION.key(),
                        id: id.to_string(),
                    })?;
            let summary = format!("kept the other {field} of {}", item.summary());
            Ok((
                item,
                Activity::new(
                    author,
                    &format!("{}.keep", E::NOUN),
                    Some(id.clone()),
                    &summary,
                ),
            ))
        })
    }

    /// One idea from the jar, chosen at random; `None` if the jar is empty.
    pub fn draw_idea(&self) -> Result<Option<Idea>, RepoError> {
        let ideas = self.list::<Idea>()?;
        if ideas.is_empty() {
            return Ok(None);
        }
        let pick = rand::random_range(0..ideas.len());
        Ok(ideas.into_iter().nth(pick))
    }

    fn personal_time_view(&self, block: PersonalTime) -> Result<PersonalTimeView, RepoError> {
        let details = if block.owner == self.me.id {
            self.private
                .doc
                .get::<PersonalTimeDetail>(Collection::PersonalTimeDetails, block.id.as_str())?
                .map(|d| d.details)
        } else {
            None
        };
        Ok(PersonalTimeView { block, details })
    }

    /// Every personal-time block, with details on one's own.
    pub fn personal_time(&self) -> Result<Vec<PersonalTimeView>, RepoError> {
        self.list::<PersonalTime>()?
            .into_iter()
            .map(|b| self.personal_time_view(b))
            .collect()
    }

    /// One block, with details if it is one's own.
    pub fn personal_time_one(&self, prefix: &str) -> Result<PersonalTimeView, RepoError> {
        let block = self.get::<PersonalTime>(prefix)?;
        self.personal_time_view(block)
    }

    /// Blocks personal time: the hours go to the shared document, the details to the
    /// private one, as one joint commit.
    pub fn create_personal_time(
        &mut self,
        mut new: NewPersonalTime,
    ) -> Result<PersonalTimeView, RepoError> {
        let details = new.details.take().map(|d| check_details(&d)).transpose()?;
        let block = self.jointly(Vec::new(), |repo| {
            let block = repo.create::<PersonalTime>(new)?;
            repo.set_details(&block, details)?;
            Ok(block)
        })?;
        self.personal_time_view(block)
    }

    /// Changes a block of one's own personal time. The shared document is written only
    /// when the hours or the label change: an edit of the details alone stays in the
    /// private document, so the partner learns neither what changed nor that or when
    /// anything did.
    pub fn update_personal_time(
        &mut self,
        prefix: &str,
        mut patch: PersonalTimePatch,
    ) -> Result<PersonalTimeView, RepoError> {
        let details = patch
            .details
            .take()
            .map(|d| check_details(&d))
            .transpose()?;
        let current = self.get::<PersonalTime>(prefix)?;
        let mut edited = current.clone();
        edited.apply(patch, &self.author())?;
        let block = self.jointly(Vec::new(), |repo| {
            let block = if edited == current {
                current
            } else {
                repo.modify::<PersonalTime>(current.id.as_str(), "edit", |block, _| {
                    *block = edited;
                    Ok(())
                })?
            };
            repo.set_details(&block, details)?;
            Ok(block)
        })?;
        self.personal_time_view(block)
    }

    fn set_details(
        &mut self,
        block: &PersonalTime,
        details: Option<String>,
    ) -> Result<(), RepoError> {
        let Some(details) = details else {
            return Ok(());
        };
        let detail = PersonalTimeDetail {
            id: block.id.clone(),
            details,
        };
        self.change(DocKind::Private, |doc, author| {
            doc.put(Collection::PersonalTimeDetails, &detail)?;
            Ok((
                (),
                Activity::new(
                    author,
                    "personal_time.details",
                    Some(detail.id.clone()),
                    &block.label,
                ),
            ))
        })
    }

    /// The week "now" falls in, in this daemon's time zone.
    pub fn this_week(&self) -> IsoWeek {
        IsoWeek::of(&Timestamp::now().to_zoned_datetime(self.tz.clone()))
    }

    /// Records this person's check-in: the answer privately, a marker publicly; then
    /// reveals whatever both partners have now answered. Answering again before the
    /// reveal replaces the private draft and leaves the first marker as it was (the
    /// partner learns nothing of it); once the week is revealed the answer is final.
    pub fn answer_checkin(&mut self, new: NewCheckin) -> Result<CheckinAnswered, RepoError> {
        let week = new.week.unwrap_or_else(|| self.this_week());
        let markers: Vec<CheckinMarker> = self.shared.doc.list(Collection::CheckinMarkers)?;
        let published: Vec<CheckinAnswer> = self.shared.doc.list(Collection::CheckinAnswers)?;
        ensure_answer_open(week, &self.me.id, &markers, &published)?;
        let answer = CheckinAnswer::new(week, self.me.id.clone(), new, Stamp(Timestamp::now()))?;
        let replaced = self
            .private
            .doc
            .get::<CheckinAnswer>(Collection::CheckinDrafts, &answer.key)?
            .is_some();
        let summary = format!("check-in {week}");
        self.jointly(Vec::new(), |repo| {
            repo.change(DocKind::Private, |doc, author| {
                doc.put(Collection::CheckinDrafts, &answer)?;
                Ok(((), Activity::new(author, "checkin.answer", None, &summary)))
            })?;
            if !markers.iter().any(|m| m.key == answer.key) {
                let marker = answer.marker();
                repo.change(DocKind::Shared, |doc, author| {
                    doc.put(Collection::CheckinMarkers, &marker)?;
                    Ok((
                        (),
                        Activity::new(author, "checkin.answered", None, &summary),
                    ))
                })?;
            }
            repo.reveal_checkins()
        })?;
        let week = self
            .checkin_weeks()?
            .into_iter()
            .find(|w| w.week == week)
            .ok_or_else(|| {
                DocumentError::Malformed("the check-in just written is missing".into())
            })?;
        Ok(CheckinAnswered { week, replaced })
    }

    /// Publishes this person's answers for every week both partners have answered. Runs
    /// after local answers, and (with peer sync) after the partner's changes arrive.
    pub fn reveal_checkins(&mut self) -> Result<(), RepoError> {
        let markers: Vec<CheckinMarker> = self.shared.doc.list(Collection::CheckinMarkers)?;
        let drafts: Vec<CheckinAnswer> = self.private.doc.list(Collection::CheckinDrafts)?;
        let published: Vec<CheckinAnswer> = self.shared.doc.list(Collection::CheckinAnswers)?;
        let reveal = answers_to_reveal(&self.me.id, &markers, &drafts, &published);
        if reveal.is_empty() {
            return Ok(());
        }
        self.change(DocKind::Shared, |doc, author| {
            for answer in &reveal {
                doc.put(Collection::CheckinAnswers, answer)?;
            }
            let weeks: Vec<String> = reveal.iter().map(|a| a.week.to_string()).collect();
            Ok((
                (),
                Activity::new(author, "checkin.reveal", None, &weeks.join(", ")),
            ))
        })
    }

    /// The answers this person may read: their own, and published ones.
    fn visible_answers(&self) -> Result<Vec<CheckinAnswer>, RepoError> {
        let mut answers: BTreeMap<String, CheckinAnswer> = BTreeMap::new();
        for a in self
            .shared
            .doc
            .list::<CheckinAnswer>(Collection::CheckinAnswers)?
        {
            answers.insert(a.key.clone(), a);
        }
        for a in self
            .private
            .doc
            .list::<CheckinAnswer>(Collection::CheckinDrafts)?
        {
            answers.insert(a.key.clone(), a);
        }
        Ok(answers.into_values().collect())
    }

    /// Every week someone checked in, newest first.
    pub fn checkin_weeks(&self) -> Result<Vec<CheckinWeek>, RepoError> {
        let markers: Vec<CheckinMarker> = self.shared.doc.list(Collection::CheckinMarkers)?;
        let answers = self.visible_answers()?;
        let complete = complete_weeks(&markers);
        let weeks: BTreeSet<IsoWeek> = markers
            .iter()
            .map(|m| m.week)
            .chain(answers.iter().map(|a| a.week))
            .collect();
        Ok(weeks
            .into_iter()
            .rev()
            .map(|week| CheckinWeek {
                week,
                answered: markers
                    .iter()
                    .filter(|m| m.week == week)
                    .map(|m| m.person.clone())
                    .collect(),
                answers: answers.iter().filter(|a| a.week == week).cloned().collect(),
                revealed: complete.contains(&week),
            })
            .collect())
    }

    /// What is due for this person at `now`. The documents' part is cached by the shared
    /// document's heads, so the periodic check costs nothing while nothing changes.
    pub fn reminders(&mut self, now: &jiff::ZonedDateTime) -> Result<Vec<Reminder>, RepoError> {
        let heads = self.shared.doc.heads();
        if self
            .reminder_inputs
            .as_ref()
            .is_none_or(|(cached, _)| *cached != heads)
        {
            let inputs = ReminderInputs {
                settings: self.settings()?,
                plans: self.list::<Plan>()?,
                agreements: self.list::<Agreement>()?,
                markers: self.shared.doc.list(Collection::CheckinMarkers)?,
            };
            self.reminder_inputs = Some((heads, inputs));
        }
        let (_, inputs) = self.reminder_inputs.as_ref().expect("filled above");
        Ok(due(
            now,
            &self.me.id,
            &inputs.settings,
            &inputs.plans,
            &inputs.agreements,
            &inputs.markers,
        ))
    }

    /// Both partners, as listed in the shared document.
    pub fn people(&self) -> Result<Vec<Person>, RepoError> {
        Ok(self.shared.doc.list(Collection::People)?)
    }

    /// The balance report for `week` read in `tz`.
    pub fn balance(&self, week: IsoWeek, tz: &TimeZone) -> Result<Balance, RepoError> {
        let people = self.people()?;
        let plans = self.list::<Plan>()?;
        let personal_time = self.list::<PersonalTime>()?;
        let answers = self.visible_answers()?;
        Ok(balance(&BalanceInput {
            week,
            tz,
            people: &people,
            plans: &plans,
            personal_time: &personal_time,
            answers: &answers,
        })?)
    }

    /// The shared settings.
    pub fn settings(&self) -> Result<Settings, RepoError> {
        Ok(self.shared.doc.settings()?)
    }

    /// Changes the shared settings.
    pub fn update_settings(&mut self, patch: SettingsPatch) -> Result<Settings, RepoError> {
        let mut settings = self.settings()?;
        settings.apply(patch)?;
        self.change(DocKind::Shared, |doc, author| {
            doc.put_settings(&settings)?;
            Ok((
                settings.clone(),
                Activity::new(author, "settings.edit", None, "settings"),
            ))
        })
    }

    /// The most recent activity of both documents, newest first.
    pub fn activity(&mut self, limit: usize) -> Result<Vec<ActivityEntry>, RepoError> {
        let names: BTreeMap<PersonId, String> =
            self.people()?.into_iter().map(|p| (p.id, p.name)).collect();
        let mut entries: Vec<ActivityEntry> = DocKind::ALL
            .into_iter()
            .flat_map(|kind| {
                let doc = &mut self.slot(kind).doc;
                doc.activity(limit).into_iter().map(move |a| (kind, a))
            })
            .map(|(kind, activity)| ActivityEntry {
                by_name: names.get(&activity.by).cloned(),
                activity,
                document: kind.name().to_owned(),
            })
            .collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.activity.at));
        entries.truncate(limit);
        Ok(entries)
    }

    /// What `tandem status` shows.
    pub fn status(&mut self) -> Result<Status, RepoError> {
        let people = self.people()?;
        let partner = people.iter().find(|p| p.id != self.me.id).cloned();
        let mut counts = BTreeMap::new();
        for c in Collection::ALL {
            counts.insert(c.key().to_owned(), self.doc(c.doc()).count(c)?);
        }
        let documents = DocKind::ALL
            .into_iter()
            .map(|kind| {
                let slot = self.slot(kind);
                DocumentStatus {
                    kind: kind.name().to_owned(),
                    changes: slot.doc.change_count(),
                    bytes_on_disk: slot.store.bytes_on_disk(),
                    schema: slot.doc.schema_version(),
                }
            })
            .collect();
        Ok(Status {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            me: self.me.clone(),
            partner,
            home: self.home.root().display().to_string(),
            time_zone: self.tz.iana_name().unwrap_or("UTC").to_owned(),
            device_id: String::new(),
            peer_port: 0,
            mdns: false,
            heads: self.heads(),
            schema: Schema::CURRENT.version(),
            documents,
            counts,
        })
    }

    /// The next sync message for `kind` to the peer of `session`, if any.
    pub fn sync_poll(&mut self, session: &mut PeerSync, kind: DocKind) -> Option<Message> {
        session.poll(&mut self.slot(kind).doc)
    }

    /// Applies a peer's sync message for `kind`. What it brought is staged, to be made
    /// durable and announced as change events by the writer (so the feed shows the
    /// partner's edits; the connection it came from is not woken by them), and check-ins
    /// both have now answered are revealed.
    pub fn sync_receive(
        &mut self,
        session: &mut PeerSync,
        from: DeviceId,
        kind: DocKind,
        data: &[u8],
    ) -> Result<(), RepoError> {
        let slot = self.slot(kind);
        let before = slot.doc.heads();
        if !session.receive(&mut slot.doc, data)? {
            return Ok(());
        }
        slot.store.stage(&mut slot.doc)?;
        let brought = slot.doc.activity_since(&before);
        self.unsynced.touch(kind);
        self.unsynced
            .events
            .extend(brought.into_iter().map(|activity| ChangeEvent {
                document: kind,
                activity,
                documents: vec![kind],
                from: Some(from),
            }));
        if kind == DocKind::Shared {
            self.reveal_checkins()?;
        }
        Ok(())
    }

    /// Whether the peer of `session` has every document it may have exactly as we do.
    pub fn in_sync(&mut self, session: &PeerSync) -> bool {
        let allowed: Vec<DocKind> = session.allowed().collect();
        allowed.into_iter().all(|kind| {
            let heads = self.slot(kind).doc.heads();
            session.in_sync(kind, &heads)
        })
    }

    /// Both documents' heads, to tell whether two devices are in sync.
    pub fn heads(&mut self) -> BTreeMap<String, Vec<String>> {
        DocKind::ALL
            .into_iter()
            .map(|kind| {
                let mut heads: Vec<String> = self
                    .slot(kind)
                    .doc
                    .heads()
                    .iter()
                    .map(|h| h.to_string())
                    .collect();
                heads.sort();
                (kind.name().to_owned(), heads)
            })
            .collect()
    }

    /// A full copy of one document for a backup, with its schema version. Anything not yet
    /// in the log is persisted first, since saving moves the incremental-save cursor. The
    /// caller holds the writer's lock across both documents, so they show one moment.
    pub fn save_copy(&mut self, kind: DocKind) -> Result<DocumentImage, RepoError> {
        let slot = self.slot(kind);
        slot.store.persist(&mut slot.doc)?;
        Ok(DocumentImage {
            schema: slot.doc.schema_version(),
            bytes: slot.doc.save(),
        })
    }

    /// A handle that makes `kind`'s staged records durable from the writer's second thread.
    pub fn log_sync(&self, kind: DocKind) -> Result<crate::store::LogSync, RepoError> {
        Ok(self.doc_slot(kind).store.log_sync()?)
    }

    /// Compacts both documents: a fresh snapshot, an empty log. Run at clean shutdown so
    /// the next start loads one file per document.
    pub fn flush(&mut self) -> Result<(), RepoError> {
        for kind in DocKind::ALL {
            let slot = self.slot(kind);
            slot.store.compact(&mut slot.doc)?;
        }
        Ok(())
    }
}
