//! The two Automerge documents and typed access to their collections.
//!
//! Every document starts from a fixed *genesis change* (fixed actor, time 0) that creates
//! the empty top-level collections. Two laptops that create their documents independently
//! therefore share the first change, and the collections are the same Automerge objects on
//! both: later additions merge instead of fighting over root keys. Collections added after
//! genesis come from the deterministic upgrade changes of [`crate::schema`].

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value,
};

use autosurgeon::reconcile::{LoadKey, MapReconciler, NoKey};
use autosurgeon::{Reconcile, Reconciler};

use crate::activity::Activity;
use crate::entity::Stored;
use crate::error::DocumentError;
use crate::ids::PersonId;
use crate::map_reads::MapReads;
use crate::model::settings::Settings;
use crate::schema::{self, Schema};
use crate::time::Stamp;

/// Which of the two documents.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// One per couple; synced to the partner's and one's own devices.
    Shared,
    /// One per person; synced only to one's own devices, never to the partner.
    Private,
}

impl DocKind {
    /// Both kinds, in a fixed order.
    pub const ALL: [DocKind; 2] = [DocKind::Shared, DocKind::Private];

    /// Directory and wire name of the document.
    pub fn name(self) -> &'static str {
        match self {
            DocKind::Shared => "shared",
            DocKind::Private => "private",
        }
    }
}

/// A top-level map in one of the documents, holding items keyed by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collection {
    /// Shared: the two partners, keyed by person id.
    People,
    /// Shared: plans for time together.
    Plans,
    /// Shared: the idea jar.
    Ideas,
    /// Shared: personal-time blocks (owner and hours only).
    PersonalTime,
    /// Shared: agreements and boundaries.
    Agreements,
    /// Shared: "has answered week W" markers, keyed `<week>_<person>`.
    CheckinMarkers,
    /// Shared: check-in answers, published once both partners answered.
    CheckinAnswers,
    /// Private: the journal.
    Notes,
    /// Private: what a personal-time block is really for.
    PersonalTimeDetails,
    /// Private: one's own check-in answers before they are revealed.
    CheckinDrafts,
}

impl Collection {
    /// Every collection this build knows: those of genesis, then those of later schema
    /// versions (each also listed in its [`crate::schema::SchemaStep`]).
    pub const ALL: [Collection; 10] = [
        Collection::People,
        Collection::Plans,
        Collection::Ideas,
        Collection::PersonalTime,
        Collection::Agreements,
        Collection::CheckinMarkers,
        Collection::CheckinAnswers,
        Collection::Notes,
        Collection::PersonalTimeDetails,
        Collection::CheckinDrafts,
    ];

    /// Root key of the collection, also its name in messages.
    pub fn key(self) -> &'static str {
        match self {
            Collection::People => "people",
            Collection::Plans => "plans",
            Collection::Ideas => "ideas",
            Collection::PersonalTime => "personal_time",
            Collection::Agreements => "agreements",
            Collection::CheckinMarkers => "checkin_markers",
            Collection::CheckinAnswers => "checkin_answers",
            Collection::Notes => "notes",
            Collection::PersonalTimeDetails => "personal_time_details",
            Collection::CheckinDrafts => "checkin_drafts",
        }
    }

    /// The document the collection lives in.
    pub fn doc(self) -> DocKind {
        match self {
            Collection::Notes | Collection::PersonalTimeDetails | Collection::CheckinDrafts => {
                DocKind::Private
            }
            _ => DocKind::Shared,
        }
    }
}

/// A value that lost a concurrent write, as [`Document::losers`] finds it.
struct Loser {
    /// Its field as people name it: `title`, or `meta.updated_at` in a nested map.
    field: String,
    value: ScalarValue,
    /// The op that wrote it (and so its author).
    op: ObjId,
    /// The map holding it, and its key there.
    map: ObjId,
    key: String,
}

/// A value that lost a concurrent write to the same field. Automerge keeps it; tandem
/// shows it, with who wrote it and when, so nothing is silently hidden.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Conflict {
    /// The field, e.g. `title`.
    pub field: String,
    /// The value that lost.
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
    /// Who wrote it, when known.
    pub by: Option<PersonId>,
    /// When, when known.
    pub at: Option<Stamp>,
    /// Display name of `by`, filled in by the daemon.
    #[serde(default)]
    pub by_name: Option<String>,
}

fn scalar_json(value: &ScalarValue) -> serde_json::Value {
    match value {
        ScalarValue::Str(s) => serde_json::Value::from(s.as_str()),
        ScalarValue::Int(i) | ScalarValue::Timestamp(i) => serde_json::Value::from(*i),
        ScalarValue::Uint(u) => serde_json::Value::from(*u),
        ScalarValue::F64(f) => serde_json::Value::from(*f),
        ScalarValue::Boolean(b) => serde_json::Value::from(*b),
        _ => serde_json::Value::Null,
    }
}

/// Root key of the shared settings map.
const SETTINGS_KEY: &str = "settings";

/// Actor of the genesis change: the same on every device, never used for anything else.
const GENESIS_ACTOR: [u8; 16] = *b"tandem-genesis-0";

/// The root maps genesis creates, frozen forever: a new collection belongs to a schema
/// version's upgrade change, never here (that would change the genesis hash and split
/// every home from its partner's).
const GENESIS_MAPS: [(DocKind, &str); 10] = [
    (DocKind::Shared, "people"),
    (DocKind::Shared, "plans"),
    (DocKind::Shared, "ideas"),
    (DocKind::Shared, "personal_time"),
    (DocKind::Shared, "agreements"),
    (DocKind::Shared, "checkin_markers"),
    (DocKind::Shared, "checkin_answers"),
    (DocKind::Private, "notes"),
    (DocKind::Private, "personal_time_details"),
    (DocKind::Private, "checkin_drafts"),
];

