//! One live connection to a paired device: Hello, then Automerge sync until either side
//! goes away.
//!
//! After the Hello exchange both sides poll every document the peer may have, so they sync
//! to quiescence; afterwards each local change (a [`ChangeEvent`] from the repo) is pushed
//! at once. Anything unexpected (garbage, oversized frames, another protocol version,
//! asking for the private document as a partner, endless sync rounds) closes the
//! connection with a logged reason; the daemon keeps serving everyone else.

use std::sync::Arc;
use std::time::Duration;

use tandem_protocol::device::DeviceId;
use tandem_protocol::document::DocKind;
use tandem_protocol::schema::Schema;
use tandem_protocol::sync::{PeerSync, documents_for};
use tandem_protocol::wire::{
    DEFLATE_SINCE, ErrorCode, HelloExtension, Message, PROTOCOL_VERSION, PROTOCOLS, SyncDeflate,
    WireError,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::broadcast::error::RecvError;

use super::framed::{Framed, FramedError};
use super::{PeerHub, Route};
use crate::repo::{ChangeEvent, Repo, RepoError};

/// Sync messages sent for one document before waiting for the peer.
const MAX_MESSAGES_PER_POLL: usize = 8;
/// A ping goes out this often, so both sides hear from each other.
const PING_EVERY: Duration = Duration::from_secs(10);
/// A peer silent this long is gone (laptop asleep, Wi-Fi lost): close and let the dial
/// loop find it again.
const SILENCE_LIMIT: Duration = Duration::from_secs(35);
/// How long a peer has to say Hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a connection ended.
#[derive(Debug)]
enum End {
    /// The peer closed, or we were asked to (shutdown, removal, duplicate).
    Closed(&'static str),
    /// The peer misbehaved; tell it why and close.
    Refuse(ErrorCode, String),
    /// The connection failed.
    Failed(String),
}

impl From<FramedError> for End {
    fn from(e: FramedError) -> Self {
        match e {
            FramedError::Wire(e @ WireError::FrameTooLarge { .. }) => {
                End::Refuse(ErrorCode::Limit, e.to_string())
            }
            FramedError::Wire(WireError::Garbage(m)) => End::Refuse(ErrorCode::Malformed, m),
            other => End::Failed(other.to_string()),
        }
    }
}

/// Runs `op` on the repo with this connection's sync session, which travels to the
/// writer and back.
async fn with_session<T: Send + 'static>(
    hub: &PeerHub,
    session: &mut PeerSync,
    op: impl FnOnce(&mut Repo, &mut PeerSync) -> T + Send + 'static,
) -> Result<T, End> {
    let mut travelling = std::mem::replace(session, PeerSync::new(&[], |_| None));
    let (back, out) = hub
        .writer
        .run(move |repo| {
            let out = op(repo, &mut travelling);
            Ok((travelling, out))
        })
        .await
        .map_err(|_| End::Closed("daemon stopping"))?;
    *session = back;
    Ok(out)
}

/// A connection past its Hello exchange, registered as the live one for its device.
pub struct Established<S> {
    hub: Arc<PeerHub>,
    framed: Framed<S>,
    device: DeviceId,
    allowed: Vec<DocKind>,
    serial: u64,
    closed: tokio::sync::watch::Receiver<bool>,
    /// The deflate streams, when both sides speak protocol [`DEFLATE_SINCE`] or later.
    deflate: Option<SyncDeflate>,
}

/// Exchanges Hello and registers the connection. `Ok(None)` means another connection to
/// the same device is kept instead. Only after this does a dialer know the peer accepted
/// it: in TLS 1.3 the server checks the client's certificate after the client is done.
pub async fn establish<S>(
    hub: Arc<PeerHub>,
    stream: S,
    device: DeviceId,
    route: Route,
    dialed_by: DeviceId,
) -> Result<Option<Established<S>>, String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let peer = hub
        .paired(&device)
        .ok_or("the device is no longer paired")?;
    let mut framed = Framed::new(stream);
    let me = hub.me().await.map_err(|e| e.to_string())?.id;
    let offered = documents_for(peer.relation);
    let hello = Message::Hello {
        version: PROTOCOL_VERSION,
        device_id: hub.identity.device_id.to_string(),
        person: me,
        docs: offered.to_vec(),
        now_ms: jiff::Timestamp::now().as_millisecond(),
    };
    let mailbox = hub
        .mailbox_public(device)
        .await
        .map_err(|e| format!("cannot save the mailbox key: {e}"))?;
    let extension = HelloExtension {
        protocols: PROTOCOLS,
        schema: Schema::CURRENT.version(),
        mailbox,
    };
    framed
        .send(&extension.frame(&hello))
        .await
        .map_err(|e| format!("peer left before hello: {e}"))?;
    let payload = match tokio::time::timeout(HELLO_TIMEOUT, framed.recv()).await {
        Ok(Ok(Some(payload))) => payload,
        Ok(Ok(None)) => return Err("the peer closed the connection (not paired there?)".into()),
        Ok(Err(e)) => return Err(format!("the peer refused the connection: {e}")),
        Err(_) => return Err("the peer did not say hello".into()),
    };
    let theirs =
        Message::decode(&payload).and_then(|message| Ok((message, HelloExtension::of(&payload)?)));
    let (code, reason) = match theirs {
        Ok((Message::Hello { version, .. }, _)) if version != PROTOCOL_VERSION => (
            ErrorCode::Version,
            format!(
                "hello version {version} is not {PROTOCOL_VERSION}: update tandem on both laptops"
            ),
        ),
        Ok((Message::Hello { .. }, theirs)) if PROTOCOLS.agree(theirs.protocols).is_none() => (
            ErrorCode::Version,
            format!(
                "{}'s laptop speaks peer protocol {}-{} and this one {}-{}: upgrade tandem on the older laptop",
                peer.name, theirs.protocols.min, theirs.protocols.max, PROTOCOLS.min, PROTOCOLS.max
            ),
        ),
        Ok((Message::Hello { device_id, .. }, _))
            if device_id.parse::<DeviceId>().ok() != Some(device) =>
        {
            (
                ErrorCode::Malformed,
                "hello names another device than the certificate".to_owned(),
            )
        }
        Ok((Message::Hello { docs, now_ms, .. }, theirs)) => {
            let deflate = PROTOCOLS
                .agree(theirs.protocols)
                .is_some_and(|agreed| agreed >= DEFLATE_SINCE)
                .then(SyncDeflate::default);
            let skew_ms = now_ms - jiff::Timestamp::now().as_millisecond();
            hub.heard_hello(device, skew_ms, theirs.schema);
            if let Some(public) = theirs.mailbox {
                hub.heard_mailbox_public(device, public).await;
            }
            let allowed: Vec<DocKind> = offered
                .iter()
                .copied()
                .filter(|d| docs.contains(d))
                .collect();
            let addr = route.remote;
            let Some((serial, closed)) = hub.register(device, dialed_by, route, framed.traffic())
            else {
                return Ok(None);
            };
            tracing::info!(%device, name = %peer.name, %addr, "peer connected");
            return Ok(Some(Established {
                hub,
                framed,
                device,
                allowed,
                serial,
                closed,
                deflate,
            }));
        }
        Ok((Message::Error { message, .. }, _)) => {
            return Err(format!("the peer refused: {message}"));
        }
        Ok(_) => (ErrorCode::Malformed, "expected hello".to_owned()),
        Err(e) => (ErrorCode::Malformed, e.to_string()),
    };
    refuse(&mut framed, &device, code, &reason).await;
    Err(reason)
}

