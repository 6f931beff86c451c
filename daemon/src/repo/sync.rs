//! Automerge sync with a paired device's connection: what to send, what arrived.

use std::collections::BTreeMap;

use tandem_protocol::device::DeviceId;
use tandem_protocol::document::{DocKind, Received};
use tandem_protocol::sync::PeerSync;
use tandem_protocol::wire::Message;

use super::{ChangeEvent, Repo, RepoError};

impl Repo {
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
        match session.receive(&mut slot.doc, data)? {
            Received::Unchanged => return Ok(()),
            Received::Changed => {}
            Received::Adopted { whole, kept } => slot.store.adopt(&mut slot.doc, &whole, &kept)?,
        }
        self.absorb(from, kind, &before)
    }

    /// Applies the changes of a mailbox bundle from `from` exactly as a sync message's
    /// (staged, announced, check-ins revealed). Returns whether anything was new.
    pub fn mailbox_receive(
        &mut self,
        from: DeviceId,
        kind: DocKind,
        changes: &[u8],
    ) -> Result<bool, RepoError> {
        let slot = self.slot(kind);
        let before = slot.doc.heads();
        slot.doc.apply_changes(changes)?;
        if slot.doc.heads() == before {
            return Ok(false);
        }
        self.absorb(from, kind, &before)?;
        Ok(true)
    }

    /// The document of `kind`, for the mailbox's decisions (which only read it).
    pub fn mailbox_doc(&mut self, kind: DocKind) -> &mut tandem_protocol::document::Document {
        &mut self.slot(kind).doc
    }

    /// What a peer's changes to `kind` since `before` brought: staged to be made durable,
    /// announced as change events from `from` (so the feed shows the partner's edits and
    /// the connection they came from is not woken by them), check-ins revealed.
    fn absorb(
        &mut self,
        from: DeviceId,
        kind: DocKind,
        before: &[automerge::ChangeHash],
    ) -> Result<(), RepoError> {
        let slot = self.slot(kind);
        slot.store.stage(&mut slot.doc)?;
        let brought = slot.doc.activity_since(before);
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
}
