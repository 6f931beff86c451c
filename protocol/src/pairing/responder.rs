//! The inviter's side of one pairing attempt as a state machine, without I/O.
//!
//! The inviter is the side that answers strangers: any device on the network may connect
//! and send anything. [`Responder`] takes the joiner's messages one by one and says what to
//! send back and, only after the joiner proved the code, whom to pin. Everything it decides
//! is here, so it can be unit-tested and fuzzed with arbitrary message sequences; the
//! daemon only moves bytes and supplies SPAKE2 (which needs randomness) through [`Pake`].

use jiff::Timestamp;

use super::{
    Attempt, INVITER, JOINER, PairMessage, PairingCode, PairingError, PairingWindow, Relation,
    confirmation_key, prove, verify,
};
use crate::device::DeviceId;
use crate::entity::required_text;
use crate::ids::PersonId;
use crate::model::person::MAX_NAME_LEN;
use crate::wire::PROTOCOL_VERSION;

/// This side's half of SPAKE2.
pub trait Pake {
    /// Starts with `code`; returns the message for the other side.
    fn start(&mut self, code: PairingCode) -> Vec<u8>;
    /// Finishes with the other side's message; returns the shared key (which differs on
    /// both sides when the codes differ: that is found out by the confirmation).
    fn finish(&mut self, theirs: &[u8]) -> Result<Vec<u8>, PairingError>;
}

/// The joiner as it described itself, once it has proven the code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joiner {
    /// Its certificate's fingerprint (from TLS, not from a message).
    pub device: DeviceId,
    /// Partner or own device.
    pub relation: Relation,
    /// Its person.
    pub person: PersonId,
    /// Its person's name.
    pub name: String,
    /// Its sync port.
    pub port: u16,
}

/// What the inviter does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this and wait for the next message.
    Send(PairMessage),
    /// Pin the joiner, then send this; the attempt is over.
    Pin {
        /// Who to pin.
        joiner: Joiner,
        /// The inviter's proof.
        then: PairMessage,
    },
}

/// Who this inviter is, for its reply.
#[derive(Clone, Debug)]
pub struct Inviter {
    /// Its certificate's fingerprint.
    pub device: DeviceId,
    /// Its person.
    pub person: PersonId,
    /// Its person's name.
    pub name: String,
}

#[derive(Debug)]
enum State {
    AwaitStart,
    AwaitConfirm {
        key: [u8; 32],
        code: PairingCode,
        attempt: Attempt,
        claimed: Joiner,
    },
    Finished,
}

/// One pairing attempt on one TLS session.
#[derive(Debug)]
pub struct Responder {
    joiner: DeviceId,
    inviter: Inviter,
    exporter: [u8; 32],
    state: State,
}

impl Responder {
    /// An attempt from the device whose certificate is `joiner`, on the TLS session whose
    /// exporter secret is `exporter`.
    pub fn new(joiner: DeviceId, inviter: Inviter, exporter: [u8; 32]) -> Self {
        Self {
            joiner,
            inviter,
            exporter,
            state: State::AwaitStart,
        }
    }

