//! Misbehaving peers: each is cut off with a reason, and the daemon keeps serving.
//!
//! The fake peer is pinned in Alex's `peers.toml` (as if paired) and then speaks raw frames
//! over real mutual TLS.

use std::time::Duration;

use tandem_daemon::home::Home as DataHome;
use tandem_daemon::identity::Identity;
use tandem_daemon::peers::{PeerBook, PeerEntry};
use tandem_daemon::tls::{self, ALPN_SYNC, Trust};
use tandem_protocol::document::DocKind;
use tandem_protocol::ids::PersonId;
use tandem_protocol::pairing::Relation;
use tandem_protocol::time::Stamp;
use tandem_protocol::wire::{
    ErrorCode, FrameDecoder, HelloExtension, Message, PROTOCOL_VERSION, PROTOCOLS, VersionRange,
    frame,
};
use tandem_tests::{Daemon, Home};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Stream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

fn pin(home: &Home, identity: &Identity) {
    let data_home = DataHome::resolve(Some(home.path().to_owned()));
    let mut book = PeerBook::load(&data_home).unwrap();
    book.pin(PeerEntry {
        device_id: identity.device_id,
        name: "Mallory".into(),
        person: PersonId::parse("mallory").unwrap(),
        relation: Relation::Partner,
        addrs: vec![],
        paired_at: Stamp(jiff::Timestamp::now()),
        mailbox: Default::default(),
    });
    book.save().unwrap();
}

async fn connect(identity: &Identity, addr: &str) -> std::io::Result<Stream> {
    let connector =
        tokio_rustls::TlsConnector::from(tls::client_config(identity, Trust::Anyone, ALPN_SYNC));
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    connector.connect(tls::server_name(), tcp).await
}

/// Reads messages until the daemon closes the connection (or 10 s pass).
async fn read_until_closed(stream: &mut Stream) -> Vec<Message> {
    let mut decoder = FrameDecoder::default();
    let mut messages = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                decoder.push(&buf[..n]);
                while let Ok(Some(m)) = decoder.next_message() {
                    messages.push(m);
                }
            }
            Ok(_) => return messages,
            Err(_) => panic!("the daemon did not close the connection; got {messages:?}"),
        }
    }
}

fn hello(identity: &Identity, version: u32, docs: Vec<DocKind>) -> Vec<u8> {
    Message::Hello {
        version,
        device_id: identity.device_id.to_string(),
        person: PersonId::parse("mallory").unwrap(),
        docs,
        now_ms: 0,
    }
    .to_frame()
}

fn closed_with(messages: &[Message], expected: ErrorCode) {
    assert!(
        messages
            .iter()
            .any(|m| matches!(m, Message::Error { code, .. } if *code == expected)),
        "expected an {expected:?} error, got {messages:?}"
    );
}

