//! Pairing two devices with a short one-time code.
//!
//! The inviter opens a [`PairingWindow`] (8 digits, 5 minutes, 3 wrong attempts). The
//! joiner dials it over TLS without pinning and both run SPAKE2 with the code (the SPAKE2
//! arithmetic itself lives in the daemon, which owns randomness). A wrong code yields a
//! different key, not an error, so both then prove the key: each sends an HMAC over its
//! role and both certificate fingerprints, keyed from the SPAKE2 key *and* the TLS
//! exporter. A wrong code, a replayed message, or a relay splicing two TLS sessions all
//! fail that check. Only then does each side pin the other's device id.
//!
//! Each side is a state machine without I/O: [`responder::Responder`] for the inviter,
//! [`joiner::Joiner`] for the joiner. The daemon moves their messages and supplies SPAKE2
//! through [`Pake`].

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use thiserror::Error;

use crate::device::DeviceId;
use crate::entity::required_text;
use crate::ids::PersonId;
use crate::model::person::MAX_NAME_LEN;
use crate::model::string_enum;

#[cfg(any(test, feature = "fuzzing"))]
pub mod fake_pake;
pub mod joiner;
pub mod responder;

/// How long a code is valid.
pub const CODE_LIFETIME: SignedDuration = SignedDuration::from_secs(5 * 60);
/// Codes that may be tried before the window closes.
pub const MAX_ATTEMPTS: u8 = 3;
/// How long a started attempt may take to confirm; until then no other may start. An
/// honest joiner needs well under a second.
pub const ATTEMPT_LIFETIME: SignedDuration = SignedDuration::from_secs(20);
/// Largest pairing message frame. Pairing frames come from devices that have proven
/// nothing, so they are kept small (the largest honest message is a few hundred bytes).
pub const MAX_PAIR_FRAME: usize = 4 * 1024;
/// SPAKE2 identity of the joining side.
pub const JOINER: &[u8] = b"tandem-joiner";
/// SPAKE2 identity of the inviting side.
pub const INVITER: &[u8] = b"tandem-inviter";

/// What the other device is to this one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The partner's device: gets the shared document only.
    Partner,
    /// One's own other device: gets the private document too.
    Own,
}

/// Pairing failed; nothing was pinned.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PairingError {
    /// No code is open on the inviting device.
    #[error("no pairing in progress there: run `tandem pair` on the other laptop first")]
    NotOpen,
    /// The code's 5 minutes are over.
    #[error("the pairing code expired: run `tandem pair` again for a new one")]
    Expired,
    /// The code was wrong (or someone in the middle tampered).
    #[error("wrong pairing code ({attempts_left} attempts left)")]
    WrongCode {
        /// Attempts before the window closes.
        attempts_left: u8,
    },
    /// Every attempt of the window was used: it is closed.
    #[error("too many pairing attempts: pairing closed, run `tandem pair` again")]
    LockedOut,
    /// Another device is trying a code right now.
    #[error("another device is trying a pairing code right now: try again in a few seconds")]
    Busy,
    /// The attempt took longer than [`ATTEMPT_LIFETIME`] to confirm.
    #[error("the pairing attempt took too long: run `tandem pair` with the code again")]
    TooSlow,
    /// One side wants `--own`, the other not.
    #[error("one side paired with --own and the other without: use the same on both")]
    RelationMismatch,
    /// The code is not 8 digits.
    #[error("a pairing code is 8 digits, like 1234-5678")]
    BadCode,
    /// The inviter accepted but could not prove it knows the code (a tampered or
    /// impersonated answer).
    #[error("the other device could not prove it knows the code: nothing was pinned")]
    Unproven,
    /// The inviter refused for a reason this build has no code for (a newer build's, or a
    /// first-release inviter's, which sends text only): its own words.
    #[error("the other device refused to pair: {0}")]
    Refused(String),
    /// The other side broke the protocol.
    #[error("pairing protocol error: {0}")]
    Protocol(String),
}

/// This side's half of SPAKE2. The arithmetic needs randomness, which the daemon owns, so
/// both state machines ask for it through this.
pub trait Pake {
    /// Starts with `code`; returns the message for the other side.
    fn start(&mut self, code: PairingCode) -> Vec<u8>;
    /// Finishes with the other side's message; returns the shared key (which differs on
    /// both sides when the codes differ: that is found out by the confirmation).
    fn finish(&mut self, theirs: &[u8]) -> Result<Vec<u8>, PairingError>;
}

