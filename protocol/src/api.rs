//! Bodies of the local HTTP API that are not documents' own types.
//!
//! Entities (plans, ideas, ...) travel as their model types; this module holds the envelopes
//! around them, shared by the daemon (which serves them) and the CLI (which reads them).

use serde::{Deserialize, Serialize};

use crate::activity::Activity;
use crate::device::DeviceId;
use crate::error::ValidationError;
use crate::ids::PersonId;
use crate::model::checkin::CheckinAnswer;
use crate::model::person::Person;
use crate::model::personal_time::PersonalTime;
use crate::pairing::Relation;
use crate::time::{IsoWeek, Stamp};

/// Version prefix of every route.
pub const API_PREFIX: &str = "/v1";
/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Where each route lives, written once: the daemon declares its routes at these paths
/// (`#[utoipa::path(path = ...)]`) and the CLI's client sends to them through
/// [`endpoints`]. A `{name}` segment is a path parameter, as OpenAPI writes it.
pub mod paths {
    /// The routes of a collection whose items are named by id.
    #[derive(Clone, Copy, Debug)]
    pub struct CollectionPaths {
        /// Its items (list, create).
        pub list: &'static str,
        /// One item (get, change, delete).
        pub item: &'static str,
        /// One item's conflicting values.
        pub conflicts: &'static str,
        /// Restoring a value one item's field lost in a conflict.
        pub keep: &'static str,
    }

    /// A collection's paths from its base, written once.
    macro_rules! collection {
        ($base:literal) => {
            CollectionPaths {
                list: $base,
                item: concat!($base, "/{id}"),
                conflicts: concat!($base, "/{id}/conflicts"),
                keep: concat!($base, "/{id}/keep"),
            }
        };
    }

    /// Who this daemon is.
    pub const STATUS: &str = "/v1/status";
    /// Plans.
    pub const PLANS: CollectionPaths = collection!("/v1/plans");
    /// Answering a plan.
    pub const PLAN_RSVP: &str = "/v1/plans/{id}/rsvp";
    /// Commenting on a plan.
    pub const PLAN_COMMENTS: &str = "/v1/plans/{id}/comments";
    /// Proposing another time for a plan.
    pub const PLAN_PROPOSALS: &str = "/v1/plans/{id}/proposals";
    /// Taking the time proposed for one's plan.
    pub const PLAN_ACCEPT: &str = "/v1/plans/{id}/accept";
    /// Keeping one's plan's time.
    pub const PLAN_DECLINE: &str = "/v1/plans/{id}/decline";
    /// Marking a plan's comments read.
    pub const PLAN_SEEN: &str = "/v1/plans/{id}/seen";
    /// The idea jar.
    pub const IDEAS: CollectionPaths = collection!("/v1/ideas");
    /// One idea from the jar at random.
    pub const IDEA_DRAW: &str = "/v1/ideas/draw";
    /// Turning an idea into a proposed plan.
    pub const IDEA_PLAN: &str = "/v1/ideas/{id}/plan";
    /// Taking an idea out of the jar.
    pub const IDEA_RETIRE: &str = "/v1/ideas/{id}/retire";
    /// What needs me.
    pub const TODAY: &str = "/v1/today";
    /// Agreements.
    pub const AGREEMENTS: CollectionPaths = collection!("/v1/agreements");
    /// Accepting an agreement's wording.
    pub const AGREEMENT_ACCEPT: &str = "/v1/agreements/{id}/accept";
    /// Private notes.
    pub const NOTES: CollectionPaths = collection!("/v1/notes");
    /// Personal-time blocks.
    pub const PERSONAL_TIME: &str = "/v1/personal-time";
    /// One personal-time block.
    pub const PERSONAL_TIME_ITEM: &str = "/v1/personal-time/{id}";
    /// The trash.
    pub const TRASH: &str = "/v1/trash";
    /// Bringing an item back from the trash.
    pub const TRASH_RESTORE: &str = "/v1/trash/{id}/restore";
    /// Undoing the last command made on this device.
    pub const UNDO: &str = "/v1/undo";
    /// Check-in weeks.
    pub const CHECKINS: &str = "/v1/checkins";
    /// One check-in week.
    pub const CHECKIN_WEEK: &str = "/v1/checkins/{week}";
    /// A week's balance.
    pub const BALANCE: &str = "/v1/balance";
    /// The balance over weeks.
    pub const BALANCE_WEEKS: &str = "/v1/balance/weeks";
    /// Shared settings.
    pub const SETTINGS: &str = "/v1/settings";
    /// The activity log.
    pub const LOG: &str = "/v1/log";
    /// What is due now.
    pub const REMINDERS: &str = "/v1/reminders";
    /// Paired devices.
    pub const PEERS: &str = "/v1/peers";
    /// One paired device.
    pub const PEER: &str = "/v1/peers/{device}";
    /// Devices seen by mDNS.
    pub const PEERS_NEARBY: &str = "/v1/peers/nearby";
    /// This device's pairing window.
    pub const PAIRING: &str = "/v1/pairing";
    /// Joining another device's pairing window.
    pub const PAIRING_JOIN: &str = "/v1/pairing/join";
    /// Phones let in.
    pub const PHONES: &str = "/v1/phones";
    /// One phone.
    pub const PHONE: &str = "/v1/phones/{id}";
    /// Backups: the status, or an archive made now.
    pub const BACKUP: &str = "/v1/backup";
    /// Automatic backups.
    pub const BACKUP_AUTO: &str = "/v1/backup/auto";
    /// Syncing while apart through a folder.
    pub const MAILBOX: &str = "/v1/mailbox";
}

