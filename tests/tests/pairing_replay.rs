//! Replayed pairing messages: a joiner's recorded `Start` and `Confirm` are worthless in
//! any other TLS session, because the inviter's SPAKE2 half is fresh each time and the key
//! confirmation is bound to the session's exporter secret. A replay costs an attempt and
//! pins nothing; after a successful pairing the code is spent.

use tandem_daemon::identity::Identity;
use tandem_protocol::device::DeviceId;
use tandem_protocol::pairing::{PairMessage, RefusalCode};
use tandem_tests::stranger::{
    Stream, binding, confirmation, handshake, joiner_pake, recv, send, start_message,
};
use tandem_tests::{Daemon, Home};

/// A pairing connection from `identity` to the daemon's peer port: the stream, the
/// inviter's device id and the session's exporter secret.
async fn open(identity: &Identity, addr: &str) -> (Stream, DeviceId, [u8; 32]) {
    let stream = handshake(identity, addr).await.unwrap();
    let (inviter, exporter) = binding(&stream);
    (stream, inviter, exporter)
}

/// One honest run of the joiner's side with `code` up to (not including) sending the
/// confirmation: returns the `Start` and `Confirm` it would send.
async fn record(identity: &Identity, addr: &str, code: &str) -> (PairMessage, PairMessage) {
    let (mut stream, inviter, exporter) = open(identity, addr).await;
    let (pake, outbound) = joiner_pake(code);
    let start = start_message(outbound);
    send(&mut stream, &start).await.unwrap();
    let Some(PairMessage::Reply { pake: theirs, .. }) = recv(&mut stream).await else {
        panic!("expected the inviter's reply");
    };
    let confirm = confirmation(identity, pake, &theirs, &inviter, &exporter);
    (start, confirm)
}

/// Sends recorded messages on a fresh session; returns the inviter's last answer. The
/// recording session has just been dropped: if the inviter has not noticed yet, it is still
/// the attempt in flight and this one is told to wait, as an honest joiner would be.
async fn replay(
    identity: &Identity,
    addr: &str,
    start: &PairMessage,
    confirm: &PairMessage,
) -> PairMessage {
    for _ in 0..100 {
        let (mut stream, _, _) = open(identity, addr).await;
        send(&mut stream, start).await.unwrap();
        match recv(&mut stream).await.expect("the inviter answers") {
            PairMessage::Reply { .. } => {}
            PairMessage::Refused { refusal, .. } if refusal.code == RefusalCode::Busy => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
            other => return other,
        }
        send(&mut stream, confirm).await.unwrap();
        return recv(&mut stream).await.expect("the inviter answers");
    }
    panic!("the inviter stayed busy with a dropped attempt");
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
    let PairMessage::Refused { refusal, .. } = &answer else {
        panic!("a replayed confirmation was accepted: {answer:?}");
    };
    assert_eq!(refusal.code, RefusalCode::WrongCode, "{answer:?}");
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
