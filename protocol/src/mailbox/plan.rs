//! What to write, what to prune and what to apply: the mailbox's decisions, with no disk.
//!
//! Writer side, per reader and document, an [`Outbox`] lists the bundles still in the
//! folder. Each new bundle holds the changes after the previous one's heads (so a small
//! edit makes a small bundle); once there are too many, one bundle holding everything the
//! reader has not acknowledged replaces them all (compaction). A bundle is pruned once the
//! reader's acknowledgement covers its heads ([`Coverage`]).
//!
//! Reader side, an [`Inbox`] per writer and document remembers which bundles were applied
//! (so a copy seen again is a replay, skipped) and which of the writer's heads it holds in
//! full: that is what its acknowledgement tells the writer. Applying is idempotent anyway
//! (Automerge ignores changes it has), so order, duplicates and re-delivery are harmless;
//! these records only keep the work and the folder small.

use std::collections::{BTreeMap, HashSet};

use automerge::ChangeHash;

use super::seal::OpenError;
use crate::document::Document;

/// Bundles a writer keeps for one reader before compacting them into one.
pub const MAX_BUNDLES: usize = 16;
/// Applied bundles an [`Inbox`] remembers (older ones are long pruned by the writer).
const REMEMBERED: usize = 256;

/// A bundle this device wrote for one reader and has not pruned yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Its sequence number (and name).
    pub seq: u64,
    /// The writer's heads it reaches, sorted.
    pub heads: Vec<ChangeHash>,
    /// Its size in the folder.
    pub bytes: u64,
}

/// What the reader has acknowledged, as seen from the writer's document.
#[derive(Debug)]
pub struct Coverage {
    /// The acknowledged heads this document knows: every ancestor of them is covered.
    base: Vec<ChangeHash>,
    /// The changes of this document that are not covered.
    missing: HashSet<ChangeHash>,
}

impl Coverage {
    /// Coverage of an acknowledgement: the reader's own `heads` (those this document
    /// knows; the others are the reader's changes not read here yet) and `yours`, the
    /// newest heads of this writer the reader holds in full.
    pub fn of(doc: &mut Document, heads: &[ChangeHash], yours: &[ChangeHash]) -> Self {
        let mut base: Vec<ChangeHash> = heads
            .iter()
            .chain(yours)
            .copied()
            .filter(|h| doc.knows(h))
            .collect();
        base.sort();
        base.dedup();
        let missing = doc.hashes_after(&base).into_iter().collect();
        Self { base, missing }
    }

    /// Whether the reader holds every change up to `heads`.
    pub fn covers(&self, heads: &[ChangeHash]) -> bool {
        heads.iter().all(|h| !self.missing.contains(h))
    }
}

/// One step the writer should take for a reader.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Bundles the reader has applied: delete them.
    pub prune: Vec<u64>,
    /// A bundle to write, if the reader lacks something no bundle holds.
    pub write: Option<Write>,
}

/// A bundle to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    /// Its changes are those after these heads (`Document::changes_after`).
    pub base: Vec<ChangeHash>,
    /// Bundles it holds everything of (compaction): delete them once it is in place.
    pub replaces: Vec<u64>,
}

/// The bundles in the folder for one reader and document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outbox {
    written: Vec<Written>,
    last_seq: u64,
}

impl Outbox {
    /// The outbox of the bundles found in the folder, in any order.
    pub fn found(mut written: Vec<Written>) -> Self {
        written.sort_by_key(|w| w.seq);
        let last_seq = written.last().map_or(0, |w| w.seq);
        Self { written, last_seq }
    }

    /// The bundles in the folder, oldest first.
    pub fn written(&self) -> &[Written] {
        &self.written
    }

    /// The sequence number of the next bundle: after every one written (even pruned) and
    /// at least `now_ms`, so a device that lost track (its folder deleted and set again)
    /// never reuses a number its reader remembers.
    pub fn next_seq(&self, now_ms: u64) -> u64 {
        (self.last_seq + 1).max(now_ms)
    }