/// The other device once it has proven the code: what to pin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paired {
    /// Its certificate's fingerprint (from TLS, not from a message).
    pub device: DeviceId,
    /// Partner or own device.
    pub relation: Relation,
    /// Its person.
    pub person: PersonId,
    /// Its person's name, checked by [`person_name`].
    pub name: String,
}

/// The name a device gives for its person, checked like any name typed here: it ends up
/// in `tandem peers` and in the document.
pub fn person_name(name: &str) -> Result<String, PairingError> {
    required_text("name", name, MAX_NAME_LEN)
        .map_err(|e| PairingError::Protocol(format!("the other device's {e}")))
}

/// An 8-digit one-time code.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PairingCode(u32);

impl PairingCode {
    /// A code from random bits.
    pub fn from_random(bits: u32) -> Self {
        Self(bits % 100_000_000)
    }

    /// Reads `1234-5678`, `1234 5678` or `12345678`.
    pub fn parse(text: &str) -> Result<Self, PairingError> {
        let digits: String = text.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PairingError::BadCode);
        }
        digits.parse().map(Self).map_err(|_| PairingError::BadCode)
    }

    /// The SPAKE2 password.
    pub fn password(&self) -> Vec<u8> {
        format!("{:08}", self.0).into_bytes()
    }
}

impl std::fmt::Display for PairingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:04}", self.0 / 10_000, self.0 % 10_000)
    }
}

impl std::fmt::Debug for PairingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PairingCode(****-****)")
    }
}

/// The inviter's open invitation.
///
/// Every code tried costs an attempt the moment its `Start` is accepted, before any SPAKE2
/// arithmetic, and only one attempt may be in flight at a time: however many connections
/// a guesser opens, at most [`MAX_ATTEMPTS`] codes are ever tried against one window.
#[derive(Clone, Debug)]
pub struct PairingWindow {
    /// The code to type on the other device.
    pub code: PairingCode,
    /// What the joiner will be.
    pub relation: Relation,
    /// When the code stops working.
    pub expires_at: Timestamp,
    /// Attempts that may still start.
    pub attempts_left: u8,
    /// The attempt whose confirmation is awaited, if any.
    in_flight: Option<InFlight>,
}

/// One started attempt, as the window knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct InFlight {
    attempt: Attempt,
    /// After this, the attempt no longer blocks others and its confirmation is refused.
    until: Timestamp,
}

/// A started attempt's number within its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt(u8);

impl PairingWindow {
    /// Opens a window at `now`.
    pub fn open(code: PairingCode, relation: Relation, now: Timestamp) -> Self {
        Self {
            code,
            relation,
            expires_at: now + CODE_LIFETIME,
            attempts_left: MAX_ATTEMPTS,
            in_flight: None,
        }
    }

    /// Whether an attempt could start now (ignoring one that may be in flight).
    pub fn admit(&self, now: Timestamp, relation: Relation) -> Result<(), PairingError> {
        if self.attempts_left == 0 {
            return Err(PairingError::LockedOut);
        }
        if now >= self.expires_at {
            return Err(PairingError::Expired);
        }
        if relation != self.relation {
            return Err(PairingError::RelationMismatch);
        }
        Ok(())
    }

    /// Whether the window has been over (expired, or used up, which it is by then at the
    /// latest) for a whole code lifetime: long enough for a late joiner to be told why, after
    /// which the pairing protocol is refused outright again.
    pub fn stale(&self, now: Timestamp) -> bool {
        now >= self.expires_at + CODE_LIFETIME
    }

    /// Starts an attempt, spending it: from here on the code may be tried once.
    pub fn begin(&mut self, now: Timestamp, relation: Relation) -> Result<Attempt, PairingError> {
        self.admit(now, relation)?;
        if self.in_flight.is_some_and(|f| now < f.until) {
            return Err(PairingError::Busy);
        }
        self.attempts_left -= 1;
        let attempt = Attempt(MAX_ATTEMPTS - self.attempts_left);
        self.in_flight = Some(InFlight {
            attempt,
            until: (now + ATTEMPT_LIFETIME).min(self.expires_at),
        });
        Ok(attempt)
    }

