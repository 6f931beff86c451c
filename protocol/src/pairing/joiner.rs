//! The joiner's side of one pairing attempt as a state machine, without I/O.
//!
//! The joiner typed the code and dialed an address without pinning anything: whatever
//! answers has proven nothing until its acceptance carries a valid proof. [`Joiner`] takes
//! the answers' frames one by one and says what to send back and, only after the inviter
//! proved the code in this TLS session, whom to pin. Garbage, oversized frames, messages
//! out of order and names that could drive a terminal end the attempt; a refusal is read
//! from its [`RefusalCode`](super::RefusalCode), never from its text. The daemon only moves
//! bytes and supplies SPAKE2 through [`Pake`], as it does for the inviter's
//! [`Responder`](super::responder::Responder).

use super::{
    INVITER, JOINER, PairMessage, Paired, PairingCode, PairingError, Pake, Relation,
    confirmation_key, person_name, prove, unexpected, verify,
};
use crate::device::DeviceId;
use crate::ids::PersonId;
use crate::wire::PROTOCOL_VERSION;

/// Who this joiner is, for its start.
#[derive(Clone, Debug)]
pub struct Applicant {
    /// Its certificate's fingerprint, which the inviter reads from TLS.
    pub device: DeviceId,
    /// Its person.
    pub person: PersonId,
    /// Its person's name.
    pub name: String,
    /// The port it accepts sync connections on.
    pub port: u16,
}

/// What the joiner does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this and wait for the next message.
    Send(PairMessage),
    /// Pin the inviter; the attempt is over.
    Pin(Paired),
}

#[derive(Debug)]
enum State {
    AwaitReply,
    AwaitAcceptance { key: [u8; 32], inviter: Paired },
    Finished,
}

/// One pairing attempt on one TLS session, from the joiner's side.
#[derive(Debug)]
pub struct Joiner {
    me: DeviceId,
    inviter: DeviceId,
    relation: Relation,
    exporter: [u8; 32],
    state: State,
}

impl Joiner {
    /// Starts an attempt with the `code` typed here, `applicant` asking to become the
    /// inviter's `relation`, on the TLS session with the device whose certificate is
    /// `inviter` and whose exporter secret is `exporter`. Returns the machine and the
    /// start to send.
    pub fn start(
        code: PairingCode,
        relation: Relation,
        applicant: Applicant,
        inviter: DeviceId,
        exporter: [u8; 32],
        pake: &mut impl Pake,
    ) -> (Self, PairMessage) {
        let start = PairMessage::Start {
            version: PROTOCOL_VERSION,
            relation,
            pake: pake.start(code),
            person: applicant.person,
            name: applicant.name,
            port: applicant.port,
        };
        let joiner = Self {
            me: applicant.device,
            inviter,
            relation,
            exporter,
            state: State::AwaitReply,
        };
        (joiner, start)
    }