/// An HTTP method of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Reads.
    Get,
    /// Creates or acts.
    Post,
    /// Changes some fields.
    Patch,
    /// Deletes.
    Delete,
}

impl Method {
    /// The method as HTTP spells it; lower-case, it is the key of an OpenAPI operation.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// Whether it changes something, so that a retry must carry an `Idempotency-Key`.
    pub fn writes(self) -> bool {
        self != Method::Get
    }
}

/// The request header that makes a write safe to retry: the daemon applies a key's
/// request once and answers its retries with the first answer.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// One operation a client sends: a method on a path whose `PARAMS` parameters are filled
/// in per request. Only [`endpoints`] makes them, so everything a client can send is in
/// [`endpoints::ALL`], which a test holds to the daemon's OpenAPI document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint<const PARAMS: usize = 0> {
    method: Method,
    path: &'static str,
}

impl<const PARAMS: usize> Endpoint<PARAMS> {
    /// Checked where each endpoint is declared, so at compile time: the path has exactly
    /// `PARAMS` parameters.
    const fn new(method: Method, path: &'static str) -> Self {
        assert!(
            parameters_in(path) == PARAMS,
            "an endpoint's parameter count is not its path's"
        );
        Self { method, path }
    }

    /// Its method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Whether a client may send it again under the same `Idempotency-Key` when its answer
    /// is lost: a write the documents record with its key (so the daemon applies it once),
    /// or one that is the same done twice. Not pairing, phones, peers or backups, which act
    /// on the device, show secrets once, or may take long: a retry would do them again.
    pub fn retried(&self) -> bool {
        const ON_THE_DEVICE: [&str; 4] =
            [paths::PAIRING, paths::PHONES, paths::PEERS, paths::BACKUP];
        self.method.writes() && !ON_THE_DEVICE.iter().any(|p| self.path.starts_with(p))
    }

    /// Its path as the OpenAPI document writes it, parameters in braces.
    pub fn template(&self) -> &'static str {
        self.path
    }

    /// The path with its parameters, in order, replaced by `values` (percent-encoded, so
    /// an id cannot reach another route).
    pub fn path(&self, values: [&str; PARAMS]) -> String {
        let mut path = String::with_capacity(self.path.len());
        let mut values = values.into_iter();
        let mut rest = self.path;
        while let Some((before, after)) = rest.split_once('{') {
            path.push_str(before);
            path.push_str(&encode(values.next().unwrap_or_default()));
            rest = after.split_once('}').map_or("", |(_, after)| after);
        }
        path.push_str(rest);
        path
    }
}

/// How many `{name}` parameters `path` has.
const fn parameters_in(path: &str) -> usize {
    let bytes = path.as_bytes();
    let (mut i, mut count) = (0, 0);
    while i < bytes.len() {
        if bytes[i] == b'{' {
            count += 1;
        }
        i += 1;
    }
    count
}

/// Percent-encodes a path segment or query value: everything but RFC 3986's unreserved
/// characters.
pub fn encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The operations the CLI sends, each a method on one of [`paths`]. Nothing else can be
/// sent through [`Endpoint`]; `tests/tests/contract.rs` checks every one against the
/// daemon's `/v1/openapi.json`.
pub mod endpoints {
    use super::Method::{Delete, Get, Patch, Post};
    use super::{Endpoint, Method, paths};