    /// Checks, when its confirmation arrives, that `attempt` may still be judged: the one
    /// in flight, within its time and the window's. A refused attempt is over.
    pub fn settle(&mut self, attempt: Attempt, now: Timestamp) -> Result<(), PairingError> {
        let ours = self.in_flight.is_some_and(|f| f.attempt == attempt);
        if !ours {
            return Err(if self.attempts_left == 0 {
                PairingError::LockedOut
            } else {
                PairingError::TooSlow
            });
        }
        let until = self.in_flight.map_or(now, |f| f.until);
        if now >= self.expires_at {
            self.in_flight = None;
            return Err(PairingError::Expired);
        }
        if now >= until {
            self.in_flight = None;
            return Err(PairingError::TooSlow);
        }
        Ok(())
    }

    /// Ends `attempt` without a verdict (its connection closed): the next may start. The
    /// attempt stays spent.
    pub fn abandon(&mut self, attempt: Attempt) {
        if self.in_flight.is_some_and(|f| f.attempt == attempt) {
            self.in_flight = None;
        }
    }

    /// Records that `attempt` proved a wrong code; the error to send back.
    pub fn wrong_code(&mut self, attempt: Attempt) -> PairingError {
        self.abandon(attempt);
        if self.attempts_left == 0 {
            PairingError::LockedOut
        } else {
            PairingError::WrongCode {
                attempts_left: self.attempts_left,
            }
        }
    }
}

/// Messages on a pairing connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PairMessage {
    /// Joiner → inviter: the SPAKE2 opening and who is asking.
    Start {
        /// Protocol version of the joiner.
        version: u32,
        /// `--own` or not.
        relation: Relation,
        /// SPAKE2 message (side A).
        pake: Vec<u8>,
        /// The joiner's person.
        person: PersonId,
        /// The joiner's name.
        name: String,
        /// Port the joiner accepts sync connections on.
        port: u16,
    },
    /// Inviter → joiner: the SPAKE2 answer and who answers.
    Reply {
        /// SPAKE2 message (side B).
        pake: Vec<u8>,
        /// The inviter's person.
        person: PersonId,
        /// The inviter's name.
        name: String,
    },
    /// Joiner → inviter: proof of the key.
    Confirm {
        /// HMAC of [`JOINER`] and both fingerprints.
        mac: Vec<u8>,
    },
    /// Inviter → joiner: the pairing is done, with the inviter's proof.
    Accepted {
        /// HMAC of [`INVITER`] and both fingerprints.
        mac: Vec<u8>,
    },
    /// Inviter → joiner: no; the attempt is over.
    Refused {
        /// Why, for the person: what a first-release joiner shows as it is.
        reason: String,
        /// Why, for the program: the joiner acts on this, never on `reason`. The first
        /// release's `Refused` had only the text, so this is not among the serialized
        /// fields: [`PairMessage::encode`] appends it after the message, where older builds
        /// do not look, and from an older inviter it reads as [`Refusal::default`].
        #[serde(skip)]
        refusal: Refusal,
    },
}

string_enum!(
    /// Why an inviter refused a pairing attempt, as it travels in [`Refusal`]. A code from a
    /// newer build reads as `Unknown`, and the joiner then shows the inviter's text.
    RefusalCode {
        /// [`PairingError::NotOpen`].
        NotOpen = "not_open",
        /// [`PairingError::Expired`].
        Expired = "expired",
        /// [`PairingError::WrongCode`].
        WrongCode = "wrong_code",
        /// [`PairingError::LockedOut`].
        LockedOut = "locked_out",
        /// [`PairingError::Busy`].
        Busy = "busy",
        /// [`PairingError::TooSlow`].
        TooSlow = "too_slow",
        /// [`PairingError::RelationMismatch`].
        RelationMismatch = "relation_mismatch",
        /// The joiner broke the protocol (the text says how).
        Protocol = "protocol",
    }
);

/// The machine-readable part of [`PairMessage::Refused`], sent after the message in its
/// frame. Its fields are only ever appended, never removed, reordered or retyped: postcard
/// ignores trailing bytes, so each build reads the fields it knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// What went wrong. Sent as its name, so an unknown one reads as `Unknown`.
    #[serde(deserialize_with = "any_refusal_code")]
    pub code: RefusalCode,
    /// With [`RefusalCode::WrongCode`]: attempts left before the window closes.
    pub attempts_left: u8,
}

/// What a refusal without a code (from a first-release inviter) means: nothing this build
/// can act on, so the joiner shows the inviter's text.
impl Default for Refusal {
    fn default() -> Self {
        Self {
            code: RefusalCode::Unknown,
            attempts_left: 0,
        }
    }
}

