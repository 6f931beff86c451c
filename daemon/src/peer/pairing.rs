//! Pairing over the network: the inviter's responder and the joiner's dialer.
//!
//! The rules (code, window, messages, key confirmation, and both sides' state machines,
//! `Responder` and `Joiner`) are in `tandem_protocol::pairing`; this module runs SPAKE2
//! (which needs the OS's randomness), moves the messages and pins what they decide.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use spake2::{Ed25519Group, Identity as PakeIdentity, Password, Spake2};
use tandem_protocol::api::PairingState;
use tandem_protocol::device::DeviceId;
use tandem_protocol::pairing::joiner::{self, Applicant, Joiner};
use tandem_protocol::pairing::responder::{self, Inviter, Responder};
use tandem_protocol::pairing::{
    INVITER, JOINER, MAX_PAIR_FRAME, PairMessage, Paired, PairingCode, PairingError, PairingWindow,
    Pake, Relation,
};
use tandem_protocol::time::Stamp;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::PeerHub;
use super::framed::Framed;
use crate::peers::PeerEntry;
use crate::tls::{self, ALPN_PAIR, EXPORTER_LABEL, Trust};

/// How long each pairing step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// The next message's frame payload, if it arrives by `deadline`.
async fn recv_by<S: AsyncRead + AsyncWrite + Unpin>(
    framed: &mut Framed<S>,
    deadline: Instant,
) -> Result<Vec<u8>, PairingError> {
    match tokio::time::timeout_at(deadline, framed.recv()).await {
        Ok(Ok(Some(payload))) => Ok(payload),
        Ok(Ok(None)) => Err(PairingError::Protocol(
            "the other device closed the connection".into(),
        )),
        Ok(Err(e)) => Err(PairingError::Protocol(e.to_string())),
        Err(_) => Err(PairingError::Protocol(
            "the other device stopped answering".into(),
        )),
    }
}

async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    framed: &mut Framed<S>,
    message: &PairMessage,
) -> Result<(), PairingError> {
    framed
        .send_payload(&message.encode())
        .await
        .map_err(|e| PairingError::Protocol(e.to_string()))
}

impl PeerHub {
    /// Opens a pairing window and returns its code.
    pub fn open_pairing(&self, relation: Relation) -> PairingCode {
        let code = PairingCode::from_random(rand::random());
        let window = PairingWindow::open(code, relation, jiff::Timestamp::now());
        self.peers.with(|p| p.window = Some(window));
        code
    }

    /// The window's state.
    pub fn pairing_state(&self) -> PairingState {
        let (window, paired) = self.peers.with(|p| {
            let paired = p.book.all().iter().map(|e| e.device_id.to_string());
            (p.window.clone(), paired.collect())
        });
        let open = window
            .as_ref()
            .filter(|w| w.admit(jiff::Timestamp::now(), w.relation).is_ok());
        PairingState {
            code: open.map(|w| w.code.to_string()),
            relation: open.map(|w| w.relation),
            expires_at: open.map(|w| Stamp(w.expires_at)),
            attempts_left: window.as_ref().map(|w| w.attempts_left).unwrap_or(0),
            paired,
            addrs: crate::listen::reachable_addrs(self.bound)
                .iter()
                .map(SocketAddr::to_string)
                .collect(),
        }
    }

    /// Closes the window (`tandem pair` interrupted).
    pub fn close_pairing(&self) {
        self.peers.with(|p| p.window = None);
    }

    /// Joins the device inviting at `addr` with `code`; pins it on success.
    pub async fn join(
        &self,
        code: PairingCode,
        addr: &str,
        relation: Relation,
    ) -> Result<PeerEntry, PairingError> {
        let protocol = |e: String| PairingError::Protocol(e);
        let target: SocketAddr = tokio::net::lookup_host(addr)
            .await
            .map_err(|e| protocol(format!("{addr}: {e}")))?
            .next()
            .ok_or_else(|| protocol(format!("{addr}: no address")))?;
        let connector = tokio_rustls::TlsConnector::from(tls::client_config(
            &self.identity,
            Trust::Anyone,
            ALPN_PAIR,
        ));
        let dial = async {
            let tcp = TcpStream::connect(target)
                .await
                .map_err(|e| protocol(format!("cannot reach {addr}: {e}")))?;
            connector
                .connect(tls::server_name(), tcp)
                .await
                .map_err(handshake_refusal)
        };
        let tls = tokio::time::timeout(STEP_TIMEOUT, dial)
            .await
            .map_err(|_| protocol(format!("{addr} did not answer")))??;
        let (inviter, key_material) = session_binding(tls.get_ref().1)?;
        // Whoever answers has proven nothing yet: small frames only.
        let mut framed = Framed::with_limit(tls, MAX_PAIR_FRAME);
        let me = self.me().await.map_err(|e| protocol(e.to_string()))?;
        let applicant = Applicant {
            device: self.identity.device_id,
            person: me.id,
            name: me.name,
            port: self.port,
        };
        let mut pake = Spake::joiner();
        let (mut joiner, start) =
            Joiner::start(code, relation, applicant, inviter, key_material, &mut pake);
        send(&mut framed, &start).await?;
        let paired = loop {
            let payload = recv_by(&mut framed, Instant::now() + STEP_TIMEOUT).await?;
            match joiner.receive(&payload, &mut pake)? {
                joiner::Step::Send(message) => send(&mut framed, &message).await?,
                joiner::Step::Pin(paired) => break paired,
            }
        };
        let entry = self.pin_proven(paired, target).await?;
        if relation == Relation::Own {
            let (person, name) = (entry.person.clone(), entry.name.clone());
            self.writer
                .run(move |repo| repo.adopt_person(person, &name))
                .await
                .map_err(|e| {
                    protocol(format!("paired, but could not take over the person: {e}"))
                })?;
        }
        framed.shutdown().await;
        Ok(entry)
    }