    /// Declares the endpoints and [`ALL`] of them.
    macro_rules! endpoints {
        ($($(#[$doc:meta])* $name:ident: $params:literal = $method:ident $path:expr;)+) => {
            $(
                $(#[$doc])*
                pub const $name: Endpoint<$params> = Endpoint::new($method, $path);
            )+

            /// Every endpoint: its method and path template.
            pub const ALL: &[(Method, &str)] = &[$(($name.method, $name.path)),+];
        };
    }

    endpoints! {
        /// `tandem status` and everything that needs the names or the time zone.
        STATUS: 0 = Get paths::STATUS;
        /// Plans, filtered.
        LIST_PLANS: 0 = Get paths::PLANS.list;
        /// Proposes a plan.
        CREATE_PLAN: 0 = Post paths::PLANS.list;
        /// One plan.
        GET_PLAN: 1 = Get paths::PLANS.item;
        /// Changes a plan.
        UPDATE_PLAN: 1 = Patch paths::PLANS.item;
        /// Puts a plan in the trash.
        DELETE_PLAN: 1 = Delete paths::PLANS.item;
        /// A plan's conflicting values.
        PLAN_CONFLICTS: 1 = Get paths::PLANS.conflicts;
        /// Restores a value a plan lost in a conflict.
        KEEP_PLAN_VALUE: 1 = Post paths::PLANS.keep;
        /// Answers a plan.
        RSVP_PLAN: 1 = Post paths::PLAN_RSVP;
        /// Comments on a plan.
        COMMENT_PLAN: 1 = Post paths::PLAN_COMMENTS;
        /// Proposes another time for a plan.
        PROPOSE_TIME: 1 = Post paths::PLAN_PROPOSALS;
        /// Takes the time proposed for one's plan.
        ACCEPT_TIME: 1 = Post paths::PLAN_ACCEPT;
        /// Keeps one's plan's time.
        DECLINE_TIME: 1 = Post paths::PLAN_DECLINE;
        /// Marks a plan's comments read on this laptop.
        SEEN_PLAN: 1 = Post paths::PLAN_SEEN;
        /// The idea jar.
        LIST_IDEAS: 0 = Get paths::IDEAS.list;
        /// Adds an idea.
        CREATE_IDEA: 0 = Post paths::IDEAS.list;
        /// One idea.
        GET_IDEA: 1 = Get paths::IDEAS.item;
        /// Changes an idea.
        UPDATE_IDEA: 1 = Patch paths::IDEAS.item;
        /// Puts an idea in the trash.
        DELETE_IDEA: 1 = Delete paths::IDEAS.item;
        /// Draws an idea from the jar.
        DRAW_IDEA: 0 = Post paths::IDEA_DRAW;
        /// Turns an idea into a proposed plan.
        PLAN_IDEA: 1 = Post paths::IDEA_PLAN;
        /// Takes an idea out of the jar.
        RETIRE_IDEA: 1 = Post paths::IDEA_RETIRE;
        /// What needs me.
        TODAY: 0 = Get paths::TODAY;
        /// Agreements.
        LIST_AGREEMENTS: 0 = Get paths::AGREEMENTS.list;
        /// Proposes an agreement.
        CREATE_AGREEMENT: 0 = Post paths::AGREEMENTS.list;
        /// One agreement.
        GET_AGREEMENT: 1 = Get paths::AGREEMENTS.item;
        /// Changes an agreement.
        UPDATE_AGREEMENT: 1 = Patch paths::AGREEMENTS.item;
        /// Puts an agreement in the trash.
        DELETE_AGREEMENT: 1 = Delete paths::AGREEMENTS.item;
        /// Accepts an agreement's wording.
        ACCEPT_AGREEMENT: 1 = Post paths::AGREEMENT_ACCEPT;
        /// Private notes.
        LIST_NOTES: 0 = Get paths::NOTES.list;
        /// Writes a note.
        CREATE_NOTE: 0 = Post paths::NOTES.list;
        /// One note.
        GET_NOTE: 1 = Get paths::NOTES.item;
        /// Changes a note.
        UPDATE_NOTE: 1 = Patch paths::NOTES.item;
        /// Puts a note in the trash.
        DELETE_NOTE: 1 = Delete paths::NOTES.item;
        /// Personal-time blocks.
        LIST_PERSONAL_TIME: 0 = Get paths::PERSONAL_TIME;
        /// Blocks personal time.
        CREATE_PERSONAL_TIME: 0 = Post paths::PERSONAL_TIME;
        /// One block.
        GET_PERSONAL_TIME: 1 = Get paths::PERSONAL_TIME_ITEM;
        /// Changes one's own block.
        UPDATE_PERSONAL_TIME: 1 = Patch paths::PERSONAL_TIME_ITEM;
        /// Puts one's own block in the trash.
        DELETE_PERSONAL_TIME: 1 = Delete paths::PERSONAL_TIME_ITEM;
        /// The trash.
        TRASH: 0 = Get paths::TRASH;
        /// Brings an item back from the trash.
        RESTORE_ITEM: 1 = Post paths::TRASH_RESTORE;
        /// Undoes the last command made here.
        UNDO: 0 = Post paths::UNDO;
        /// Check-in weeks.
        LIST_CHECKINS: 0 = Get paths::CHECKINS;
        /// Answers a check-in.
        ANSWER_CHECKIN: 0 = Post paths::CHECKINS;
        /// One check-in week.
        GET_CHECKIN: 1 = Get paths::CHECKIN_WEEK;
        /// A week's balance.
        BALANCE: 0 = Get paths::BALANCE;
        /// The balance over weeks.
        BALANCE_WEEKS: 0 = Get paths::BALANCE_WEEKS;
        /// Shared settings.
        SETTINGS: 0 = Get paths::SETTINGS;
        /// The activity log.
        LOG: 0 = Get paths::LOG;
        /// What is due now.
        REMINDERS: 0 = Get paths::REMINDERS;
        /// Paired devices.
        LIST_PEERS: 0 = Get paths::PEERS;
        /// Connects to a paired device at an address.
        ADD_PEER: 0 = Post paths::PEERS;
        /// Unpairs a device.
        REMOVE_PEER: 1 = Delete paths::PEER;
        /// Devices seen by mDNS.
        NEARBY: 0 = Get paths::PEERS_NEARBY;
        /// This device's pairing window.
        PAIRING: 0 = Get paths::PAIRING;
        /// Opens a pairing window.
        OPEN_PAIRING: 0 = Post paths::PAIRING;
        /// Joins another device's pairing window.
        JOIN_PAIRING: 0 = Post paths::PAIRING_JOIN;
        /// Phones let in.
        LIST_PHONES: 0 = Get paths::PHONES;
        /// Lets a phone in.
        ADD_PHONE: 0 = Post paths::PHONES;
        /// Shuts a phone out.
        REVOKE_PHONE: 1 = Delete paths::PHONE;
        /// Whether automatic backups run.
        BACKUP_STATUS: 0 = Get paths::BACKUP;
        /// An encrypted archive made now.
        BACKUP: 0 = Post paths::BACKUP;
        /// Sets up automatic backups.
        AUTO_BACKUP: 0 = Post paths::BACKUP_AUTO;
        /// The mailbox folders and what went through them.
        MAILBOX_STATUS: 0 = Get paths::MAILBOX;
        /// Sets a mailbox folder.
        SET_MAILBOX: 0 = Post paths::MAILBOX;
        /// Stops using a mailbox folder.
        MAILBOX_OFF: 0 = Delete paths::MAILBOX;
    }
}

/// Every error response: `{"error": {"code": ..., "message": ...}}`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// A machine-readable code and a message a person can act on.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable code, e.g. `not_found`, `invalid`, `unauthorized`.
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Size of one document, for `status`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocumentStatus {
    /// `shared` or `private`.
    pub kind: String,
    /// Changes in its history.
    pub changes: usize,
    /// Bytes of its compacted snapshot on disk plus its change log.
    pub bytes_on_disk: u64,
    /// Its schema version: above [`Status::schema`] once a newer tandem (a paired
    /// laptop's) upgraded it.
    #[serde(default = "first_schema")]
    pub schema: u32,
}

/// What a daemon that does not report schema versions (the first release) has.
fn first_schema() -> u32 {
    crate::schema::GENESIS_VERSION
}

/// `GET /v1/status`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Status {
    /// Version of the daemon.
    pub version: String,
    /// Who this daemon belongs to.
    pub me: Person,
    /// The partner, once their daemon has synced with ours.
    pub partner: Option<Person>,
    /// Data directory in use.
    pub home: String,
    /// IANA time zone the daemon reads "this week" and human times in.
    pub time_zone: String,
    /// This device's id (its certificate's SHA-256).
    #[serde(default)]
    pub device_id: String,
    /// Port paired devices dial.
    #[serde(default)]
    pub peer_port: u16,
    /// Whether mDNS discovery is on.
    #[serde(default)]
    pub mdns: bool,
    /// Each document's heads: equal on two devices means they are in sync.
    #[serde(default)]
    pub heads: std::collections::BTreeMap<String, Vec<String>>,
    /// The newest document schema version this daemon's build knows.
    #[serde(default = "first_schema")]
    pub schema: u32,
    /// Both documents.
    pub documents: Vec<DocumentStatus>,
    /// Items per collection, e.g. `plans: 3`.
    pub counts: std::collections::BTreeMap<String, usize>,
    /// What needs me now, as `GET /v1/today` lists it.
    #[serde(default)]
    pub today: Option<crate::inbox::Today>,
}

/// `{id}` of a route on one item: its id, or a prefix of it that matches one item.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ItemPath {
    /// The id, or a unique prefix of it.
    #[param(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub id: String,
}

/// `{device}` of `DELETE /v1/peers/{device}`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DevicePath {
    /// The device id: 52 base32 characters (the last one carries 1 bit: `0` or `g`),
    /// dashes anywhere, any case.
    #[param(pattern = r"^-*(?:[0-9a-hjkmnp-tv-zA-HJKMNP-TV-Z]-*){51}[0gG]-*$")]
    pub device: String,
}

