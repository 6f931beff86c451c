//! The mailbox task: syncing with paired devices through folders synced by other means.
//!
//! Two folders at most: the **shared** one (`mailbox_dir`, the shared document, every
//! paired device) and the **own** one (`mailbox_own_dir`, the private document, one's own
//! devices only: the partner never has it, so not even the timing of a journal entry
//! leaks). The format and every decision are in `tandem_protocol::mailbox`; this task does
//! the I/O in three phases per folder and pass:
//!
//! 1. **Read** (a blocking thread): list each keyed device's directory, open the files not
//!    seen before (refusals are logged and shown in the status, never applied), and, the
//!    first time, find this device's own bundles.
//! 2. **Decide** (the writer): apply bundles through [`Repo::mailbox_receive`], the same
//!    path as peer sync, so events, the check-in reveal and conflicts behave identically;
//!    then plan each reader's bundle, pruning and acknowledgement.
//! 3. **Write** (a blocking thread): each file sealed and written atomically (temp name,
//!    fsync, rename), only in this device's own directory; pruned bundles deleted.
//!
//! A pass runs when the folder changes (notify), when a document changes, and every
//! [`RESCAN`] (cloud clients do not always make file events). A missing folder (an
//! unmounted drive), a full disk or a refused file ends in a status line and a retry;
//! nothing already applied or written is lost.
//!
//! [`Repo::mailbox_receive`]: crate::repo::Repo::mailbox_receive

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use automerge::ChangeHash;
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use parking_lot::Mutex;
use tandem_protocol::device::DeviceId;
use tandem_protocol::document::DocKind;
use tandem_protocol::mailbox::PairKey;
use tandem_protocol::mailbox::name::{self, FileName};
use tandem_protocol::mailbox::plan::{Coverage, Inbox, Outbox, Written};
use tandem_protocol::mailbox::seal::{self, Envelope, OpenError, Payload};
use tandem_protocol::mailbox::status::{FolderStatus, MailboxDevice, MailboxStatus, NO_KEY_YET};
use tandem_protocol::pairing::Relation;
use tandem_protocol::time::Stamp;
use thiserror::Error;
use tokio::sync::{mpsc, watch};

use crate::home::{Home, HomeError, create_private_dir, io_at, write_file_atomic};
use crate::peer::PeerHub;
use crate::peers::PeerEntry;
use crate::repo::RepoError;
use crate::writer::Writer;

/// How often every folder is listed again, events or not.
const RESCAN: Duration = Duration::from_secs(3);

/// Why a mailbox could not be set.
#[derive(Debug, Error)]
pub enum MailboxError {
    /// The folder given is not usable.
    #[error("{0}")]
    BadFolder(String),
    /// The config could not be saved.
    #[error(transparent)]
    Home(#[from] HomeError),
}

/// Which of the two folders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// Shared with the partner: the shared document.
    Shared,
    /// One's own devices only: the private document.
    Own,
}

impl Which {
    /// The document the folder carries.
    fn doc(self) -> DocKind {
        match self {
            Which::Shared => DocKind::Shared,
            Which::Own => DocKind::Private,
        }
    }

    /// Whether a device of `relation` reads and writes this folder.
    fn carries(self, relation: Relation) -> bool {
        self == Which::Shared || relation == Relation::Own
    }
}

/// The folders as set: `[shared, own]`.
type Settings = [Option<PathBuf>; 2];

/// The mailbox folders, the task using them and what it last saw.
pub struct Mailboxes {
    home: Home,
    writer: Writer,
    hub: Arc<PeerHub>,
    settings: watch::Sender<Settings>,
    /// Each folder's status as of the task's last pass.
    status: Mutex<[Option<FolderStatus>; 2]>,
}

impl Mailboxes {
    /// The mailboxes `config.toml` sets (none until `tandem mailbox set`).
    pub fn new(
        home: Home,
        writer: Writer,
        hub: Arc<PeerHub>,
        config: &tandem_protocol::config::Config,
    ) -> Self {
        Self {
            home,
            writer,
            hub,
            settings: watch::Sender::new([
                config.mailbox_dir.clone(),
                config.mailbox_own_dir.clone(),
            ]),
            status: Mutex::new([None, None]),
        }
    }