impl Refusal {
    /// What the inviter sends for `error`. Errors only a joiner meets (a mistyped code, an
    /// unproven inviter) never are sent; they would count as a protocol error.
    pub fn of(error: &PairingError) -> Self {
        let (code, attempts_left) = match error {
            PairingError::NotOpen => (RefusalCode::NotOpen, 0),
            PairingError::Expired => (RefusalCode::Expired, 0),
            PairingError::WrongCode { attempts_left } => (RefusalCode::WrongCode, *attempts_left),
            PairingError::LockedOut => (RefusalCode::LockedOut, 0),
            PairingError::Busy => (RefusalCode::Busy, 0),
            PairingError::TooSlow => (RefusalCode::TooSlow, 0),
            PairingError::RelationMismatch => (RefusalCode::RelationMismatch, 0),
            PairingError::BadCode
            | PairingError::Unproven
            | PairingError::Refused(_)
            | PairingError::Protocol(_) => (RefusalCode::Protocol, 0),
        };
        Self {
            code,
            attempts_left,
        }
    }

    /// The joiner's error for this refusal. `reason` (the inviter's text) is only used when
    /// the code says nothing this build can act on.
    pub fn error(self, reason: String) -> PairingError {
        match self.code {
            RefusalCode::NotOpen => PairingError::NotOpen,
            RefusalCode::Expired => PairingError::Expired,
            RefusalCode::WrongCode => PairingError::WrongCode {
                attempts_left: self.attempts_left,
            },
            RefusalCode::LockedOut => PairingError::LockedOut,
            RefusalCode::Busy => PairingError::Busy,
            RefusalCode::TooSlow => PairingError::TooSlow,
            RefusalCode::RelationMismatch => PairingError::RelationMismatch,
            RefusalCode::Protocol | RefusalCode::Unknown => PairingError::Refused(reason),
        }
    }
}

/// Reads a refusal code by name, a name this build does not know as `Unknown`.
fn any_refusal_code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<RefusalCode, D::Error> {
    let name = String::deserialize(d)?;
    Ok(name.parse().unwrap_or(RefusalCode::Unknown))
}

impl PairMessage {
    /// The inviter's refusal for `error`: its text for people (and first-release joiners),
    /// its code for the joiner's build.
    pub fn refused(error: &PairingError) -> Self {
        Self::Refused {
            reason: error.to_string(),
            refusal: Refusal::of(error),
        }
    }

    /// Frame payload bytes: the message as the first release encodes it, then, for a
    /// refusal, its [`Refusal`].
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = postcard::to_stdvec(self).expect("pairing messages always serialize");
        if let Self::Refused { refusal, .. } = self {
            bytes.extend(postcard::to_stdvec(refusal).expect("refusals always serialize"));
        }
        bytes
    }

    /// Reads a frame payload. A payload over [`MAX_PAIR_FRAME`] is refused unread.
    pub fn decode(bytes: &[u8]) -> Result<Self, PairingError> {
        if bytes.len() > MAX_PAIR_FRAME {
            return Err(PairingError::Protocol(format!(
                "a pairing message of {} bytes is over the limit of {MAX_PAIR_FRAME}",
                bytes.len()
            )));
        }
        let garbage = |e: postcard::Error| {
            PairingError::Protocol(format!("undecodable pairing message: {e}"))
        };
        let (mut message, rest) = postcard::take_from_bytes::<Self>(bytes).map_err(garbage)?;
        if let Self::Refused { refusal, .. } = &mut message
            && !rest.is_empty()
        {
            // A newer build's fields after the ones known here stay unread.
            (*refusal, _) = postcard::take_from_bytes(rest).map_err(garbage)?;
        }
        Ok(message)
    }

    /// The message's kind, for errors about messages out of order.
    fn kind(&self) -> &'static str {
        match self {
            Self::Start { .. } => "a start",
            Self::Reply { .. } => "a reply",
            Self::Confirm { .. } => "a confirmation",
            Self::Accepted { .. } => "an acceptance",
            Self::Refused { .. } => "a refusal",
        }
    }
}

/// The error for receiving `got` while waiting for `wanted`.
fn unexpected(wanted: &str, got: &PairMessage) -> PairingError {
    PairingError::Protocol(format!("expected {wanted}, got {}", got.kind()))
}

/// The confirmation key: HKDF over the SPAKE2 key, salted with the TLS exporter so the
/// proof only holds inside this very TLS session.
pub fn confirmation_key(spake_key: &[u8], exporter: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(exporter), spake_key)
        .expand(b"tandem pairing confirmation v1", &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    key
}