fn still_serving(d: &Daemon) {
    assert_eq!(d.get("/v1/status").status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_peers_are_cut_off_and_the_daemon_carries_on() {
    let home = Home::init("Alex");
    let mallory = Identity::generate();
    pin(&home, &mallory);
    let alex = tokio::task::block_in_place(|| home.start());
    tokio::task::block_in_place(|| alex.cli_ok(&["note", "add", "private thought"]));
    let addr = tokio::task::block_in_place(|| alex.peer_addr());

    // Garbage instead of a hello.
    let mut s = connect(&mallory, &addr).await.unwrap();
    s.write_all(&[0, 0, 0, 5, 0xff, 0xfe, 0xfd, 0xfc, 0xfb])
        .await
        .unwrap();
    let got = read_until_closed(&mut s).await;
    closed_with(&got, ErrorCode::Malformed);
    tokio::task::block_in_place(|| still_serving(&alex));

    // Another protocol version.
    let mut s = connect(&mallory, &addr).await.unwrap();
    s.write_all(&hello(
        &mallory,
        PROTOCOL_VERSION + 1,
        vec![DocKind::Shared],
    ))
    .await
    .unwrap();
    closed_with(&read_until_closed(&mut s).await, ErrorCode::Version);

    // An oversized frame after a proper hello.
    let mut s = connect(&mallory, &addr).await.unwrap();
    s.write_all(&hello(&mallory, PROTOCOL_VERSION, vec![DocKind::Shared]))
        .await
        .unwrap();
    s.write_all(&(64u32 * 1024 * 1024).to_be_bytes())
        .await
        .unwrap();
    closed_with(&read_until_closed(&mut s).await, ErrorCode::Limit);

    // Asking a partner's daemon for the private document.
    let mut s = connect(&mallory, &addr).await.unwrap();
    s.write_all(&hello(
        &mallory,
        PROTOCOL_VERSION,
        vec![DocKind::Shared, DocKind::Private],
    ))
    .await
    .unwrap();
    let mut state = automerge::sync::State::new();
    let empty = automerge::AutoCommit::new();
    let data = automerge::sync::SyncDoc::generate_sync_message(&empty.clone().sync(), &mut state)
        .unwrap()
        .encode();
    s.write_all(
        &Message::Sync {
            doc: DocKind::Private,
            data: data.clone(),
        }
        .to_frame(),
    )
    .await
    .unwrap();
    let got = read_until_closed(&mut s).await;
    closed_with(&got, ErrorCode::Forbidden);
    assert!(
        !got.iter().any(|m| matches!(
            m,
            Message::Sync {
                doc: DocKind::Private,
                ..
            }
        )),
        "the private document was offered to a partner: {got:?}"
    );

    // A peer that never stops sending sync rounds that bring nothing.
    let mut s = connect(&mallory, &addr).await.unwrap();
    s.write_all(&hello(&mallory, PROTOCOL_VERSION, vec![DocKind::Shared]))
        .await
        .unwrap();
    let flood = Message::Sync {
        doc: DocKind::Shared,
        data,
    }
    .to_frame();
    let writer = tokio::spawn(async move {
        for _ in 0..1000 {
            if s.write_all(&flood).await.is_err() {
                break;
            }
        }
        s
    });
    let mut s = writer.await.unwrap();
    closed_with(&read_until_closed(&mut s).await, ErrorCode::Limit);

    // A stranger gets nothing at all: the handshake fails, not a byte of a document.
    let stranger = Identity::generate();
    if let Ok(mut s) = connect(&stranger, &addr).await {
        let got = read_until_closed(&mut s).await;
        assert!(got.is_empty(), "a stranger received {got:?}");
    }

    tokio::task::block_in_place(|| {
        still_serving(&alex);
        assert_eq!(alex.count("/v1/notes"), 1);
    });
}

/// The Hello a later release sends: `protocols` and `schema` in its extension, and a field
/// this build has never heard of after them.
fn newer_hello(identity: &Identity, protocols: VersionRange, schema: u32) -> Vec<u8> {
    let hello = Message::Hello {
        version: PROTOCOL_VERSION,
        device_id: identity.device_id.to_string(),
        person: PersonId::parse("mallory").unwrap(),
        docs: vec![DocKind::Shared],
        now_ms: 0,
    };
    let mut payload = HelloExtension {
        protocols,
        schema,
        mailbox: None,
    }
    .frame(&hello)[4..]
        .to_vec();
    payload.extend_from_slice(b"a field from the future");
    frame(&payload)
}

/// Reads the first message the daemon sends.
async fn first_message(stream: &mut Stream) -> Message {
    let mut decoder = FrameDecoder::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if let Some(m) = decoder.next_message().unwrap() {
            return m;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("the daemon answers")
            .unwrap();
        assert!(n > 0, "the daemon closed the connection");
        decoder.push(&buf[..n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_laptop_on_a_newer_release_is_welcomed_and_named() {
    let home = Home::init("Alex");
    let mallory = Identity::generate();
    pin(&home, &mallory);
    let alex = tokio::task::block_in_place(|| home.start());
    let addr = tokio::task::block_in_place(|| alex.peer_addr());

    // A later release that still speaks this one's protocol: welcomed, and while it is
    // connected `tandem status` says it is newer.
    let mut s = connect(&mallory, &addr).await.unwrap();
    s.write_all(&newer_hello(&mallory, VersionRange { min: 1, max: 3 }, 2))
        .await
        .unwrap();
    let answer = first_message(&mut s).await;
    assert!(matches!(answer, Message::Hello { .. }), "{answer:?}");
    let status = tokio::task::block_in_place(|| alex.cli_ok(&["status"]));
    assert!(
        status.contains("Mallory's laptop runs a newer tandem: upgrade to keep every feature"),
        "{status}"
    );
    drop(s);

    // One that dropped this release's protocol is told so, and nothing breaks.
    let mut s = connect(&mallory, &addr).await.unwrap();
    let dropped = VersionRange {
        min: PROTOCOLS.max + 1,
        max: PROTOCOLS.max + 2,
    };
    s.write_all(&newer_hello(&mallory, dropped, 3))
        .await
        .unwrap();
    closed_with(&read_until_closed(&mut s).await, ErrorCode::Version);
    tokio::task::block_in_place(|| still_serving(&alex));
}
