//! The joiner's pairing state machine under any sequence of frames from whatever answered
//! its dial: it never panics, pins at most once and only after the inviter's proof for
//! this very session and code, pins only a name fit for a terminal, ends the attempt on
//! any error, reads a refusal's code whatever follows it, and accepts nothing after the
//! attempt is over.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_protocol::device::DeviceId;
use tandem_protocol::ids::PersonId;
use tandem_protocol::pairing::fake_pake::FakePake;
use tandem_protocol::pairing::joiner::{Applicant, Joiner, Step};
use tandem_protocol::pairing::{
    INVITER, MAX_PAIR_FRAME, PairMessage, PairingCode, Refusal, Relation, confirmation_key,
    person_name, prove,
};
use tandem_protocol::wire::PROTOCOL_VERSION;

/// The code the joiner typed.
fn code() -> PairingCode {
    PairingCode::from_random(12_345_678)
}

fn joiner_device() -> DeviceId {
    DeviceId::of_certificate(b"joiner")
}

fn inviter_device() -> DeviceId {
    DeviceId::of_certificate(b"inviter")
}

/// The inviter's proof when both sides share `spake_key` on the session with `exporter`.
fn inviter_proof(spake_key: &[u8], exporter: &[u8; 32]) -> Vec<u8> {
    let key = confirmation_key(spake_key, exporter);
    prove(&key, INVITER, &joiner_device(), &inviter_device())
}

/// Every refusal code, and one from a newer build.
const CODES: [&str; 10] = [
    "not_open",
    "expired",
    "wrong_code",
    "locked_out",
    "busy",
    "too_slow",
    "relation_mismatch",
    "protocol",
    "unknown",
    "from_a_newer_build",
];

/// A frame payload built from fuzz bytes: the first byte picks the kind, so random input
/// reaches every state (a stable build has no coverage feedback to find valid encodings),
/// including the inviter's honest reply and proof.
fn payload(chunk: &[u8], exporter: &[u8; 32]) -> Option<Vec<u8>> {
    let (&kind, body) = chunk.split_first()?;
    let bit = |n: u8| kind & (1 << n) != 0;
    let text = || String::from_utf8_lossy(body).into_owned();
    let message = match kind % 7 {
        0 => return Some(body.to_vec()),
        1 => PairMessage::Reply {
            pake: if bit(3) {
                code().password()
            } else {
                body.to_vec()
            },
            person: PersonId::parse("alex").unwrap(),
            name: if bit(4) { "Alex".into() } else { text() },
        },
        2 => PairMessage::Accepted {
            mac: if bit(3) {
                inviter_proof(&code().password(), exporter)
            } else {
                body.to_vec()
            },
        },
        3 => {
            // A refusal in the first release's encoding, then a code and anything after.
            let mut bytes = postcard::to_stdvec(&PairMessage::Refused {
                reason: text(),
                refusal: Refusal::default(),
            })
            .unwrap();
            if bit(3) {
                let code = CODES[usize::from(kind >> 4) % CODES.len()];
                bytes.extend(postcard::to_stdvec(&(code, kind)).unwrap());
                bytes.extend(body);
            }
            return Some(bytes);
        }
        4 => PairMessage::Start {
            version: PROTOCOL_VERSION,
            relation: Relation::Partner,
            pake: body.to_vec(),
            person: PersonId::parse("eve").unwrap(),
            name: "Eve".into(),
            port: 7,
        },
        5 => PairMessage::Confirm { mac: body.to_vec() },
        _ => return Some(vec![kind; MAX_PAIR_FRAME + usize::from(bit(3))]),
    };
    let mut bytes = message.encode();
    if bit(7) {
        bytes.extend(body);
    }
    Some(bytes)
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let exporter = [flags; 32];
    let relation = if flags & 1 == 1 {
        Relation::Own
    } else {
        Relation::Partner
    };
    let mut pake = FakePake::default();
    let applicant = Applicant {
        device: joiner_device(),
        person: PersonId::parse("sam").unwrap(),
        name: "Sam".into(),
        port: 7,
    };
    let (mut joiner, start) = Joiner::start(
        code(),
        relation,
        applicant,
        inviter_device(),
        exporter,
        &mut pake,
    );
    assert!(
        matches!(&start, PairMessage::Start { pake, relation: r, .. } if *pake == code().password() && *r == relation),
        "the start carries the typed code's SPAKE2 message and the relation asked for"
    );
    // The proof an honest inviter sends once the joiner has confirmed after a reply.
    let mut proof_due: Option<Vec<u8>> = None;
    let mut pinned = 0;
    while let Some((&head, tail)) = rest.split_first() {
        // The head byte says how long the message is, in bytes.
        let (chunk, after) = tail.split_at(usize::from(head).min(tail.len()));
        rest = after;
        let Some(payload) = payload(chunk, &exporter) else {
            continue;
        };
        let was_over = joiner.finished();
        let decoded = PairMessage::decode(&payload);
        let result = joiner.receive(&payload, &mut pake);
        if was_over {
            assert!(
                result.is_err(),
                "accepted a message after the attempt was over"
            );
        }
        match &result {
            Ok(Step::Send(PairMessage::Confirm { .. })) => {
                let Ok(PairMessage::Reply { pake: theirs, .. }) = &decoded else {
                    panic!("confirmed something other than a reply: {decoded:?}");
                };
                proof_due = Some(inviter_proof(&FakePake::shared(code(), theirs), &exporter));
            }
            Ok(Step::Send(other)) => panic!("the joiner only ever sends a confirmation: {other:?}"),
            Ok(Step::Pin(paired)) => {
                pinned += 1;
                assert!(
                    matches!((&decoded, &proof_due), (Ok(PairMessage::Accepted { mac }), Some(due)) if mac == due),
                    "pinned without the inviter's proof for this session"
                );
                assert_eq!(
                    paired.device,
                    inviter_device(),
                    "pinned another device than TLS's"
                );
                assert_eq!(paired.relation, relation);
                assert_eq!(
                    person_name(&paired.name).as_deref(),
                    Ok(paired.name.as_str())
                );
                assert!(joiner.finished(), "pinning ends the attempt");
            }
            Err(e) => {
                assert!(joiner.finished(), "an error must end the attempt");
                if !was_over && let Ok(PairMessage::Refused { reason, refusal }) = &decoded {
                    assert_eq!(
                        e,
                        &refusal.error(reason.clone()),
                        "a refusal's code decides the error"
                    );
                }
            }
        }
    }
    assert!(pinned <= 1, "pinned twice in one attempt");
});