fn mac(key: &[u8; 32], role: &[u8], joiner: &DeviceId, inviter: &DeviceId) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(role);
    mac.update(joiner.as_bytes());
    mac.update(inviter.as_bytes());
    mac
}

/// The proof `role` sends.
pub fn prove(key: &[u8; 32], role: &[u8], joiner: &DeviceId, inviter: &DeviceId) -> Vec<u8> {
    mac(key, role, joiner, inviter)
        .finalize()
        .into_bytes()
        .to_vec()
}

/// Checks a proof in constant time.
pub fn verify(
    key: &[u8; 32],
    role: &[u8],
    joiner: &DeviceId,
    inviter: &DeviceId,
    proof: &[u8],
) -> bool {
    mac(key, role, joiner, inviter).verify_slice(proof).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_and_print() {
        let code = PairingCode::parse("0123-4567").unwrap();
        assert_eq!(code.to_string(), "0123-4567");
        assert_eq!(PairingCode::parse("01234567").unwrap(), code);
        assert!(PairingCode::parse("123").is_err());
        assert!(PairingCode::parse("abcd-efgh").is_err());
        assert_eq!(
            format!("{code:?}"),
            "PairingCode(****-****)",
            "codes stay out of logs"
        );
    }

    #[test]
    fn windows_expire_and_lock_after_three_attempts() {
        let now: Timestamp = "2026-11-26T10:00:00Z".parse().unwrap();
        let mut w = PairingWindow::open(PairingCode::from_random(42), Relation::Partner, now);
        assert!(w.admit(now, Relation::Partner).is_ok());
        assert_eq!(
            w.begin(now, Relation::Own),
            Err(PairingError::RelationMismatch)
        );
        assert_eq!(
            w.begin(now + CODE_LIFETIME, Relation::Partner),
            Err(PairingError::Expired)
        );
        assert_eq!(w.attempts_left, MAX_ATTEMPTS, "refused starts cost nothing");
        let first = w.begin(now, Relation::Partner).unwrap();
        assert_eq!(w.attempts_left, 2, "spent when the start is accepted");
        assert_eq!(w.settle(first, now), Ok(()));
        assert_eq!(
            w.wrong_code(first),
            PairingError::WrongCode { attempts_left: 2 }
        );
        let second = w.begin(now, Relation::Partner).unwrap();
        w.abandon(second);
        assert_eq!(w.attempts_left, 1, "an abandoned attempt stays spent");
        let third = w.begin(now, Relation::Partner).unwrap();
        assert_eq!(w.wrong_code(third), PairingError::LockedOut);
        assert_eq!(
            w.begin(now, Relation::Partner),
            Err(PairingError::LockedOut)
        );
    }

    #[test]
    fn a_window_goes_stale_one_code_lifetime_after_it_expired() {
        let now: Timestamp = "2026-11-26T10:00:00Z".parse().unwrap();
        let w = PairingWindow::open(PairingCode::from_random(42), Relation::Partner, now);
        assert!(
            !w.stale(w.expires_at),
            "a late joiner is still told it expired"
        );
        assert!(w.stale(w.expires_at + CODE_LIFETIME));
    }

    #[test]
    fn one_attempt_at_a_time_and_each_within_its_time() {
        let now: Timestamp = "2026-11-26T10:00:00Z".parse().unwrap();
        let mut w = PairingWindow::open(PairingCode::from_random(42), Relation::Partner, now);
        let slow = w.begin(now, Relation::Partner).unwrap();
        assert_eq!(w.begin(now, Relation::Partner), Err(PairingError::Busy));
        assert_eq!(w.attempts_left, 2, "a busy refusal costs nothing");
        let later = now + ATTEMPT_LIFETIME;
        assert_eq!(w.settle(slow, later), Err(PairingError::TooSlow));
        let next = w.begin(later, Relation::Partner).unwrap();
        assert_eq!(
            w.settle(slow, later),
            Err(PairingError::TooSlow),
            "a superseded attempt is never judged"
        );
        assert_eq!(w.settle(next, later), Ok(()));
        assert_eq!(
            w.settle(next, w.expires_at),
            Err(PairingError::Expired),
            "expiry is checked at the confirmation too"
        );
    }

    proptest::proptest! {
        /// Whatever mix of starts, verdicts, abandoned attempts and waiting: at most three
        /// attempts ever start, never two at once, and a locked or expired window never
        /// starts another.
        #[test]
        fn the_window_never_allows_a_fourth_guess(steps in proptest::collection::vec((0u8..4, 0i64..40), 0..40)) {
            let start: Timestamp = "2026-11-26T10:00:00Z".parse().unwrap();
            let mut w = PairingWindow::open(PairingCode::from_random(7), Relation::Partner, start);
            let (mut started, mut now, mut open): (Vec<Attempt>, _, Option<Attempt>) = (Vec::new(), start, None);
            for (action, wait) in steps {
                now += SignedDuration::from_secs(wait);
                match action {
                    0 | 1 => {
                        let before = w.attempts_left;
                        match w.begin(now, Relation::Partner) {
                            Ok(attempt) => {
                                proptest::prop_assert!(now < w.expires_at && before > 0);
                                started.push(attempt);
                                open = Some(attempt);
                            }
                            Err(_) => proptest::prop_assert_eq!(w.attempts_left, before),
                        }
                    }
                    2 => {
                        if let Some(attempt) = open.take()
                            && w.settle(attempt, now).is_ok()
                        {
                            w.wrong_code(attempt);
                        }
                    }
                    _ => {
                        if let Some(attempt) = started.first().copied() {
                            let _ = w.settle(attempt, now);
                        }
                    }
                }
                proptest::prop_assert!(started.len() <= usize::from(MAX_ATTEMPTS));
                proptest::prop_assert_eq!(usize::from(w.attempts_left), usize::from(MAX_ATTEMPTS) - started.len());
            }
        }
    }

    #[test]
    fn refusals_keep_the_first_release_encoding_and_append_their_code() {
        let busy = PairMessage::refused(&PairingError::Busy);
        let bytes = busy.encode();
        let text = PairingError::Busy.to_string();
        let mut expected = vec![4, u8::try_from(text.len()).unwrap()];
        expected.extend(text.as_bytes());
        expected.extend(b"\x04busy\x00");
        assert_eq!(bytes, expected, "variant 4 with the text, then the code");
        let first_release: PairMessage = postcard::from_bytes(&bytes).unwrap();
        assert!(
            matches!(&first_release, PairMessage::Refused { reason, .. } if *reason == text),
            "a first-release joiner reads the text: {first_release:?}"
        );
        assert_eq!(PairMessage::decode(&bytes), Ok(busy));
    }

    #[test]
    fn every_refusal_an_inviter_gives_reads_back_as_itself() {
        for error in [
            PairingError::NotOpen,
            PairingError::Expired,
            PairingError::WrongCode { attempts_left: 2 },
            PairingError::LockedOut,
            PairingError::Busy,
            PairingError::TooSlow,
            PairingError::RelationMismatch,
        ] {
            let Ok(PairMessage::Refused { reason, refusal }) =
                PairMessage::decode(&PairMessage::refused(&error).encode())
            else {
                panic!("{error:?} did not decode as a refusal");
            };
            assert_eq!(refusal.error(reason), error);
        }
        let broken = PairingError::Protocol("expected the joiner's start, got a reply".into());
        let Ok(PairMessage::Refused { reason, refusal }) =
            PairMessage::decode(&PairMessage::refused(&broken).encode())
        else {
            panic!("a protocol error did not decode as a refusal");
        };
        assert_eq!(refusal.code, RefusalCode::Protocol);
        assert_eq!(
            refusal.error(reason),
            PairingError::Refused(broken.to_string()),
            "the inviter's own words"
        );
    }

    #[test]
    fn proofs_bind_role_devices_and_session() {
        let (j, i) = (
            DeviceId::of_certificate(b"j"),
            DeviceId::of_certificate(b"i"),
        );
        let key = confirmation_key(b"spake key", b"exporter of this session");
        let proof = prove(&key, JOINER, &j, &i);
        assert!(verify(&key, JOINER, &j, &i, &proof));
        assert!(
            !verify(&key, INVITER, &j, &i, &proof),
            "a reflected proof fails"
        );
        assert!(
            !verify(&key, JOINER, &i, &j, &proof),
            "swapped devices fail"
        );
        let other_session = confirmation_key(b"spake key", b"exporter of another session");
        assert!(
            !verify(&other_session, JOINER, &j, &i, &proof),
            "a relayed proof fails"
        );
        let wrong_code = confirmation_key(b"other key", b"exporter of this session");
        assert!(!verify(&wrong_code, JOINER, &j, &i, &proof));
    }
}