/// `{week}` of `GET /v1/checkins/{week}`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WeekPath {
    /// The ISO week, or a date in it.
    #[param(value_type = IsoWeek, inline)]
    pub week: String,
}

/// `{id}` of `DELETE /v1/phones/{id}`: a phone's id prefix or its name.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PhonePath {
    /// The phone's id, a prefix of it, or its name.
    #[param(min_length = 1, max_length = 60)]
    pub id: String,
}

/// One end of a time window: an RFC 3339 instant, or a date meaning its midnight in the
/// daemon's time zone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeBound {
    /// An instant, e.g. `2026-12-04T18:00:00Z`.
    Instant(jiff::Timestamp),
    /// A day, e.g. `2026-12-04`.
    Day(jiff::civil::Date),
}

impl Serialize for TimeBound {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TimeBound::Instant(t) => s.collect_str(t),
            TimeBound::Day(d) => s.collect_str(d),
        }
    }
}

/// Text that is neither an RFC 3339 instant nor a `YYYY-MM-DD` date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an RFC 3339 instant or a YYYY-MM-DD date")]
pub struct NotATimeBound;

impl std::str::FromStr for TimeBound {
    type Err = NotATimeBound;

    fn from_str(raw: &str) -> Result<Self, NotATimeBound> {
        if let Ok(instant) = raw.parse() {
            return Ok(TimeBound::Instant(instant));
        }
        raw.parse().map(TimeBound::Day).map_err(|_| NotATimeBound)
    }
}

