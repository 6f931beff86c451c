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
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tandem_protocol::admission::{Full, LogGate};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tower::ServiceExt;

use crate::slots::SharedSlots;

/// How much of the daemon one listener's clients may hold, and for how long.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections served at once.
    pub total: usize,
    /// Connections served at once from one source (an IPv6 source is its /64).
    pub per_source: usize,
    /// Time to finish the handshake before HTTP.
    pub handshake: Duration,
    /// Time to send a request's headers, counted from the end of the previous response
    /// on a kept-alive connection: an idle connection is closed after this.
    pub header_read: Duration,
}

/// Refusals and slow clients of one source are logged once per this period.
const LOG_PERIOD: Duration = Duration::from_secs(60);

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
        let source = source_key(remote.ip());
        let slot = match slots.try_take(source) {
            Ok(slot) => slot,
            Err(full) => {
                notices.refused(source, full, &limits);
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
                    notices.slow(source, "did not finish its TLS handshake", limits.handshake);
                    return;
                }
            };
            match serve_connection(stream, remote, app, limits.header_read, stopping).await {
                Err(e) if e.is_timeout() => {
                    notices.slow(source, "sent no request", limits.header_read);
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

/// The address a source is counted under: an IPv4 address (also when mapped into
/// IPv6), or the /64 of an IPv6 one, since one device can use any address of its /64.
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & (u128::MAX << 64);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// A listener's log lines about refusals and slow clients: once per source and
/// [`LOG_PERIOD`], with the count of those kept quiet since.
#[derive(Clone)]
struct Notices {
    listener: &'static str,
    gate: Arc<Mutex<LogGate<IpAddr>>>,
}

impl Notices {
    fn new(listener: &'static str) -> Self {
        Self {
            listener,
            gate: Arc::new(Mutex::new(LogGate::new(LOG_PERIOD))),
        }
    }

    /// `Some(quiet)` when a line about `source` may be written now.
    fn admit(&self, source: IpAddr) -> Option<u64> {
        self.gate
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .admit(&source, jiff::Timestamp::now())
    }

    fn refused(&self, source: IpAddr, full: Full, limits: &Limits) {
        let Some(quiet) = self.admit(source) else {
            return;
        };
        let listener = self.listener;
        match full {
            Full::Source => tracing::warn!(
                "{listener}: refused a connection from {source}: it already has {} open, the most \
                 one address may have ({quiet} more events from it not logged in the last minute)",
                limits.per_source
            ),
            Full::Total => tracing::warn!(
                "{listener}: refused a connection from {source}: all {} connections are in use \
                 ({quiet} more events from it not logged in the last minute)",
                limits.total
            ),
        }
    }

    fn slow(&self, source: IpAddr, what: &str, within: Duration) {
        if let Some(quiet) = self.admit(source) {
            tracing::info!(
                "{}: closed a connection from {source} that {what} within {} s \
                 ({quiet} more events from it not logged in the last minute)",
                self.listener,
                within.as_secs()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_source_is_its_slash_64_and_a_mapped_ipv4_is_itself() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source_key(a), source_key(b));
        assert_ne!(source_key(a), source_key(other));
        let mapped: IpAddr = "::ffff:192.168.1.20".parse().unwrap();
        assert_eq!(
            source_key(mapped),
            "192.168.1.20".parse::<IpAddr>().unwrap()
        );
    }
}
