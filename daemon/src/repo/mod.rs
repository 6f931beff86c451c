//! Both documents and every operation on them.
//!
//! The repo is owned by the writer thread ([`crate::writer`]), which is the only code that
//! touches it. Each operation validates, changes the document, commits one Automerge change
//! whose message is the activity record, and stages it in the store's log; the writer then
//! makes the batch durable with one fsync per log and only after that acknowledges it and
//! announces its [`ChangeEvent`]. An operation that changes both documents is a joint
//! commit ([`tandem_protocol::joint`]): all of it survives a crash, or none of it.

use std::collections::BTreeMap;

mod checkin;
mod joint;
mod personal_time;
mod plans;
mod requests;
mod sync;
mod tombstone;
mod views;

pub use requests::Request;
use requests::Requests;
use views::ReminderInputs;

use automerge::ActorId;
use jiff::tz::TimeZone;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tandem_protocol::activity::Activity;
use tandem_protocol::checkin::AlreadyRevealed;
use tandem_protocol::config::Config;
use tandem_protocol::device::DeviceId;
use tandem_protocol::document::{Collection, Conflict, DocKind, Document};
use tandem_protocol::entity::{Author, EditError, Entity};
use tandem_protocol::error::{DocumentError, ValidationError};
use tandem_protocol::ids::{EntityId, PersonId};
use tandem_protocol::joint::Step;
use tandem_protocol::kinds::{self, ForKind};
use tandem_protocol::model::person::Person;
use tandem_protocol::rules::{self, Refusal};
use tandem_protocol::schema::Schema;
use tandem_protocol::sync::SyncError;
use tandem_protocol::time::Stamp;
use tandem_protocol::undo::UndoError;
use thiserror::Error;

use crate::archive::DocumentImage;
use crate::home::Home;
use crate::store::{DocStore, StoreError};

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
    /// This person may not do that to the item ([`tandem_protocol::rules`]), or it is in
    /// the trash.
    #[error(transparent)]
    Refused(#[from] Refusal),
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
    /// A request came again under an `Idempotency-Key` that already made a change for a
    /// different request.
    #[error(
        "this Idempotency-Key was already used for a different request; send a new key with a new request"
    )]
    KeyReused,
    /// A request came again under its `Idempotency-Key` after its change was made, and its
    /// answer is no longer known (the daemon restarted, or the first caller went away).
    #[error(
        "this request was already applied ({what}) and is not applied again; its answer was not kept, so read the item to see its current state"
    )]
    AlreadyApplied {
        /// The change it made, e.g. `plan.add 3f2a…`.
        what: String,
    },
    /// The writer has stopped: the daemon is shutting down.
    #[error("the daemon is stopping; try again once it is running")]
    Stopped,
}

impl From<EditError> for RepoError {
    fn from(e: EditError) -> Self {
        match e {
            EditError::Refused(refusal) => RepoError::Refused(refusal),
            EditError::Invalid(invalid) => invalid.into(),
        }
    }
}

impl From<ValidationError> for RepoError {
    fn from(e: ValidationError) -> Self {
        RepoError::Document(e.into())
    }
}

