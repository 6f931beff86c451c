//! Schema versions of the documents and the deterministic changes that upgrade them.
//!
//! Version 1 is the genesis change ([`crate::document::genesis`]), frozen forever. Each
//! later version is one *upgrade change* per document kind that creates the version's new
//! collections and records the version under the root key [`SCHEMA_KEY`]. Like genesis it
//! is built in isolation with a fixed actor per version and timestamp 0, on top of the
//! previous version's change, so two laptops that upgrade separately produce byte-identical
//! changes with the same hash: the upgrades merge as one, and no root key is ever written
//! concurrently. New fields of existing entities are never written by an upgrade (each
//! device holds different entities): they get their default when read.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use crate::document::{DocKind, genesis};

/// The schema version of a document holding only genesis.
pub const GENESIS_VERSION: u32 = 1;

/// Root key holding the schema version a document was upgraded to; absent in version 1.
pub const SCHEMA_KEY: &str = "schema";

/// Prefix of the actor of each upgrade change, followed by the version (4 bytes, big
/// endian). Never used for anything else, and never changed: it is part of the hashes.
const UPGRADE_ACTOR_PREFIX: &[u8] = b"tandem-schema-v";

/// One schema version after genesis: the root collections it adds.
#[derive(Clone, Copy, Debug)]
pub struct SchemaStep {
    /// The version this step upgrades to: the previous step's plus one.
    pub version: u32,
    /// The empty maps it creates, by document kind and root key.
    pub adds: &'static [(DocKind, &'static str)],
}

/// The chain of schema versions a build knows: genesis, then its steps in order.
#[derive(Clone, Copy, Debug)]
pub struct Schema {
    steps: &'static [SchemaStep],
}

/// One document kind's upgrade change to one version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpgradeChange {
    /// The version it upgrades to.
    pub version: u32,
    /// The Automerge change, as a change chunk.
    pub bytes: Vec<u8>,
}

impl Schema {
    /// The schema this build writes. Version 1 (genesis) has no steps yet; add one per
    /// release that adds collections, never edit or remove one that shipped.
    pub const CURRENT: Schema = Schema::new(&[]);

    /// A schema of genesis plus `steps`, which must be numbered 2, 3, ... in order.
    pub const fn new(steps: &'static [SchemaStep]) -> Self {
        let mut i = 0;
        while i < steps.len() {
            assert!(
                steps[i].version == GENESIS_VERSION + 1 + i as u32,
                "schema steps are numbered from 2 without gaps"
            );
            i += 1;
        }
        Self { steps }
    }

    /// The newest version this schema knows.
    pub fn version(&self) -> u32 {
        self.steps.last().map_or(GENESIS_VERSION, |s| s.version)
    }

    /// The root collections of `kind` that a version after genesis added, with the version.
    pub fn added_collections(&self, kind: DocKind) -> impl Iterator<Item = (u32, &'static str)> {
        self.steps.iter().flat_map(move |step| {
            step.adds
                .iter()
                .filter(move |(k, _)| *k == kind)
                .map(move |(_, key)| (step.version, *key))
        })
    }

    /// The upgrade changes of `kind` from genesis to [`Schema::version`], oldest first.
    /// Deterministic: every device computes the same bytes.
    pub fn upgrade_changes(&self, kind: DocKind) -> Vec<UpgradeChange> {
        let mut doc = AutoCommit::load(&genesis(kind)).expect("genesis bytes are valid");
        self.steps
            .iter()
            .map(|step| {
                let mut actor = UPGRADE_ACTOR_PREFIX.to_vec();
                actor.extend_from_slice(&step.version.to_be_bytes());
                doc.set_actor(ActorId::from(actor));
                for (_, key) in step.adds.iter().filter(|(k, _)| *k == kind) {
                    doc.put_object(ROOT, *key, ObjType::Map)
                        .expect("putting into the root map cannot fail");
                }
                doc.put(ROOT, SCHEMA_KEY, u64::from(step.version))
                    .expect("putting into the root map cannot fail");
                doc.commit_with(
                    CommitOptions::default()
                        .with_time(0)
                        .with_message(format!("schema v{}", step.version)),
                );
                let change = doc
                    .get_last_local_change()
                    .expect("the upgrade change was just committed");
                UpgradeChange {
                    version: step.version,
                    bytes: change.raw_bytes().to_vec(),
                }
            })
            .collect()
    }
}

/// The schema version a document was upgraded to: [`GENESIS_VERSION`] until an upgrade
/// change wrote [`SCHEMA_KEY`]. A version above this build's means a newer build (the
/// partner's, say) upgraded the document first.
pub fn version_of(doc: &impl ReadDoc) -> u32 {
    // Upgrade changes form one chain, so there is never more than one value; reading the
    // highest anyway keeps a hostile concurrent write from hiding a newer schema.
    doc.get_all(ROOT, SCHEMA_KEY)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(value, _)| match value {
            Value::Scalar(s) => match s.as_ref() {
                ScalarValue::Uint(v) => u32::try_from(*v).ok(),
                ScalarValue::Int(v) => u32::try_from(*v).ok(),
                _ => None,
            },
            Value::Object(_) => None,
        })
        .max()
        .unwrap_or(GENESIS_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::NEXT_SCHEMA as NEXT;

    #[test]
    fn this_build_is_still_at_genesis() {
        assert_eq!(Schema::CURRENT.version(), GENESIS_VERSION);
        for kind in DocKind::ALL {
            assert!(Schema::CURRENT.upgrade_changes(kind).is_empty());
        }
    }

    #[test]
    fn upgrade_changes_are_byte_identical_and_record_the_version() {
        for kind in DocKind::ALL {
            let first = NEXT.upgrade_changes(kind);
            assert_eq!(first, NEXT.upgrade_changes(kind));
            assert_eq!(first.len(), 1);
            let mut doc = AutoCommit::load(&genesis(kind)).unwrap();
            assert_eq!(version_of(&doc), GENESIS_VERSION);
            doc.load_incremental(&first[0].bytes).unwrap();
            assert_eq!(version_of(&doc), 2);
            let key = if kind == DocKind::Shared {
                "outings"
            } else {
                "wishes"
            };
            assert!(matches!(
                doc.get(ROOT, key).unwrap(),
                Some((Value::Object(ObjType::Map), _))
            ));
        }
    }

    #[test]
    #[should_panic(expected = "numbered from 2")]
    fn steps_with_gaps_are_refused() {
        let _ = Schema::new(&[SchemaStep {
            version: 3,
            adds: &[],
        }]);
    }
}