/// Syncs over an established connection until it ends, then saves the sync states.
pub async fn serve<S>(established: Established<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Established {
        hub,
        mut framed,
        device,
        allowed,
        serial,
        mut closed,
        mut deflate,
    } = established;
    let mut session = PeerSync::new(&allowed, |doc| {
        std::fs::read(hub.sync_state_path(&device, doc.name())).ok()
    });
    let mut events = hub.writer.subscribe();
    let mut stopping = hub.stopping.clone();
    let mut heartbeat = tokio::time::interval(PING_EVERY);
    let mut last_heard = tokio::time::Instant::now();
    let end = async {
        send_pending(
            &hub,
            device,
            &mut framed,
            &mut deflate,
            &mut session,
            &allowed,
        )
        .await?;
        loop {
            tokio::select! {
                payload = framed.recv() => {
                    let Some(payload) = payload? else { return Ok(End::Closed("peer closed the connection")) };
                    last_heard = tokio::time::Instant::now();
                    let message = match (Message::decode(&payload), &mut deflate) {
                        (Ok(Message::SyncDeflated { doc, data }), Some(deflate)) if !session.forbids(doc) => {
                            deflate.inflate(doc, &data).map(|data| Message::Sync { doc, data })
                        }
                        (message, _) => message,
                    };
                    match message {
                        Ok(Message::Ping) => {}
                        Ok(Message::Sync { doc, data }) => {
                            if session.forbids(doc) {
                                return Ok(End::Refuse(ErrorCode::Forbidden, format!("the {} document is not shared with this device", doc.name())));
                            }
                            // One trip to the writer: apply, then the answer, which goes out
                            // once what the message brought is durable.
                            let received = with_session(&hub, &mut session, move |repo, session| {
                                repo.sync_receive(session, device, doc, &data)
                                    .map(|()| pending(repo, session, &[doc]))
                            }).await?;
                            match received {
                                Ok(answer) => send(&hub, device, &mut framed, &mut deflate, answer).await?,
                                Err(RepoError::Sync(e)) => return Ok(End::Refuse(ErrorCode::Limit, e.to_string())),
                                Err(e) => return Ok(End::Failed(e.to_string())),
                            }
                        }
                        Ok(Message::SyncDeflated { doc, .. }) if session.forbids(doc) => {
                            return Ok(End::Refuse(ErrorCode::Forbidden, format!("the {} document is not shared with this device", doc.name())));
                        }
                        Ok(Message::SyncDeflated { .. }) => return Ok(End::Refuse(ErrorCode::Malformed, "deflated sync message on a protocol 1 connection".into())),
                        Ok(Message::Error { code, message }) => {
                            tracing::info!(%device, ?code, "peer closed the connection: {message}");
                            return Ok(End::Closed("peer sent an error"));
                        }
                        Ok(Message::Hello { .. }) => return Ok(End::Refuse(ErrorCode::Malformed, "second hello".into())),
                        Err(e) => return Ok(End::Refuse(ErrorCode::Malformed, e.to_string())),
                    }
                }
                event = events.recv() => {
                    let docs: Vec<DocKind> = match event {
                        // What this peer sent needs no echo: answering it did the syncing.
                        Ok(ChangeEvent { from: Some(from), .. }) if from == device => continue,
                        Ok(ChangeEvent { documents, .. }) => documents,
                        Err(RecvError::Lagged(_)) => allowed.clone(),
                        Err(RecvError::Closed) => return Ok(End::Closed("daemon stopping")),
                    };
                    for doc in &docs {
                        session.local_change(*doc);
                    }
                    send_pending(&hub, device, &mut framed, &mut deflate, &mut session, &docs).await?;
                }
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > SILENCE_LIMIT {
                        return Ok(End::Failed(format!("nothing heard for {SILENCE_LIMIT:?}")));
                    }
                    framed.send(&Message::Ping.to_frame()).await?;
                }
                () = flipped(&mut closed) => return Ok(End::Closed("closed by this daemon")),
                () = flipped(&mut stopping) => return Ok(End::Refuse(ErrorCode::Shutdown, "daemon stopping".into())),
            }
        }
    };
    let end = match end.await {
        Ok(end) => end,
        Err(end) => end,
    };
    match end {
        End::Closed(why) => tracing::info!(%device, "peer disconnected: {why}"),
        End::Refuse(code, reason) => refuse(&mut framed, &device, code, &reason).await,
        End::Failed(reason) => tracing::info!(%device, "peer connection failed: {reason}"),
    }
    for doc in session.allowed().collect::<Vec<_>>() {
        if let Some(state) = session.saved_state(doc) {
            let path = hub.sync_state_path(&device, doc.name());
            // An fsync'd write: off the runtime's workers.
            let shown = path.display().to_string();
            let saved =
                tokio::task::spawn_blocking(move || crate::home::write_private_file(&path, &state))
                    .await;
            match saved {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("cannot save sync state {shown}: {e}"),
                Err(e) => tracing::warn!("cannot save sync state {shown}: {e}"),
            }
        }
    }
    hub.unregister(device, serial);
}