/// A repo operation generic over the kind of entity, run for a kind chosen at run time
/// by its noun ([`Repo::for_noun`]).
trait OnKind {
    /// What it gives back.
    type Out;
    /// Runs it for the kind `E`.
    fn run<E: Entity + DeserializeOwned>(self, repo: &mut Repo) -> Result<Self::Out, RepoError>;
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
    /// What "what needs me" reads of the shared document and the heads it was read at.
    inbox_inputs: Option<(Vec<automerge::ChangeHash>, plans::InboxInputs)>,
    /// When this person last looked at each plan (its comments), kept on this laptop
    /// only ([`plans`]).
    seen: BTreeMap<EntityId, Stamp>,
    /// The `Idempotency-Key` request the running operation serves, if any: its changes
    /// carry its mark.
    request: Option<Request>,
    /// The keys this device's recent changes were made for.
    requests: Requests,
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
            joined_at: Stamp(crate::clock::now()),
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
            inbox_inputs: None,
            seen: plans::read_seen(home),
            request: None,
            requests: Requests::default(),
        };
        repo.finish_joint_commit()?;
        let own = DocKind::ALL
            .into_iter()
            .flat_map(|kind| repo.slot(kind).doc.own_commands())
            .map(|command| command.activity)
            .collect();
        repo.requests = Requests::rebuilt(own, crate::clock::now());
        Ok(repo)
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
                joined_at: Stamp(crate::clock::now()),
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

    /// Runs `op` for `request` (a write sent with an `Idempotency-Key`), unless its key
    /// already made a change for another arrival of it ([`RepoError::AlreadyApplied`]) or
    /// for a different request ([`RepoError::KeyReused`]). Its changes carry the key.
    pub fn for_request<T>(
        &mut self,
        request: Option<Request>,
        op: impl FnOnce(&mut Self) -> Result<T, RepoError>,
    ) -> Result<T, RepoError> {
        if let Some(request) = &request {
            self.requests.check(request, crate::clock::now())?;
        }
        self.request = request;
        let result = op(self);
        self.request = None;
        result
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
            at: Stamp(crate::clock::now()),
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
    fn commit(&mut self, kind: DocKind, mut activity: Activity) -> Result<(), RepoError> {
        let joint = self.joint;
        activity.request = self.request.as_ref().map(|r| r.mark.clone());
        let slot = self.slot(kind);
        if slot.doc.commit(&activity).is_none() {
            return Ok(());
        }
        if !joint {
            slot.store.stage(&mut slot.doc)?;
            self.unsynced.touch(kind);
        }
        if let Some(request) = &self.request {
            self.requests
                .record(request, &activity, crate::clock::now());
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
                Err(self.named(e))
            }
        }
    }

    /// Runs `op` for the kind of entity named `noun` ([`kinds::named`]); `None` when no
    /// kind has that noun.
    fn for_noun<O: OnKind>(&mut self, noun: &str, op: O) -> Option<Result<O::Out, RepoError>> {
        struct Once<'a, O: OnKind> {
            repo: &'a mut Repo,
            op: Option<O>,
            out: Option<Result<O::Out, RepoError>>,
        }
        impl<O: OnKind> ForKind for Once<'_, O> {
            fn run<E: Entity + DeserializeOwned>(&mut self) {
                if let Some(op) = self.op.take() {
                    self.out = Some(op.run::<E>(self.repo));
                }
            }
        }
        let mut once = Once {
            repo: self,
            op: Some(op),
            out: None,
        };
        kinds::named(noun, &mut once);
        once.out
    }

    /// `e`, with the owner's name in a refusal ("only Sam can delete Sam's ...").
    fn named(&self, e: RepoError) -> RepoError {
        match e {
            RepoError::Refused(refusal) => {
                RepoError::Refused(refusal.named(&self.people().unwrap_or_default()))
            }
            other => other,
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

    /// The `E` with this id (or unique id prefix), in the trash or not, without answers
    /// given to a version of it that is no longer current ([`Entity::settle`]).
    fn find<E: Entity>(&self, prefix: &str) -> Result<E, RepoError> {
        let id = self.resolve::<E>(prefix)?;
        let doc = self.doc(E::COLLECTION.doc());
        let mut item = doc.get::<E>(E::COLLECTION, id.as_str())?.ok_or_else(|| {
            RepoError::Document(DocumentError::NotFound {
                collection: E::COLLECTION.key(),
                id: prefix.to_owned(),
            })
        })?;
        item.settle();
        Ok(item)
    }

    /// The `E` with this id (or unique id prefix); one in the trash must be restored
    /// before it can be read or changed.
    pub fn get<E: Entity>(&self, prefix: &str) -> Result<E, RepoError> {
        let item = self.find::<E>(prefix)?;
        rules::may_read(&item)?;
        Ok(item)
    }

    /// Every `E` not in the trash, oldest first.
    pub fn list<E: Entity>(&self) -> Result<Vec<E>, RepoError> {
        let mut items: Vec<E> = self.every::<E>()?;
        items.retain(|item| rules::may_read(item).is_ok());
        Ok(items)
    }

    /// Every `E`, deleted ones too, oldest first.
    fn every<E: Entity>(&self) -> Result<Vec<E>, RepoError> {
        let mut items: Vec<E> = self.doc(E::COLLECTION.doc()).list(E::COLLECTION)?;
        items.iter_mut().for_each(Entity::settle);
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
    pub fn update<E: Entity>(&mut self, prefix: &str, patch: E::Patch) -> Result<E, RepoError> {
        self.modify::<E>(prefix, "edit", |item, author| item.amend(patch, author))
    }

    /// Changes the `E` with `f` if this person may edit it ([`rules::may_edit`]: RSVPs and
    /// acceptances are edits too), recording `verb` (e.g. `rsvp`) in the activity feed; a
    /// change that asks both partners again ([`Entity::asks_again`]) says so there.
    pub fn modify<E: Entity>(
        &mut self,
        prefix: &str,
        verb: &str,
        f: impl FnOnce(&mut E, &Author) -> Result<(), ValidationError>,
    ) -> Result<E, RepoError> {
        self.modify_as(prefix, verb, rules::may_edit, f)
    }

    /// [`Repo::modify`] under another rule than [`rules::may_edit`] (a comment, a
    /// counter-proposal and its answer each have their own).
    fn modify_as<E: Entity>(
        &mut self,
        prefix: &str,
        verb: &str,
        rule: impl FnOnce(&E, &PersonId) -> Result<(), Refusal>,
        f: impl FnOnce(&mut E, &Author) -> Result<(), ValidationError>,
    ) -> Result<E, RepoError> {
        let mut item = self.find::<E>(prefix)?;
        self.change(E::COLLECTION.doc(), |doc, author| {
            rule(&item, &author.person)?;
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

    /// Values that lost concurrent writes to the `E`'s fields, with who wrote them.
    pub fn conflicts<E: Entity>(&mut self, prefix: &str) -> Result<Vec<Conflict>, RepoError> {
        let item = self.get::<E>(prefix)?;
        self.named_conflicts::<E>(item.id(), None)
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
        let current = self.find::<E>(prefix)?;
        let id = current.id().clone();
        self.change(E::COLLECTION.doc(), |doc, author| {
            rules::may_edit(&current, &author.person)?;
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