    /// What to do, given the document's `heads` and what the reader acknowledged.
    pub fn plan(&self, heads: &[ChangeHash], coverage: &Coverage) -> Plan {
        let (prune, rest): (Vec<&Written>, Vec<&Written>) =
            self.written.iter().partition(|w| coverage.covers(&w.heads));
        let prune = prune.into_iter().map(|w| w.seq).collect();
        let write = if coverage.covers(heads) || rest.last().is_some_and(|w| w.heads == heads) {
            None
        } else if rest.len() >= MAX_BUNDLES {
            Some(Write {
                base: coverage.base.clone(),
                replaces: rest.iter().map(|w| w.seq).collect(),
            })
        } else {
            Some(Write {
                base: rest
                    .last()
                    .map_or_else(|| coverage.base.clone(), |w| w.heads.clone()),
                replaces: Vec::new(),
            })
        };
        Plan { prune, write }
    }

    /// Records a bundle now in the folder, and the ones it replaced as gone.
    pub fn wrote(&mut self, written: Written, replaced: &[u64]) {
        self.last_seq = self.last_seq.max(written.seq);
        self.written.retain(|w| !replaced.contains(&w.seq));
        self.written.push(written);
    }

    /// Records bundles deleted from the folder.
    pub fn pruned(&mut self, seqs: &[u64]) {
        self.written.retain(|w| !seqs.contains(&w.seq));
    }

    /// Bytes of the bundles in the folder.
    pub fn bytes(&self) -> u64 {
        self.written.iter().map(|w| w.bytes).sum()
    }
}

/// What a reader has applied from one writer and document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inbox {
    /// Sequence numbers applied, with the heads each reached.
    applied: BTreeMap<u64, Vec<ChangeHash>>,
}

impl Inbox {
    /// Refuses bundle `seq` reaching `heads` if exactly it was applied already (a
    /// restored or copied file). A reused number with other heads is applied: harmless.
    pub fn admit(&self, seq: u64, heads: &[ChangeHash]) -> Result<(), OpenError> {
        match self.applied.get(&seq) {
            Some(seen) if seen == heads => Err(OpenError::Replayed { seq }),
            _ => Ok(()),
        }
    }

    /// Records that bundle `seq` reaching `heads` was applied.
    pub fn applied(&mut self, seq: u64, heads: Vec<ChangeHash>) {
        self.applied.insert(seq, heads);
        while self.applied.len() > REMEMBERED {
            self.applied.pop_first();
        }
    }