    /// Uses `dir` (absolute, existing, writable) as the `which` folder, or stops using it
    /// (`None`), and saves the choice in `config.toml`. Blocking (it writes files).
    pub fn set(&self, which: Which, dir: Option<&Path>) -> Result<(), MailboxError> {
        if let Some(dir) = dir {
            check_folder(dir, self.hub.identity.device_id)?;
        }
        let mut config = crate::config::load(&self.home)?;
        let dir = dir.map(Path::to_owned);
        match which {
            Which::Shared => config.mailbox_dir = dir.clone(),
            Which::Own => config.mailbox_own_dir = dir.clone(),
        }
        crate::config::save(&self.home, &config)?;
        self.settings.send_modify(|s| s[which as usize] = dir);
        Ok(())
    }

    /// Both folders as the last pass saw them, with each paired device's key fresh.
    pub fn status(&self) -> MailboxStatus {
        let keys = self.hub.mailbox_keys();
        let settings = self.settings.borrow().clone();
        let seen = self.status.lock().clone();
        let folder = |which: Which| {
            let dir = settings[which as usize].as_ref()?;
            let mut status = seen[which as usize].clone().unwrap_or_default();
            status.dir = dir.display().to_string();
            let last_read: HashMap<String, Option<Stamp>> = status
                .devices
                .iter()
                .map(|d| (d.device_id.clone(), d.last_read))
                .collect();
            status.devices = keys
                .iter()
                .filter(|(entry, _)| which.carries(entry.relation))
                .map(|(entry, key)| {
                    let device_id = entry.device_id.to_string();
                    MailboxDevice {
                        last_read: last_read.get(&device_id).copied().flatten(),
                        device_id,
                        name: entry.name.clone(),
                        keyed: key.is_some(),
                        note: key.is_none().then(|| NO_KEY_YET.to_owned()),
                    }
                })
                .collect();
            Some(status)
        };
        MailboxStatus {
            shared: folder(Which::Shared),
            own: folder(Which::Own),
        }
    }

    /// Syncs through the folders until `stopping`; settings changed by [`Self::set`] take
    /// effect at once.
    pub async fn run(self: Arc<Self>, mut stopping: watch::Receiver<bool>) {
        let mut settings = self.settings.subscribe();
        let mut events = self.writer.subscribe();
        let (poke, mut poked) = mpsc::channel::<()>(1);
        let mut folders = self.folders(&settings.borrow_and_update(), &poke);
        let mut rescan = tokio::time::interval(RESCAN);
        let mut changed = true;
        loop {
            while poked.try_recv().is_ok() {}
            for folder in &mut folders {
                folder.pass(&self, changed).await;
            }
            *self.status.lock() = [Which::Shared, Which::Own].map(|which| {
                folders
                    .iter()
                    .find(|f| f.which == which)
                    .map(|f| f.status.clone())
            });
            changed = false;
            tokio::select! {
                _ = stopping.wait_for(|s| *s) => return,
                moved = settings.changed() => {
                    if moved.is_err() {
                        return;
                    }
                    folders = self.folders(&settings.borrow_and_update(), &poke);
                    changed = true;
                }
                event = events.recv() => {
                    if matches!(event, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                        return;
                    }
                    while events.try_recv().is_ok() {}
                    changed = true;
                }
                _ = poked.recv() => {}
                _ = rescan.tick() => {}
            }
        }
    }

    fn folders(&self, settings: &Settings, poke: &mpsc::Sender<()>) -> Vec<Folder> {
        let me = self.hub.identity.device_id;
        [Which::Shared, Which::Own]
            .into_iter()
            .filter_map(|which| {
                let dir = settings[which as usize].clone()?;
                Some(Folder::new(which, dir, me, poke.clone()))
            })
            .collect()
    }
}

