//! Keeping one peer in sync: Automerge's sync protocol per document, with the limits and
//! document permissions tandem needs.
//!
//! Which documents a peer may have follows from its relation alone ([`documents_for`]).
//! One [`PeerSync`] per connection. It only ever touches the documents the peer may have
//! (a partner never gets the private document, whatever it asks), and it cuts a peer that
//! keeps sending sync messages that bring nothing: after [`MAX_IDLE_ROUNDS`] messages
//! without progress or [`MAX_IDLE_BYTES`] bytes, [`SyncError::Limit`] tells the caller to
//! close the connection. Progress is a message that changed our document; a local change
//! also resets the count, since the peer then legitimately answers.

use std::collections::BTreeMap;

use automerge::sync::State;
use thiserror::Error;

use crate::document::{DocKind, Document, Received};
use crate::error::DocumentError;
use crate::pairing::Relation;
use crate::wire::Message;

/// Sync messages accepted in a row without any progress.
pub const MAX_IDLE_ROUNDS: u32 = 100;
/// Bytes of sync messages accepted in a row without any progress.
pub const MAX_IDLE_BYTES: u64 = 64 * 1024 * 1024;

/// The documents a device of this relation may have: a partner's device the shared one
/// only, one's own devices the private one too. Both the sync session and repair (which
/// devices can restore a damaged document) ask this.
pub fn documents_for(relation: Relation) -> &'static [DocKind] {
    match relation {
        Relation::Partner => &[DocKind::Shared],
        Relation::Own => &[DocKind::Shared, DocKind::Private],
    }
}

/// Why a peer's sync message was refused; the connection should be closed.
#[derive(Debug, Error)]
pub enum SyncError {
    /// The peer offered or asked for a document it may not have.
    #[error("peer may not sync the {} document", .0.name())]
    Forbidden(DocKind),
    /// The peer exceeded the rounds or bytes allowed without progress.
    #[error("peer sent {rounds} sync messages ({bytes} bytes) that brought nothing")]
    Limit {
        /// Messages without progress.
        rounds: u32,
        /// Their bytes.
        bytes: u64,
    },
    /// The message could not be applied.
    #[error(transparent)]
    Document(#[from] DocumentError),
}

#[derive(Debug, Default)]
struct DocSync {
    state: State,
    idle_rounds: u32,
    idle_bytes: u64,
}

/// Sync with one peer over one connection.
#[derive(Debug)]
pub struct PeerSync {
    docs: BTreeMap<DocKind, DocSync>,
}

impl PeerSync {
    /// A session for the documents in `allowed`, resuming from states saved at the end of
    /// the previous session with this peer (see [`PeerSync::saved_state`]).
    pub fn new(allowed: &[DocKind], mut saved: impl FnMut(DocKind) -> Option<Vec<u8>>) -> Self {
        let docs = allowed
            .iter()
            .map(|&kind| {
                let state = saved(kind)
                    .and_then(|bytes| State::decode(&bytes).ok())
                    .unwrap_or_default();
                (
                    kind,
                    DocSync {
                        state,
                        ..DocSync::default()
                    },
                )
            })
            .collect();
        Self { docs }
    }

    /// The documents this peer may sync.
    pub fn allowed(&self) -> impl Iterator<Item = DocKind> + '_ {
        self.docs.keys().copied()
    }

    /// The message to send now for `doc`, if any: call after connecting, after receiving,
    /// and after every local change.
    pub fn poll(&mut self, doc: &mut Document) -> Option<Message> {
        let sync = self.docs.get_mut(&doc.kind())?;
        doc.sync_message(&mut sync.state).map(|data| Message::Sync {
            doc: doc.kind(),
            data,
        })
    }

    /// Notes a local change to `kind`: the peer will answer, which is not idling.
    pub fn local_change(&mut self, kind: DocKind) {
        if let Some(sync) = self.docs.get_mut(&kind) {
            sync.idle_rounds = 0;
            sync.idle_bytes = 0;
        }
    }

    /// Applies a sync message the peer sent for `doc`. Returns what it did (the caller
    /// persists a change and tells the other peers).
    pub fn receive(&mut self, doc: &mut Document, data: &[u8]) -> Result<Received, SyncError> {
        let kind = doc.kind();
        let sync = self.docs.get_mut(&kind).ok_or(SyncError::Forbidden(kind))?;
        let received = doc.receive_sync_message(&mut sync.state, data)?;
        if received.changed() {
            sync.idle_rounds = 0;
            sync.idle_bytes = 0;
        } else {
            sync.idle_rounds += 1;
            sync.idle_bytes += data.len() as u64;
            if sync.idle_rounds > MAX_IDLE_ROUNDS || sync.idle_bytes > MAX_IDLE_BYTES {
                return Err(SyncError::Limit {
                    rounds: sync.idle_rounds,
                    bytes: sync.idle_bytes,
                });
            }
        }
        Ok(received)
    }

