//! The inviter's pairing state machine under any sequence of joiner messages: it never
//! panics, never gives attempts back, pins at most once and only from an open window,
//! and accepts nothing after the attempt is over.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_protocol::device::DeviceId;
use tandem_protocol::ids::PersonId;
use tandem_protocol::pairing::responder::{Inviter, Pake, Responder, Step};
use tandem_protocol::pairing::{
    JOINER, PairMessage, PairingCode, PairingError, PairingWindow, Relation, confirmation_key,
    prove,
};
use tandem_protocol::wire::PROTOCOL_VERSION;

/// Same key on both sides exactly when the codes match, like SPAKE2.
struct FakePake(Option<PairingCode>);

impl Pake for FakePake {
    fn start(&mut self, code: PairingCode) -> Vec<u8> {
        self.0 = Some(code);
        code.password()
    }
    fn finish(&mut self, theirs: &[u8]) -> Result<Vec<u8>, PairingError> {
        let mine = self
            .0
            .ok_or_else(|| PairingError::Protocol("not started".into()))?
            .password();
        Ok(if theirs == mine {
            mine
        } else {
            [theirs, &mine].concat()
        })
    }
}

/// The window's code, which a well-informed joiner may use.
fn code() -> PairingCode {
    PairingCode::from_random(12_345_678)
}

/// A message built from fuzz bytes: the first byte picks the kind, so random input reaches
/// every state (a stable build has no coverage feedback to find valid encodings), including
/// a correct start and confirmation.
fn message(chunk: &[u8], flags: u8) -> Option<PairMessage> {
    let (&kind, body) = chunk.split_first()?;
    let bit = |n: u8| kind & (1 << n) != 0;
    Some(match kind % 6 {
        0 => PairMessage::decode(body).ok()?,
        1 => PairMessage::Start {
            version: if bit(3) {
                PROTOCOL_VERSION
            } else {
                u32::from(kind)
            },
            relation: if bit(4) {
                Relation::Own
            } else {
                Relation::Partner
            },
            pake: if bit(5) {
                code().password()
            } else {
                body.to_vec()
            },
            person: PersonId::parse("sam").unwrap(),
            name: String::from_utf8_lossy(body).into_owned(),
            port: 7,
        },
        2 => PairMessage::Confirm {
            mac: if bit(3) {
                let key = confirmation_key(&code().password(), &[flags; 32]);
                prove(&key, JOINER, &joiner(), &inviter_device())
            } else {
                body.to_vec()
            },
        },
        3 => PairMessage::Reply {
            pake: body.to_vec(),
            person: PersonId::parse("eve").unwrap(),
            name: "Eve".into(),
        },
        4 => PairMessage::Accepted { mac: body.to_vec() },
        _ => PairMessage::Refused {
            reason: String::from_utf8_lossy(body).into_owned(),
        },
    })
}

fn joiner() -> DeviceId {
    DeviceId::of_certificate(b"joiner")
}

fn inviter_device() -> DeviceId {
    DeviceId::of_certificate(b"inviter")
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let mut window = (flags & 1 == 1).then(|| PairingWindow::open(code(), Relation::Partner, now));
    let inviter = Inviter {
        device: inviter_device(),
        person: PersonId::parse("alex").unwrap(),
        name: "Alex".into(),
    };
    let mut responder = Responder::new(joiner(), inviter, [flags; 32]);
    let mut pake = FakePake(None);
    let mut pinned = 0;
    while let Some((&len, tail)) = rest.split_first() {
        let (chunk, after) = tail.split_at((len as usize).min(tail.len()));
        rest = after;
        let Some(message) = message(chunk, flags) else {
            continue;
        };
        let was_over = responder.finished();
        let attempts_before = window.as_ref().map(|w| w.attempts_left);
        let was_open = window.is_some();
        let result = responder.receive(message, &mut window, now, &mut pake);
        if was_over {
            assert!(
                result.is_err(),
                "accepted a message after the attempt was over"
            );
        }
        if let (Some(before), Some(after)) = (attempts_before, window.as_ref()) {
            assert!(after.attempts_left <= before, "attempts were given back");
        }
        if let Ok(Step::Pin { .. }) = result {
            pinned += 1;
            assert!(
                was_open && window.is_none(),
                "pinned without an open window"
            );
            assert!(attempts_before.unwrap_or(0) > 0, "pinned while locked out");
        }
        if result.is_err() {
            assert!(responder.finished(), "an error must end the attempt");
        }
    }
    assert!(pinned <= 1, "pinned twice in one attempt");
});