impl<'de> Deserialize<'de> for TimeBound {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse().map_err(|e: NotATimeBound| {
            serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(&raw),
                &e.to_string().as_str(),
            )
        })
    }
}

impl utoipa::PartialSchema for TimeBound {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat};
        let string = |format| {
            ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String)
                .format(Some(SchemaFormat::KnownFormat(format)))
        };
        OneOfBuilder::new()
            .item(string(KnownFormat::DateTime))
            .item(string(KnownFormat::Date))
            .into()
    }
}

impl utoipa::ToSchema for TimeBound {}

/// Query of `GET /v1/plans`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PlanQuery {
    /// Only plans with an occurrence ending after this instant or date.
    #[param(inline)]
    pub from: Option<TimeBound>,
    /// Only plans with an occurrence starting before this instant or date.
    #[param(inline)]
    pub to: Option<TimeBound>,
    /// Only plans with this status.
    #[param(inline)]
    pub status: Option<crate::model::plan::PlanStatus>,
}

/// Query of `GET /v1/personal-time`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WindowQuery {
    /// Only blocks ending after this instant or date.
    #[param(inline)]
    pub from: Option<TimeBound>,
    /// Only blocks starting before this instant or date.
    #[param(inline)]
    pub to: Option<TimeBound>,
}

/// A personal-time block as the API shows it: the details only for its owner.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonalTimeView {
    /// The shared block.
    #[serde(flatten)]
    pub block: PersonalTime,
    /// What it is for; present only on the owner's daemon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// One week of check-ins as the caller may see it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckinWeek {
    /// The week.
    pub week: IsoWeek,
    /// Everyone who has answered (markers), revealed or not.
    pub answered: Vec<PersonId>,
    /// Answers the caller may read: their own, and the partner's once both answered.
    pub answers: Vec<CheckinAnswer>,
    /// Whether both partners' answers are visible.
    pub revealed: bool,
}

/// `POST /v1/checkins`: the week after the answer.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckinAnswered {
    /// The week as the caller may now see it.
    #[serde(flatten)]
    pub week: CheckinWeek,
    /// Whether this answer replaced one given earlier for the same week, so the person
    /// knows their earlier draft is gone (only possible before the reveal).
    pub replaced: bool,
}

/// `GET /v1/log`: newest first.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActivityEntry {
    /// The record.
    #[serde(flatten)]
    pub activity: Activity,
    /// Display name of `by`, when known.
    pub by_name: Option<String>,
    /// `shared` or `private`.
    pub document: String,
}

/// Query of `GET /v1/balance`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BalanceQuery {
    /// The week, or a date in it; defaults to this week. (Read by the daemon, so that a
    /// week 53 in a year of 52 is told apart from a malformed week.)
    #[param(value_type = Option<IsoWeek>, inline)]
    pub week: Option<String>,
    /// IANA time zone of the week's bounds, e.g. `Europe/Paris`; defaults to the daemon's
    /// (a name the zone database does not know is a 422).
    #[param(
        pattern = r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$",
        max_length = 64
    )]
    pub tz: Option<String>,
}

/// Query of `GET /v1/balance/weeks`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BalanceWeeksQuery {
    /// How many weeks up to this one, default 12, at most [`crate::balance::MAX_WEEKS`].
    #[param(minimum = 1, maximum = 52)]
    pub weeks: Option<u32>,
    /// IANA time zone of the weeks' bounds; defaults to the daemon's (a name the zone
    /// database does not know is a 422).
    #[param(
        pattern = r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$",
        max_length = 64
    )]
    pub tz: Option<String>,
}

/// Query of `GET /v1/log`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// How many entries, default 50, at most [`MAX_LOG`].
    #[param(minimum = 0, maximum = 1000)]
    pub limit: Option<usize>,
}

/// Largest `limit` of the activity log (the schema states the same; a test holds them
/// together).
pub const MAX_LOG: usize = 1000;