    /// Pins the device a pairing proved, reachable at `addr`: either side's last step.
    async fn pin_proven(
        &self,
        paired: Paired,
        addr: SocketAddr,
    ) -> Result<PeerEntry, PairingError> {
        let entry = PeerEntry {
            device_id: paired.device,
            name: paired.name,
            person: paired.person,
            relation: paired.relation,
            addrs: vec![addr],
            paired_at: Stamp(jiff::Timestamp::now()),
            mailbox: Default::default(),
        };
        self.pin(entry.clone())
            .await
            .map_err(|e| PairingError::Protocol(e.to_string()))?;
        tracing::info!(device = %entry.device_id, "paired");
        Ok(entry)
    }
}

/// This device's SPAKE2 half for the protocol's state machines: side A for the joiner,
/// side B for the inviter.
struct Spake {
    /// Which side.
    joiner: bool,
    /// Between `start` and `finish`.
    started: Option<Spake2<Ed25519Group>>,
}

impl Spake {
    fn joiner() -> Self {
        Self {
            joiner: true,
            started: None,
        }
    }

    fn inviter() -> Self {
        Self {
            joiner: false,
            started: None,
        }
    }
}

impl Pake for Spake {
    fn start(&mut self, code: PairingCode) -> Vec<u8> {
        let (password, a, b) = (
            Password::new(code.password()),
            PakeIdentity::new(JOINER),
            PakeIdentity::new(INVITER),
        );
        let (pake, outbound) = if self.joiner {
            Spake2::<Ed25519Group>::start_a(&password, &a, &b)
        } else {
            Spake2::<Ed25519Group>::start_b(&password, &a, &b)
        };
        self.started = Some(pake);
        outbound
    }

    fn finish(&mut self, theirs: &[u8]) -> Result<Vec<u8>, PairingError> {
        self.started
            .take()
            .ok_or_else(|| PairingError::Protocol("SPAKE2 was not started".into()))?
            .finish(theirs)
            .map_err(|e| PairingError::Protocol(format!("SPAKE2: {e:?}")))
    }
}

/// The other side's device id and this TLS session's exporter secret, which the key
/// confirmation is bound to.
fn session_binding<T>(
    conn: &rustls::ConnectionCommon<T>,
) -> Result<(DeviceId, [u8; 32]), PairingError> {
    let cert = conn
        .peer_certificates()
        .and_then(|c| c.first().cloned())
        .ok_or_else(|| {
            PairingError::Protocol("the other device presented no certificate".into())
        })?;
    let mut material = [0u8; 32];
    conn.export_keying_material(&mut material, EXPORTER_LABEL, None)
        .map_err(|e| PairingError::Protocol(e.to_string()))?;
    Ok((DeviceId::of_certificate(&cert), material))
}

/// The joiner's error for a failed TLS handshake. An inviter with no pairing open refuses
/// the pairing protocol during the handshake, before reading anything.
fn handshake_refusal(e: std::io::Error) -> PairingError {
    let alert = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match alert {
        Some(rustls::Error::AlertReceived(rustls::AlertDescription::NoApplicationProtocol)) => {
            PairingError::NotOpen
        }
        _ => PairingError::Protocol(e.to_string()),
    }
}

/// The inviter's side of one pairing attempt on an accepted TLS connection. The joiner's
/// first message must arrive by `first_by`; its frames are capped at [`MAX_PAIR_FRAME`].
pub async fn respond<S>(
    hub: &PeerHub,
    tls: tokio_rustls::server::TlsStream<S>,
    addr: SocketAddr,
    first_by: Instant,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Ok((joiner, key_material)) = session_binding(tls.get_ref().1) else {
        return;
    };
    let mut framed = Framed::with_limit(tls, MAX_PAIR_FRAME);
    let Ok(me) = hub.me().await else {
        return;
    };
    let inviter = Inviter {
        device: hub.identity.device_id,
        person: me.id,
        name: me.name,
    };
    let mut responder = Responder::new(joiner, inviter, key_material);
    let outcome = respond_steps(hub, &mut framed, &mut responder, addr, first_by).await;
    // However the attempt ended, it no longer holds the window.
    hub.peers.with(|p| responder.abandon(&mut p.window));
    if let Err(e) = outcome {
        hub.refused(addr, format_args!("pairing refused ({joiner}): {e}"));
        let _ = send(&mut framed, &PairMessage::refused(&e)).await;
    }
    framed.shutdown().await;
}

/// Moves messages between the joiner and the protocol's [`Responder`], which decides.
async fn respond_steps<S: AsyncRead + AsyncWrite + Unpin>(
    hub: &PeerHub,
    framed: &mut Framed<S>,
    responder: &mut Responder,
    addr: SocketAddr,
    first_by: Instant,
) -> Result<(), PairingError> {
    let mut pake = Spake::inviter();
    let mut deadline = first_by;
    loop {
        let message = PairMessage::decode(&recv_by(framed, deadline).await?)?;
        deadline = Instant::now() + STEP_TIMEOUT;
        let step = hub.peers.with(|p| {
            responder.receive(message, &mut p.window, jiff::Timestamp::now(), &mut pake)
        })?;
        match step {
            responder::Step::Send(reply) => send(framed, &reply).await?,
            responder::Step::Pin { joiner, port, then } => {
                hub.pin_proven(joiner, SocketAddr::new(addr.ip(), port))
                    .await?;
                send(framed, &then).await?;
                return Ok(());
            }
        }
    }
}