/// Refuses a folder that is relative, missing or not writable, in words a person can act
/// on; creates this device's directory in it.
fn check_folder(dir: &Path, me: DeviceId) -> Result<(), MailboxError> {
    let shown = dir.display();
    if !dir.is_absolute() {
        return Err(MailboxError::BadFolder(format!(
            "{shown} is not an absolute path: give the full path of the shared folder"
        )));
    }
    if !dir.is_dir() {
        return Err(MailboxError::BadFolder(format!(
            "{shown} is not a folder: create it (or mount the drive) and try again"
        )));
    }
    create_private_dir(&dir.join(me.to_string()))
        .map_err(|e| MailboxError::BadFolder(format!("cannot write in {shown}: {e}")))
}

/// A file read from the folder and verified.
struct Opened {
    from: DeviceId,
    envelope: Envelope,
    payload: Payload,
}

/// What one read phase found.
#[derive(Default)]
struct Found {
    opened: Vec<Opened>,
    /// This device's files in its directory, the first time only.
    own: Option<OwnFiles>,
    /// The names in this device's directory now: what a sync client or a person deleted
    /// is written again.
    own_names: Vec<FileName>,
    /// Refused files, with why.
    refused: Vec<(PathBuf, String)>,
    /// Files opened (one refused before may have been still arriving then).
    accepted: Vec<PathBuf>,
}

/// What the decide phase asks the write phase to do for one reader.
struct ForReader {
    reader: DeviceId,
    key: PairKey,
    bundle: Option<(Vec<ChangeHash>, Vec<u8>, Vec<u64>)>,
    prune: Vec<u64>,
    ack: Option<(Vec<ChangeHash>, Vec<ChangeHash>)>,
}

/// What the task knows of one folder.
struct Folder {
    which: Which,
    dir: PathBuf,
    me: DeviceId,
    poke: mpsc::Sender<()>,
    /// Watches the folder; `None` until it exists.
    watcher: Option<RecommendedWatcher>,
    /// Files already read and unchanged since (size, modification time).
    seen: HashMap<PathBuf, (u64, SystemTime)>,
    /// What was applied from each writer.
    inboxes: HashMap<DeviceId, Inbox>,
    /// This device's bundles for each reader; `None` until listed.
    outboxes: Option<HashMap<DeviceId, Outbox>>,
    /// Each reader's newest acknowledgement: its seq, heads and "yours".
    acks: HashMap<DeviceId, (u64, Vec<ChangeHash>, Vec<ChangeHash>)>,
    /// The acknowledgement last written for each writer.
    acked: HashMap<DeviceId, (Vec<ChangeHash>, Vec<ChangeHash>)>,
    /// The highest sequence number this device has given a file of its own here (a
    /// bundle or an acknowledgement), found in its directory at the first pass: each new
    /// one is above it, so a clock set back (corrected after running hours ahead, or a
    /// laptop booted into another system's idea of the time) never makes a reader take a
    /// new file for an old one.
    last_seq: u64,
    /// Files refused (altered, foreign...) and still in the folder, with why.
    refused: HashMap<PathBuf, String>,
    /// The devices keyed at the last decision: one keyed since gets its first bundle.
    keyed: Vec<DeviceId>,
    /// Whether a pass has decided since the folder was set (the first always does).
    primed: bool,
    /// What `mailbox status` shows of it.
    status: FolderStatus,
}

impl Folder {
    fn new(which: Which, dir: PathBuf, me: DeviceId, poke: mpsc::Sender<()>) -> Self {
        let status = FolderStatus {
            dir: dir.display().to_string(),
            ..FolderStatus::default()
        };
        Self {
            which,
            dir,
            me,
            poke,
            watcher: None,
            seen: HashMap::new(),
            inboxes: HashMap::new(),
            outboxes: None,
            acks: HashMap::new(),
            acked: HashMap::new(),
            last_seq: 0,
            refused: HashMap::new(),
            keyed: Vec::new(),
            primed: false,
            status,
        }
    }

