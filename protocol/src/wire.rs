//! What two daemons say to each other: length-prefixed frames carrying versioned messages.
//!
//! A frame is a 4-byte big-endian length and that many payload bytes; a length over
//! [`MAX_FRAME`] is a protocol error and the connection is closed. Payloads are [`Message`]s
//! encoded with postcard (compact, so one small edit stays well under a kilobyte). The
//! decoder is pure and never panics, whatever the bytes: the daemon feeds it what the socket
//! gave and acts on what comes out.

use std::collections::BTreeMap;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::document::DocKind;
use crate::ids::PersonId;

/// The `version` of [`Message::Hello`] (and of pairing messages): 1 forever, since builds
/// of the first release refuse any other. Later protocol versions are negotiated with the
/// [`HelloExtension`] that follows the Hello.
pub const PROTOCOL_VERSION: u32 = 1;

/// The peer-protocol versions this build speaks. Version 1 is frames of [`Message`] with
/// Automerge sync messages, as the first release spoke it. Version 2 adds
/// [`Message::SyncDeflated`] ([`SyncDeflate`]).
pub const PROTOCOLS: VersionRange = VersionRange { min: 1, max: 2 };
/// The first protocol version with [`Message::SyncDeflated`].
pub const DEFLATE_SINCE: u32 = 2;
/// Sync messages longer than this go out as they are, even under [`DEFLATE_SINCE`]: the
/// only ones that large carry a whole saved document, which Automerge already compressed.
pub const DEFLATE_UP_TO: usize = 64 * 1024;
/// Largest accepted frame payload.
pub const MAX_FRAME: usize = 16 * 1024 * 1024;
const LEN: usize = 4;

/// A peer broke the framing or sent something that is not a message.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WireError {
    /// The announced frame is larger than the connection allows.
    #[error("frame of {len} bytes is over the limit of {limit} bytes")]
    FrameTooLarge {
        /// The announced length.
        len: usize,
        /// The limit on this connection.
        limit: usize,
    },
    /// The payload is not a message of this protocol.
    #[error("undecodable message: {0}")]
    Garbage(String),
}

/// Why a connection is being closed, sent in [`Message::Error`] before closing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The peer speaks another protocol version.
    Version,
    /// The peer asked for a document it may not have (e.g. a partner asking for private).
    Forbidden,
    /// The peer exceeded a limit (frame size, sync rounds or bytes).
    Limit,
    /// The peer sent something malformed.
    Malformed,
    /// The daemon is shutting down.
    Shutdown,
}

/// One message between two paired daemons.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// First message on each side of a connection.
    Hello {
        /// [`PROTOCOL_VERSION`] of the sender.
        version: u32,
        /// Device id of the sender (also proven by its TLS certificate).
        device_id: String,
        /// The person the sending device belongs to.
        person: PersonId,
        /// The documents the sender offers to this peer.
        docs: Vec<DocKind>,
        /// The sender's clock (Unix milliseconds), to warn about skew between laptops.
        now_ms: i64,
    },
    /// An Automerge sync message for one document.
    Sync {
        /// Which document.
        doc: DocKind,
        /// `automerge::sync::Message::encode` bytes.
        data: Vec<u8>,
    },
    /// An Automerge sync message for one document, deflated as the next piece of that
    /// document's stream on this connection ([`SyncDeflate`]); protocol 2 and later only.
    SyncDeflated {
        /// Which document.
        doc: DocKind,
        /// The message's bytes, deflated.
        data: Vec<u8>,
    },
    /// Keep-alive: "I am still here". Sent when the connection was quiet for a while, so a
    /// partner whose laptop vanished (sleep, Wi-Fi gone) is noticed.
    Ping,
    /// The sender is closing the connection, and why.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable detail, for the log.
        message: String,
    },
}

/// A range of protocol versions a build speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRange {
    /// The oldest.
    pub min: u32,
    /// The newest.
    pub max: u32,
}

