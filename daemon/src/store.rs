//! Crash-safe persistence of one document: a snapshot plus an append-only change log.
//!
//! Layout of `docs/<name>/`:
//! - `doc.automerge`: the compacted document, replaced atomically (temp file, fsync,
//!   rename, fsync of the directory).
//! - `changes.log`: a file header, then one record of Automerge changes per write, each
//!   fsync'd before the write is acknowledged (format: `tandem_protocol::changelog`). The
//!   writer stages records ([`DocStore::stage`]) and one fsync of the log ([`LogSync`])
//!   makes a whole batch durable: group commit.
//! - `changes.log.torn-<UTC time>`: a record cut short by a crash, set aside (mode 0600).
//!
//! Opening replays the log over the snapshot. A record cut short by a crash at the very end
//! (the torn tail) was never acknowledged: it is moved to a side file, never discarded, so
//! the log and its side files always hold every byte that was written. Any other damage is
//! an error naming the file and the byte, and the file is left exactly as found: the store
//! never resets or trims silently. A log in the legacy format (earlier builds) is read as
//! it is, then compacted, which rewrites it in the current format. Replaying a record that
//! is already in the snapshot (a crash between compaction's rename and the log truncation)
//! is harmless because applying a known change is a no-op in Automerge.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use automerge::ActorId;
use tandem_protocol::changelog::{self, DamageKind, Format, MAGIC};
use tandem_protocol::document::{DocKind, Document};
use thiserror::Error;

use crate::home::{HomeError, create_private_dir, open_private_log, sync_dir, write_file_atomic};

const SNAPSHOT: &str = "doc.automerge";
const LOG: &str = "changes.log";
/// Compact once the log holds this many bytes...
const COMPACT_BYTES: u64 = 4 * 1024 * 1024;
/// ...or this many records, whichever comes first, keeping start-up replay short.
const COMPACT_RECORDS: usize = 2_000;

/// Errors of the store. Messages name the file so a person can inspect or restore it.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A file is damaged; it has been left exactly as found.
    #[error(
        "{path} is corrupt ({reason}); it was left untouched: restore it from a backup or move it away to start that document afresh"
    )]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The change log is damaged; it has been left exactly as found, nothing trimmed.
    #[error(
        "{path} is damaged at byte {at} ({kind}); it was left untouched. Move it aside (keep the copy) and start tandemd again: the document loads from its last snapshot, and changes made since then come back from your partner's or your other devices as they sync; or restore it from a backup"
    )]
    DamagedLog {
        /// The log.
        path: PathBuf,
        /// Byte offset of the damaged header or record.
        at: usize,
        /// What is wrong there.
        kind: DamageKind,
    },
    /// The disk refused a read or write.
    #[error(transparent)]
    Io(#[from] HomeError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Io(crate::home::io_at(path)(e))
}

/// Where one document lives on disk, and the open log.
#[derive(Debug)]
pub struct DocStore {
    dir: PathBuf,
    log: File,
    log_bytes: u64,
    log_records: usize,
}

/// Syncs one document's log from the thread that makes batches durable.
#[derive(Debug)]
pub struct LogSync {
    file: File,
    path: PathBuf,
}

impl LogSync {
    /// Waits until everything appended to the log so far is on disk.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.file.sync_data().map_err(io(&self.path))
    }
}