    /// Whether the attempt is over (pinned or failed): nothing more is accepted.
    pub fn finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    /// Handles one message from the joiner. `window` is the open invitation, if any: a
    /// wrong proof costs it an attempt, a right one closes it (one code pairs one device).
    /// Any error ends the attempt.
    pub fn receive(
        &mut self,
        message: PairMessage,
        window: &mut Option<PairingWindow>,
        now: Timestamp,
        pake: &mut impl Pake,
    ) -> Result<Step, PairingError> {
        let state = std::mem::replace(&mut self.state, State::Finished);
        match (state, message) {
            (
                State::AwaitStart,
                PairMessage::Start {
                    version,
                    relation,
                    pake: theirs,
                    person,
                    name,
                    port,
                },
            ) => {
                if version != PROTOCOL_VERSION {
                    return Err(PairingError::Protocol(format!(
                        "protocol version {version} is not {PROTOCOL_VERSION}"
                    )));
                }
                let name = person_name(&name)?;
                let open = window.as_mut().ok_or(PairingError::NotOpen)?;
                let attempt = open.begin(now, relation)?;
                let code = open.code;
                let outbound = pake.start(code);
                let key = match pake.finish(&theirs) {
                    Ok(shared) => confirmation_key(&shared, &self.exporter),
                    Err(e) => {
                        open.abandon(attempt);
                        return Err(e);
                    }
                };
                self.state = State::AwaitConfirm {
                    key,
                    code,
                    attempt,
                    claimed: Joiner {
                        device: self.joiner,
                        relation,
                        person,
                        name,
                        port,
                    },
                };
                Ok(Step::Send(PairMessage::Reply {
                    pake: outbound,
                    person: self.inviter.person.clone(),
                    name: self.inviter.name.clone(),
                }))
            }
            (
                State::AwaitConfirm {
                    key,
                    code,
                    attempt,
                    claimed,
                },
                PairMessage::Confirm { mac },
            ) => {
                // The window may have closed, been replaced, expired or locked while we
                // waited, and this attempt may have outlived its time.
                let open = window
                    .as_mut()
                    .filter(|w| w.code == code)
                    .ok_or(PairingError::NotOpen)?;
                open.settle(attempt, now)?;
                if !verify(&key, JOINER, &self.joiner, &self.inviter.device, &mac) {
                    return Err(open.wrong_code(attempt));
                }
                *window = None;
                Ok(Step::Pin {
                    joiner: claimed,
                    then: PairMessage::Accepted {
                        mac: prove(&key, INVITER, &self.joiner, &self.inviter.device),
                    },
                })
            }
            (State::Finished, _) => Err(PairingError::Protocol(
                "this pairing attempt is already over".into(),
            )),
            (State::AwaitStart, other) => Err(unexpected("the joiner's start", &other)),
            (State::AwaitConfirm { code, attempt, .. }, other) => {
                release(window, code, attempt);
                Err(unexpected("the joiner's confirmation", &other))
            }
        }
    }

    /// Ends the attempt because its connection is gone: if it was waiting for a
    /// confirmation, the next attempt may start (this one stays spent).
    pub fn abandon(&mut self, window: &mut Option<PairingWindow>) {
        if let State::AwaitConfirm { code, attempt, .. } =
            std::mem::replace(&mut self.state, State::Finished)
        {
            release(window, code, attempt);
        }
    }
}

/// Frees the window's in-flight slot if `attempt` still holds it.
fn release(window: &mut Option<PairingWindow>, code: PairingCode, attempt: Attempt) {
    if let Some(open) = window.as_mut().filter(|w| w.code == code) {
        open.abandon(attempt);
    }
}

/// The name a device gives for its person, checked like any name typed here: it ends up
/// in `tandem peers` and in the document.
pub fn person_name(name: &str) -> Result<String, PairingError> {
    required_text("name", name, MAX_NAME_LEN)
        .map_err(|e| PairingError::Protocol(format!("the other device's {e}")))
}