impl VersionRange {
    /// The newest version both ranges hold, if they overlap.
    pub fn agree(self, theirs: VersionRange) -> Option<u32> {
        let version = self.max.min(theirs.max);
        (version >= self.min.max(theirs.min)).then_some(version)
    }
}

/// What a Hello says beyond the first release's fields. It travels in the Hello's frame
/// right after the [`Message::Hello`]: postcard ignores bytes after a value, so a
/// first-release build reads the Hello and skips this, and a build that knows fewer fields
/// of this struct reads those and skips the rest. Fields are therefore only ever appended,
/// never removed, reordered or retyped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloExtension {
    /// The protocol versions the sender speaks; both sides use the newest they share.
    pub protocols: VersionRange,
    /// The newest document schema version the sender's build knows.
    pub schema: u32,
    /// The sender's X25519 public half of the mailbox key of this pair
    /// ([`crate::mailbox::key`]); `None` from builds without the mailbox. Sent only over
    /// the pinned connection, which authenticates it.
    pub mailbox: Option<[u8; 32]>,
}

/// The extension as builds before the mailbox sent it, read when the newer fields are
/// missing.
#[derive(Deserialize)]
struct ExtensionBeforeMailbox {
    protocols: VersionRange,
    schema: u32,
}

impl HelloExtension {
    /// What a first-release peer, which sends no extension, speaks and knows.
    pub const FIRST_RELEASE: HelloExtension = HelloExtension {
        protocols: VersionRange { min: 1, max: 1 },
        schema: 1,
        mailbox: None,
    };

    /// The frame of `hello` (a [`Message::Hello`]) followed by this extension.
    pub fn frame(&self, hello: &Message) -> Vec<u8> {
        let mut payload = postcard::to_stdvec(hello).expect("messages always serialize");
        payload.extend(postcard::to_stdvec(self).expect("extensions always serialize"));
        frame(&payload)
    }

    /// The extension in the payload of a Hello frame; [`HelloExtension::FIRST_RELEASE`]
    /// when there is none.
    pub fn of(payload: &[u8]) -> Result<Self, WireError> {
        let garbage = |e: postcard::Error| WireError::Garbage(e.to_string());
        let (_, rest) = postcard::take_from_bytes::<Message>(payload).map_err(garbage)?;
        if rest.is_empty() {
            return Ok(Self::FIRST_RELEASE);
        }
        if let Ok((extension, _newer_fields)) = postcard::take_from_bytes(rest) {
            return Ok(extension);
        }
        let (older, _): (ExtensionBeforeMailbox, _) =
            postcard::take_from_bytes(rest).map_err(garbage)?;
        Ok(Self {
            protocols: older.protocols,
            schema: older.schema,
            mailbox: None,
        })
    }
}

impl Message {
    /// The frame carrying this message: length prefix and payload.
    pub fn to_frame(&self) -> Vec<u8> {
        frame(&postcard::to_stdvec(self).expect("messages always serialize"))
    }

    /// Reads a frame payload.
    pub fn decode(payload: &[u8]) -> Result<Self, WireError> {
        postcard::from_bytes(payload).map_err(|e| WireError::Garbage(e.to_string()))
    }
}

/// The deflate streams of one connection (protocol 2): one per document and direction,
/// kept for the life of the connection, so that what one small edit's sync message shares
/// with earlier ones (field names, ids, the heads it acknowledges) costs a back-reference.
/// A typical small edit goes from about 640 bytes to about 140.
///
/// Each document has its own stream so that nothing a peer can write into one document
/// (the partner's edits to the shared one) is ever compressed together with another (the
/// private one, which goes to one's own devices): compressed lengths then tell an observer
/// nothing about a document from text chosen in another.
#[derive(Default)]
pub struct SyncDeflate {
    outgoing: BTreeMap<DocKind, Compress>,
    incoming: BTreeMap<DocKind, Decompress>,
}

impl std::fmt::Debug for SyncDeflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncDeflate").finish_non_exhaustive()
    }
}

