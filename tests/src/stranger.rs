//! A device on the home network that has proven nothing: it speaks the pairing protocol by
//! hand (so it can record, replay, race and flood), from any loopback source address.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use spake2::{Ed25519Group, Identity as PakeIdentity, Password, Spake2};
use tandem_daemon::identity::Identity;
use tandem_daemon::tls::{self, ALPN_PAIR, EXPORTER_LABEL, Trust};
use tandem_protocol::device::DeviceId;
use tandem_protocol::ids::PersonId;
use tandem_protocol::pairing::{
    INVITER, JOINER, PairMessage, PairingCode, Relation, confirmation_key, prove,
};
use tandem_protocol::wire::{FrameDecoder, PROTOCOL_VERSION, frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A pairing connection's TLS stream.
pub type Stream = tokio_rustls::client::TlsStream<TcpStream>;

/// A TCP connection to `addr` from the loopback address `from`.
pub async fn connect_from(from: IpAddr, addr: &str) -> std::io::Result<TcpStream> {
    let addr: SocketAddr = addr.parse().expect("a socket address");
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(addr).await
}

/// A pairing handshake from `identity` at source `from` with the daemon's peer port.
pub async fn handshake_from(
    identity: &Identity,
    from: IpAddr,
    addr: &str,
) -> std::io::Result<Stream> {
    let connector =
        tokio_rustls::TlsConnector::from(tls::client_config(identity, Trust::Anyone, ALPN_PAIR));
    let tcp = connect_from(from, addr).await?;
    connector.connect(tls::server_name(), tcp).await
}

/// [`handshake_from`] 127.0.0.1.
pub async fn handshake(identity: &Identity, addr: &str) -> std::io::Result<Stream> {
    handshake_from(identity, [127, 0, 0, 1].into(), addr).await
}

/// The inviter's device id and this session's exporter secret.
pub fn binding(stream: &Stream) -> (DeviceId, [u8; 32]) {
    let (_, connection) = stream.get_ref();
    let cert = connection.peer_certificates().expect("a certificate")[0].clone();
    let mut exporter = [0u8; 32];
    connection
        .export_keying_material(&mut exporter, EXPORTER_LABEL, None)
        .expect("an exporter secret");
    (DeviceId::of_certificate(&cert), exporter)
}

/// Sends one pairing message.
pub async fn send(stream: &mut Stream, message: &PairMessage) -> std::io::Result<()> {
    stream.write_all(&frame(&message.encode())).await
}

/// The inviter's next message; `None` if it closed the connection or said nothing within
/// 10 seconds.
pub async fn recv(stream: &mut Stream) -> Option<PairMessage> {
    let mut decoder = FrameDecoder::default();
    let mut buf = vec![0u8; 4096];
    loop {
        if let Some(payload) = decoder.next_frame().ok()? {
            return PairMessage::decode(&payload).ok();
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        decoder.push(&buf[..n]);
    }
}

/// A joiner's `Start` carrying `pake`, from a person called Eve.
pub fn start_message(pake: Vec<u8>) -> PairMessage {
    PairMessage::Start {
        version: PROTOCOL_VERSION,
        relation: Relation::Partner,
        pake,
        person: PersonId::parse("eve").unwrap(),
        name: "Eve".into(),
        port: 1,
    }
}

/// The joiner's SPAKE2 half for `code`.
pub fn joiner_pake(code: &str) -> (Spake2<Ed25519Group>, Vec<u8>) {
    let password = Password::new(PairingCode::parse(code).unwrap().password());
    Spake2::<Ed25519Group>::start_a(
        &password,
        &PakeIdentity::new(JOINER),
        &PakeIdentity::new(INVITER),
    )
}

/// The joiner's confirmation after the inviter's `Reply` carried `theirs`.
pub fn confirmation(
    identity: &Identity,
    pake: Spake2<Ed25519Group>,
    theirs: &[u8],
    inviter: &DeviceId,
    exporter: &[u8; 32],
) -> PairMessage {
    let key = confirmation_key(&pake.finish(theirs).unwrap(), exporter);
    PairMessage::Confirm {
        mac: prove(&key, JOINER, &identity.device_id, inviter),
    }
}

/// The daemon's resident memory in KiB, from `/proc`.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("the daemon is running")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}
