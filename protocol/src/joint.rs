//! A commit that spans both documents (a check-in answer, personal time with private
//! details, adopting one's own person at pairing) must land whole or not at all, but each
//! document has a log of its own and a crash can stop between two fsyncs. So such a commit
//! is first written whole, as one self-checking record, to a file of its own (the *joint
//! commit*); only once that is durable do the changes go to the documents' logs, and the
//! file is removed when they are durable too. At start-up a joint commit still there is
//! finished (applying a change a document already holds is a no-op in Automerge); one cut
//! short by a crash was never acted on and is dropped.
//!
//! This module is the file's format; the daemon does the I/O.

use serde::{Deserialize, Serialize};

use crate::changelog::{self, MAGIC};
use crate::document::DocKind;
use crate::ids::PersonId;

/// One part of a joint commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// Automerge changes for one document, as its log stores them.
    Changes {
        /// The document they belong to.
        doc: DocKind,
        /// The encoded changes.
        changes: Vec<u8>,
    },
    /// This device becomes `person` (pairing with one's own device): the config follows.
    Become {
        /// The person adopted.
        person: PersonId,
        /// Their name.
        name: String,
    },
}

/// Everything one operation changed, across documents and the config.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JointCommit {
    /// What to apply, in order.
    pub steps: Vec<Step>,
}

impl JointCommit {
    /// The file's bytes: the change-log header, then one record holding every step.
    pub fn encode(&self) -> Vec<u8> {
        let payload = postcard::to_allocvec(self).expect("a joint commit always encodes");
        let mut bytes = MAGIC.to_vec();
        bytes.extend(changelog::record(&payload));
        bytes
    }

    /// The commit the file holds, or `None` if it was cut short or is not one: it was
    /// then never acted on (the documents' logs are written only after it is durable),
    /// so dropping it loses nothing that was acknowledged.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let log = changelog::read(bytes).ok()?;
        match log.records() {
            [record] => postcard::from_bytes(record.payload).ok(),
            _ => None,
        }
    }

    /// The changes for `doc`, if any.
    pub fn changes_for(&self, doc: DocKind) -> impl Iterator<Item = &[u8]> {
        self.steps.iter().filter_map(move |step| match step {
            Step::Changes { doc: d, changes } if *d == doc => Some(changes.as_slice()),
            _ => None,
        })
    }

    /// The person this device becomes, if the commit adopts one.
    pub fn becomes(&self) -> Option<(&PersonId, &str)> {
        self.steps.iter().find_map(|step| match step {
            Step::Become { person, name } => Some((person, name.as_str())),
            Step::Changes { .. } => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> JointCommit {
        JointCommit {
            steps: vec![
                Step::Changes {
                    doc: DocKind::Private,
                    changes: vec![1, 2, 3],
                },
                Step::Changes {
                    doc: DocKind::Shared,
                    changes: vec![4, 5],
                },
                Step::Become {
                    person: PersonId::parse("sam").unwrap(),
                    name: "Sam".into(),
                },
            ],
        }
    }

    #[test]
    fn a_whole_file_reads_back() {
        let commit = sample();
        let read = JointCommit::decode(&commit.encode()).unwrap();
        assert_eq!(read, commit);
        assert_eq!(
            read.changes_for(DocKind::Shared).collect::<Vec<_>>(),
            vec![&[4u8, 5][..]]
        );
        assert_eq!(read.becomes().unwrap().1, "Sam");
    }

    #[test]
    fn a_file_cut_short_anywhere_or_flipped_is_never_acted_on() {
        let bytes = sample().encode();
        for len in 0..bytes.len() {
            assert_eq!(JointCommit::decode(&bytes[..len]), None, "cut at {len}");
        }
        for at in MAGIC.len()..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x10;
            assert_eq!(JointCommit::decode(&flipped), None, "flipped at {at}");
        }
    }
}