    /// Whether the peer has exactly our `heads` of `kind`, as far as its last message said.
    pub fn in_sync(&self, kind: DocKind, heads: &[automerge::ChangeHash]) -> bool {
        let Some(theirs) = self
            .docs
            .get(&kind)
            .and_then(|s| s.state.their_heads.as_ref())
        else {
            return false;
        };
        let (mut theirs, mut ours) = (theirs.clone(), heads.to_vec());
        theirs.sort();
        ours.sort();
        theirs == ours
    }

    /// Whether `kind` is refused to this peer.
    pub fn forbids(&self, kind: DocKind) -> bool {
        !self.docs.contains_key(&kind)
    }

    /// The state to keep for the next session with this peer (only the shared heads, as
    /// Automerge intends: a stale mid-session state would cause endless sync loops).
    pub fn saved_state(&self, kind: DocKind) -> Option<Vec<u8>> {
        self.docs.get(&kind).map(|s| s.state.encode())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use automerge::ActorId;
    use proptest::prelude::*;

    use super::*;
    use crate::activity::Activity;
    use crate::document::Collection;
    use crate::entity::Entity;
    use crate::ids::EntityId;
    use crate::model::idea::{Idea, IdeaPatch};
    use crate::model::note::{NewNote, Note};
    use crate::test_support::{add_idea, author};

    /// One replica: its documents and a session per other replica.
    struct Replica {
        shared: Document,
        private: Document,
    }

    fn replica() -> Replica {
        let actor = ActorId::random();
        Replica {
            shared: Document::create(DocKind::Shared, actor.clone()),
            private: Document::create(DocKind::Private, actor),
        }
    }

    fn edit_first_idea(doc: &mut Document, text: &str, who: &str) {
        let a = author(who);
        let Some(mut idea) = doc
            .list::<Idea>(Collection::Ideas)
            .unwrap()
            .into_iter()
            .next()
        else {
            return;
        };
        idea.edit(
            IdeaPatch {
                title: None,
                notes: Some(text.into()),
            },
            &a,
        )
        .unwrap();
        doc.put(Collection::Ideas, &idea).unwrap();
        doc.commit(&Activity::new(&a, "idea.edit", None, "x"));
    }

    /// A one-way link: messages in flight from one replica to another, in order.
    type Link = VecDeque<Vec<u8>>;

    /// Runs sync between every pair until nothing is in flight; returns the steps taken.
    fn sync_all(
        replicas: &mut [Replica],
        sessions: &mut BTreeMap<(usize, usize), PeerSync>,
        links: &mut BTreeMap<(usize, usize), Link>,
    ) -> usize {
        let n = replicas.len();
        for steps in 0..10_000 {
            let mut moved = false;
            for a in 0..n {
                for b in 0..n {
                    if a == b {
                        continue;
                    }
                    if let Some(Message::Sync { data, .. }) = sessions
                        .get_mut(&(a, b))
                        .unwrap()
                        .poll(&mut replicas[a].shared)
                    {
                        links.entry((a, b)).or_default().push_back(data);
                        moved = true;
                    }
                    if let Some(data) = links.entry((a, b)).or_default().pop_front() {
                        sessions
                            .get_mut(&(b, a))
                            .unwrap()
                            .receive(&mut replicas[b].shared, &data)
                            .unwrap();
                        moved = true;
                    }
                }
            }
            if !moved {
                return steps;
            }
        }
        panic!("sync did not terminate");
    }

    #[derive(Debug, Clone)]
    enum Step {
        Add(usize),
        Edit(usize, String),
        /// Deliver the next in-flight message on link (from, to), if the link is up.
        Deliver(usize, usize),
        /// Take a link down or up.
        Toggle(usize, usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0..3usize).prop_map(Step::Add),
            ((0..3usize), "[a-z ]{0,12}").prop_map(|(r, t)| Step::Edit(r, t)),
            ((0..3usize), (0..3usize)).prop_map(|(a, b)| Step::Deliver(a, b)),
            ((0..3usize), (0..3usize)).prop_map(|(a, b)| Step::Toggle(a, b)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Random concurrent edits on three replicas, messages delivered in random order
        /// over links that go down and up; then the network heals and sync runs to the
        /// end: every replica has the same heads and the same ideas, and it terminates.
        #[test]
        fn three_replicas_converge(steps in proptest::collection::vec(step(), 1..80)) {
            let mut replicas: Vec<Replica> = (0..3).map(|_| replica()).collect();
            let mut sessions = BTreeMap::new();
            for a in 0..3 {
                for b in 0..3 {
                    if a != b {
                        sessions.insert((a, b), PeerSync::new(&[DocKind::Shared], |_| None));
                    }
                }
            }
            let mut links: BTreeMap<(usize, usize), Link> = BTreeMap::new();
            let mut down = std::collections::BTreeSet::new();
            let mut next_id = 0;
            for s in steps {
                match s {
                    Step::Add(r) => {
                        next_id += 1;
                        add_idea(&mut replicas[r].shared, next_id, "alex");
                    }
                    Step::Edit(r, text) => edit_first_idea(&mut replicas[r].shared, &text, "sam"),
                    Step::Deliver(a, b) if a != b && !down.contains(&(a.min(b), a.max(b))) => {
                        if let Some(Message::Sync { data, .. }) = sessions.get_mut(&(a, b)).unwrap().poll(&mut replicas[a].shared) {
                            links.entry((a, b)).or_default().push_back(data);
                        }
                        if let Some(data) = links.entry((a, b)).or_default().pop_front() {
                            sessions.get_mut(&(b, a)).unwrap().receive(&mut replicas[b].shared, &data).unwrap();
                        }
                    }
                    Step::Toggle(a, b) if a != b => {
                        let key = (a.min(b), a.max(b));
                        if !down.remove(&key) {
                            down.insert(key);
                        }
                    }
                    _ => {}
                }
            }
            sync_all(&mut replicas, &mut sessions, &mut links);
            let heads: Vec<_> = replicas.iter_mut().map(|r| { let mut h = r.shared.heads(); h.sort(); h }).collect();
            prop_assert_eq!(&heads[0], &heads[1]);
            prop_assert_eq!(&heads[1], &heads[2]);
            let ideas: Vec<Vec<Idea>> = replicas.iter().map(|r| r.shared.list(Collection::Ideas).unwrap()).collect();
            prop_assert_eq!(ideas[0].len(), next_id as usize);
            prop_assert_eq!(&ideas[0], &ideas[1]);
            prop_assert_eq!(&ideas[1], &ideas[2]);
        }
    }

    #[test]
    fn partners_get_the_shared_document_and_own_devices_both() {
        assert_eq!(documents_for(Relation::Partner), [DocKind::Shared]);
        assert_eq!(
            documents_for(Relation::Own),
            [DocKind::Shared, DocKind::Private]
        );
        let partner = PeerSync::new(documents_for(Relation::Partner), |_| None);
        assert!(partner.forbids(DocKind::Private));
        assert!(!partner.forbids(DocKind::Shared));
        let own = PeerSync::new(documents_for(Relation::Own), |_| None);
        assert!(!own.forbids(DocKind::Private));
    }

    #[test]
    fn private_documents_are_refused_to_partners() {
        let mut mine = replica();
        let a = author("alex");
        let note = Note::create(
            EntityId::parse("n1").unwrap(),
            NewNote {
                title: None,
                body: "secret".into(),
            },
            &a,
        )
        .unwrap();
        mine.private.put(Collection::Notes, &note).unwrap();
        mine.private
            .commit(&Activity::new(&a, "note.add", None, "x"));
        let mut partner_session = PeerSync::new(documents_for(Relation::Partner), |_| None);
        assert!(
            partner_session.poll(&mut mine.private).is_none(),
            "the private document is never offered"
        );
        let mut theirs = replica();
        let mut own_session = PeerSync::new(documents_for(Relation::Own), |_| None);
        let Some(Message::Sync { data, .. }) = own_session.poll(&mut theirs.private) else {
            panic!("own devices sync private")
        };
        let err = partner_session
            .receive(&mut mine.private, &data)
            .unwrap_err();
        assert!(matches!(err, SyncError::Forbidden(DocKind::Private)));
    }

    /// A replica holding only genesis and one change of its own syncs with one holding 60
    /// ideas: it receives the whole document and adopts it, and nothing either side had
    /// is lost. The peer's document plus the changes adoption kept is the adopted one, so
    /// a store may write them instead of encoding the document again.
    #[test]
    fn a_fresh_replica_adopts_a_whole_document_and_keeps_its_own_changes() {
        let (mut big, mut fresh) = big_and_fresh(1);
        let own_heads = fresh.shared.heads();
        let [to_big, to_fresh] = sync_to_quiet(&mut big, &mut fresh);
        let mut adoptions: Vec<_> = to_fresh
            .into_iter()
            .filter_map(|(_, received)| match received {
                Received::Adopted { whole, kept } => Some((whole, kept)),
                _ => None,
            })
            .collect();
        assert_eq!(adoptions.len(), 1, "the whole document came once");
        assert!(
            to_big
                .iter()
                .all(|(_, r)| !matches!(r, Received::Adopted { .. }))
        );
        assert_converged(&mut big, &mut fresh, 61);
        assert!(fresh.shared.hashes_after(&own_heads).len() >= 60);
        let (whole, kept) = adoptions.pop().unwrap();
        let mut stored = Document::load(DocKind::Shared, &whole, ActorId::random()).unwrap();
        assert!(
            !stored.knows(&own_heads[0]),
            "the peer lacked the fresh change"
        );
        stored.apply_changes(&kept).unwrap();
        assert!(stored.knows(&own_heads[0]), "adoption kept it");
    }

    /// When the fresh replica has written enough that the full one lacks over a third of
    /// its history, each side sends the other its whole document. Only the fresh side
    /// adopts; the full side merges the few changes it lacks, rather than rebuilding its
    /// whole history on top of the fresh document (which took seconds with 10k changes).
    #[test]
    fn only_the_side_with_less_adopts_when_both_send_whole_documents() {
        let (mut big, mut fresh) = big_and_fresh(10);
        let [to_big, to_fresh] = sync_to_quiet(&mut big, &mut fresh);
        let whole = |messages: &[(Vec<u8>, Received)]| {
            messages
                .iter()
                .filter(|(data, _)| {
                    let message = automerge::sync::Message::decode(data).unwrap();
                    crate::document::whole_document(&message.changes).is_some()
                })
                .count()
        };
        assert_eq!(
            (whole(&to_fresh), whole(&to_big)),
            (1, 1),
            "both sent their whole document"
        );
        let adopted = |messages: &[(Vec<u8>, Received)]| {
            messages
                .iter()
                .filter(|(_, r)| matches!(r, Received::Adopted { .. }))
                .count()
        };
        assert_eq!(adopted(&to_fresh), 1, "the fresh side adopted");
        assert_eq!(adopted(&to_big), 0, "the full side merged");
        assert!(to_big.iter().any(|(_, r)| *r == Received::Changed));
        assert_converged(&mut big, &mut fresh, 70);
    }

    /// Syncs the two replicas' shared documents until neither has anything to send; the
    /// messages each received, with what receiving them did (`[to big, to fresh]`). Both
    /// poll before either receives, as two laptops whose first messages cross; `sync_all`
    /// delivers each message at once, so the second side would answer instead of sending
    /// its whole document.
    fn sync_to_quiet(big: &mut Replica, fresh: &mut Replica) -> [Vec<(Vec<u8>, Received)>; 2] {
        let mut big_session = PeerSync::new(&[DocKind::Shared], |_| None);
        let mut fresh_session = PeerSync::new(&[DocKind::Shared], |_| None);
        let (mut to_big, mut to_fresh) = (Vec::new(), Vec::new());
        for _ in 0..20 {
            let for_fresh = big_session.poll(&mut big.shared);
            let for_big = fresh_session.poll(&mut fresh.shared);
            if for_fresh.is_none() && for_big.is_none() {
                return [to_big, to_fresh];
            }
            if let Some(Message::Sync { data, .. }) = for_fresh {
                let received = fresh_session.receive(&mut fresh.shared, &data).unwrap();
                to_fresh.push((data, received));
            }
            if let Some(Message::Sync { data, .. }) = for_big {
                let received = big_session.receive(&mut big.shared, &data).unwrap();
                to_big.push((data, received));
            }
        }
        panic!("the replicas still had messages after 20 rounds");
    }

    /// A replica with 60 ideas by Alex, and a fresh one with `fresh_ideas` by Sam.
    fn big_and_fresh(fresh_ideas: u32) -> (Replica, Replica) {
        let mut big = replica();
        for id in 0..60 {
            add_idea(&mut big.shared, id, "alex");
        }
        let mut fresh = replica();
        for id in 1000..1000 + fresh_ideas {
            add_idea(&mut fresh.shared, id, "sam");
        }
        (big, fresh)
    }

    /// Both replicas have the same heads and the `ideas` of both sides.
    fn assert_converged(big: &mut Replica, fresh: &mut Replica, ideas: usize) {
        let (mut big_heads, mut fresh_heads) = (big.shared.heads(), fresh.shared.heads());
        big_heads.sort();
        fresh_heads.sort();
        assert_eq!(big_heads, fresh_heads);
        for r in [big, fresh] {
            let listed: Vec<Idea> = r.shared.list(Collection::Ideas).unwrap();
            assert_eq!(listed.len(), ideas, "every idea of both sides");
        }
    }

    #[test]
    fn a_flooding_peer_is_cut() {
        let mut mine = replica();
        let mut theirs = replica();
        let mut session = PeerSync::new(&[DocKind::Shared], |_| None);
        // The same "hello, what do you have" message over and over brings nothing new.
        let mut their_state = State::new();
        let data = theirs.shared.sync_message(&mut their_state).unwrap();
        let mut cut = false;
        for _ in 0..=MAX_IDLE_ROUNDS {
            if let Err(SyncError::Limit { .. }) = session.receive(&mut mine.shared, &data) {
                cut = true;
                break;
            }
        }
        assert!(cut);
    }
}
