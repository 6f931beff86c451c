//! The inviter's side of one pairing attempt as a state machine, without I/O.
//!
//! The inviter is the side that answers strangers: any device on the network may connect
//! and send anything. [`Responder`] takes the joiner's messages one by one and says what to
//! send back and, only after the joiner proved the code, whom to pin. Everything it decides
//! is here, so it can be unit-tested and fuzzed with arbitrary message sequences; the
//! daemon only moves bytes and supplies SPAKE2 (which needs randomness) through [`Pake`].

use jiff::Timestamp;

use super::{
    INVITER, JOINER, PairMessage, PairingCode, PairingError, PairingWindow, Relation,
    confirmation_key, prove, verify,
};
use crate::device::DeviceId;
use crate::ids::PersonId;
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
                let open = window.as_ref().ok_or(PairingError::NotOpen)?;
                open.admit(now, relation)?;
                let code = open.code;
                let outbound = pake.start(code);
                let key = confirmation_key(&pake.finish(&theirs)?, &self.exporter);
                self.state = State::AwaitConfirm {
                    key,
                    code,
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
            (State::AwaitConfirm { key, code, claimed }, PairMessage::Confirm { mac }) => {
                // The window may have closed or been replaced while we waited.
                let open = window
                    .as_mut()
                    .filter(|w| w.code == code)
                    .ok_or(PairingError::NotOpen)?;
                if !verify(&key, JOINER, &self.joiner, &self.inviter.device, &mac) {
                    return Err(open.wrong_code());
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
            (State::AwaitConfirm { .. }, other) => {
                Err(unexpected("the joiner's confirmation", &other))
            }
        }
    }
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
        // Once locked out, even the right code is refused before any SPAKE2.
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