    /// One pass: read, decide, write. `changed`: a document changed since the last pass.
    async fn pass(&mut self, mailboxes: &Mailboxes, changed: bool) {
        if !self.dir.is_dir() {
            self.watcher = None;
            self.seen.clear();
            self.status.error = Some(format!(
                "the mailbox folder {} is missing (a drive not mounted?): tandem waits for it, nothing is lost",
                self.dir.display()
            ));
            return;
        }
        if self.watcher.is_none() {
            self.watcher = self.watch();
        }
        let readers: Vec<(DeviceId, PairKey)> = mailboxes
            .hub
            .mailbox_keys()
            .into_iter()
            .filter(|(entry, _)| self.which.carries(entry.relation))
            .filter_map(|(entry, key): (PeerEntry, _)| Some((entry.device_id, key?)))
            .collect();
        let found = match self.read(&readers).await {
            Ok(found) => found,
            Err(e) => {
                self.status.error = Some(e);
                return;
            }
        };
        for path in &found.accepted {
            self.refused.remove(path);
        }
        for (path, why) in found.refused {
            tracing::warn!(file = %path.display(), "mailbox file refused: {why}");
            self.refused.insert(path, why);
        }
        // A refused file is shown for as long as it is there.
        self.refused.retain(|path, _| path.exists());
        let mut errors: Vec<String> = self
            .refused
            .iter()
            .map(|(path, why)| format!("{}: {why}", path.display()))
            .collect();
        if let Some(own) = found.own {
            self.last_seq = self.last_seq.max(own.last_seq);
            self.outboxes = Some(
                own.bundles
                    .into_iter()
                    .map(|(r, w)| (r, Outbox::found(w)))
                    .collect(),
            );
        }
        let gone = self.forget_missing(&found.own_names);
        self.forget_reappeared(&found.own_names);
        // Nothing new in the folder or the documents since a pass that decided: the
        // writer is not woken (deciding reads the whole history when nothing is acked).
        let keyed: Vec<DeviceId> = readers.iter().map(|(d, _)| *d).collect();
        let rekeyed = keyed != self.keyed;
        if changed || gone || rekeyed || !found.opened.is_empty() || !self.primed {
            self.keyed = keyed;
            match self.decide(mailboxes, found.opened, &readers).await {
                Ok(work) => {
                    self.primed = true;
                    if let Err(e) = self.write(work).await {
                        // Decide again next pass, whatever else happens.
                        self.primed = false;
                        errors.push(e);
                    }
                }
                Err(e) => {
                    // What was read may not be durable: read it all again next time.
                    self.seen.clear();
                    errors.push(format!("cannot apply the mailbox: {e}"));
                }
            }
        }
        let outboxes = self.outboxes.iter().flat_map(|o| o.values());
        let (bundles, bytes) =
            outboxes.fold((0, 0), |(n, b), o| (n + o.written().len(), b + o.bytes()));
        self.status.bundles = bundles;
        self.status.bytes_used = bytes;
        if errors.is_empty() {
            self.status.error = None;
        } else {
            self.status.error = Some(errors.join("; "));
        }
    }

    /// Forgets this device's files that are no longer in its directory (deleted by a
    /// person or a sync client, or the whole folder set again), so they are written again.
    /// Returns whether any was.
    fn forget_missing(&mut self, present: &[FileName]) -> bool {
        let mut gone = false;
        for outbox in self.outboxes.iter_mut().flat_map(|o| o.values_mut()) {
            let missing: Vec<u64> = outbox
                .written()
                .iter()
                .map(|w| w.seq)
                .filter(|seq| !present.contains(&FileName::Bundle(*seq)))
                .collect();
            gone |= !missing.is_empty();
            outbox.pruned(&missing);
        }
        let before = self.acked.len();
        self.acked
            .retain(|reader, _| present.contains(&FileName::Ack(*reader)));
        gone || self.acked.len() != before
    }

