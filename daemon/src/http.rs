//! Serving HTTP/1.1 connections with deadlines and connection slots, for both listeners.
//!
//! A client that connects and then sends nothing (or half a request, slowly) costs a
//! connection slot for as long as the server waits. Without deadlines a handful of such
//! clients lock everyone else out, so every connection here runs under [`Limits`]: a
//! deadline for the handshake before HTTP (TLS on the phone listener), hyper's header-read
//! timeout (which also bounds the wait for the next request on a kept-alive connection, as
//! hyper counts that wait as reading headers), and slots capped overall and per source
//! address. A connection over its source's share is closed at once rather than queued, so
//! other sources are still served. Refusals and slow clients are logged once per source
//! and minute, so a flood cannot fill the disk with log lines.
//!
//! An open response (an SSE event stream) is not idle: the header-read timeout only runs
//! while hyper waits for a request head, never while it writes a response.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tandem_protocol::admission::{self, Full};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tower::ServiceExt;

use crate::notices::Notices;
use crate::slots::SharedSlots;

/// How much of the daemon one listener's clients may hold, and for how long.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections served at once.
    pub total: usize,
    /// Connections served at once from one source address (`admission::source`).
    pub per_source: usize,
    /// Time to finish the handshake before HTTP.
    pub handshake: Duration,
    /// Time to send a request's headers, counted from the end of the previous response
    /// on a kept-alive connection: an idle connection is closed after this.
    pub header_read: Duration,
}

/// How long to wait before accepting again when the OS refuses (e.g. out of descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts connections on `listener` and serves `app` on each, after `handshake` turns
/// the TCP stream into the stream HTTP runs on. Runs until `stopping` turns true, then
/// shuts every connection down gracefully and returns once all have ended. `name` says
/// which listener a log line is about.
pub async fn serve<H, F, S>(
    name: &'static str,
    listener: TcpListener,
    limits: Limits,
    app: Router,
    handshake: H,
    mut stopping: watch::Receiver<bool>,
) where
    H: Fn(TcpStream) -> F + Clone + Send + 'static,
    F: Future<Output = std::io::Result<S>> + Send + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let slots = SharedSlots::new(limits.total, limits.per_source);
    let notices = Notices::new(name);
    // Each connection task holds a sender; the receiver sees the channel close when the
    // last one ends.
    let (alive, mut all_ended) = mpsc::channel::<()>(1);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut stopping) => break,
        };
        let (tcp, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::debug!("{name}: accept failed: {e}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let source = remote.ip();
        let slot = match slots.try_take(admission::source(source)) {
            Ok(slot) => slot,
            Err(full) => {
                match full {
                    Full::Source => notices.note(
                        source,
                        format_args!(
                            "refused a connection: it already has {} open, the most one \
                             address may have",
                            limits.per_source
                        ),
                    ),
                    Full::Total => notices.note(
                        source,
                        format_args!(
                            "refused a connection: all {} connections are in use",
                            limits.total
                        ),
                    ),
                }
                continue;
            }
        };
        let (handshake, app, stopping, notices, alive) = (
            handshake.clone(),
            app.clone(),
            stopping.clone(),
            notices.clone(),
            alive.clone(),
        );
        tokio::spawn(async move {
            let _slot = slot;
            let _alive = alive;
            let stream = match tokio::time::timeout(limits.handshake, handshake(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!(%remote, "{name}: handshake failed: {e}");
                    return;
                }
                Err(_) => {
                    notices.note(
                        source,
                        format_args!(
                            "closed a connection that did not finish its TLS handshake within {} s",
                            limits.handshake.as_secs()
                        ),
                    );
                    return;
                }
            };
            match serve_connection(stream, remote, app, limits.header_read, stopping).await {
                Err(e) if e.is_timeout() => {
                    notices.note(
                        source,
                        format_args!(
                            "closed a connection that sent no request within {} s",
                            limits.header_read.as_secs()
                        ),
                    );
                }
                Err(e) => tracing::debug!(%remote, "{name}: connection ended: {e}"),
                Ok(()) => {}
            }
        });
    }
    drop(listener);
    drop(alive);
    let _ = all_ended.recv().await;
}

/// Serves HTTP/1.1 on one connection until the client leaves, a deadline passes, or
/// `stopping` turns true (then the request in flight is finished first).
async fn serve_connection<S>(
    stream: S,
    remote: SocketAddr,
    app: Router,
    header_read: Duration,
    mut stopping: watch::Receiver<bool>,
) -> Result<(), hyper::Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(remote));
        app.clone().oneshot(request)
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read)
        .serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => result,
        () = stopped(&mut stopping) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    }
}

/// Resolves once `stopping` turns true (or its sender is gone).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|s| *s).await;
}