/// What `tandem peers` shows of one paired device.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PeerStatus {
    /// Its device id.
    #[schema(value_type = String)]
    pub device_id: DeviceId,
    /// Its person's name.
    pub name: String,
    /// `partner` or `own`.
    pub relation: Relation,
    /// Whether a connection is up now.
    pub connected: bool,
    /// Address of the live connection, else the last known one.
    pub addr: Option<String>,
    /// When it was last connected.
    pub last_seen: Option<Stamp>,
    /// Its clock minus ours when it last connected, in milliseconds.
    #[serde(default)]
    pub clock_skew_ms: Option<i64>,
    /// The newest document schema version its tandem knows, as it said when it last
    /// connected: above [`Status::schema`] means it runs a newer tandem.
    #[serde(default)]
    pub schema: Option<u32>,
    /// Connected and holding exactly what we hold.
    #[serde(default)]
    pub in_sync: bool,
    /// How its address was learned: `pairing`, `mdns` or `manual`.
    #[serde(default)]
    pub found_by: String,
    /// Frame bytes sent over the current connection.
    #[serde(default)]
    pub bytes_sent: u64,
    /// Frame bytes received over the current connection.
    #[serde(default)]
    pub bytes_received: u64,
}

/// State of this device's pairing window.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PairingState {
    /// The code to type on the other laptop, while the window is open.
    pub code: Option<String>,
    /// `partner` or `own`.
    pub relation: Option<Relation>,
    /// When the code stops working.
    pub expires_at: Option<Stamp>,
    /// Attempts left.
    pub attempts_left: u8,
    /// Paired devices, in pairing order.
    pub paired: Vec<String>,
    /// Where the other laptop can reach this one's peer port, for `tandem pair CODE
    /// --addr` when discovery does not find it.
    #[serde(default)]
    pub addrs: Vec<String>,
}

/// `POST /v1/pairing`: open a window.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairRequest {
    /// Pair one's own other device (it gets the private document too).
    #[serde(default)]
    pub own: bool,
}

/// `POST /v1/pairing/join`: join another device's window.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    /// The code shown on the other device: 8 digits, dashes and spaces anywhere.
    #[schema(pattern = r"^[- ]*(?:[0-9][- ]*){8}$")]
    pub code: String,
    /// Its peer address, `HOST:PORT`; found by mDNS when absent.
    #[serde(default)]
    #[schema(
        pattern = r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$"
    )]
    pub addr: Option<String>,
    /// Must match the other side's `--own`.
    #[serde(default)]
    pub own: bool,
}

/// A tandem device seen on the home network by mDNS.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NearbyDevice {
    /// Its device id, from the TXT record (proven only when it connects).
    #[schema(value_type = String)]
    pub device_id: DeviceId,
    /// The name it announces.
    pub name: String,
    /// Addresses it announced, `IP:PORT`.
    pub addrs: Vec<String>,
    /// Whether it is paired with this device.
    pub paired: bool,
}

/// `POST /v1/<collection>/{id}/keep`: restore the value a field lost in a conflict.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeepRequest {
    /// The field, e.g. `title`.
    pub field: String,
}

/// `POST /v1/peers`: connect to a paired device at a known address.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddPeerRequest {
    /// `HOST:PORT` of the device's peer port: a name, an IPv4 address, or an IPv6 address
    /// in brackets, and a port from 1 to 65535 ([`check_peer_addr`]).
    #[schema(
        pattern = r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$"
    )]
    pub addr: String,
}

/// Checks a peer address as [`AddPeerRequest::addr`]'s schema states it: `HOST:PORT`, the
/// host a name (letters, digits, dots and dashes, not starting or ending with either of
/// the last two), or an IP address (IPv6 in brackets), the port 1 to 65535 without
/// leading zeros.
pub fn check_peer_addr(field: &str, addr: &str) -> Result<(), ValidationError> {
    let bad = || {
        ValidationError::new(
            field,
            format!("{addr:?} is not HOST:PORT, e.g. 192.168.1.20:41000 or laptop.local:41000"),
        )
    };
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    let port_ok = !port.starts_with('0')
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p > 0);
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(ip) => {
            !ip.is_empty()
                && ip
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        }
        None => {
            let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
            edge(host.chars().next())
                && edge(host.chars().last())
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        }
    };
    if port_ok && host_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// `POST /v1/phones`: let a phone in over the home network.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPhone {
    /// What to call it, e.g. "Alex's Pixel" (1 to 60 characters).
    #[schema(schema_with = crate::entity::required_text_schema::<{ crate::model::person::MAX_NAME_LEN }>)]
    pub name: String,
}

/// A phone allowed in, as `tandem phone list` shows it. Its token is never shown again.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PhoneView {
    /// Short id, for `tandem phone revoke`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// When it was added.
    pub added_at: Stamp,
    /// When it last made an authenticated request, since the daemon started.
    #[serde(default)]
    pub last_seen: Option<Stamp>,
}

