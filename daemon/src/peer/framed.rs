//! Frames over an async byte stream: the I/O half of `tandem_protocol::wire`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tandem_protocol::wire::{FrameDecoder, WireError};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A peer that takes longer than this to accept a frame is treated as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(15);
const READ_CHUNK: usize = 64 * 1024;

/// The stream failed or carried something that is not a frame.
#[derive(Debug, Error)]
pub enum FramedError {
    /// Socket error.
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
    /// Broken framing.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The peer stopped reading.
    #[error("peer did not accept data for {0:?}")]
    WriteTimeout(Duration),
}

/// Bytes moved over one connection, shown by `tandem peers` and used by the benchmark.
#[derive(Debug, Default)]
pub struct Traffic {
    /// Frame bytes written (TLS record overhead not included).
    pub sent: AtomicU64,
    /// Frame bytes read.
    pub received: AtomicU64,
}

/// A byte stream read and written in frames.
pub struct Framed<S> {
    stream: S,
    decoder: FrameDecoder,
    buffer: Box<[u8]>,
    traffic: Arc<Traffic>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Framed<S> {
    /// Wraps a connected stream whose peer is authenticated.
    pub fn new(stream: S) -> Self {
        Self::with_limit(stream, tandem_protocol::wire::MAX_FRAME)
    }

    /// Wraps a connected stream refusing frames over `limit` bytes; for peers that have
    /// proven nothing yet, so each costs little memory.
    pub fn with_limit(stream: S, limit: usize) -> Self {
        Self {
            stream,
            decoder: FrameDecoder::with_limit(limit),
            buffer: vec![0; READ_CHUNK.min(limit)].into_boxed_slice(),
            traffic: Arc::default(),
        }
    }

    /// The connection's byte counters.
    pub fn traffic(&self) -> Arc<Traffic> {
        self.traffic.clone()
    }

    /// The next frame payload; `None` when the peer closed the stream. Cancel-safe: bytes
    /// read are kept in the decoder even if the caller stops waiting.
    pub async fn recv(&mut self) -> Result<Option<Vec<u8>>, FramedError> {
        loop {
            if let Some(frame) = self.decoder.next_frame()? {
                return Ok(Some(frame));
            }
            let n = self.stream.read(&mut self.buffer).await?;
            if n == 0 {
                return Ok(None);
            }
            self.decoder.push(&self.buffer[..n]);
            self.traffic.received.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    /// Writes one complete frame (length prefix included).
    pub async fn send(&mut self, frame: &[u8]) -> Result<(), FramedError> {
        let write = async {
            self.stream.write_all(frame).await?;
            self.stream.flush().await
        };
        tokio::time::timeout(WRITE_TIMEOUT, write)
            .await
            .map_err(|_| FramedError::WriteTimeout(WRITE_TIMEOUT))??;
        self.traffic
            .sent
            .fetch_add(frame.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Writes a payload as a frame.
    pub async fn send_payload(&mut self, payload: &[u8]) -> Result<(), FramedError> {
        self.send(&tandem_protocol::wire::frame(payload)).await
    }

    /// Closes the write side so the peer sees a clean end.
    pub async fn shutdown(&mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.stream.shutdown()).await;
    }
}