impl DocStore {
    /// Opens (or creates) the document stored in `dir`.
    pub fn open(dir: &Path, kind: DocKind, actor: ActorId) -> Result<(Self, Document), StoreError> {
        create_private_dir(dir)?;
        let snapshot_path = dir.join(SNAPSHOT);
        let mut doc = match fs::read(&snapshot_path) {
            Ok(bytes) => Document::load(kind, &bytes, actor).map_err(|e| StoreError::Corrupt {
                path: snapshot_path.clone(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut doc = Document::create(kind, actor);
                write_file_atomic(&snapshot_path, &doc.save(), 0o600)?;
                doc
            }
            Err(e) => return Err(io(&snapshot_path)(e)),
        };

        let log_path = dir.join(LOG);
        let mut log = open_private_log(&log_path)?;
        let mut data = Vec::new();
        log.read_to_end(&mut data).map_err(io(&log_path))?;
        let read = changelog::read(&data).map_err(|damage| StoreError::DamagedLog {
            path: log_path.clone(),
            at: damage.at,
            kind: damage.kind,
        })?;
        for record in read.records() {
            doc.apply_changes(record.payload)
                .map_err(|e| StoreError::Corrupt {
                    path: log_path.clone(),
                    reason: format!("record at byte {}: {e}", record.at),
                })?;
        }
        let torn = read.torn_tail();
        if !torn.is_empty() {
            let side_file = set_aside(&log_path, torn)?;
            tracing::warn!(
                file = %log_path.display(),
                side_file = %side_file.display(),
                bytes = torn.len(),
                "moved an unacknowledged record cut short by a crash out of the log"
            );
            log.set_len(read.kept_len() as u64).map_err(io(&log_path))?;
            log.sync_all().map_err(io(&log_path))?;
        }
        // Everything loaded is on disk already: the next incremental save starts here.
        doc.mark_saved();
        let mut store = Self {
            dir: dir.to_owned(),
            log,
            log_bytes: read.kept_len() as u64,
            log_records: read.records().len(),
        };
        match read.format() {
            Format::Current => {
                store.write_log(read.missing_header())?;
                store.sync()?;
            }
            Format::Legacy => store.compact(&mut doc)?,
        }
        Ok((store, doc))
    }

    /// Appends the document's unsaved changes and fsyncs. When this returns `Ok`, the
    /// change survives a crash or power loss.
    pub fn persist(&mut self, doc: &mut Document) -> Result<(), StoreError> {
        if self.stage(doc)? {
            self.sync()?;
        }
        Ok(())
    }

    /// Appends the document's unsaved changes without waiting for the disk, and says
    /// whether there were any. They are durable once the log is synced ([`DocStore::sync`]
    /// or a [`LogSync`]); a crash before that may lose them, so nothing staged may be
    /// acknowledged until then. A log grown past its limits is compacted here, which makes
    /// everything staged durable at once.
    pub fn stage(&mut self, doc: &mut Document) -> Result<bool, StoreError> {
        let staged = self.append(&doc.save_incremental())?;
        if self.log_bytes >= COMPACT_BYTES || self.log_records >= COMPACT_RECORDS {
            self.compact(doc)?;
        }
        Ok(staged)
    }

    /// Appends changes made elsewhere (a pending cross-document commit being finished),
    /// without waiting for the disk.
    pub fn stage_bytes(&mut self, changes: &[u8]) -> Result<(), StoreError> {
        self.append(changes).map(drop)
    }

    /// Waits until everything appended to the log is on disk.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.log.sync_data().map_err(io(&self.dir.join(LOG)))
    }

    /// A handle that syncs this log from another thread, so the writer can go on staging
    /// while the disk catches up. It stays valid across compactions, which truncate the
    /// same open file.
    pub fn log_sync(&self) -> Result<LogSync, StoreError> {
        let path = self.dir.join(LOG);
        let file = self.log.try_clone().map_err(io(&path))?;
        Ok(LogSync { file, path })
    }

    /// Writes a fresh snapshot and starts the log afresh (only its file header), which is
    /// also how a legacy log is rewritten in the current format. Everything staged is
    /// durable when this returns.
    pub fn compact(&mut self, doc: &mut Document) -> Result<(), StoreError> {
        // `save` resets the incremental cursor, so anything unsaved must reach the log
        // first or a crash before the rename would lose it.
        self.append(&doc.save_incremental())?;
        self.sync()?;
        write_file_atomic(&self.dir.join(SNAPSHOT), &doc.save(), 0o600)?;
        let log_path = self.dir.join(LOG);
        self.log.set_len(0).map_err(io(&log_path))?;
        self.log_bytes = 0;
        self.log_records = 0;
        self.write_log(&MAGIC)?;
        self.sync()
    }

    /// Makes `doc` durable after it adopted a peer's whole document `whole`, keeping
    /// `kept`, its own changes that `whole` lacked ([`Received::Adopted`]), without
    /// encoding the document again: `kept` is appended to the log and synced, then `whole`
    /// becomes the snapshot. A crash at any point loses nothing: before the rename the old
    /// snapshot and log are intact; after it, `whole` plus the log (every record it had,
    /// and `kept`) is the adopted document.
    ///
    /// [`Received::Adopted`]: tandem_protocol::document::Received::Adopted
    pub fn adopt(
        &mut self,
        doc: &mut Document,
        whole: &[u8],
        kept: &[u8],
    ) -> Result<(), StoreError> {
        self.append(kept)?;
        self.sync()?;
        write_file_atomic(&self.dir.join(SNAPSHOT), whole, 0o600)?;
        doc.mark_saved();
        Ok(())
    }

    fn append(&mut self, changes: &[u8]) -> Result<bool, StoreError> {
        if changes.is_empty() {
            return Ok(false);
        }
        self.write_log(&changelog::record(changes))?;
        self.log_records += 1;
        Ok(true)
    }

    /// Appends `bytes` to the log (not yet synced).
    fn write_log(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        if bytes.is_empty() {
            return Ok(());
        }
        let log_path = self.dir.join(LOG);
        self.log.write_all(bytes).map_err(io(&log_path))?;
        self.log_bytes += bytes.len() as u64;
        Ok(())
    }

    /// Bytes on disk: snapshot plus log.
    pub fn bytes_on_disk(&self) -> u64 {
        let snapshot = fs::metadata(self.dir.join(SNAPSHOT))
            .map(|m| m.len())
            .unwrap_or(0);
        snapshot + self.log_bytes
    }
}

/// Moves a torn tail out of the way into `changes.log.torn-<UTC time>` (mode 0600): the
/// side file and its directory entry are fsync'd before the caller cuts the log, so a crash
/// at any point keeps every byte (at worst twice, never none).
fn set_aside(log_path: &Path, tail: &[u8]) -> Result<PathBuf, StoreError> {
    let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S%.9fZ");
    let side_file = log_path.with_file_name(format!("{LOG}.torn-{stamp}"));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&side_file)
        .map_err(io(&side_file))?;
    file.write_all(tail).map_err(io(&side_file))?;
    file.sync_all().map_err(io(&side_file))?;
    sync_dir(log_path.parent().unwrap_or(Path::new(".")))?;
    Ok(side_file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use tandem_protocol::activity::Activity;
    use tandem_protocol::document::Collection;
    use tandem_protocol::entity::{Author, Entity};
    use tandem_protocol::ids::{EntityId, PersonId};
    use tandem_protocol::model::idea::{Idea, NewIdea};
    use tandem_protocol::time::Stamp;

    /// Commits idea number `n` to `doc` (not yet persisted).
    fn commit_idea(doc: &mut Document, n: usize) {
        let author = Author {
            person: PersonId::parse("alex").unwrap(),
            at: Stamp(jiff::Timestamp::now()),
        };
        let new = NewIdea {
            title: format!("idea {n}"),
            notes: None,
        };
        let idea =
            Idea::create(EntityId::parse(&format!("i{n:04}")).unwrap(), new, &author).unwrap();
        doc.put(Collection::Ideas, &idea).unwrap();
        doc.commit(&Activity::new(&author, "idea.add", None, "x"));
    }

    fn add(doc: &mut Document, store: &mut DocStore, n: usize) {
        commit_idea(doc, n);
        store.persist(doc).unwrap();
    }

    fn titles(doc: &Document) -> Vec<String> {
        let mut titles: Vec<String> = doc
            .list::<Idea>(Collection::Ideas)
            .unwrap()
            .into_iter()
            .map(|i| i.title)
            .collect();
        titles.sort();
        titles
    }

    fn idea_titles(count: usize) -> Vec<String> {
        (0..count).map(|n| format!("idea {n}")).collect()
    }

    fn open(dir: &Path) -> Result<(DocStore, Document), StoreError> {
        DocStore::open(dir, DocKind::Shared, ActorId::random())
    }

    /// Side files holding torn tails set aside, oldest first.
    fn side_files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("changes.log.torn-")
            })
            .collect();
        files.sort();
        files
    }

    /// A document directory holding a log of `RECORDS` ideas, restored before each try.
    struct Fixture {
        dir: tempfile::TempDir,
        snapshot: Vec<u8>,
        log: Vec<u8>,
        /// Where the log's records start and end: `bounds[0]` is where the first starts.
        bounds: Vec<usize>,
        /// Whether the log is in the legacy format (compacted once it has been read).
        legacy: bool,
    }

    const RECORDS: usize = 5;

    impl Fixture {
        /// A log written by this build's store.
        fn current() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let (mut store, mut doc) = open(dir.path()).unwrap();
            let log_path = dir.path().join(LOG);
            let mut bounds = vec![fs::metadata(&log_path).unwrap().len() as usize];
            for n in 0..RECORDS {
                add(&mut doc, &mut store, n);
                bounds.push(fs::metadata(&log_path).unwrap().len() as usize);
            }
            drop(store);
            Self::keep(dir, bounds, false)
        }

        /// A log as builds before the self-checking header wrote it: no file header,
        /// records `[len][crc32 of the payload][payload]`.
        fn legacy() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let (store, mut doc) = open(dir.path()).unwrap();
            drop(store);
            let (mut log, mut bounds) = (Vec::new(), vec![0]);
            for n in 0..RECORDS {
                commit_idea(&mut doc, n);
                let payload = doc.save_incremental();
                log.extend_from_slice(&(payload.len() as u32).to_be_bytes());
                log.extend_from_slice(&crc32fast::hash(&payload).to_be_bytes());
                log.extend_from_slice(&payload);
                bounds.push(log.len());
            }
            fs::write(dir.path().join(LOG), &log).unwrap();
            Self::keep(dir, bounds, true)
        }

        fn keep(dir: tempfile::TempDir, bounds: Vec<usize>, legacy: bool) -> Self {
            let snapshot = fs::read(dir.path().join(SNAPSHOT)).unwrap();
            let log = fs::read(dir.path().join(LOG)).unwrap();
            assert_eq!(log.len(), *bounds.last().unwrap());
            Self {
                dir,
                snapshot,
                log,
                bounds,
                legacy,
            }
        }

        /// Whether byte `at` is a file or record header, or the start of a payload: every
        /// bit of these is tried, only a sample of the rest (the pure reader's own tests
        /// try every cut and every bit; these prove the store acts on what it reads).
        fn near_a_header(&self, at: usize) -> bool {
            at < self.bounds[0] || self.bounds.iter().any(|&b| (b..b + 16).contains(&at))
        }

        /// Cuts tried: near every header and record end, and every 7th byte.
        fn cuts(&self) -> Vec<usize> {
            (0..=self.log.len())
                .filter(|&cut| {
                    self.near_a_header(cut)
                        || self
                            .bounds
                            .iter()
                            .any(|&b| (b.saturating_sub(2)..b).contains(&cut))
                        || cut % 7 == 0
                })
                .collect()
        }

        /// Bits flipped: all of those near a header, one in every 7th byte elsewhere.
        fn bits(&self) -> Vec<usize> {
            (0..self.log.len() * 8)
                .filter(|&bit| {
                    let at = bit / 8;
                    self.near_a_header(at) || (at % 7 == 0 && bit % 8 == at % 8)
                })
                .collect()
        }

        fn path(&self) -> &Path {
            self.dir.path()
        }

        fn log_path(&self) -> PathBuf {
            self.path().join(LOG)
        }

        /// Puts the snapshot back and `log` in place of the log, with no side file.
        fn restore(&self, log: &[u8]) {
            for file in side_files(self.path()) {
                fs::remove_file(file).unwrap();
            }
            fs::write(self.path().join(SNAPSHOT), &self.snapshot).unwrap();
            fs::write(self.log_path(), log).unwrap();
        }

        /// Asserts that every byte of `before` is still in the log or a side file: the
        /// log begins with what it kept and the side files hold the rest, in order.
        fn assert_every_byte_kept(&self, before: &[u8], case: &str) {
            let side_files = side_files(self.path());
            for file in &side_files {
                let mode = fs::metadata(file).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{case}: {} is private", file.display());
            }
            let set_aside: Vec<u8> = side_files
                .iter()
                .flat_map(|f| fs::read(f).unwrap())
                .collect();
            assert!(
                before.ends_with(&set_aside),
                "{case}: the side file holds bytes that were not the log's tail"
            );
            let kept = &before[..before.len() - set_aside.len()];
            let log = fs::read(self.log_path()).unwrap();
            if self.legacy {
                // Its records were loaded, then compacted into the snapshot.
                assert_eq!(log, MAGIC, "{case}: a legacy log is rewritten");
            } else {
                assert!(log.starts_with(kept), "{case}: the log lost bytes it kept");
            }
        }
    }

    #[test]
    fn reopens_with_everything_and_compacts() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, mut doc) = open(dir.path()).unwrap();
        let empty_log = fs::read(dir.path().join(LOG)).unwrap();
        for n in 0..5 {
            add(&mut doc, &mut store, n);
        }
        drop(store);
        let (mut store, mut doc) = open(dir.path()).unwrap();
        assert_eq!(titles(&doc).len(), 5);
        store.compact(&mut doc).unwrap();
        assert_eq!(fs::read(dir.path().join(LOG)).unwrap(), empty_log);
        add(&mut doc, &mut store, 5);
        drop(store);
        let (_, doc) = open(dir.path()).unwrap();
        assert_eq!(titles(&doc).len(), 6);
    }

    /// A document that adopted a peer's whole document reopens with everything: its own
    /// change (only in its log) and every change of the peer (only in the new snapshot).
    /// A crash after the log was synced but before the snapshot was replaced also keeps
    /// everything it had.
    #[test]
    fn an_adopted_document_reopens_with_both_histories() {
        use tandem_protocol::document::Received;
        use tandem_protocol::sync::PeerSync;
        use tandem_protocol::wire::Message;

        let peer_dir = tempfile::tempdir().unwrap();
        let (mut peer_store, mut peer) = open(peer_dir.path()).unwrap();
        for n in 0..30 {
            add(&mut peer, &mut peer_store, n);
        }
        let dir = tempfile::tempdir().unwrap();
        let (mut store, mut doc) = open(dir.path()).unwrap();
        add(&mut doc, &mut store, 30);
        let (mut theirs, mut ours) = (
            PeerSync::new(&[DocKind::Shared], |_| None),
            PeerSync::new(&[DocKind::Shared], |_| None),
        );
        let mut adopted = false;
        for _ in 0..10 {
            if let Some(Message::Sync { data, .. }) = ours.poll(&mut doc) {
                theirs.receive(&mut peer, &data).unwrap();
            }
            if let Some(Message::Sync { data, .. }) = theirs.poll(&mut peer) {
                if let Received::Adopted { whole, kept } = ours.receive(&mut doc, &data).unwrap() {
                    let crashed = tempfile::tempdir().unwrap();
                    for file in [SNAPSHOT, LOG] {
                        fs::copy(dir.path().join(file), crashed.path().join(file)).unwrap();
                    }
                    let (mut crashed_store, _) = open(crashed.path()).unwrap();
                    crashed_store.append(&kept).unwrap();
                    crashed_store.sync().unwrap();
                    drop(crashed_store);
                    let (_, before_rename) = open(crashed.path()).unwrap();
                    assert_eq!(titles(&before_rename), vec!["idea 30".to_owned()]);

                    store.adopt(&mut doc, &whole, &kept).unwrap();
                    adopted = true;
                }
                store.stage(&mut doc).unwrap();
            }
        }
        assert!(adopted, "the peer sent its whole document");
        let mut both = idea_titles(31);
        both.sort();
        assert_eq!(titles(&doc), both);
        drop(store);
        let (_, reopened) = open(dir.path()).unwrap();
        assert_eq!(titles(&reopened), both);
    }

    /// Property (a): a log cut at any length (a crash mid-append) opens with every record
    /// that was complete before the cut, and the incomplete rest is set aside, not lost.
    fn every_cut_keeps_complete_records_and_sets_the_rest_aside(fixture: &Fixture) {
        let cuts = fixture.cuts();
        for &cut in &cuts {
            let before = &fixture.log[..cut];
            fixture.restore(before);
            let case = format!("cut at {cut} of {}", fixture.log.len());
            let (_, doc) = open(fixture.path()).unwrap_or_else(|e| panic!("{case}: {e}"));
            let complete = fixture.bounds[1..]
                .iter()
                .filter(|&&end| end <= cut)
                .count();
            assert_eq!(titles(&doc), idea_titles(complete), "{case}");
            fixture.assert_every_byte_kept(before, &case);
            let torn = cut > fixture.bounds[0] && !fixture.bounds.contains(&cut);
            assert_eq!(
                side_files(fixture.path()).len(),
                usize::from(torn),
                "{case}"
            );
        }
        eprintln!(
            "{} cuts of {} bytes: all loaded",
            cuts.len(),
            fixture.log.len()
        );
    }

    #[test]
    fn every_cut_of_a_log_keeps_complete_records() {
        every_cut_keeps_complete_records_and_sets_the_rest_aside(&Fixture::current());
    }

    #[test]
    fn every_cut_of_a_legacy_log_keeps_complete_records() {
        every_cut_keeps_complete_records_and_sets_the_rest_aside(&Fixture::legacy());
    }

    /// Property (b): a log with any one bit flipped either opens with every record, or
    /// is refused with an error naming the file, and is then left byte for byte as found.
    fn every_flipped_bit_loads_everything_or_is_refused(fixture: &Fixture) {
        let (mut loaded, mut refused) = (0, 0);
        let bits = fixture.bits();
        for &bit in &bits {
            let mut damaged = fixture.log.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            fixture.restore(&damaged);
            let case = format!("bit {} of byte {}", bit % 8, bit / 8);
            match open(fixture.path()) {
                Ok((_, doc)) => {
                    loaded += 1;
                    assert_eq!(titles(&doc), idea_titles(RECORDS), "{case}");
                    fixture.assert_every_byte_kept(&damaged, &case);
                }
                Err(e) => {
                    refused += 1;
                    let message = e.to_string();
                    let log = fixture.log_path().display().to_string();
                    assert!(message.contains(&log), "{case}: {message}");
                    assert!(message.contains("damaged at byte"), "{case}: {message}");
                    assert!(message.contains("Move it aside"), "{case}: {message}");
                    assert_eq!(fs::read(fixture.log_path()).unwrap(), damaged, "{case}");
                    assert!(side_files(fixture.path()).is_empty(), "{case}");
                    let snapshot = fs::read(fixture.path().join(SNAPSHOT)).unwrap();
                    assert_eq!(snapshot, fixture.snapshot, "{case}");
                }
            }
        }
        eprintln!(
            "{} of {} bits flipped: {loaded} loaded everything, {refused} refused",
            bits.len(),
            fixture.log.len() * 8
        );
    }

    #[test]
    fn every_flipped_bit_of_a_log_loads_everything_or_is_refused() {
        every_flipped_bit_loads_everything_or_is_refused(&Fixture::current());
    }

    #[test]
    fn every_flipped_bit_of_a_legacy_log_loads_everything_or_is_refused() {
        every_flipped_bit_loads_everything_or_is_refused(&Fixture::legacy());
    }

    #[test]
    fn corrupt_snapshot_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        drop(open(dir.path()).unwrap());
        let snap = dir.path().join(SNAPSHOT);
        fs::write(&snap, b"not an automerge document").unwrap();
        let err = open(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("doc.automerge is corrupt"),
            "{err}"
        );
        assert_eq!(fs::read(&snap).unwrap(), b"not an automerge document");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Whatever bytes follow a log's records, opening never panics: it either loads
        /// every record, setting the rest aside, or names the file and leaves it as found.
        #[test]
        fn any_bytes_after_the_records_load_or_fail_cleanly(garbage in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let fixture = Fixture::current();
            let mut bytes = fixture.log.clone();
            bytes.extend_from_slice(&garbage);
            fixture.restore(&bytes);
            match open(fixture.path()) {
                Ok((_, doc)) => {
                    proptest::prop_assert_eq!(titles(&doc), idea_titles(RECORDS));
                    fixture.assert_every_byte_kept(&bytes, "garbage appended");
                }
                Err(e) => {
                    proptest::prop_assert!(e.to_string().contains("changes.log"), "{}", e);
                    proptest::prop_assert_eq!(fs::read(fixture.log_path()).unwrap(), bytes);
                }
            }
        }
    }
}