/// `POST /v1/phones` answer: everything needed to open the page on the phone once.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PhoneAdded {
    /// The phone.
    pub phone: PhoneView,
    /// Its bearer token: shown this once, stored only as a hash.
    pub token: String,
    /// Page addresses on the home network, the token in the fragment (never sent in a
    /// request line, so never logged): first, while mDNS is on, the laptop's mDNS name
    /// (`https://tandem-<12 hex>.local:PORT/`, which stays the same when the router hands
    /// out another address), then each IPv4 address as a fallback.
    pub urls: Vec<String>,
    /// Calendar feed to subscribe to. Its token is the phone's calendar token, which opens
    /// this feed only (calendar apps keep and sync the link) and is revoked with the phone.
    pub calendar_url: String,
    /// SHA-256 of the certificate the page is served with, to compare with the browser's.
    pub fingerprint: String,
}

/// Query of `/v1/events` and `/v1/calendar.ics`: EventSource and calendar apps cannot send
/// headers.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    /// The API or phone token.
    pub token: Option<String>,
}

/// `POST /v1/backup`: an encrypted archive of both documents, made now.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupRequest {
    /// The passphrase the archive is encrypted with (age, scrypt); needed to restore it.
    #[schema(min_length = 1)]
    pub passphrase: String,
}

/// `POST /v1/backup/auto`: set up daily archives in a directory.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoBackupRequest {
    /// Absolute path of the directory archives go to; created if missing.
    #[schema(pattern = "^/")]
    pub dir: String,
    /// How many archives to keep (at least 1).
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "crate::entity::whole_number")]
    pub keep: u32,
    /// Encrypts the secret key kept beside the archives: restoring needs only this.
    #[schema(min_length = 1)]
    pub passphrase: String,
}

/// `GET /v1/backup`: whether automatic backups run, and the newest archive.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupStatus {
    /// The set-up, if automatic backups are on.
    pub auto: Option<AutoBackupView>,
    /// The newest archive in the directory, if any.
    pub newest: Option<BackupFile>,
    /// How many archives the directory holds.
    pub count: usize,
    /// Why the last attempt failed, if it did (cleared by the next success).
    pub error: Option<String>,
}

/// The automatic backups' set-up, as `tandem backup --status` shows it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AutoBackupView {
    /// Where archives go.
    pub dir: String,
    /// How many are kept.
    pub keep: u32,
    /// Seconds between two archives.
    pub every_secs: u64,
}

/// One archive written by automatic backups.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupFile {
    /// Its path.
    pub path: String,
    /// When it was written.
    pub at: Stamp,
    /// Its size.
    pub bytes: u64,
}