    /// Deletes bundles of this device's that came back after it pruned them (a sync
    /// client restoring what it saw deleted): numbered before, and in no outbox now.
    fn forget_reappeared(&self, present: &[FileName]) {
        let Some(outboxes) = &self.outboxes else {
            return;
        };
        let own_dir = self.dir.join(self.me.to_string());
        for name in present {
            let FileName::Bundle(seq) = *name else {
                continue;
            };
            let current = outboxes
                .values()
                .any(|outbox| outbox.written().iter().any(|w| w.seq == seq));
            if seq <= self.last_seq && !current {
                forget_file(&own_dir.join(name::bundle(seq)));
            }
        }
    }

    /// A watcher poking the task whenever something in the folder changes outside this
    /// device's own directory.
    fn watch(&self) -> Option<RecommendedWatcher> {
        let poke = self.poke.clone();
        let own = self.dir.join(self.me.to_string());
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let ours = event.as_ref().is_ok_and(|e| {
                    !e.paths.is_empty() && e.paths.iter().all(|p| p.starts_with(&own))
                });
                if !ours {
                    let _ = poke.try_send(());
                }
            })
            .inspect_err(|e| {
                tracing::warn!("cannot watch the mailbox folder (rescanning every {RESCAN:?}): {e}")
            })
            .ok()?;
        watcher
            .watch(&self.dir, RecursiveMode::Recursive)
            .inspect_err(|e| {
                tracing::warn!("cannot watch the mailbox folder (rescanning every {RESCAN:?}): {e}")
            })
            .ok()?;
        Some(watcher)
    }

    /// Phase 1, on a blocking thread: the new files of every keyed device, verified.
    async fn read(&mut self, readers: &[(DeviceId, PairKey)]) -> Result<Found, String> {
        let (dir, me, doc) = (self.dir.clone(), self.me, self.which.doc());
        let readers = readers.to_vec();
        let mut seen = std::mem::take(&mut self.seen);
        let list_own = self.outboxes.is_none();
        let (found, seen) = tokio::task::spawn_blocking(move || {
            let found = read_folder(&dir, me, doc, &readers, &mut seen, list_own);
            (found, seen)
        })
        .await
        .map_err(|e| format!("the mailbox reader failed: {e}"))?;
        self.seen = seen;
        Ok(found)
    }

    /// Phase 2, on the writer: applies what was opened and plans each reader's files.
    async fn decide(
        &mut self,
        mailboxes: &Mailboxes,
        opened: Vec<Opened>,
        readers: &[(DeviceId, PairKey)],
    ) -> Result<Vec<ForReader>, RepoError> {
        let doc = self.which.doc();
        let now = Stamp(jiff::Timestamp::now());
        for o in &opened {
            if let Payload::Ack { heads, yours } = &o.payload {
                let newer = self
                    .acks
                    .get(&o.from)
                    .is_none_or(|(seq, ..)| o.envelope.seq > *seq);
                if newer {
                    self.acks
                        .insert(o.from, (o.envelope.seq, hashes(heads), hashes(yours)));
                }
            }
        }
        let mut inboxes = std::mem::take(&mut self.inboxes);
        let outboxes = self.outboxes.clone().unwrap_or_default();
        let acks = self.acks.clone();
        let acked = self.acked.clone();
        let readers = readers.to_vec();
        let (inboxes, result) = mailboxes
            .writer
            .run(move |repo| {
                let result = (|| {
                    let mut read_from = Vec::new();
                    for o in opened {
                        let Payload::Bundle { heads, changes } = o.payload else {
                            continue;
                        };
                        let heads = hashes(&heads);
                        let inbox = inboxes.entry(o.from).or_default();
                        if let Err(replayed) = inbox.admit(o.envelope.seq, &heads) {
                            tracing::debug!(from = %o.from, "mailbox file skipped: {replayed}");
                            continue;
                        }
                        repo.mailbox_receive(o.from, doc, &changes)?;
                        inbox.applied(o.envelope.seq, heads);
                        read_from.push(o.from);
                    }
                    let document = repo.mailbox_doc(doc);
                    let heads = document.heads();
                    let mut work = Vec::new();
                    for (reader, key) in readers {
                        let inbox = inboxes.entry(reader).or_default();
                        let held = inbox.held(document);
                        let (their_heads, yours) = acks
                            .get(&reader)
                            .map(|(_, h, y)| (h.clone(), y.clone()))
                            .unwrap_or_default();
                        let mut covered = their_heads;
                        covered.extend(held.iter().copied());
                        let coverage = Coverage::of(document, &covered, &yours);
                        let plan = outboxes
                            .get(&reader)
                            .cloned()
                            .unwrap_or_default()
                            .plan(&heads, &coverage);
                        let bundle = plan
                            .write
                            .map(|w| (heads.clone(), document.changes_after(&w.base), w.replaces));
                        let ack = (heads.clone(), held);
                        let ack = (acked.get(&reader) != Some(&ack)).then_some(ack);
                        work.push(ForReader {
                            reader,
                            key,
                            bundle,
                            prune: plan.prune,
                            ack,
                        });
                    }
                    Ok::<_, RepoError>((work, read_from))
                })();
                Ok((inboxes, result))
            })
            .await?;
        self.inboxes = inboxes;
        let (work, read_from) = result?;
        for device in read_from {
            if let Some(d) = self
                .status
                .devices
                .iter_mut()
                .find(|d| d.device_id == device.to_string())
            {
                d.last_read = Some(now);
            } else {
                self.status.devices.push(MailboxDevice {
                    device_id: device.to_string(),
                    last_read: Some(now),
                    ..MailboxDevice::default()
                });
            }
        }
        Ok(work)
    }

    /// Phase 3, on a blocking thread: seals and writes each reader's files, prunes, and
    /// forgets the files of devices no longer keyed.
    async fn write(&mut self, work: Vec<ForReader>) -> Result<(), String> {
        let (dir, me, doc) = (
            self.dir.join(self.me.to_string()),
            self.me,
            self.which.doc(),
        );
        let mut outboxes = self.outboxes.take().unwrap_or_default();
        let mut acked = std::mem::take(&mut self.acked);
        let mut last_seq = self.last_seq;
        let (outboxes, acked, last_seq, wrote, result) = tokio::task::spawn_blocking(move || {
            let mut wrote = false;
            let result = (|| {
                own_dir(&dir)?;
                let keyed: Vec<DeviceId> = work.iter().map(|w| w.reader).collect();
                forget_unkeyed(&dir, &keyed, &mut outboxes);
                for job in work {
                    let outbox = outboxes.entry(job.reader).or_default();
                    let envelope = |seq| Envelope {
                        from: me,
                        to: job.reader,
                        doc,
                        seq,
                    };
                    for seq in &job.prune {
                        remove(&dir.join(name::bundle(*seq)))?;
                    }
                    outbox.pruned(&job.prune);
                    if let Some((heads, changes, replaces)) = job.bundle {
                        let seq = outbox.next_seq(next_seq(&mut last_seq));
                        last_seq = seq;
                        let payload = Payload::Bundle {
                            heads: raw(&heads),
                            changes,
                        };
                        let file = seal::seal(&job.key, &envelope(seq), &payload, rand::random());
                        write_file_atomic(&dir.join(name::bundle(seq)), &file, 0o600)?;
                        for old in &replaces {
                            remove(&dir.join(name::bundle(*old)))?;
                        }
                        outbox.wrote(
                            Written {
                                seq,
                                heads,
                                bytes: file.len() as u64,
                            },
                            &replaces,
                        );
                        wrote = true;
                    }
                    if let Some((heads, yours)) = job.ack {
                        let seq = next_seq(&mut last_seq);
                        let payload = Payload::Ack {
                            heads: raw(&heads),
                            yours: raw(&yours),
                        };
                        let file = seal::seal(&job.key, &envelope(seq), &payload, rand::random());
                        write_file_atomic(&dir.join(name::ack(job.reader)), &file, 0o600)?;
                        acked.insert(job.reader, (heads, yours));
                    }
                }
                Ok::<_, HomeError>(())
            })();
            (outboxes, acked, last_seq, wrote, result)
        })
        .await
        .map_err(|e| format!("the mailbox writer failed: {e}"))?;
        self.outboxes = Some(outboxes);
        self.acked = acked;
        self.last_seq = last_seq;
        if wrote {
            self.status.last_written = Some(Stamp(jiff::Timestamp::now()));
        }
        result.map_err(|e| write_failed(&e))
    }
}