/// The genesis change of a document kind, as saved bytes. Deterministic: every device
/// computes the same bytes and so the same change hash.
pub fn genesis(kind: DocKind) -> Vec<u8> {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(GENESIS_ACTOR.as_slice()));
    for (_, key) in GENESIS_MAPS.into_iter().filter(|(k, _)| *k == kind) {
        doc.put_object(ROOT, key, ObjType::Map)
            .expect("putting into a fresh root map cannot fail");
    }
    if kind == DocKind::Shared {
        autosurgeon::reconcile_prop(&mut doc, ROOT, SETTINGS_KEY, Settings::default())
            .expect("reconciling defaults into a fresh document cannot fail");
    }
    doc.commit_with(
        CommitOptions::default()
            .with_time(0)
            .with_message("genesis"),
    );
    doc.save()
}

/// What a peer's sync message did to a document.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// It brought nothing new.
    Unchanged,
    /// It brought changes, applied or merged into this document.
    Changed,
    /// It carried the peer's whole document, which this one adopted
    /// ([`Document::receive_sync_message`]). A store may keep `whole` as its snapshot as
    /// long as it keeps `kept`, the changes this document had that `whole` lacks (as bytes
    /// [`Document::apply_changes`] reads), beside it: together they are the document.
    Adopted {
        /// The peer's saved document, as it arrived.
        whole: Vec<u8>,
        /// This document's changes that `whole` lacks.
        kept: Vec<u8>,
    },
}

impl Received {
    /// Whether the document changed.
    pub fn changed(&self) -> bool {
        !matches!(self, Received::Unchanged)
    }
}

/// The saved document a sync message carries whole, if it does: Automerge's v2 message
/// then holds one chunk, a document chunk (the storage format's header is the magic bytes,
/// a checksum and the chunk type, 0 for a document), rather than change chunks.
pub(crate) fn whole_document(changes: &automerge::sync::ChunkList) -> Option<&[u8]> {
    const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
    const DOCUMENT_CHUNK: u8 = 0;
    let mut chunks = changes.iter();
    let (Some(chunk), None) = (chunks.next(), chunks.next()) else {
        return None;
    };
    (chunk.starts_with(&MAGIC) && chunk.get(8) == Some(&DOCUMENT_CHUNK)).then_some(chunk)
}

/// One of the two documents, with typed access to its collections.
#[derive(Debug)]
pub struct Document {
    kind: DocKind,
    doc: AutoCommit,
    /// Heads already written to disk by the caller: [`Document::save_incremental`] returns
    /// only what came after them. Kept here rather than relying on `AutoCommit`'s own
    /// cursor, which starts empty after a load and would re-save the whole history.
    saved: Vec<ChangeHash>,
}

impl Document {
    /// A new document from the genesis change and this build's upgrade changes, writing
    /// as `actor`.
    pub fn create(kind: DocKind, actor: ActorId) -> Self {
        let doc = AutoCommit::load(&genesis(kind))
            .expect("genesis bytes are produced by this crate")
            .with_actor(actor);
        let mut this = Self {
            kind,
            doc,
            saved: Vec::new(),
        };
        this.upgrade(&Schema::CURRENT)
            .expect("this build's upgrade changes apply to its genesis");
        this
    }

    /// A document from saved bytes (a snapshot), writing as `actor`. Checks that it has the
    /// genesis collections of `kind`, so a foreign file is refused instead of half-used.
    /// Collections of later schema versions may be missing: an old document is not a
    /// damaged one, and [`Document::upgrade`] adds them.
    pub fn load(kind: DocKind, bytes: &[u8], actor: ActorId) -> Result<Self, DocumentError> {
        let mut doc = AutoCommit::load(bytes)?.with_actor(actor);
        let saved = doc.get_heads();
        let this = Self { kind, doc, saved };
        for (_, key) in GENESIS_MAPS.into_iter().filter(|(k, _)| *k == kind) {
            this.root_map(key)?;
        }
        Ok(this)
    }

    /// The schema version the document was upgraded to (see [`crate::schema`]); above
    /// this build's when a newer build upgraded it first.
    pub fn schema_version(&self) -> u32 {
        schema::version_of(&self.doc)
    }

    /// Applies the upgrade changes of `schema` the document lacks, so that every
    /// collection of `schema` exists. Returns the versions it upgraded from and to, or
    /// `None` if it was current (or newer). The changes are not saved: persist them.
    pub fn upgrade(&mut self, schema: &Schema) -> Result<Option<(u32, u32)>, DocumentError> {
        let from = self.schema_version();
        if from >= schema.version() {
            return Ok(None);
        }
        for change in schema.upgrade_changes(self.kind) {
            if change.version > from {
                self.doc.load_incremental(&change.bytes)?;
            }
        }
        for (_, key) in schema.added_collections(self.kind) {
            self.root_map(key)?;
        }
        Ok(Some((from, schema.version())))
    }

    /// Which document this is.
    pub fn kind(&self) -> DocKind {
        self.kind
    }

    /// Applies changes saved elsewhere (a log record, or a peer's changes).
    pub fn apply_changes(&mut self, bytes: &[u8]) -> Result<(), DocumentError> {
        self.doc.load_incremental(bytes)?;
        Ok(())
    }

    /// The whole document, compacted. Everything counts as saved afterwards.
    pub fn save(&mut self) -> Vec<u8> {
        self.saved = self.doc.get_heads();
        self.doc.save()
    }

    /// Changes since the document was loaded or last saved; empty if none.
    pub fn save_incremental(&mut self) -> Vec<u8> {
        let heads = self.doc.get_heads();
        if heads == self.saved {
            return Vec::new();
        }
        let bytes = self.doc.save_after(&self.saved);
        self.saved = heads;
        bytes
    }

    /// Marks everything in the document as saved (after replaying it from disk).
    pub fn mark_saved(&mut self) {
        self.saved = self.doc.get_heads();
    }

    /// Current heads, which identify the document's state.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The next Automerge sync message for the peer whose state is `state`, encoded.
    pub fn sync_message(&mut self, state: &mut automerge::sync::State) -> Option<Vec<u8>> {
        use automerge::sync::SyncDoc;
        self.doc
            .sync()
            .generate_sync_message(state)
            .map(|m| m.encode())
    }

