//! The inviter's pairing state machine under any sequence of joiner messages, sent on up
//! to four interleaved connections with the clock moving on: it never panics, never gives
//! attempts back, never judges more than three codes per window (however many connections
//! try), pins at most once and only from an open window, and accepts nothing after an
//! attempt is over.
#![no_main]

use std::cell::Cell;
use std::rc::Rc;

use jiff::SignedDuration;
use libfuzzer_sys::fuzz_target;
use tandem_protocol::device::DeviceId;
use tandem_protocol::ids::PersonId;
use tandem_protocol::pairing::fake_pake::FakePake;
use tandem_protocol::pairing::responder::{Inviter, Responder, Step};
use tandem_protocol::pairing::{
    JOINER, MAX_ATTEMPTS, PairMessage, PairingCode, PairingError, PairingWindow, Pake, Refusal,
    Relation, confirmation_key, prove,
};
use tandem_protocol::wire::PROTOCOL_VERSION;

/// The shared stand-in for SPAKE2, counting the codes it is started with, which is every
/// code the window lets anyone try.
struct CountingPake(FakePake, Rc<Cell<u32>>);

impl Pake for CountingPake {
    fn start(&mut self, code: PairingCode) -> Vec<u8> {
        self.1.set(self.1.get() + 1);
        self.0.start(code)
    }
    fn finish(&mut self, theirs: &[u8]) -> Result<Vec<u8>, PairingError> {
        self.0.finish(theirs)
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
            refusal: Refusal::default(),
        },
    })
}

fn joiner() -> DeviceId {
    DeviceId::of_certificate(b"joiner")
}

fn inviter_device() -> DeviceId {
    DeviceId::of_certificate(b"inviter")
}

/// Connections a run interleaves.
const CONNECTIONS: usize = 4;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let mut now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let mut window = (flags & 1 == 1).then(|| PairingWindow::open(code(), Relation::Partner, now));
    let inviter = Inviter {
        device: inviter_device(),
        person: PersonId::parse("alex").unwrap(),
        name: "Alex".into(),
    };
    let codes_tried = Rc::new(Cell::new(0));
    let mut connections: Vec<(Responder, CountingPake)> = (0..CONNECTIONS)
        .map(|_| {
            (
                Responder::new(joiner(), inviter.clone(), [flags; 32]),
                CountingPake(FakePake::default(), codes_tried.clone()),
            )
        })
        .collect();
    let mut pinned = 0;
    while let Some((&head, tail)) = rest.split_first() {
        // The head byte: which connection (2 bits), whether it drops instead (1 bit), how
        // far the clock moves (2 bits), how long the message is (3 bits, times 8).
        let (chunk, after) = tail.split_at((usize::from(head >> 5) * 8).min(tail.len()));
        rest = after;
        now += SignedDuration::from_secs([0, 1, 15, 120][usize::from(head >> 3 & 3)]);
        let (responder, pake) = &mut connections[usize::from(head & 3)];
        if head & 4 != 0 {
            responder.abandon(&mut window);
            assert!(responder.finished(), "a dropped attempt must be over");
            continue;
        }
        let Some(message) = message(chunk, flags) else {
            continue;
        };
        let was_over = responder.finished();
        let attempts_before = window.as_ref().map(|w| w.attempts_left);
        let was_open = window.is_some();
        let result = responder.receive(message, &mut window, now, pake);
        if was_over {
            assert!(
                result.is_err(),
                "accepted a message after the attempt was over"
            );
        }
        if let (Some(before), Some(after)) = (attempts_before, window.as_ref()) {
            assert!(after.attempts_left <= before, "attempts were given back");
        }
        assert!(
            codes_tried.get() <= u32::from(MAX_ATTEMPTS),
            "more than {MAX_ATTEMPTS} codes tried against one window"
        );
        if let Ok(Step::Pin { .. }) = result {
            pinned += 1;
            assert!(
                was_open && window.is_none(),
                "pinned without an open window"
            );
        }
        if result.is_err() {
            assert!(responder.finished(), "an error must end the attempt");
        }
    }
    assert!(pinned <= 1, "pinned twice from one window");
});
