//! What two daemons say to each other: length-prefixed frames carrying versioned messages.
//!
//! A frame is a 4-byte big-endian length and that many payload bytes; a length over
//! [`MAX_FRAME`] is a protocol error and the connection is closed. Payloads are [`Message`]s
//! encoded with postcard (compact, so one small edit stays well under a kilobyte). The
//! decoder is pure and never panics, whatever the bytes: the daemon feeds it what the socket
//! gave and acts on what comes out.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::document::DocKind;
use crate::ids::PersonId;

/// Version of the peer protocol, sent in [`Message::Hello`].
pub const PROTOCOL_VERSION: u32 = 1;
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