    /// Applies an encoded sync message from the peer whose state is `state`.
    ///
    /// A peer sends its whole document when this one lacks more than a third of its
    /// history. Automerge loads such a message fast only into an empty document and
    /// otherwise applies it change by change, about three times slower. Instead, the
    /// side that lacks more adopts the peer's document and re-applies its own few
    /// changes ([`Received::Adopted`]); the other merges what it lacks.
    pub fn receive_sync_message(
        &mut self,
        state: &mut automerge::sync::State,
        data: &[u8],
    ) -> Result<Received, DocumentError> {
        use automerge::sync::SyncDoc;
        let mut message = automerge::sync::Message::decode(data)
            .map_err(|e| DocumentError::Malformed(format!("sync message: {e}")))?;
        let before = self.doc.get_heads();
        let received = match whole_document(&message.changes) {
            Some(whole) => {
                let whole = whole.to_vec();
                // The changes are in; the rest of the message (heads, needs, bloom filter)
                // still moves the sync state on as usual.
                message.changes = automerge::sync::ChunkList::empty();
                Some(self.take_whole(whole)?)
            }
            None => None,
        };
        self.doc.sync().receive_sync_message(state, message)?;
        Ok(match received {
            Some(received) => received,
            None if self.doc.get_heads() == before => Received::Unchanged,
            None => Received::Changed,
        })
    }

    /// Takes in `whole`, a peer's saved document, in whichever way applies fewer changes:
    /// - this side has only a few changes `whole` lacks (a freshly paired laptop holds
    ///   genesis, the upgrade changes and its own introduction): `whole` is *adopted*,
    ///   loaded as it is with those few changes applied on top;
    /// - otherwise (a full laptop receiving a fresh one's document) the changes of
    ///   `whole` this side lacks are merged in, as Automerge would.
    ///
    /// Either way the result holds exactly the union of both histories: nothing is lost.
    fn take_whole(&mut self, whole: Vec<u8>) -> Result<Received, DocumentError> {
        let mut theirs = AutoCommit::load(&whole)?;
        let their_hashes: std::collections::HashSet<ChangeHash> = theirs
            .get_changes_meta(&[])
            .iter()
            .map(|m| m.hash)
            .collect();
        let own: Vec<ChangeHash> = self
            .doc
            .get_changes_meta(&[])
            .iter()
            .map(|m| m.hash)
            .collect();
        let kept: Vec<ChangeHash> = own
            .iter()
            .filter(|hash| !their_hashes.contains(hash))
            .copied()
            .collect();
        let lacking = their_hashes.len() - (own.len() - kept.len());
        if lacking == 0 {
            return Ok(Received::Unchanged);
        }
        if kept.len() > lacking {
            self.doc.merge(&mut theirs)?;
            return Ok(Received::Changed);
        }
        let mut bytes = Vec::new();
        let mut changes = Vec::with_capacity(kept.len());
        for hash in kept {
            let change = self
                .doc
                .get_change_by_hash(&hash)
                .expect("the hash was just read from this document");
            bytes.extend_from_slice(change.raw_bytes());
            changes.push(change);
        }
        let mut adopted = theirs.with_actor(self.doc.get_actor().clone());
        adopted.apply_changes(changes)?;
        self.doc = adopted;
        Ok(Received::Adopted { whole, kept: bytes })
    }

