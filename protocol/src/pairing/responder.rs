//! The inviter's side of one pairing attempt as a state machine, without I/O.
//!
//! The inviter is the side that answers strangers: any device on the network may connect
//! and send anything. [`Responder`] takes the joiner's messages one by one and says what to
//! send back and, only after the joiner proved the code, whom to pin. Everything it decides
//! is here, so it can be unit-tested and fuzzed with arbitrary message sequences; the
//! daemon only moves bytes and supplies SPAKE2 (which needs randomness) through [`Pake`].

use jiff::Timestamp;

use super::{
    Attempt, INVITER, JOINER, PairMessage, Paired, PairingCode, PairingError, PairingWindow, Pake,
    confirmation_key, person_name, prove, unexpected, verify,
};
use crate::device::DeviceId;
use crate::ids::PersonId;
use crate::wire::PROTOCOL_VERSION;

/// What the inviter does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this and wait for the next message.
    Send(PairMessage),
    /// Pin the joiner, then send this; the attempt is over.
    Pin {
        /// Who to pin.
        joiner: Paired,
        /// The port the joiner accepts sync connections on (at the address it came from).
        port: u16,
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
        claimed: Paired,
        port: u16,
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
                    claimed: Paired {
                        device: self.joiner,
                        relation,
                        person,
                        name,
                    },
                    port,
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
                    port,
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
                    port,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pairing::{MAX_ATTEMPTS, Relation};
    use crate::test_support::FakePake;

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
        let Step::Pin { joiner, port, then } = step else {
            panic!("expected to pin");
        };
        assert_eq!(joiner.device, id(1), "the TLS identity, not a claimed one");
        assert_eq!(joiner.name, "Sam");
        assert_eq!(port, 7);
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