fn unexpected(wanted: &str, got: &PairMessage) -> PairingError {
    let got = match got {
        PairMessage::Start { .. } => "a start",
        PairMessage::Reply { .. } => "a reply",
        PairMessage::Confirm { .. } => "a confirmation",
        PairMessage::Accepted { .. } => "an acceptance",
        PairMessage::Refused { .. } => "a refusal",
    };
    PairingError::Protocol(format!("expected {wanted}, got {got}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pairing::MAX_ATTEMPTS;

    /// A stand-in for SPAKE2 with the property that matters here: both sides get the same
    /// key exactly when they used the same code.
    #[derive(Default)]
    pub struct FakePake(Option<PairingCode>);

    impl Pake for FakePake {
        fn start(&mut self, code: PairingCode) -> Vec<u8> {
            self.0 = Some(code);
            code.password()
        }
        fn finish(&mut self, theirs: &[u8]) -> Result<Vec<u8>, PairingError> {
            let mine = self.0.expect("started").password();
            Ok(if theirs == mine {
                mine
            } else {
                [theirs, &mine].concat()
            })
        }
    }

    fn id(n: u8) -> DeviceId {
        DeviceId::of_certificate(&[n])
    }

    fn responder(exporter: u8) -> Responder {
        Responder::new(
            id(1),
            Inviter {
                device: id(2),
                person: PersonId::parse("alex").unwrap(),
                name: "Alex".into(),
            },
            [exporter; 32],
        )
    }

    fn start(code: &str) -> PairMessage {
        PairMessage::Start {
            version: PROTOCOL_VERSION,
            relation: Relation::Partner,
            pake: PairingCode::parse(code).unwrap().password(),
            person: PersonId::parse("sam").unwrap(),
            name: "Sam".into(),
            port: 7,
        }
    }

    /// The joiner's confirmation for `code` on the session with `exporter`.
    fn confirm(code: &str, exporter: u8) -> PairMessage {
        let key = confirmation_key(
            &PairingCode::parse(code).unwrap().password(),
            &[exporter; 32],
        );
        PairMessage::Confirm {
            mac: prove(&key, JOINER, &id(1), &id(2)),
        }
    }

    fn window(code: &str, now: Timestamp) -> Option<PairingWindow> {
        Some(PairingWindow::open(
            PairingCode::parse(code).unwrap(),
            Relation::Partner,
            now,
        ))
    }

    #[test]
    fn the_right_code_pins_once_and_closes_the_window() {
        let now = Timestamp::now();
        let mut w = window("1234-5678", now);
        let mut r = responder(9);
        let mut pake = FakePake::default();
        let reply = r
            .receive(start("12345678"), &mut w, now, &mut pake)
            .unwrap();
        assert!(matches!(reply, Step::Send(PairMessage::Reply { .. })));
        let step = r
            .receive(confirm("12345678", 9), &mut w, now, &mut pake)
            .unwrap();
        let Step::Pin { joiner, then } = step else {
            panic!("expected to pin");
        };
        assert_eq!(joiner.device, id(1), "the TLS identity, not a claimed one");
        assert_eq!(joiner.name, "Sam");
        assert!(matches!(then, PairMessage::Accepted { .. }));
        assert!(w.is_none(), "one code pairs one device");
        assert!(r.finished());
        assert!(
            r.receive(confirm("12345678", 9), &mut w, now, &mut pake)
                .is_err()
        );
    }

    #[test]
    fn wrong_codes_and_replays_cost_attempts_and_pin_nothing() {
        let now = Timestamp::now();
        let mut w = window("1234-5678", now);
        // A wrong code.
        let mut r = responder(9);
        r.receive(start("00000000"), &mut w, now, &mut FakePake::default())
            .unwrap();
        let e = r
            .receive(
                confirm("00000000", 9),
                &mut w,
                now,
                &mut FakePake::default(),
            )
            .unwrap_err();
        assert_eq!(
            e,
            PairingError::WrongCode {
                attempts_left: MAX_ATTEMPTS - 1
            }
        );
        // The right code's confirmation, recorded on another TLS session.
        let mut r = responder(10);
        let mut pake = FakePake::default();
        r.receive(start("12345678"), &mut w, now, &mut pake)
            .unwrap();
        let e = r
            .receive(confirm("12345678", 9), &mut w, now, &mut pake)
            .unwrap_err();
        assert_eq!(
            e,
            PairingError::WrongCode {
                attempts_left: MAX_ATTEMPTS - 2
            }
        );
        // The third and last attempt fails; then even the right code is refused before
        // any SPAKE2.
        let mut r = responder(11);
        r.receive(start("12345678"), &mut w, now, &mut FakePake::default())
            .unwrap();
        assert_eq!(
            r.receive(
                confirm("00000000", 11),
                &mut w,
                now,
                &mut FakePake::default()
            ),
            Err(PairingError::LockedOut)
        );
        let mut r = responder(12);
        assert_eq!(
            r.receive(start("12345678"), &mut w, now, &mut FakePake::default()),
            Err(PairingError::LockedOut)
        );
    }

    /// A guesser with many connections: each `Start` spends an attempt, only one waits for
    /// its confirmation at a time, and at most [`MAX_ATTEMPTS`] codes are ever judged.
    #[test]
    fn interleaved_starts_get_one_attempt_in_flight_and_three_in_all() {
        let now = Timestamp::now();
        let mut w = window("1234-5678", now);
        let mut first = responder(1);
        first
            .receive(start("00000000"), &mut w, now, &mut FakePake::default())
            .unwrap();
        for exporter in 2..200 {
            let mut r = responder(exporter);
            assert_eq!(
                r.receive(start("00000000"), &mut w, now, &mut FakePake::default()),
                Err(PairingError::Busy)
            );
            assert!(r.finished());
        }
        assert_eq!(w.as_ref().unwrap().attempts_left, MAX_ATTEMPTS - 1);
        // The first attempt's connection drops: the next may start, and the spent one
        // stays spent.
        first.abandon(&mut w);
        let mut judged = 0;
        for exporter in 200..=255 {
            let mut r = responder(exporter);
            let mut pake = FakePake::default();
            if r.receive(start("00000000"), &mut w, now, &mut pake)
                .is_err()
            {
                continue;
            }
            judged += 1;
            let _ = r.receive(confirm("00000000", exporter), &mut w, now, &mut pake);
        }
        assert_eq!(judged, usize::from(MAX_ATTEMPTS) - 1);
        let mut r = responder(9);
        assert_eq!(
            r.receive(start("12345678"), &mut w, now, &mut FakePake::default()),
            Err(PairingError::LockedOut),
            "the right code after the lockout"
        );
    }

    #[test]
    fn a_confirmation_after_expiry_is_not_judged() {
        let now = Timestamp::now();
        let mut w = window("1234-5678", now);
        let mut r = responder(9);
        let mut pake = FakePake::default();
        r.receive(start("12345678"), &mut w, now, &mut pake)
            .unwrap();
        let late = now + crate::pairing::CODE_LIFETIME;
        assert_eq!(
            r.receive(confirm("12345678", 9), &mut w, late, &mut pake),
            Err(PairingError::Expired),
            "even the right code"
        );
        // A slow attempt inside the window's life is refused as well.
        let mut w = window("1234-5678", now);
        let mut r = responder(9);
        let mut pake = FakePake::default();
        r.receive(start("12345678"), &mut w, now, &mut pake)
            .unwrap();
        let slow = now + crate::pairing::ATTEMPT_LIFETIME;
        assert_eq!(
            r.receive(confirm("12345678", 9), &mut w, slow, &mut pake),
            Err(PairingError::TooSlow)
        );
        assert!(w.is_some(), "nothing was pinned");
    }

    #[test]
    fn a_confirmation_after_the_lockout_is_not_judged() {
        let now = Timestamp::now();
        let mut w = window("1234-5678", now);
        // Eve starts with the right code, then stalls past her attempt's time.
        let mut eve = responder(9);
        let mut eve_pake = FakePake::default();
        eve.receive(start("12345678"), &mut w, now, &mut eve_pake)
            .unwrap();
        let later = now + crate::pairing::ATTEMPT_LIFETIME;
        // Two more attempts use up the window.
        for exporter in [10, 11] {
            let mut r = responder(exporter);
            let mut pake = FakePake::default();
            r.receive(start("00000000"), &mut w, later, &mut pake)
                .unwrap();
            r.receive(confirm("00000000", exporter), &mut w, later, &mut pake)
                .unwrap_err();
        }
        assert_eq!(
            eve.receive(confirm("12345678", 9), &mut w, later, &mut eve_pake),
            Err(PairingError::LockedOut)
        );
        assert!(w.is_some(), "nothing was pinned");
    }

    #[test]
    fn a_name_that_could_drive_a_terminal_is_refused_for_free() {
        let now = Timestamp::now();
        let mut w = window("1234-5678", now);
        let mut r = responder(9);
        let PairMessage::Start {
            version,
            relation,
            pake,
            person,
            port,
            ..
        } = start("12345678")
        else {
            unreachable!()
        };
        let hostile = PairMessage::Start {
            version,
            relation,
            pake,
            person,
            name: "Sam\u{1b}]0;pwned\u{7}".into(),
            port,
        };
        let refused = r.receive(hostile, &mut w, now, &mut FakePake::default());
        assert!(
            matches!(&refused, Err(PairingError::Protocol(m)) if m.contains("name")),
            "{refused:?}"
        );
        assert_eq!(w.unwrap().attempts_left, MAX_ATTEMPTS, "no code was tried");
    }

    #[test]
    fn out_of_order_messages_end_the_attempt() {
        let now = Timestamp::now();
        let mut w = window("1234-5678", now);
        let mut r = responder(9);
        assert!(
            r.receive(
                confirm("12345678", 9),
                &mut w,
                now,
                &mut FakePake::default()
            )
            .is_err()
        );
        assert!(r.finished());
        assert_eq!(
            w.as_ref().unwrap().attempts_left,
            MAX_ATTEMPTS,
            "no attempt used"
        );
        let mut r = responder(9);
        assert_eq!(
            r.receive(start("12345678"), &mut None, now, &mut FakePake::default()),
            Err(PairingError::NotOpen)
        );
    }
}