    /// The changes that are not ancestors of `heads`, as bytes [`Document::apply_changes`]
    /// reads: what a mailbox bundle carries ([`crate::mailbox`]).
    pub fn changes_after(&mut self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    /// The hashes of the changes that are not ancestors of `heads`.
    pub fn hashes_after(&mut self, heads: &[ChangeHash]) -> Vec<ChangeHash> {
        self.doc
            .get_changes_meta(heads)
            .iter()
            .map(|m| m.hash)
            .collect()
    }

    /// Whether the document holds the change `hash` (a peer's heads may name changes this
    /// device has not seen).
    pub fn knows(&mut self, hash: &ChangeHash) -> bool {
        self.doc.get_change_meta_by_hash(hash).is_some()
    }

    /// Activity records of the changes that are not ancestors of `heads`, oldest first:
    /// what a sync just brought in.
    pub fn activity_since(&mut self, heads: &[ChangeHash]) -> Vec<Activity> {
        self.doc
            .get_changes_meta(heads)
            .iter()
            .filter_map(|m| m.message.as_deref().and_then(Activity::from_message))
            .collect()
    }

    /// The changes this document's own actor (this device) made with an activity
    /// record, newest first: what `tandem undo` may revert ([`crate::undo`]).
    pub fn own_commands(&mut self) -> Vec<crate::undo::Command> {
        let actor = self.doc.get_actor().clone();
        let mut commands: Vec<crate::undo::Command> = self
            .doc
            .get_changes_meta(&[])
            .into_iter()
            .filter(|m| *m.actor == actor)
            .filter_map(|m| {
                let activity = Activity::from_message(m.message.as_deref()?)?;
                Some(crate::undo::Command {
                    hash: m.hash,
                    deps: m.deps,
                    activity,
                })
            })
            .collect();
        commands.sort_by_key(|c| std::cmp::Reverse(c.activity.at));
        commands
    }

    /// The document as it was at `heads`, read-only in spirit: for looking at an item
    /// before and after one change.
    pub fn at(&mut self, heads: &[ChangeHash]) -> Result<Document, DocumentError> {
        Ok(Document {
            kind: self.kind,
            doc: self.doc.fork_at(heads)?,
            saved: Vec::new(),
        })
    }

    /// Number of changes in the document's history.
    pub fn change_count(&mut self) -> usize {
        self.doc.get_changes_meta(&[]).len()
    }

    fn collection_obj(&self, collection: Collection) -> Result<ObjId, DocumentError> {
        if collection.doc() != self.kind {
            return Err(DocumentError::Malformed(format!(
                "{} lives in the {} document, not the {} one",
                collection.key(),
                collection.doc().name(),
                self.kind.name()
            )));
        }
        self.root_map(collection.key())
    }

    fn root_map(&self, key: &str) -> Result<ObjId, DocumentError> {
        match self.doc.get(ROOT, key)? {
            Some((Value::Object(ObjType::Map), id)) => Ok(id),
            _ => Err(DocumentError::Malformed(format!(
                "the {} document has no {key} map",
                self.kind.name(),
            ))),
        }
    }

    /// The item stored under `key`, if any.
    pub fn get<T: Stored>(
        &self,
        collection: Collection,
        key: &str,
    ) -> Result<Option<T>, DocumentError> {
        let obj = self.collection_obj(collection)?;
        match self.doc.get(&obj, key)? {
            None => Ok(None),
            Some((value, item)) => self.hydrate_item(&obj, key, &value, &item).map(Some),
        }
    }

    /// Every item of the collection, ordered by key (ULIDs sort by creation time).
    pub fn list<T: Stored>(&self, collection: Collection) -> Result<Vec<T>, DocumentError> {
        let obj = self.collection_obj(collection)?;
        self.doc
            .map_range(&obj, ..)
            .map(|entry| {
                let value = entry.value.clone().into_value();
                self.hydrate_item(&obj, &entry.key, &value, &entry.id())
            })
            .collect()
    }

    /// Hydrates the item stored under `key` of `collection` (whose value there is `value`,
    /// with id `item`), reading each of its maps once ([`MapReads`]).
    fn hydrate_item<T: Stored>(
        &self,
        collection: &ObjId,
        key: &str,
        value: &Value<'_>,
        item: &ObjId,
    ) -> Result<T, DocumentError> {
        Ok(match value {
            Value::Object(ObjType::Map) => T::hydrate_map(&MapReads::new(&self.doc), item)?,
            // Not a map: autosurgeon says what it expected.
            _ => autosurgeon::hydrate_prop(&self.doc, collection, key)?,
        })
    }

    fn item_obj(&self, collection: Collection, key: &str) -> Result<ObjId, DocumentError> {
        let obj = self.collection_obj(collection)?;
        match self.doc.get(&obj, key)? {
            Some((Value::Object(ObjType::Map), id)) => Ok(id),
            _ => Err(DocumentError::NotFound {
                collection: collection.key(),
                id: key.to_owned(),
            }),
        }
    }

    /// The losing scalar values of every field of the item that was written concurrently,
    /// or with `within`, of the fields of that nested map (`meta`), each with the op that
    /// wrote it and the map holding it.
    fn losers(
        &self,
        collection: Collection,
        key: &str,
        within: Option<&str>,
    ) -> Result<Vec<Loser>, DocumentError> {
        let mut obj = self.item_obj(collection, key)?;
        let mut path = String::new();
        if let Some(map) = within {
            obj = self.nested_map(collection, key, &obj, map)?;
            path = format!("{map}.");
        }
        let mut out = Vec::new();
        // One pass over the map finds the fields with concurrent values; only those are
        // read again in full (a `get_all` per field of every item cost 400 ms with 5,000
        // plans, on every status after a change).
        let conflicted: Vec<String> = self
            .doc
            .map_range(&obj, ..)
            .filter(|item| item.conflict)
            .map(|item| item.key.into_owned())
            .collect();
        for field in conflicted {
            let all = self.doc.get_all(&obj, field.as_str())?;
            if all.len() < 2 {
                continue;
            }
            let winner = self.doc.get(&obj, field.as_str())?.map(|(_, id)| id);
            for (value, id) in all {
                if Some(&id) != winner.as_ref()
                    && let Value::Scalar(scalar) = value
                {
                    out.push(Loser {
                        field: format!("{path}{field}"),
                        value: scalar.into_owned(),
                        op: id,
                        map: obj.clone(),
                        key: field.clone(),
                    });
                }
            }
        }
        Ok(out)
    }

    fn nested_map(
        &self,
        collection: Collection,
        key: &str,
        item: &ObjId,
        map: &str,
    ) -> Result<ObjId, DocumentError> {
        match self.doc.get(item, map)? {
            Some((Value::Object(ObjType::Map), id)) => Ok(id),
            _ => Err(DocumentError::Malformed(format!(
                "{} {key} has no {map} map",
                collection.key()
            ))),
        }
    }

    /// Concurrent writes the item's fields lost (with `within`, the fields of that nested
    /// map: `meta`), with their authors from the activity records of the changes that
    /// made them.
    pub fn conflicts(
        &mut self,
        collection: Collection,
        key: &str,
        within: Option<&str>,
    ) -> Result<Vec<Conflict>, DocumentError> {
        let losers = self.losers(collection, key, within)?;
        if losers.is_empty() {
            return Ok(Vec::new());
        }
        let metas = self.doc.get_changes_meta(&[]);
        Ok(losers
            .into_iter()
            .map(
                |Loser {
                     field, value, op, ..
                 }| {
                    let activity = match &op {
                        ObjId::Id(counter, actor, _) => metas
                            .iter()
                            .find(|m| {
                                m.actor.as_ref() == actor
                                    && m.start_op <= *counter
                                    && *counter <= m.max_op
                            })
                            .and_then(|m| m.message.as_deref().and_then(Activity::from_message)),
                        ObjId::Root => None,
                    };
                    Conflict {
                        field,
                        value: scalar_json(&value),
                        by: activity.as_ref().map(|a| a.by.clone()),
                        at: activity.map(|a| a.at),
                        by_name: None,
                    }
                },
            )
            .collect())
    }

    /// Writes the value that lost for `field` back as the current one. Call
    /// [`Document::commit`] afterwards; `NoConflict` if the field has none.
    pub fn keep_losing_value(
        &mut self,
        collection: Collection,
        key: &str,
        field: &str,
    ) -> Result<(), DocumentError> {
        let loser = self
            .losers(collection, key, None)?
            .into_iter()
            .find(|l| l.field == field)
            .ok_or_else(|| DocumentError::NoConflict {
                field: field.to_owned(),
            })?;
        self.doc.put(&loser.map, loser.key.as_str(), loser.value)?;
        Ok(())
    }

    /// Number of items in the collection.
    pub fn count(&self, collection: Collection) -> Result<usize, DocumentError> {
        let obj = self.collection_obj(collection)?;
        Ok(self.doc.length(&obj))
    }

    /// The full key of the single item whose key starts with `prefix`.
    pub fn resolve_prefix(
        &self,
        collection: Collection,
        prefix: &str,
    ) -> Result<String, DocumentError> {
        let obj = self.collection_obj(collection)?;
        let mut matches = self.doc.keys(&obj).filter(|k| k.starts_with(prefix));
        let not_found = || DocumentError::NotFound {
            collection: collection.key(),
            id: prefix.to_owned(),
        };
        let first = matches.next().ok_or_else(not_found)?;
        if prefix.is_empty() || matches.next().is_some() {
            return Err(DocumentError::Ambiguous {
                collection: collection.key(),
                prefix: prefix.to_owned(),
            });
        }
        Ok(first)
    }

    /// Writes `item` under its key, changing only the fields that differ. Call
    /// [`Document::commit`] afterwards.
    ///
    /// A key not in the collection yet (every create) is written as one new object in a
    /// single batch ([`NewEntry`]): field by field, Automerge would seek and splice its
    /// columns once per field, which made a create about five times slower.
    pub fn put<T: Stored>(
        &mut self,
        collection: Collection,
        item: &T,
    ) -> Result<(), DocumentError> {
        let obj = self.collection_obj(collection)?;
        let key = item.storage_key();
        if self.doc.get(&obj, key)?.is_some() {
            autosurgeon::reconcile_prop(&mut self.doc, &obj, key, item)?;
        } else {
            let entry = NewEntry { key, item };
            autosurgeon::reconcile_prop(&mut self.doc, ROOT, collection.key(), entry)?;
        }
        Ok(())
    }

    /// Deletes `fields` of the map `within` of the item under `key` (those it has). Call
    /// [`Document::commit`] afterwards.
    pub fn remove_fields(
        &mut self,
        collection: Collection,
        key: &str,
        within: &str,
        fields: &[&str],
    ) -> Result<(), DocumentError> {
        let item = self.item_obj(collection, key)?;
        let obj = self.nested_map(collection, key, &item, within)?;
        for field in fields {
            if self.doc.get(&obj, *field)?.is_some() {
                self.doc.delete(&obj, *field)?;
            }
        }
        Ok(())
    }

    /// Deletes the item under `key`; `NotFound` if there is none.
    pub fn remove(&mut self, collection: Collection, key: &str) -> Result<(), DocumentError> {
        let obj = self.collection_obj(collection)?;
        if self.doc.get(&obj, key)?.is_none() {
            return Err(DocumentError::NotFound {
                collection: collection.key(),
                id: key.to_owned(),
            });
        }
        self.doc.delete(&obj, key)?;
        Ok(())
    }

    /// The couple's settings (shared document only).
    pub fn settings(&self) -> Result<Settings, DocumentError> {
        Ok(autosurgeon::hydrate_prop(&self.doc, ROOT, SETTINGS_KEY)?)
    }

    /// Replaces the settings (shared document only). Call [`Document::commit`] afterwards.
    pub fn put_settings(&mut self, settings: &Settings) -> Result<(), DocumentError> {
        autosurgeon::reconcile_prop(&mut self.doc, ROOT, SETTINGS_KEY, settings)?;
        Ok(())
    }

    /// Commits pending operations as one change whose message is the activity record, so
    /// the activity feed is the document's own history. Returns `None` if nothing changed.
    pub fn commit(&mut self, activity: &Activity) -> Option<ChangeHash> {
        if self.doc.pending_ops() == 0 {
            return None;
        }
        let options = CommitOptions::default()
            .with_message(activity.to_message())
            .with_time(activity.at.0.as_millisecond());
        self.doc.commit_with(options)
    }

    /// Drops pending operations, used when a multi-step change fails half-way.
    pub fn rollback(&mut self) {
        self.doc.rollback();
    }

    /// The most recent `limit` activity records, newest first.
    pub fn activity(&mut self, limit: usize) -> Vec<Activity> {
        let metas = self.doc.get_changes_meta(&[]);
        let mut out: Vec<Activity> = metas
            .iter()
            .filter_map(|m| m.message.as_deref().and_then(Activity::from_message))
            .collect();
        out.sort_by_key(|a| std::cmp::Reverse(a.at));
        out.truncate(limit);
        out
    }
}

/// A collection map reconciled by adding one item that is not in it yet. autosurgeon
/// writes a nested value whose key is new ([`Fresh`]) with Automerge's batch creation
/// (two column splices in all); everything else in the map is left as it is.
struct NewEntry<'a, T> {
    key: &'a str,
    item: &'a T,
}