/// Reads every keyed device's directory in `dir`: the files addressed to `me` not in
/// `seen`, verified; and this device's own bundles if `list_own`.
fn read_folder(
    dir: &Path,
    me: DeviceId,
    doc: DocKind,
    readers: &[(DeviceId, PairKey)],
    seen: &mut HashMap<PathBuf, (u64, SystemTime)>,
    list_own: bool,
) -> Found {
    let mut found = Found::default();
    for (from, key) in readers {
        for (path, file_name) in listing(&dir.join(from.to_string())) {
            match file_name {
                FileName::Bundle(_) | FileName::Conflicted => {}
                FileName::Ack(reader) if reader == me => {}
                _ => continue,
            }
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            let stamp = (
                meta.len(),
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            );
            if seen.get(&path) == Some(&stamp) {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            // The writer's bundles for its other devices: not ours to open (a forged
            // reader only makes a file skipped).
            if seal::peek(&bytes).is_ok_and(|e| e.to != me) {
                seen.insert(path, stamp);
                continue;
            }
            let opened = seal::open(key, &bytes).and_then(|(envelope, payload)| {
                envelope.check(*from, me, &[doc])?;
                match (file_name, &payload) {
                    (FileName::Bundle(seq), Payload::Bundle { .. }) if seq != envelope.seq => {
                        Err(OpenError::Foreign {
                            why: "a bundle under another bundle's name",
                        })
                    }
                    (FileName::Ack(_), Payload::Bundle { .. })
                    | (FileName::Bundle(_), Payload::Ack { .. }) => Err(OpenError::Foreign {
                        why: "a file under the wrong kind of name",
                    }),
                    _ => Ok((envelope, payload)),
                }
            });
            match opened {
                Ok((envelope, payload)) => {
                    found.accepted.push(path.clone());
                    found.opened.push(Opened {
                        from: *from,
                        envelope,
                        payload,
                    });
                }
                // Still arriving: read it again when it has grown.
                Err(OpenError::Truncated { .. }) => continue,
                Err(e) => found.refused.push((path.clone(), e.to_string())),
            }
            seen.insert(path, stamp);
        }
    }
    let own_dir = dir.join(me.to_string());
    if list_own {
        found.own = Some(own_files(&own_dir, me, readers));
    }
    found.own_names = listing(&own_dir).into_iter().map(|(_, n)| n).collect();
    found
}

/// What this device finds of its own in its directory of a folder.
struct OwnFiles {
    /// Its bundles, per reader (their headers say which).
    bundles: HashMap<DeviceId, Vec<Written>>,
    /// The highest sequence number among its bundles and acknowledgements.
    last_seq: u64,
}

/// This device's files in its own directory. Bundles no keyed reader can open (sealed
/// before a key rotation) and temp files a crash left are deleted: they are this
/// device's own files, and nobody can read them any more.
fn own_files(dir: &Path, me: DeviceId, readers: &[(DeviceId, PairKey)]) -> OwnFiles {
    let mut own = OwnFiles {
        bundles: HashMap::new(),
        last_seq: 0,
    };
    for (path, file_name) in listing(dir) {
        let seq = match file_name {
            FileName::Bundle(seq) => seq,
            FileName::Ack(reader) => {
                // Only its number counts; one that does not open is written again.
                let key = readers.iter().find(|(r, _)| *r == reader);
                let opened = std::fs::read(&path)
                    .ok()
                    .and_then(|bytes| seal::open(&key?.1, &bytes).ok());
                if let Some((envelope, _)) = opened.filter(|(e, _)| e.from == me) {
                    own.last_seq = own.last_seq.max(envelope.seq);
                }
                continue;
            }
            FileName::Temp => {
                // Nothing is being written yet: the first pass reads before it writes.
                forget_file(&path);
                continue;
            }
            _ => continue,
        };
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let opened = seal::peek(&bytes).ok().and_then(|envelope| {
            let (_, key) = readers.iter().find(|(r, _)| *r == envelope.to)?;
            let (envelope, payload) = seal::open(key, &bytes).ok()?;
            let Payload::Bundle { heads, .. } = payload else {
                return None;
            };
            (envelope.from == me && envelope.seq == seq).then(|| (envelope.to, hashes(&heads)))
        });
        match opened {
            Some((reader, heads)) => {
                own.last_seq = own.last_seq.max(seq);
                own.bundles.entry(reader).or_default().push(Written {
                    seq,
                    heads,
                    bytes: bytes.len() as u64,
                });
            }
            None => forget_file(&path),
        }
    }
    own
}

/// Deletes one of this device's files nobody can use, saying so in the log if it cannot.
fn forget_file(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        tracing::warn!(
            "cannot delete the stale mailbox file {}: {e}",
            path.display()
        );
    }
}