    /// The newest writer heads `doc` holds in full (a bundle whose changes wait for an
    /// earlier one is not held yet): what the acknowledgement says as `yours`.
    pub fn held(&self, doc: &mut Document) -> Vec<ChangeHash> {
        self.applied
            .values()
            .rev()
            .find(|heads| heads.iter().all(|h| doc.knows(h)))
            .cloned()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use automerge::ActorId;
    use proptest::prelude::*;

    use super::*;
    use crate::document::DocKind;
    use crate::test_support::add_idea;

    /// A writer's side: its document and outbox; `folder` holds the bundles' changes.
    struct Writer {
        doc: Document,
        outbox: Outbox,
        folder: BTreeMap<u64, (Vec<ChangeHash>, Vec<u8>)>,
        clock: u64,
    }

    impl Writer {
        fn new(doc: Document) -> Self {
            Self {
                doc,
                outbox: Outbox::default(),
                folder: BTreeMap::new(),
                clock: 0,
            }
        }

        /// Writes and prunes as the plan says, given the reader's acknowledgement.
        fn step(&mut self, ack: &(Vec<ChangeHash>, Vec<ChangeHash>)) {
            let coverage = Coverage::of(&mut self.doc, &ack.0, &ack.1);
            let heads = self.doc.heads();
            let plan = self.outbox.plan(&heads, &coverage);
            for seq in &plan.prune {
                self.folder.remove(seq);
            }
            self.outbox.pruned(&plan.prune);
            if let Some(write) = plan.write {
                self.clock += 1;
                let seq = self.outbox.next_seq(self.clock);
                let changes = self.doc.changes_after(&write.base);
                self.folder.insert(seq, (heads.clone(), changes.clone()));
                for seq in &write.replaces {
                    self.folder.remove(seq);
                }
                self.outbox.wrote(
                    Written {
                        seq,
                        heads,
                        bytes: changes.len() as u64,
                    },
                    &write.replaces,
                );
            }
        }
    }

    /// A reader applying a bundle; returns whether it was news.
    fn read(
        doc: &mut Document,
        inbox: &mut Inbox,
        seq: u64,
        bundle: &(Vec<ChangeHash>, Vec<u8>),
    ) -> bool {
        if inbox.admit(seq, &bundle.0).is_err() {
            return false;
        }
        doc.apply_changes(&bundle.1).unwrap();
        inbox.applied(seq, bundle.0.clone());
        true
    }

    fn pair() -> (Document, Document) {
        let mut a = Document::create(DocKind::Shared, ActorId::random());
        let b = Document::create(DocKind::Shared, ActorId::random());
        add_idea(&mut a, 0, "sam");
        (a, b)
    }

    #[test]
    fn small_edits_make_small_bundles_and_acks_prune_them() {
        let (a, mut b) = pair();
        let mut writer = Writer::new(a);
        let mut inbox = Inbox::default();
        let none = (vec![], vec![]);
        writer.step(&none);
        assert_eq!(writer.folder.len(), 1, "the first bundle");
        writer.step(&none);
        assert_eq!(writer.folder.len(), 1, "nothing new, nothing written");
        add_idea(&mut writer.doc, 1, "sam");
        writer.step(&none);
        let (&seq, last) = writer.folder.last_key_value().unwrap();
        assert!(last.1.len() < 400, "a small edit is {} bytes", last.1.len());
        for (seq, bundle) in writer.folder.clone() {
            assert!(read(&mut b, &mut inbox, seq, &bundle));
        }
        assert!(
            !read(&mut b, &mut inbox, seq, &writer.folder[&seq]),
            "a replay"
        );
        assert_eq!(b.heads(), writer.doc.heads());
        let ack = (b.heads(), inbox.held(&mut b));
        writer.step(&ack);
        assert!(
            writer.folder.is_empty(),
            "everything acknowledged is pruned"
        );
        assert_eq!(writer.outbox.bytes(), 0);
        assert!(writer.outbox.next_seq(0) > seq, "numbers are never reused");
    }

    #[test]
    fn many_bundles_are_compacted_into_one() {
        let (a, _) = pair();
        let mut writer = Writer::new(a);
        for n in 0..(MAX_BUNDLES as u32 + 3) {
            add_idea(&mut writer.doc, n + 1, "sam");
            writer.step(&(vec![], vec![]));
        }
        assert!(
            writer.folder.len() <= MAX_BUNDLES,
            "{}",
            writer.folder.len()
        );
    }

    #[test]
    fn an_ack_naming_the_readers_own_changes_still_prunes() {
        let (a, mut b) = pair();
        let mut writer = Writer::new(a);
        let mut inbox = Inbox::default();
        writer.step(&(vec![], vec![]));
        for (seq, bundle) in writer.folder.clone() {
            read(&mut b, &mut inbox, seq, &bundle);
        }
        add_idea(&mut b, 50, "sam");
        let ack = (b.heads(), inbox.held(&mut b));
        writer.step(&ack);
        assert!(writer.folder.is_empty());
    }

    proptest! {
        // Each case builds documents and applies real changes: fewer cases, still varied.
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Bundles delivered late, out of order, twice or never (until the end), with
        /// edits on both sides and acknowledgements lagging: nothing needed is pruned and
        /// both end equal once everything in the folder is read.
        #[test]
        fn any_delivery_converges(ops in proptest::collection::vec((0u8..5, any::<u16>()), 1..60)) {
            let (a, mut b) = pair();
            let mut writer = Writer::new(a);
            let mut inbox = Inbox::default();
            let mut ack = (vec![], vec![]);
            let mut id = 100;
            for (op, pick) in ops {
                match op {
                    0 => { id += 1; add_idea(&mut writer.doc, id, "sam"); }
                    1 => writer.step(&ack),
                    2 => {
                        let bundles: Vec<_> = writer.folder.iter().map(|(s, b)| (*s, b.clone())).collect();
                        if !bundles.is_empty() {
                            let (seq, bundle) = &bundles[pick as usize % bundles.len()];
                            read(&mut b, &mut inbox, *seq, bundle);
                        }
                    }
                    3 => ack = (b.heads(), inbox.held(&mut b)),
                    _ => { id += 1; add_idea(&mut b, id, "sam"); }
                }
            }
            writer.step(&ack);
            for (seq, bundle) in writer.folder.clone().into_iter().rev() {
                read(&mut b, &mut inbox, seq, &bundle);
            }
            let mut missing = writer.doc.hashes_after(&b.heads());
            missing.retain(|h| !b.knows(h));
            prop_assert!(missing.is_empty(), "the reader lacks {} changes", missing.len());
        }
    }
}