impl<T: Reconcile> Reconcile for NewEntry<'_, T> {
    type Key<'k> = NoKey;

    fn reconcile<R: Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        reconciler.map()?.put(self.key, Fresh(self.item))
    }
}

/// A value that the map holding it does not have yet: its key is always "found" and the
/// document's always "not found", which is what tells autosurgeon to create it whole.
struct Fresh<'a, T>(&'a T);

impl<T: Reconcile> Reconcile for Fresh<'_, T> {
    type Key<'k> = ();

    fn reconcile<R: Reconciler>(&self, reconciler: R) -> Result<(), R::Error> {
        self.0.reconcile(reconciler)
    }

    fn hydrate_key<'k, D: autosurgeon::ReadDoc>(
        _doc: &D,
        _obj: &ObjId,
        _prop: autosurgeon::Prop<'_>,
    ) -> Result<LoadKey<Self::Key<'k>>, autosurgeon::ReconcileError> {
        Ok(LoadKey::KeyNotFound)
    }

    fn key(&self) -> LoadKey<Self::Key<'_>> {
        LoadKey::Found(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::Entity;
    use crate::ids::EntityId;
    use crate::model::idea::{Idea, NewIdea};
    use crate::test_support::{NEXT_SCHEMA, author};

    fn add_idea(doc: &mut Document, id: &str, title: &str, who: &str) {
        let a = author(who);
        let idea = Idea::create(
            EntityId::parse(id).unwrap(),
            NewIdea {
                title: title.into(),
                notes: None,
            },
            &a,
        )
        .unwrap();
        doc.put(Collection::Ideas, &idea).unwrap();
        doc.commit(&Activity::new(&a, "idea.add", Some(idea.id.clone()), title));
    }

    #[test]
    fn a_new_item_written_in_one_batch_reads_back_whole_and_later_puts_change_only_fields() {
        let mut doc = Document::create(DocKind::Shared, ActorId::random());
        let a = author("alex");
        let new = NewIdea {
            title: "Night swim".into(),
            notes: Some("bring towels\nand tea".into()),
        };
        let idea = Idea::create(EntityId::parse("i1").unwrap(), new, &a).unwrap();
        doc.put(Collection::Ideas, &idea).unwrap();
        doc.commit(&Activity::new(&a, "idea.add", Some(idea.id.clone()), "x"));
        assert_eq!(
            doc.get::<Idea>(Collection::Ideas, "i1").unwrap(),
            Some(idea.clone())
        );
        // The same item again is no change at all; one field changed is one op.
        doc.put(Collection::Ideas, &idea).unwrap();
        assert_eq!(doc.doc.pending_ops(), 0);
        let renamed = Idea {
            title: "Sea swim".into(),
            ..idea
        };
        doc.put(Collection::Ideas, &renamed).unwrap();
        assert_eq!(doc.doc.pending_ops(), 1);
        doc.commit(&Activity::new(
            &a,
            "idea.edit",
            Some(renamed.id.clone()),
            "x",
        ));
        let reloaded = Document::load(DocKind::Shared, &doc.save(), ActorId::random()).unwrap();
        assert_eq!(
            reloaded.get::<Idea>(Collection::Ideas, "i1").unwrap(),
            Some(renamed)
        );
    }

    #[test]
    fn genesis_is_deterministic() {
        assert_eq!(genesis(DocKind::Shared), genesis(DocKind::Shared));
        let mut a = Document::create(DocKind::Shared, ActorId::random());
        let mut b = Document::create(DocKind::Shared, ActorId::random());
        assert_eq!(a.heads(), b.heads());
    }

    #[test]
    fn genesis_is_frozen() {
        let hash = |kind| AutoCommit::load(&genesis(kind)).unwrap().get_heads()[0].to_string();
        assert_eq!(hash(DocKind::Shared), GENESIS_SHARED_HASH);
        assert_eq!(hash(DocKind::Private), GENESIS_PRIVATE_HASH);
    }

    /// The genesis hashes every home ever made shares.
    const GENESIS_SHARED_HASH: &str =
        "157fb2ea840ecae69c138aa35bb5b85908ab7d771acc40fd67ee9af1f2ee8aef";
    const GENESIS_PRIVATE_HASH: &str =
        "01342125472446509cc5cd581d992af960adee5527bc92f323c02693a2850eb8";

    #[test]
    fn every_collection_comes_from_genesis_or_one_schema_step() {
        for collection in Collection::ALL {
            let in_genesis = GENESIS_MAPS
                .iter()
                .filter(|(kind, key)| *key == collection.key() && *kind == collection.doc())
                .count();
            let in_steps = Schema::CURRENT
                .added_collections(collection.doc())
                .filter(|(_, key)| *key == collection.key())
                .count();
            assert_eq!(in_genesis + in_steps, 1, "{collection:?}");
        }
    }

    #[test]
    fn a_version_1_document_loads_and_upgrades_keeping_everything() {
        let mut old = Document::create(DocKind::Shared, ActorId::random());
        add_idea(&mut old, "i1", "Night swim", "alex");
        let mut doc = Document::load(DocKind::Shared, &old.save(), ActorId::random()).unwrap();
        assert_eq!(doc.schema_version(), 1);
        assert_eq!(doc.upgrade(&NEXT_SCHEMA).unwrap(), Some((1, 2)));
        assert_eq!(doc.schema_version(), 2);
        assert!(doc.doc.get(ROOT, "outings").unwrap().is_some());
        let ideas: Vec<Idea> = doc.list(Collection::Ideas).unwrap();
        assert_eq!(ideas[0].title, "Night swim");
        assert_eq!(doc.upgrade(&NEXT_SCHEMA).unwrap(), None, "already upgraded");
        // Saved and loaded again, the upgrade is part of the document.
        let again = Document::load(DocKind::Shared, &doc.save(), ActorId::random()).unwrap();
        assert_eq!(again.schema_version(), 2);
        // A build that knows only version 1 loads it too, and sees it is newer.
        let mut older = Document::load(DocKind::Shared, &doc.save(), ActorId::random()).unwrap();
        assert_eq!(older.upgrade(&Schema::CURRENT).unwrap(), None);
        assert_eq!(older.list::<Idea>(Collection::Ideas).unwrap().len(), 1);
    }

    #[test]
    fn devices_upgrading_separately_make_the_same_change_and_merge_to_the_same_heads() {
        let mut alex = Document::create(DocKind::Shared, ActorId::random());
        let mut sam = Document::create(DocKind::Shared, ActorId::random());
        add_idea(&mut alex, "a1", "Pottery class", "alex");
        add_idea(&mut sam, "s1", "Night swim", "sam");
        for doc in [&mut alex, &mut sam] {
            doc.upgrade(&NEXT_SCHEMA).unwrap();
            doc.mark_saved();
        }
        let upgrade_hash = |doc: &mut Document| {
            doc.doc
                .get_changes(&[])
                .iter()
                .find(|c| c.message() == Some("schema v2"))
                .map(|c| c.hash())
                .expect("the upgrade change")
        };
        assert_eq!(upgrade_hash(&mut alex), upgrade_hash(&mut sam));
        let (alex_bytes, sam_bytes) = (alex.save(), sam.save());
        alex.apply_changes(&sam_bytes).unwrap();
        sam.apply_changes(&alex_bytes).unwrap();
        assert_eq!(alex.heads(), sam.heads());
        for doc in [&alex, &sam] {
            assert_eq!(doc.doc.get_all(ROOT, "outings").unwrap().len(), 1);
            assert_eq!(doc.doc.get_all(ROOT, schema::SCHEMA_KEY).unwrap().len(), 1);
            assert_eq!(doc.list::<Idea>(Collection::Ideas).unwrap().len(), 2);
        }
    }

    /// A shared document holding a plan as a newer build wrote it: a field this build does
    /// not know (`color`), a kind and an RSVP it has no name for, and a collection it does
    /// not know. Also a second, ordinary plan.
    fn document_from_a_newer_build() -> Document {
        use crate::model::plan::Plan;
        let mut doc = Document::create(DocKind::Shared, ActorId::random());
        let a = author("sam");
        for (id, title) in [("p1", "Picnic"), ("p2", "Dinner")] {
            let new = crate::test_support::new_plan(
                "2030-01-04T19:00:00+01:00[Europe/Paris]",
                "2030-01-04T21:00:00+01:00[Europe/Paris]",
            );
            let mut plan = Plan::create(EntityId::parse(id).unwrap(), new, &a).unwrap();
            plan.title = title.into();
            doc.put(Collection::Plans, &plan).unwrap();
        }
        let plan = doc.item_obj(Collection::Plans, "p1").unwrap();
        doc.doc.put(&plan, "color", "teal").unwrap();
        doc.doc.put(&plan, "kind", "picnic").unwrap();
        let rsvps = match doc.doc.get(&plan, "rsvps").unwrap() {
            Some((Value::Object(ObjType::Map), id)) => id,
            other => panic!("rsvps is {other:?}"),
        };
        doc.doc.put(&rsvps, "alex", "tentative").unwrap();
        let outings = doc.doc.put_object(ROOT, "outings", ObjType::Map).unwrap();
        doc.doc.put(&outings, "o1", "kept").unwrap();
        doc.commit(&Activity::new(&a, "plan.add", None, "from a newer build"));
        doc
    }

    /// Listing and getting read each map once ([`MapReads`]); what they return is exactly
    /// what hydrating field by field from the document returns, for concurrent values,
    /// nested maps and values from a newer build alike.
    #[test]
    fn reading_each_map_once_hydrates_exactly_as_field_by_field() {
        use crate::model::plan::{NewPlan, Plan};
        use crate::test_support::new_plan;
        let mut alex = document_from_a_newer_build();
        let a = author("alex");
        let plan = Plan::create(
            EntityId::from_random(7),
            NewPlan {
                notes: Some("bring\nthe blanket".into()),
                ..new_plan(
                    "2026-06-01T18:00:00+02:00[Europe/Paris]",
                    "2026-06-01T20:00:00+02:00[Europe/Paris]",
                )
            },
            &a,
        )
        .unwrap();
        alex.put(Collection::Plans, &plan).unwrap();
        add_idea(&mut alex, "i1", "Night swim", "alex");
        alex.commit(&Activity::new(&a, "plan.add", None, "plan"));
        let mut sam = Document::load(DocKind::Shared, &alex.save(), ActorId::random()).unwrap();
        for (doc, title) in [(&mut alex, "at the lake"), (&mut sam, "in the sea")] {
            let mut idea: Idea = doc.get(Collection::Ideas, "i1").unwrap().unwrap();
            idea.title = title.into();
            doc.put(Collection::Ideas, &idea).unwrap();
            doc.commit(&Activity::new(&a, "idea.edit", None, title));
        }
        alex.apply_changes(&sam.save()).unwrap();
        assert_eq!(
            alex.conflicts(Collection::Ideas, "i1", None).unwrap().len(),
            1
        );

        fn field_by_field<T: Stored>(doc: &Document, collection: Collection) -> Vec<T> {
            let obj = doc.collection_obj(collection).unwrap();
            doc.doc
                .keys(&obj)
                .map(|key| autosurgeon::hydrate_prop(&doc.doc, &obj, key.as_str()).unwrap())
                .collect()
        }
        let plans: Vec<Plan> = alex.list(Collection::Plans).unwrap();
        assert_eq!(plans.len(), 3);
        assert_eq!(plans, field_by_field::<Plan>(&alex, Collection::Plans));
        let ideas: Vec<Idea> = alex.list(Collection::Ideas).unwrap();
        assert_eq!(ideas, field_by_field::<Idea>(&alex, Collection::Ideas));
        let one: Plan = alex
            .get(Collection::Plans, plan.id.as_str())
            .unwrap()
            .unwrap();
        assert_eq!(one, plan);
        assert_eq!(one.notes.as_str(), "bring\nthe blanket");
    }

    #[test]
    fn unknown_values_read_as_unknown_without_failing_the_list() {
        use crate::model::plan::{Plan, PlanKind, Rsvp};
        let doc = document_from_a_newer_build();
        let plans: Vec<Plan> = doc.list(Collection::Plans).unwrap();
        assert_eq!(plans.len(), 2);
        assert_eq!(plans[0].kind, PlanKind::Unknown);
        assert_eq!(plans[0].kind.to_string(), "unknown");
        let alex = crate::ids::PersonId::parse("alex").unwrap();
        assert_eq!(plans[0].rsvps[&alex], Rsvp::Unknown);
        assert_eq!(plans[1].kind, PlanKind::Other);
        assert!(
            "unknown".parse::<PlanKind>().is_err(),
            "never accepted as input"
        );
    }

    #[test]
    fn editing_what_this_build_knows_keeps_what_it_does_not() {
        use crate::model::plan::{Plan, Rsvp};
        let mut doc = document_from_a_newer_build();
        let mut plan: Plan = doc.get(Collection::Plans, "p1").unwrap().unwrap();
        plan.title = "Picnic by the lake".into();
        plan.rsvps
            .insert(crate::ids::PersonId::parse("sam").unwrap(), Rsvp::Maybe);
        doc.put(Collection::Plans, &plan).unwrap();
        doc.commit(&Activity::new(&author("alex"), "plan.edit", None, "title"));

        let obj = doc.item_obj(Collection::Plans, "p1").unwrap();
        let text = |obj: &ObjId, key: &str| match doc.doc.get(obj, key).unwrap() {
            Some((Value::Scalar(s), _)) => s.as_str().map(str::to_owned),
            _ => None,
        };
        assert_eq!(text(&obj, "title").as_deref(), Some("Picnic by the lake"));
        assert_eq!(text(&obj, "color").as_deref(), Some("teal"));
        assert_eq!(text(&obj, "kind").as_deref(), Some("picnic"));
        let Some((_, rsvps)) = doc.doc.get(&obj, "rsvps").unwrap() else {
            panic!("no rsvps")
        };
        assert_eq!(text(&rsvps, "alex").as_deref(), Some("tentative"));
        assert_eq!(text(&rsvps, "sam").as_deref(), Some("maybe"));
        let Some((_, outings)) = doc.doc.get(ROOT, "outings").unwrap() else {
            panic!("the unknown collection is gone")
        };
        assert_eq!(text(&outings, "o1").as_deref(), Some("kept"));
    }

    #[test]
    fn independently_created_documents_merge_without_loss() {
        let mut alex = Document::create(DocKind::Shared, ActorId::random());
        let mut sam = Document::create(DocKind::Shared, ActorId::random());
        add_idea(&mut alex, "a1", "Pottery class", "alex");
        add_idea(&mut sam, "s1", "Night swim", "sam");
        add_idea(&mut sam, "s2", "Cook ramen", "sam");

        let alex_bytes = alex.save();
        let sam_bytes = sam.save();
        alex.apply_changes(&sam_bytes).unwrap();
        sam.apply_changes(&alex_bytes).unwrap();

        for doc in [&mut alex, &mut sam] {
            let ideas: Vec<Idea> = doc.list(Collection::Ideas).unwrap();
            let titles: Vec<_> = ideas.iter().map(|i| i.title.as_str()).collect();
            assert_eq!(titles, ["Pottery class", "Night swim", "Cook ramen"]);
            assert_eq!(doc.activity(10).len(), 3);
        }
        assert_eq!(alex.heads(), sam.heads());
        // No root key was written concurrently, so nothing is hidden in a conflict.
        for key in ["ideas", "plans", "people"] {
            assert_eq!(
                alex.doc.get_all(ROOT, key).unwrap().len(),
                1,
                "{key} conflicted"
            );
        }
    }

    #[test]
    fn foreign_documents_are_refused() {
        let mut other = AutoCommit::new();
        other.put(ROOT, "hello", "world").unwrap();
        let err = Document::load(DocKind::Shared, &other.save(), ActorId::random()).unwrap_err();
        assert!(err.to_string().contains("no people map"), "{err}");
        let mut half = AutoCommit::load(&genesis(DocKind::Shared)).unwrap();
        half.delete(ROOT, "plans").unwrap();
        let err = Document::load(DocKind::Shared, &half.save(), ActorId::random()).unwrap_err();
        assert!(err.to_string().contains("no plans map"), "{err}");
        let private = genesis(DocKind::Private);
        assert!(Document::load(DocKind::Shared, &private, ActorId::random()).is_err());
    }

    #[test]
    fn concurrent_field_writes_are_shown_and_can_be_kept() {
        let mut alex = Document::create(DocKind::Shared, ActorId::random());
        add_idea(&mut alex, "i1", "Night swim", "alex");
        let mut sam = Document::load(DocKind::Shared, &alex.save(), ActorId::random()).unwrap();
        for (doc, who, title) in [
            (&mut alex, "alex", "Night swim at the lake"),
            (&mut sam, "sam", "Night swim in the sea"),
        ] {
            let a = author(who);
            let mut idea: Idea = doc.get(Collection::Ideas, "i1").unwrap().unwrap();
            idea.title = title.into();
            doc.put(Collection::Ideas, &idea).unwrap();
            doc.commit(&Activity::new(&a, "idea.edit", None, title));
        }
        let sam_bytes = sam.save();
        alex.apply_changes(&sam_bytes).unwrap();
        let winner: Idea = alex.get(Collection::Ideas, "i1").unwrap().unwrap();
        let conflicts = alex.conflicts(Collection::Ideas, "i1", None).unwrap();
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        let lost = &conflicts[0];
        assert_eq!(lost.field, "title");
        assert_ne!(lost.value, serde_json::Value::from(winner.title.as_str()));
        let loser_author = if lost.value == "Night swim in the sea" {
            "sam"
        } else {
            "alex"
        };
        assert_eq!(lost.by.as_ref().unwrap().as_str(), loser_author);

        alex.keep_losing_value(Collection::Ideas, "i1", "title")
            .unwrap();
        alex.commit(&Activity::new(&author("alex"), "idea.keep", None, "title"));
        let kept: Idea = alex.get(Collection::Ideas, "i1").unwrap().unwrap();
        assert_eq!(serde_json::Value::from(kept.title.as_str()), lost.value);
        assert!(
            alex.conflicts(Collection::Ideas, "i1", None)
                .unwrap()
                .is_empty(),
            "keeping resolves the conflict"
        );
        assert!(
            alex.keep_losing_value(Collection::Ideas, "i1", "title")
                .is_err()
        );
    }

    #[test]
    fn prefixes_resolve_uniquely() {
        let mut doc = Document::create(DocKind::Shared, ActorId::random());
        add_idea(&mut doc, "abc1", "One", "alex");
        add_idea(&mut doc, "abd2", "Two", "alex");
        assert_eq!(
            doc.resolve_prefix(Collection::Ideas, "abc").unwrap(),
            "abc1"
        );
        assert!(matches!(
            doc.resolve_prefix(Collection::Ideas, "ab"),
            Err(DocumentError::Ambiguous { .. })
        ));
        assert!(matches!(
            doc.resolve_prefix(Collection::Ideas, "zz"),
            Err(DocumentError::NotFound { .. })
        ));
    }
}
