//! Bodies of the local HTTP API that are not documents' own types.
//!
//! Entities (plans, ideas, ...) travel as their model types; this module holds the envelopes
//! around them, shared by the daemon (which serves them) and the CLI (which reads them).

use serde::{Deserialize, Serialize};

use crate::activity::Activity;
use crate::device::DeviceId;
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
    /// The device id: 52 base32 characters, dashes anywhere, any case.
    #[param(pattern = r"^-*(?:[0-9a-hjkmnp-tv-zA-HJKMNP-TV-Z]-*){52}$")]
    pub device: String,
}

/// `{week}` of `GET /v1/checkins/{week}`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WeekPath {
    /// The ISO week.
    #[param(value_type = IsoWeek)]
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

/// Query of list routes over timed items (plans, personal time).
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only items ending after this instant or date (RFC 3339 or `YYYY-MM-DD`).
    pub from: Option<String>,
    /// Only items starting before this instant or date.
    pub to: Option<String>,
    /// Only plans with this status (`idea`, `proposed`, `scheduled`, `done`, `cancelled`).
    pub status: Option<String>,
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
    /// `2026-W48` or a date in the week; defaults to this week.
    pub week: Option<String>,
    /// IANA time zone of the week's bounds; defaults to the daemon's.
    pub tz: Option<String>,
}

/// Query of `GET /v1/log`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// How many entries, default 50, at most 1000.
    pub limit: Option<usize>,
}

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
    /// The code shown on the other device.
    pub code: String,
    /// Its peer address, `HOST:PORT`; found by mDNS when absent.
    #[serde(default)]
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
    /// `HOST:PORT` of the device's peer port.
    pub addr: String,
}

/// `POST /v1/phones`: let a phone in over the home network.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPhone {
    /// What to call it, e.g. "Alex's Pixel" (1 to 60 characters).
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
    /// request line, so never logged).
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
    pub passphrase: String,
}

/// `POST /v1/backup/auto`: set up daily archives in a directory.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoBackupRequest {
    /// Absolute path of the directory archives go to; created if missing.
    pub dir: String,
    /// How many archives to keep (at least 1).
    pub keep: u32,
    /// Encrypts the secret key kept beside the archives: restoring needs only this.
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