/// Deletes this device's files for readers that are no longer keyed (removed, or paired
/// again): they could not open them any more.
fn forget_unkeyed(dir: &Path, keyed: &[DeviceId], outboxes: &mut HashMap<DeviceId, Outbox>) {
    outboxes.retain(|reader, outbox| {
        if keyed.contains(reader) {
            return true;
        }
        for w in outbox.written() {
            let _ = std::fs::remove_file(dir.join(name::bundle(w.seq)));
        }
        let _ = std::fs::remove_file(dir.join(name::ack(*reader)));
        false
    });
}

/// The entries of `dir` with what their names are; nothing if it does not exist.
fn listing(dir: &Path) -> Vec<(PathBuf, FileName)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let parsed = name::parse(e.file_name().to_str()?);
            Some((e.path(), parsed))
        })
        .collect()
}

/// Makes this device's directory `dir` (0700) in a folder that exists: never the folder
/// itself, which missing means a drive not mounted (or a folder deleted on purpose).
fn own_dir(dir: &Path) -> Result<(), HomeError> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(io_at(dir)(e)),
        _ => Ok(()),
    }
}

/// Deletes a file; one already gone is fine (a sync client may have beaten us to it).
fn remove(path: &Path) -> Result<(), HomeError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_at(path)(e)),
        _ => Ok(()),
    }
}

