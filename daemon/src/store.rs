//! Crash-safe persistence of one document: a snapshot plus an append-only change log.
//!
//! Layout of `docs/<name>/`:
//! - `doc.automerge`: the compacted document, replaced atomically (temp file, fsync,
//!   rename, fsync of the directory).
//! - `changes.log`: records `[len: u32 BE][crc32: u32 BE][len bytes of Automerge changes]`,
//!   each fsync'd before the write is acknowledged.
//!
//! Opening replays the log over the snapshot. A record cut short by a crash at the very end
//! (the torn tail) is dropped, since its write was never acknowledged. Any other damage is
//! an error naming the file: the store never resets silently. Replaying a record that is
//! already in the snapshot (a crash between compaction's rename and the log truncation) is
//! harmless because applying a known change is a no-op in Automerge.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use automerge::ActorId;
use tandem_protocol::changelog::{HEADER, Scan, next_record, record};
use tandem_protocol::document::{DocKind, Document};
use thiserror::Error;

use crate::home::{HomeError, create_private_dir, open_private_log, write_file_atomic};

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
        let corrupt = |reason: String| StoreError::Corrupt {
            path: log_path.clone(),
            reason,
        };
        let (mut pos, mut records) = (0, 0);
        loop {
            match next_record(&data, pos).map_err(corrupt)? {
                Scan::Record(payload) => {
                    doc.apply_changes(payload)
                        .map_err(|e| corrupt(format!("record at byte {pos}: {e}")))?;
                    pos += HEADER + payload.len();
                    records += 1;
                }
                Scan::TornTail => {
                    tracing::warn!(
                        file = %log_path.display(),
                        dropped_bytes = data.len() - pos,
                        "dropping an unacknowledged record cut short by a crash"
                    );
                    log.set_len(pos as u64).map_err(io(&log_path))?;
                    log.sync_all().map_err(io(&log_path))?;
                    break;
                }
                Scan::End => break,
            }
        }
        // Everything loaded is on disk already: the next incremental save starts here.
        doc.mark_saved();
        let store = Self {
            dir: dir.to_owned(),
            log,
            log_bytes: pos as u64,
            log_records: records,
        };
        Ok((store, doc))
    }

    /// Appends the document's unsaved changes and fsyncs. When this returns `Ok`, the
    /// change survives a crash or power loss.
    pub fn persist(&mut self, doc: &mut Document) -> Result<(), StoreError> {
        self.append(&doc.save_incremental())?;
        if self.log_bytes >= COMPACT_BYTES || self.log_records >= COMPACT_RECORDS {
            self.compact(doc)?;
        }
        Ok(())
    }

    /// Writes a fresh snapshot and empties the log.
    pub fn compact(&mut self, doc: &mut Document) -> Result<(), StoreError> {
        // `save` resets the incremental cursor, so anything unsaved must reach the log
        // first or a crash before the rename would lose it.
        self.append(&doc.save_incremental())?;
        write_file_atomic(&self.dir.join(SNAPSHOT), &doc.save(), 0o600)?;
        let log_path = self.dir.join(LOG);
        self.log.set_len(0).map_err(io(&log_path))?;
        self.log.sync_all().map_err(io(&log_path))?;
        self.log_bytes = 0;
        self.log_records = 0;
        Ok(())
    }

    fn append(&mut self, changes: &[u8]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let record = record(changes);
        let log_path = self.dir.join(LOG);
        self.log.write_all(&record).map_err(io(&log_path))?;
        self.log.sync_data().map_err(io(&log_path))?;
        self.log_bytes += record.len() as u64;
        self.log_records += 1;
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

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_protocol::activity::Activity;
    use tandem_protocol::document::Collection;
    use tandem_protocol::entity::{Author, Entity};
    use tandem_protocol::ids::{EntityId, PersonId};
    use tandem_protocol::model::idea::{Idea, NewIdea};
    use tandem_protocol::time::Stamp;

    fn add(doc: &mut Document, store: &mut DocStore, n: usize) {
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
        store.persist(doc).unwrap();
    }

    fn titles(doc: &Document) -> Vec<String> {
        doc.list::<Idea>(Collection::Ideas)
            .unwrap()
            .into_iter()
            .map(|i| i.title)
            .collect()
    }

    fn open(dir: &Path) -> Result<(DocStore, Document), StoreError> {
        DocStore::open(dir, DocKind::Shared, ActorId::random())
    }

    #[test]
    fn reopens_with_everything_and_compacts() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, mut doc) = open(dir.path()).unwrap();
        for n in 0..5 {
            add(&mut doc, &mut store, n);
        }
        drop(store);
        let (mut store, mut doc) = open(dir.path()).unwrap();
        assert_eq!(titles(&doc).len(), 5);
        store.compact(&mut doc).unwrap();
        assert_eq!(fs::metadata(dir.path().join(LOG)).unwrap().len(), 0);
        add(&mut doc, &mut store, 5);
        drop(store);
        let (_, doc) = open(dir.path()).unwrap();
        assert_eq!(titles(&doc).len(), 6);
    }

    /// A store whose log holds two records, and the log's path.
    fn two_records() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, mut doc) = open(dir.path()).unwrap();
        add(&mut doc, &mut store, 0);
        add(&mut doc, &mut store, 1);
        let log = dir.path().join(LOG);
        (dir, log)
    }

    #[test]
    fn torn_tail_is_dropped_and_the_rest_kept() {
        let (dir, log) = two_records();
        let full = fs::read(&log).unwrap();
        // Every cut inside the last record loses only that record.
        let first_len = HEADER + u32::from_be_bytes(full[0..4].try_into().unwrap()) as usize;
        for cut in (first_len + 1..full.len()).step_by(7) {
            fs::write(&log, &full[..cut]).unwrap();
            let (_, doc) = open(dir.path()).unwrap();
            assert_eq!(titles(&doc), ["idea 0"], "cut at {cut}");
            assert_eq!(fs::metadata(&log).unwrap().len() as usize, first_len);
        }
    }

    #[test]
    fn damage_before_the_tail_is_an_error_naming_the_file() {
        let (dir, log) = two_records();
        let mut bytes = fs::read(&log).unwrap();
        bytes[HEADER + 2] ^= 0xff;
        fs::write(&log, &bytes).unwrap();
        let err = open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("changes.log is corrupt"), "{err}");
        assert_eq!(
            fs::read(&log).unwrap(),
            bytes,
            "a corrupt file is left untouched"
        );
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

        /// Whatever bytes end up in the log, opening never panics: it either loads or
        /// names the file; and a store cut anywhere keeps every complete record.
        #[test]
        fn any_log_bytes_open_or_fail_cleanly(garbage in proptest::collection::vec(proptest::num::u8::ANY, 0..300), cut in 0usize..2000) {
            let (dir, log) = two_records();
            let full = fs::read(&log).unwrap();
            let first_len = HEADER + u32::from_be_bytes(full[0..4].try_into().unwrap()) as usize;
            let cut = cut.min(full.len());
            fs::write(&log, &full[..cut]).unwrap();
            let (_, doc) = open(dir.path()).unwrap();
            let expected = if cut == full.len() { 2 } else if cut >= first_len { 1 } else { 0 };
            proptest::prop_assert_eq!(titles(&doc).len(), expected);

            let mut bytes = full.clone();
            bytes.extend_from_slice(&garbage);
            fs::write(&log, &bytes).unwrap();
            match open(dir.path()) {
                Ok((_, doc)) => proptest::prop_assert_eq!(titles(&doc).len(), 2),
                Err(e) => proptest::prop_assert!(e.to_string().contains("changes.log"), "{}", e),
            }
        }
    }
}