    /// Whether the attempt is over (pinned or failed): nothing more is accepted.
    pub fn finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    /// Handles one frame payload from the inviter. It takes the bytes rather than a
    /// decoded message so that garbage and oversized frames end the attempt like any other
    /// mistake. Any error ends the attempt, with nothing pinned.
    pub fn receive(&mut self, payload: &[u8], pake: &mut impl Pake) -> Result<Step, PairingError> {
        let state = std::mem::replace(&mut self.state, State::Finished);
        let message = PairMessage::decode(payload)?;
        match (state, message) {
            (State::Finished, _) => Err(PairingError::Protocol(
                "this pairing attempt is already over".into(),
            )),
            (_, PairMessage::Refused { reason, refusal }) => Err(refusal.error(reason)),
            (
                State::AwaitReply,
                PairMessage::Reply {
                    pake: theirs,
                    person,
                    name,
                },
            ) => {
                let name = person_name(&name)?;
                let key = confirmation_key(&pake.finish(&theirs)?, &self.exporter);
                self.state = State::AwaitAcceptance {
                    key,
                    inviter: Paired {
                        device: self.inviter,
                        relation: self.relation,
                        person,
                        name,
                    },
                };
                Ok(Step::Send(PairMessage::Confirm {
                    mac: prove(&key, JOINER, &self.me, &self.inviter),
                }))
            }
            (State::AwaitAcceptance { key, inviter }, PairMessage::Accepted { mac }) => {
                if verify(&key, INVITER, &self.me, &self.inviter, &mac) {
                    Ok(Step::Pin(inviter))
                } else {
                    Err(PairingError::Unproven)
                }
            }
            (State::AwaitReply, other) => Err(unexpected("the inviter's reply", &other)),
            (State::AwaitAcceptance { .. }, other) => {
                Err(unexpected("the inviter's acceptance", &other))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::pairing::responder::{self, Inviter, Responder};
    use crate::pairing::{
        ATTEMPT_LIFETIME, CODE_LIFETIME, MAX_ATTEMPTS, MAX_PAIR_FRAME, PairingWindow, Refusal,
        RefusalCode,
    };
    use crate::test_support::FakePake;

    const CODE: &str = "1234-5678";

    fn sam() -> DeviceId {
        DeviceId::of_certificate(b"sam's laptop")
    }

    fn alex() -> DeviceId {
        DeviceId::of_certificate(b"alex's laptop")
    }

    fn code(text: &str) -> PairingCode {
        PairingCode::parse(text).unwrap()
    }

    /// Sam's joiner for `typed` on the session with `exporter`, and its start as bytes.
    fn joiner(typed: &str, relation: Relation, exporter: u8) -> (Joiner, FakePake, Vec<u8>) {
        let mut pake = FakePake::default();
        let applicant = Applicant {
            device: sam(),
            person: PersonId::parse("sam").unwrap(),
            name: "Sam".into(),
            port: 7,
        };
        let (joiner, start) = Joiner::start(
            code(typed),
            relation,
            applicant,
            alex(),
            [exporter; 32],
            &mut pake,
        );
        (joiner, pake, start.encode())
    }

    /// Alex's responder on the session with `exporter`.
    fn responder(exporter: u8) -> (Responder, FakePake) {
        let inviter = Inviter {
            device: alex(),
            person: PersonId::parse("alex").unwrap(),
            name: "Alex".into(),
        };
        (
            Responder::new(sam(), inviter, [exporter; 32]),
            FakePake::default(),
        )
    }

    /// What the daemon sends back for the responder's verdict on `payload`: its answer, or
    /// the refusal of its error, as frame bytes.
    fn answer(
        responder: &mut Responder,
        pake: &mut FakePake,
        payload: &[u8],
        window: &mut Option<PairingWindow>,
        now: Timestamp,
    ) -> (Result<responder::Step, PairingError>, Vec<u8>) {
        let verdict = PairMessage::decode(payload)
            .and_then(|message| responder.receive(message, window, now, pake));
        let bytes = match &verdict {
            Ok(responder::Step::Send(message)) => message.encode(),
            Ok(responder::Step::Pin { then, .. }) => then.encode(),
            Err(e) => PairMessage::refused(e).encode(),
        };
        (verdict, bytes)
    }

    /// A whole attempt with `typed` against a window for [`CODE`], the confirmation judged
    /// `delay` after the start: the joiner's outcome and the responder's last verdict.
    fn attempt(
        typed: &str,
        window: &mut Option<PairingWindow>,
        now: Timestamp,
        delay: jiff::SignedDuration,
    ) -> (
        Result<Step, PairingError>,
        Result<responder::Step, PairingError>,
    ) {
        let (mut j, mut j_pake, start) = joiner(typed, Relation::Partner, 9);
        let (mut r, mut r_pake) = responder(9);
        let (verdict, reply) = answer(&mut r, &mut r_pake, &start, window, now);
        let confirm = match j.receive(&reply, &mut j_pake) {
            Ok(Step::Send(confirm)) => confirm.encode(),
            outcome => return (outcome, verdict),
        };
        let (verdict, last) = answer(&mut r, &mut r_pake, &confirm, window, now + delay);
        let outcome = j.receive(&last, &mut j_pake);
        assert!(j.finished(), "the attempt is over on the joiner's side");
        (outcome, verdict)
    }

    fn window(now: Timestamp) -> Option<PairingWindow> {
        Some(PairingWindow::open(code(CODE), Relation::Partner, now))
    }

    #[test]
    fn the_right_code_pins_each_side_to_the_other() {
        let now = Timestamp::now();
        let mut w = window(now);
        let (outcome, verdict) = attempt("12345678", &mut w, now, jiff::SignedDuration::ZERO);
        assert_eq!(
            outcome,
            Ok(Step::Pin(Paired {
                device: alex(),
                relation: Relation::Partner,
                person: PersonId::parse("alex").unwrap(),
                name: "Alex".into(),
            })),
            "the inviter's TLS identity, with the name it gave"
        );
        let Ok(responder::Step::Pin { joiner, port, .. }) = verdict else {
            panic!("the responder did not pin: {verdict:?}");
        };
        assert_eq!(
            (joiner.device, joiner.name.as_str(), port),
            (sam(), "Sam", 7)
        );
        assert!(w.is_none(), "one code pairs one device");
    }

    #[test]
    fn a_wrong_code_is_told_with_the_attempts_left() {
        let now = Timestamp::now();
        let mut w = window(now);
        let (outcome, verdict) = attempt("0000-0000", &mut w, now, jiff::SignedDuration::ZERO);
        let expected = || PairingError::WrongCode {
            attempts_left: MAX_ATTEMPTS - 1,
        };
        assert_eq!(verdict.map(|_| ()), Err(expected()));
        assert_eq!(outcome, Err(expected()));
    }

    /// Every refusal the responder gives reaches the joiner as the same error, through the
    /// code on the wire.
    #[test]
    fn the_responders_refusals_reach_the_joiner_typed() {
        let now = Timestamp::now();
        let zero = jiff::SignedDuration::ZERO;
        let start_refused = |w: &mut Option<PairingWindow>, relation: Relation| {
            let (mut j, mut j_pake, start) = joiner(CODE, relation, 9);
            let (mut r, mut r_pake) = responder(9);
            let (verdict, refusal) = answer(&mut r, &mut r_pake, &start, w, now);
            let outcome = j.receive(&refusal, &mut j_pake);
            assert!(j.finished());
            assert_eq!(outcome.as_ref().err(), verdict.as_ref().err());
            outcome
        };

        // No window.
        let outcome = start_refused(&mut None, Relation::Partner);
        assert_eq!(outcome, Err(PairingError::NotOpen));

        // --own on one side only.
        let outcome = start_refused(&mut window(now), Relation::Own);
        assert_eq!(outcome, Err(PairingError::RelationMismatch));

        // Busy: another attempt is waiting for its confirmation.
        let mut w = window(now);
        let (mut first, mut first_pake) = responder(1);
        let (_, _, first_start) = joiner(CODE, Relation::Partner, 1);
        let (verdict, _) = answer(&mut first, &mut first_pake, &first_start, &mut w, now);
        assert!(matches!(verdict, Ok(responder::Step::Send(_))));
        let outcome = start_refused(&mut w, Relation::Partner);
        assert_eq!(outcome, Err(PairingError::Busy));

        // Too slow: the confirmation comes after the attempt's time.
        let mut w = window(now);
        let (outcome, verdict) = attempt(CODE, &mut w, now, ATTEMPT_LIFETIME);
        assert_eq!(verdict.map(|_| ()), Err(PairingError::TooSlow));
        assert_eq!(outcome, Err(PairingError::TooSlow));

        // Expired while the joiner was typing.
        let mut w = window(now - CODE_LIFETIME);
        let outcome = start_refused(&mut w, Relation::Partner);
        assert_eq!(outcome, Err(PairingError::Expired));

        // Locked out: three wrong codes, then even the right one.
        let mut w = window(now);
        for told in [
            PairingError::WrongCode { attempts_left: 2 },
            PairingError::WrongCode { attempts_left: 1 },
            PairingError::LockedOut,
        ] {
            let (outcome, _) = attempt("0000-0000", &mut w, now, zero);
            assert_eq!(outcome, Err(told));
        }
        let outcome = start_refused(&mut w, Relation::Partner);
        assert_eq!(outcome, Err(PairingError::LockedOut));
    }

    #[test]
    fn a_tampered_or_reflected_acceptance_pins_nothing() {
        let now = Timestamp::now();
        /// Alters the inviter's proof, given the joiner's own.
        type Tamper = fn(&mut Vec<u8>, &[u8]);
        let tampers: [Tamper; 3] = [
            |mac, _| mac[0] ^= 1,
            // The joiner's own proof sent back: the role is part of what is proven.
            |mac, own| *mac = own.to_vec(),
            |mac, _| mac.truncate(16),
        ];
        for tamper in tampers {
            let mut w = window(now);
            let (mut j, mut j_pake, start) = joiner(CODE, Relation::Partner, 9);
            let (mut r, mut r_pake) = responder(9);
            let (_, reply) = answer(&mut r, &mut r_pake, &start, &mut w, now);
            let Ok(Step::Send(confirm)) = j.receive(&reply, &mut j_pake) else {
                panic!("expected a confirmation");
            };
            let PairMessage::Confirm { mac: own } = &confirm else {
                panic!("expected a confirmation, got {confirm:?}");
            };
            let (verdict, _) = answer(&mut r, &mut r_pake, &confirm.encode(), &mut w, now);
            let Ok(responder::Step::Pin {
                then: PairMessage::Accepted { mut mac },
                ..
            }) = verdict
            else {
                panic!("the responder did not accept: {verdict:?}");
            };
            tamper(&mut mac, own);
            let outcome = j.receive(&PairMessage::Accepted { mac }.encode(), &mut j_pake);
            assert_eq!(outcome, Err(PairingError::Unproven));
            assert!(j.finished());
        }
    }

    #[test]
    fn an_acceptance_from_another_session_pins_nothing() {
        let now = Timestamp::now();
        let mut w = window(now);
        // A relay: the joiner's session has exporter 9, the inviter's 10.
        let (mut j, mut j_pake, start) = joiner(CODE, Relation::Partner, 9);
        let (mut r, mut r_pake) = responder(10);
        let (_, reply) = answer(&mut r, &mut r_pake, &start, &mut w, now);
        let Ok(Step::Send(confirm)) = j.receive(&reply, &mut j_pake) else {
            panic!("expected a confirmation");
        };
        let (verdict, refusal) = answer(&mut r, &mut r_pake, &confirm.encode(), &mut w, now);
        assert_eq!(
            verdict.map(|_| ()),
            Err(PairingError::WrongCode {
                attempts_left: MAX_ATTEMPTS - 1
            }),
            "the inviter refuses the relayed proof"
        );
        assert!(j.receive(&refusal, &mut j_pake).is_err());
    }

    #[test]
    fn messages_out_of_order_end_the_attempt() {
        let accepted = PairMessage::Accepted { mac: vec![0; 32] }.encode();
        let (mut j, mut pake, start) = joiner(CODE, Relation::Partner, 9);
        assert_eq!(
            j.receive(&accepted, &mut pake),
            Err(PairingError::Protocol(
                "expected the inviter's reply, got an acceptance".into()
            ))
        );
        assert!(j.finished());
        assert!(
            j.receive(&accepted, &mut pake).is_err(),
            "nothing is accepted after the attempt is over"
        );

        // Its own start reflected back.
        let (mut j, mut pake, _) = joiner(CODE, Relation::Partner, 9);
        assert!(matches!(
            j.receive(&start, &mut pake),
            Err(PairingError::Protocol(m)) if m.contains("got a start")
        ));

        // A second reply where the acceptance belongs.
        let reply = PairMessage::Reply {
            pake: code(CODE).password(),
            person: PersonId::parse("alex").unwrap(),
            name: "Alex".into(),
        }
        .encode();
        let (mut j, mut pake, _) = joiner(CODE, Relation::Partner, 9);
        assert!(matches!(j.receive(&reply, &mut pake), Ok(Step::Send(_))));
        assert_eq!(
            j.receive(&reply, &mut pake),
            Err(PairingError::Protocol(
                "expected the inviter's acceptance, got a reply".into()
            ))
        );
        assert!(j.finished());
    }

    #[test]
    fn garbage_oversized_frames_and_hostile_names_end_the_attempt() {
        let reply = |name: String| {
            PairMessage::Reply {
                pake: code(CODE).password(),
                person: PersonId::parse("alex").unwrap(),
                name,
            }
            .encode()
        };
        let cases: [(Vec<u8>, &str); 5] = [
            (vec![0xff; 16], "undecodable"),
            (Vec::new(), "undecodable"),
            (vec![1; MAX_PAIR_FRAME + 1], "over the limit"),
            (reply("A".repeat(61)), "name"),
            (reply("Alex\u{1b}]0;pwned\u{7}".into()), "name"),
        ];
        for (payload, why) in cases {
            let (mut j, mut pake, _) = joiner(CODE, Relation::Partner, 9);
            let outcome = j.receive(&payload, &mut pake);
            assert!(
                matches!(&outcome, Err(PairingError::Protocol(m)) if m.contains(why)),
                "{why}: {outcome:?}"
            );
            assert!(j.finished());
        }
    }

    /// A first-release inviter sends text only, and a newer one may send a code this build
    /// does not know: either way the joiner shows the inviter's words, never parses them.
    #[test]
    fn refusals_without_a_known_code_show_the_inviters_text() {
        let text = "wrong pairing code (2 attempts left)";
        let first_release = postcard::to_stdvec(&PairMessage::Refused {
            reason: text.into(),
            refusal: Refusal::default(),
        })
        .unwrap();
        let mut newer = first_release.clone();
        newer.extend(postcard::to_stdvec(&("on_fire", 0u8, "a newer field")).unwrap());
        for payload in [first_release, newer] {
            let (mut j, mut pake, _) = joiner(CODE, Relation::Partner, 9);
            assert_eq!(
                j.receive(&payload, &mut pake),
                Err(PairingError::Refused(text.into()))
            );
        }
        // A newer inviter's known code is read, whatever fields follow it.
        let mut known = postcard::to_stdvec(&PairMessage::Refused {
            reason: "no".into(),
            refusal: Refusal::default(),
        })
        .unwrap();
        known.extend(postcard::to_stdvec(&(RefusalCode::Busy, 0u8, "a newer field")).unwrap());
        let (mut j, mut pake, _) = joiner(CODE, Relation::Partner, 9);
        assert_eq!(j.receive(&known, &mut pake), Err(PairingError::Busy));
    }
}