/// Each request type's schema states exactly what its validation accepts: bounds are read
/// from the schema and compared with the constants validation uses; patterns are run
/// (as the Rust regex crate reads them) against what the parsers accept.
#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};
    use utoipa::{IntoParams, PartialSchema};

    use super::*;
    use crate::model::checkin::{NewCheckin, RATINGS};
    use crate::model::plan::{INTERVALS, Recurrence};
    use crate::model::settings::{CHECKIN_EVERY_WEEKS, Settings, SettingsPatch};

    fn schema_of<T: PartialSchema>() -> Value {
        serde_json::to_value(T::schema()).unwrap()
    }

    /// A pattern of the document as the regex crate reads it: `$` is the end, as in
    /// ECMA 262 without flags.
    fn regex(pattern: &str) -> regex::Regex {
        let pattern = format!("{}\\z", pattern.strip_suffix('$').unwrap());
        regex::Regex::new(&pattern).unwrap()
    }

    fn bounds(property: &Value) -> (i64, i64) {
        (
            property["minimum"].as_i64().unwrap(),
            property["maximum"].as_i64().unwrap(),
        )
    }

    #[test]
    fn ratings_in_the_schema_are_the_ratings_accepted() {
        let schema = schema_of::<NewCheckin>();
        for field in ["enough_alone", "enough_together"] {
            assert_eq!(
                bounds(&schema["properties"][field]),
                (i64::from(*RATINGS.start()), i64::from(*RATINGS.end()))
            );
        }
        let at = crate::time::Stamp("2026-11-26T10:00:00Z".parse().unwrap());
        let person = crate::ids::PersonId::parse("sam").unwrap();
        let week = IsoWeek::parse_exact("2026-W48").unwrap();
        for rating in -1..8 {
            let new: NewCheckin =
                serde_json::from_value(json!({"enough_alone": rating, "enough_together": rating}))
                    .unwrap();
            let accepted =
                crate::model::checkin::CheckinAnswer::new(week, person.clone(), new, at).is_ok();
            assert_eq!(accepted, (1..=5).contains(&rating), "{rating}");
        }
    }

    #[test]
    fn intervals_and_cadences_in_the_schema_are_the_ones_accepted() {
        let schema = schema_of::<Recurrence>();
        assert_eq!(
            bounds(&schema["properties"]["interval"]),
            (i64::from(*INTERVALS.start()), i64::from(*INTERVALS.end()))
        );
        let schema = schema_of::<SettingsPatch>();
        assert_eq!(
            bounds(&schema["properties"]["checkin_every_weeks"]),
            (
                i64::from(*CHECKIN_EVERY_WEEKS.start()),
                i64::from(*CHECKIN_EVERY_WEEKS.end())
            )
        );
        for weeks in 0..10u32 {
            let patch = SettingsPatch {
                checkin_every_weeks: Some(weeks),
            };
            let accepted = Settings::default().apply(patch).is_ok();
            assert_eq!(accepted, (1..=8).contains(&weeks), "{weeks}");
        }
    }

    #[test]
    fn the_log_limit_in_the_schema_is_the_one_accepted() {
        let params = LogQuery::into_params(|| None);
        let limit = serde_json::to_value(&params[0]).unwrap();
        assert_eq!(
            limit["schema"]["maximum"].as_u64(),
            Some(MAX_LOG as u64),
            "{limit}"
        );
    }

    #[test]
    fn the_trend_weeks_in_the_schema_are_the_ones_accepted() {
        let params = BalanceWeeksQuery::into_params(|| None);
        let weeks = serde_json::to_value(&params[0]).unwrap();
        assert_eq!(
            weeks["schema"]["maximum"].as_u64(),
            Some(u64::from(crate::balance::MAX_WEEKS)),
            "{weeks}"
        );
        assert_eq!(weeks["schema"]["minimum"].as_u64(), Some(1), "{weeks}");
    }

    proptest! {
        /// The week pattern matches exactly the weeks `parse_exact` reads as well formed
        /// (a week 53 in a year of 52 then breaks a rule, not the pattern).
        #[test]
        fn the_week_pattern_is_what_parse_exact_reads(
            raw in prop_oneof!["[0-9]{4}-W[0-9]{2}", "[0-9W-]{0,9}", "\\PC{0,9}"],
        ) {
            let matches = regex(IsoWeek::PATTERN).is_match(&raw);
            match IsoWeek::parse_exact(&raw) {
                Ok(_) => prop_assert!(matches, "{raw:?}"),
                Err(e) => prop_assert_eq!(
                    e.kind == crate::error::Broken::Schema,
                    !matches,
                    "{:?}: {}", raw, e
                ),
            }
        }

        /// The peer address pattern and `check_peer_addr` accept the same addresses.
        #[test]
        fn the_peer_address_pattern_is_what_is_checked(
            raw in prop_oneof![
                "[a-z0-9.-]{0,8}:[0-9]{0,6}",
                "\\[[0-9a-f:.]{0,8}\\]:[0-9]{1,5}",
                "\\PC{0,12}",
            ],
        ) {
            let schema = serde_json::to_value(AddPeerRequest::schema()).unwrap();
            let pattern = schema["properties"]["addr"]["pattern"].as_str().unwrap();
            prop_assert_eq!(
                regex(pattern).is_match(&raw),
                check_peer_addr("addr", &raw).is_ok(),
                "{:?}", raw
            );
        }
    }

    proptest! {
        /// The device id pattern matches exactly what `DeviceId` reads.
        #[test]
        fn the_device_pattern_is_what_a_device_id_reads(
            raw in prop_oneof![
                "[0-9a-hjkmnp-tv-z]{51}[0-9a-z]",
                "[0-9A-Za-z-]{50,60}",
            ],
        ) {
            let params = serde_json::to_value(DevicePath::into_params(|| None)).unwrap();
            let pattern = params[0]["schema"]["pattern"].as_str().unwrap();
            prop_assert_eq!(
                regex(pattern).is_match(&raw),
                raw.parse::<DeviceId>().is_ok(),
                "{:?}", raw
            );
        }
    }

    #[test]
    fn an_endpoint_fills_its_parameters_encoded() {
        assert_eq!(endpoints::GET_PLAN.path(["01ABC"]), "/v1/plans/01ABC");
        assert_eq!(
            endpoints::RSVP_PLAN.path(["a/b?c d"]),
            "/v1/plans/a%2Fb%3Fc%20d/rsvp"
        );
        assert_eq!(endpoints::STATUS.path([]), "/v1/status");
        assert_eq!(encode("Alex’s Pixel"), "Alex%E2%80%99s%20Pixel");
    }

    #[test]
    fn every_endpoint_is_declared_once() {
        let mut seen = std::collections::BTreeSet::new();
        for (method, path) in endpoints::ALL {
            assert!(path.starts_with(API_PREFIX), "{path}");
            assert!(seen.insert((method.as_str(), *path)), "{method:?} {path}");
        }
    }

    #[test]
    fn the_moment_pattern_admits_what_the_api_writes() {
        let moment = regex(crate::time::MOMENT_PATTERN);
        for written in [
            "2026-12-04T19:30:00+01:00[Europe/Paris]",
            "2026-12-04T19:00[Europe/Paris]",
            "2026-12-04T19:00:00.5Z[UTC]",
            "2026-03-29T02:30:00-03:00[America/Argentina/Buenos_Aires]",
        ] {
            assert!(moment.is_match(written), "{written}");
            assert!(written.parse::<crate::time::Moment>().is_ok(), "{written}");
        }
        assert!(!moment.is_match("tomorrow"));
    }
}
