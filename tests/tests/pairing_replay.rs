//! Replayed pairing messages: a joiner's recorded `Start` and `Confirm` are worthless in
//! any other TLS session, because the inviter's SPAKE2 half is fresh each time and the key
//! confirmation is bound to the session's exporter secret. A replay costs an attempt and
//! pins nothing; after a successful pairing the code is spent.

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
use tandem_tests::{Daemon, Home};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Stream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// A pairing handshake from `identity` with the daemon's peer port.
async fn handshake(identity: &Identity, addr: &str) -> std::io::Result<Stream> {
    let connector =
        tokio_rustls::TlsConnector::from(tls::client_config(identity, Trust::Anyone, ALPN_PAIR));
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    connector.connect(tls::server_name(), tcp).await
}

/// A pairing connection from `identity` to the daemon's peer port: the stream, the
/// inviter's device id and the session's exporter secret.
async fn open(identity: &Identity, addr: &str) -> (Stream, DeviceId, [u8; 32]) {
    let stream = handshake(identity, addr).await.unwrap();
    let (_, connection) = stream.get_ref();
    let cert = connection.peer_certificates().unwrap()[0].clone();
    let mut exporter = [0u8; 32];
    connection
        .export_keying_material(&mut exporter, EXPORTER_LABEL, None)
        .unwrap();
    (stream, DeviceId::of_certificate(&cert), exporter)
}

async fn send(stream: &mut Stream, message: &PairMessage) {
    stream.write_all(&frame(&message.encode())).await.unwrap();
}

async fn recv(stream: &mut Stream) -> PairMessage {
    let mut decoder = FrameDecoder::default();
    let mut buf = vec![0u8; 4096];
    loop {
        if let Some(payload) = decoder.next_frame().unwrap() {
            return PairMessage::decode(&payload).unwrap();
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("the inviter answers")
            .unwrap();
        assert!(n > 0, "the inviter closed without answering");
        decoder.push(&buf[..n]);
    }
}

fn start_message(pake: Vec<u8>) -> PairMessage {
    PairMessage::Start {
        version: PROTOCOL_VERSION,
        relation: Relation::Partner,
        pake,
        person: PersonId::parse("eve").unwrap(),
        name: "Eve".into(),
        port: 1,
    }
}

/// One honest run of the joiner's side with `code` up to (not including) sending the
/// confirmation: returns the `Start` and `Confirm` it would send.
async fn record(identity: &Identity, addr: &str, code: &str) -> (PairMessage, PairMessage) {
    let (mut stream, inviter, exporter) = open(identity, addr).await;
    let password = Password::new(PairingCode::parse(code).unwrap().password());
    let (pake, outbound) = Spake2::<Ed25519Group>::start_a(
        &password,
        &PakeIdentity::new(JOINER),
        &PakeIdentity::new(INVITER),
    );
    let start = start_message(outbound);
    send(&mut stream, &start).await;
    let PairMessage::Reply { pake: theirs, .. } = recv(&mut stream).await else {
        panic!("expected the inviter's reply");
    };
    let key = confirmation_key(&pake.finish(&theirs).unwrap(), &exporter);
    let confirm = PairMessage::Confirm {
        mac: prove(&key, JOINER, &identity.device_id, &inviter),
    };
    (start, confirm)
}

/// Sends recorded messages on a fresh session; returns the inviter's last answer.
async fn replay(
    identity: &Identity,
    addr: &str,
    start: &PairMessage,
    confirm: &PairMessage,
) -> PairMessage {
    let (mut stream, _, _) = open(identity, addr).await;
    send(&mut stream, start).await;
    match recv(&mut stream).await {
        PairMessage::Reply { .. } => {}
        other => return other,
    }
    send(&mut stream, confirm).await;
    recv(&mut stream).await
}

fn paired(d: &Daemon) -> usize {
    d.cli_json(&["peers"]).as_array().unwrap().len()
}

#[test]
fn replayed_pairing_messages_pin_nothing() {
    let home = Home::init("Alex");
    let alex = home.start();
    let code = alex.pairing_code(false);
    let addr = alex.peer_addr();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let eve = Identity::generate();

    // Eve knows the right code in this session, but her recorded messages are replayed
    // on another: the confirmation no longer matches and the attempt counts as wrong.
    let (start, confirm) = runtime.block_on(record(&eve, &addr, &code));
    let answer = runtime.block_on(replay(&eve, &addr, &start, &confirm));
    let PairMessage::Refused { reason } = &answer else {
        panic!("a replayed confirmation was accepted: {answer:?}");
    };
    assert!(reason.contains("wrong pairing code"), "{reason}");
    assert_eq!(paired(&alex), 0, "nothing was pinned");
    assert_eq!(
        alex.get("/v1/pairing").body["attempts_left"],
        1,
        "the recorded session's start and the replay's each spent an attempt"
    );

    // The same messages from another device (a man in the middle): refused too.
    let mallory = Identity::generate();
    let answer = runtime.block_on(replay(&mallory, &addr, &start, &confirm));
    assert!(matches!(answer, PairMessage::Refused { .. }), "{answer:?}");
    assert_eq!(paired(&alex), 0);

    // A real partner pairs with the code; afterwards no code is open, so a replay does not
    // even get a pairing session: the handshake itself is refused.
    assert_eq!(alex.get("/v1/pairing").body["attempts_left"], 0);
    let code = alex.pairing_code(false);
    let sam_home = Home::init("Sam");
    let sam = sam_home.start();
    sam.cli_ok(&["pair", &code, "--addr", &addr]);
    assert_eq!(paired(&alex), 1);
    let refused = runtime
        .block_on(handshake(&eve, &addr))
        .expect_err("a pairing handshake with no code open");
    assert!(
        refused.to_string().contains("NoApplicationProtocol"),
        "{refused}"
    );
    assert_eq!(paired(&alex), 1, "only Sam is paired");
}