/// What `mailbox status` says when the write phase failed: a full disk (or quota) in
/// words that say what to do, anything else with the file and the system's words. The
/// changes stay in the documents and the next pass writes them.
fn write_failed(e: &HomeError) -> String {
    use std::io::ErrorKind::{QuotaExceeded, StorageFull};
    match e {
        HomeError::Io { source, .. } if matches!(source.kind(), StorageFull | QuotaExceeded) => {
            "the mailbox folder's disk is full: free some space on it; tandem keeps every \
             change and writes it there as soon as it can"
                .to_owned()
        }
        _ => format!("cannot write to the mailbox folder: {e}"),
    }
}

fn hashes(raw: &[[u8; 32]]) -> Vec<ChangeHash> {
    raw.iter().map(|h| ChangeHash(*h)).collect()
}

fn raw(hashes: &[ChangeHash]) -> Vec<[u8; 32]> {
    hashes.iter().map(|h| h.0).collect()
}

/// The number for a new file of this device: the daemon's clock in milliseconds (so a
/// device that lost track of its files starts above what it used before), but always
/// above `last`, which it becomes.
fn next_seq(last: &mut u64) -> u64 {
    let now = u64::try_from(crate::clock::now().as_millisecond()).unwrap_or(0);
    *last = last.saturating_add(1).max(now);
    *last
}