impl SyncDeflate {
    /// The message carrying the sync message `data` for `doc`: deflated onto the
    /// document's stream, unless it is over [`DEFLATE_UP_TO`] bytes.
    pub fn wrap(&mut self, doc: DocKind, data: Vec<u8>) -> Message {
        if data.len() > DEFLATE_UP_TO {
            return Message::Sync { doc, data };
        }
        let stream = self
            .outgoing
            .entry(doc)
            .or_insert_with(|| Compress::new(Compression::default(), false));
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        let mut consumed = 0;
        loop {
            let before = stream.total_in();
            stream
                .compress_vec(&data[consumed..], &mut out, FlushCompress::Sync)
                .expect("deflating into a growing buffer cannot fail");
            consumed += (stream.total_in() - before) as usize;
            // A sync flush is complete once all input is in and the output was not full.
            if consumed == data.len() && out.len() < out.capacity() {
                return Message::SyncDeflated { doc, data: out };
            }
            out.reserve(out.capacity().max(64));
        }
    }

    /// The sync message a [`Message::SyncDeflated`] for `doc` carries. Refuses one that
    /// would inflate beyond [`MAX_FRAME`], so a small frame cannot make us allocate more
    /// than a plain one could.
    pub fn inflate(&mut self, doc: DocKind, data: &[u8]) -> Result<Vec<u8>, WireError> {
        let stream = self
            .incoming
            .entry(doc)
            .or_insert_with(|| Decompress::new(false));
        let mut out = Vec::with_capacity(data.len() * 4 + 64);
        let mut consumed = 0;
        loop {
            let (read_before, written_before) = (stream.total_in(), out.len());
            stream
                .decompress_vec(&data[consumed..], &mut out, FlushDecompress::Sync)
                .map_err(|e| WireError::Garbage(format!("deflated sync message: {e}")))?;
            consumed += (stream.total_in() - read_before) as usize;
            if out.len() > MAX_FRAME {
                return Err(WireError::FrameTooLarge {
                    len: out.len(),
                    limit: MAX_FRAME,
                });
            }
            let room = out.len() < out.capacity();
            if consumed == data.len() && room {
                return Ok(out);
            }
            let stuck = stream.total_in() == read_before && out.len() == written_before;
            if stuck && room {
                return Err(WireError::Garbage(
                    "deflated sync message that does not continue its stream".into(),
                ));
            }
            // Grow by doubling, but never past one byte over the limit.
            out.reserve(out.capacity().clamp(64, MAX_FRAME + 1 - out.len()));
        }
    }
}

/// A payload with its length prefix.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(LEN + payload.len());
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// Splits a byte stream into frame payloads.
#[derive(Debug)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
    limit: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::with_limit(MAX_FRAME)
    }
}