/// Resolves once the flag turns true (or its sender is gone).
async fn flipped(flag: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = flag.wait_for(|set| *set).await;
}

/// Sends whatever sync messages `docs` need now, deflated if `deflate` is set.
async fn send_pending<S: AsyncRead + AsyncWrite + Unpin>(
    hub: &PeerHub,
    device: DeviceId,
    framed: &mut Framed<S>,
    deflate: &mut Option<SyncDeflate>,
    session: &mut PeerSync,
    docs: &[DocKind],
) -> Result<(), End> {
    let docs = docs.to_vec();
    let answer = with_session(hub, session, move |repo, session| {
        pending(repo, session, &docs)
    })
    .await?;
    send(hub, device, framed, deflate, answer).await
}

/// What to send the peer of `session` for `docs` now, and whether it is then in sync.
fn pending(repo: &mut Repo, session: &mut PeerSync, docs: &[DocKind]) -> Pending {
    let mut messages = Vec::new();
    for &doc in docs {
        if session.forbids(doc) {
            continue;
        }
        // Automerge returns `None` while a message is in flight; the bound is a guard.
        for _ in 0..MAX_MESSAGES_PER_POLL {
            let Some(message) = repo.sync_poll(session, doc) else {
                break;
            };
            messages.push(message);
        }
    }
    Pending {
        messages,
        in_sync: repo.in_sync(session),
    }
}

/// Sync messages to send, computed on the writer.
struct Pending {
    messages: Vec<Message>,
    /// Whether the peer has every document as we do once it has these.
    in_sync: bool,
}

/// Sends `answer`'s messages, deflated if `deflate` is set, and records the sync status.
async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    hub: &PeerHub,
    device: DeviceId,
    framed: &mut Framed<S>,
    deflate: &mut Option<SyncDeflate>,
    answer: Pending,
) -> Result<(), End> {
    for message in answer.messages {
        let message = match (message, deflate.as_mut()) {
            (Message::Sync { doc, data }, Some(deflate)) => deflate.wrap(doc, data),
            (message, _) => message,
        };
        framed.send(&message.to_frame()).await?;
    }
    hub.set_in_sync(device, answer.in_sync);
    Ok(())
}

async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(
    framed: &mut Framed<S>,
    device: &DeviceId,
    code: ErrorCode,
    reason: &str,
) {
    if code == ErrorCode::Shutdown {
        tracing::info!(%device, "closing peer connection: {reason}");
    } else {
        tracing::warn!(%device, ?code, "refusing peer: {reason}");
    }
    let message = Message::Error {
        code,
        message: reason.to_owned(),
    };
    let _ = framed.send(&message.to_frame()).await;
    framed.shutdown().await;
}