impl FrameDecoder {
    /// A decoder refusing frames over `limit` bytes (at most [`MAX_FRAME`]): connections
    /// from devices that have proven nothing yet get a small one.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            buffer: Vec::new(),
            limit: limit.min(MAX_FRAME),
        }
    }

    /// Adds bytes as they arrive from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete frame payload, `None` if more bytes are needed. An oversized
    /// length is an error as soon as the 4 length bytes are in, before any payload is
    /// buffered.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, WireError> {
        if self.buffer.len() < LEN {
            return Ok(None);
        }
        let len = u32::from_be_bytes([
            self.buffer[0],
            self.buffer[1],
            self.buffer[2],
            self.buffer[3],
        ]) as usize;
        if len > self.limit {
            return Err(WireError::FrameTooLarge {
                len,
                limit: self.limit,
            });
        }
        if self.buffer.len() < LEN + len {
            return Ok(None);
        }
        let payload = self.buffer[LEN..LEN + len].to_vec();
        self.buffer.drain(..LEN + len);
        Ok(Some(payload))
    }

    /// The next complete message, decoded.
    pub fn next_message(&mut self) -> Result<Option<Message>, WireError> {
        self.next_frame()?
            .map(|payload| Message::decode(&payload))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hello() -> Message {
        Message::Hello {
            version: PROTOCOL_VERSION,
            device_id: "ABCD-EFGH".into(),
            person: PersonId::parse("alex").unwrap(),
            docs: vec![DocKind::Shared],
            now_ms: 0,
        }
    }

    /// [`Message`] exactly as the first release declared it, to prove it still reads
    /// this build's Hello.
    #[derive(Debug, Deserialize)]
    enum FirstReleaseMessage {
        Hello {
            version: u32,
            device_id: String,
            person: PersonId,
            docs: Vec<DocKind>,
            now_ms: i64,
        },
    }

    fn payload(frame: &[u8]) -> &[u8] {
        &frame[LEN..]
    }

    #[test]
    fn a_first_release_build_reads_this_builds_hello() {
        let extension = HelloExtension {
            protocols: VersionRange { min: 1, max: 3 },
            schema: 2,
            mailbox: Some([7; 32]),
        };
        let frame = extension.frame(&hello());
        let FirstReleaseMessage::Hello {
            version,
            device_id,
            person,
            docs,
            now_ms,
        } = postcard::from_bytes(payload(&frame)).unwrap();
        assert_eq!(version, 1, "first-release builds refuse any other");
        assert_eq!(
            (device_id.as_str(), person.as_str(), docs, now_ms),
            ("ABCD-EFGH", "alex", vec![DocKind::Shared], 0)
        );
        assert_eq!(Message::decode(payload(&frame)).unwrap(), hello());
        assert_eq!(HelloExtension::of(payload(&frame)).unwrap(), extension);
    }

    #[test]
    fn deflated_sync_messages_round_trip_on_one_stream_per_document() {
        let (mut sender, mut receiver) = (SyncDeflate::default(), SyncDeflate::default());
        let message = |n: usize| format!("change {n}: title, notes, created_by alex").into_bytes();
        let mut sizes = Vec::new();
        for n in 0..20 {
            for doc in DocKind::ALL {
                let data = message(n);
                let Message::SyncDeflated {
                    doc: kind,
                    data: deflated,
                } = sender.wrap(doc, data.clone())
                else {
                    panic!("a small message is deflated")
                };
                assert_eq!(kind, doc);
                sizes.push(deflated.len());
                assert_eq!(receiver.inflate(doc, &deflated).unwrap(), data);
            }
        }
        assert!(
            sizes.last().unwrap() * 2 < message(19).len(),
            "later messages cost back-references: {sizes:?}"
        );
    }

    #[test]
    fn large_sync_messages_go_as_they_are() {
        let data = vec![7; DEFLATE_UP_TO + 1];
        assert_eq!(
            SyncDeflate::default().wrap(DocKind::Shared, data.clone()),
            Message::Sync {
                doc: DocKind::Shared,
                data
            }
        );
    }

    #[test]
    fn deflated_garbage_and_bombs_are_refused() {
        let mut receiver = SyncDeflate::default();
        assert!(matches!(
            receiver.inflate(DocKind::Shared, &[0xff; 64]),
            Err(WireError::Garbage(_))
        ));
        let mut bomb = Compress::new(Compression::best(), false);
        let zeros = vec![0; MAX_FRAME + 1];
        let mut deflated = Vec::with_capacity(MAX_FRAME / 100);
        bomb.compress_vec(&zeros, &mut deflated, FlushCompress::Sync)
            .unwrap();
        assert!(deflated.len() < MAX_FRAME / 100, "{}", deflated.len());
        assert!(matches!(
            SyncDeflate::default().inflate(DocKind::Shared, &deflated),
            Err(WireError::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn a_hello_without_extension_is_a_first_release_peer() {
        let frame = hello().to_frame();
        assert_eq!(
            HelloExtension::of(payload(&frame)).unwrap(),
            HelloExtension::FIRST_RELEASE
        );
    }

    #[test]
    fn fields_a_newer_build_appends_to_the_extension_are_skipped() {
        #[derive(Serialize)]
        struct NewerExtension {
            protocols: VersionRange,
            schema: u32,
            mailbox: Option<[u8; 32]>,
            features: Vec<String>,
            nickname: String,
        }
        let newer = NewerExtension {
            protocols: VersionRange {
                min: 1,
                max: PROTOCOLS.max + 1,
            },
            schema: 3,
            mailbox: Some([3; 32]),
            features: vec!["outings".into()],
            nickname: "Sam's laptop".into(),
        };
        let mut bytes = postcard::to_stdvec(&hello()).unwrap();
        bytes.extend(postcard::to_stdvec(&newer).unwrap());
        let read = HelloExtension::of(&bytes).unwrap();
        assert_eq!(read.schema, 3);
        assert_eq!(read.mailbox, Some([3; 32]));
        assert_eq!(PROTOCOLS.agree(read.protocols), Some(PROTOCOLS.max));
    }

    #[test]
    fn an_extension_from_before_the_mailbox_reads_without_a_key() {
        #[derive(Serialize)]
        struct Older {
            protocols: VersionRange,
            schema: u32,
        }
        let mut bytes = postcard::to_stdvec(&hello()).unwrap();
        bytes.extend(
            postcard::to_stdvec(&Older {
                protocols: PROTOCOLS,
                schema: 2,
            })
            .unwrap(),
        );
        let read = HelloExtension::of(&bytes).unwrap();
        assert_eq!((read.schema, read.mailbox), (2, None));
    }

    #[test]
    fn versions_agree_on_the_newest_shared_one() {
        let range = |min, max| VersionRange { min, max };
        assert_eq!(range(1, 1).agree(range(1, 3)), Some(1));
        assert_eq!(range(1, 3).agree(range(2, 4)), Some(3));
        assert_eq!(range(1, 1).agree(range(2, 3)), None);
        assert_eq!(range(2, 3).agree(range(1, 1)), None);
    }

    #[test]
    fn messages_round_trip_through_split_frames() {
        let messages = [
            hello(),
            Message::Sync {
                doc: DocKind::Shared,
                data: vec![1, 2, 3],
            },
            Message::Error {
                code: ErrorCode::Limit,
                message: "too much".into(),
            },
        ];
        let stream: Vec<u8> = messages.iter().flat_map(Message::to_frame).collect();
        let mut decoder = FrameDecoder::default();
        let mut out = Vec::new();
        for chunk in stream.chunks(3) {
            decoder.push(chunk);
            while let Some(m) = decoder.next_message().unwrap() {
                out.push(m);
            }
        }
        assert_eq!(out, messages);
    }

    #[test]
    fn oversized_frames_are_refused_before_buffering() {
        let mut decoder = FrameDecoder::default();
        decoder.push(&((MAX_FRAME + 1) as u32).to_be_bytes());
        assert_eq!(
            decoder.next_frame(),
            Err(WireError::FrameTooLarge {
                len: MAX_FRAME + 1,
                limit: MAX_FRAME
            })
        );
    }

    #[test]
    fn a_small_limit_refuses_at_the_length_prefix() {
        let mut decoder = FrameDecoder::with_limit(4096);
        decoder.push(&frame(&[7; 4096]));
        assert_eq!(decoder.next_frame(), Ok(Some(vec![7; 4096])));
        decoder.push(&4097u32.to_be_bytes());
        assert_eq!(
            decoder.next_frame(),
            Err(WireError::FrameTooLarge {
                len: 4097,
                limit: 4096
            })
        );
    }

    #[test]
    fn a_small_sync_message_is_small() {
        let frame = Message::Sync {
            doc: DocKind::Shared,
            data: vec![0; 300],
        }
        .to_frame();
        assert!(frame.len() < 310, "{} bytes", frame.len());
    }

    proptest! {
        #[test]
        fn decoder_never_panics(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16)) {
            let mut decoder = FrameDecoder::default();
            for chunk in chunks {
                decoder.push(&chunk);
                while let Ok(Some(_)) = decoder.next_message() {}
            }
        }

        #[test]
        fn any_payload_decodes_or_errs(payload in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Message::decode(&payload);
        }
    }
}
