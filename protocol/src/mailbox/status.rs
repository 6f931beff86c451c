//! The mailbox's API bodies: `GET`, `POST` and `DELETE /v1/mailbox`.

use serde::{Deserialize, Serialize};

use crate::time::Stamp;

/// What `mailbox status` says of a device that has no key with this one yet.
pub const NO_KEY_YET: &str = "no mailbox key yet: connect once on the same Wi-Fi";

/// `POST /v1/mailbox`: use a folder as a mailbox.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailboxRequest {
    /// Absolute path of a folder synced by other means (cloud drive, Syncthing, USB).
    #[schema(pattern = "^/")]
    pub dir: String,
    /// The own-devices folder (the private document), which the partner never has.
    #[serde(default)]
    pub own: bool,
}

/// `DELETE /v1/mailbox`: which folder to stop using.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MailboxQuery {
    /// The own-devices folder rather than the shared one.
    #[serde(default)]
    pub own: bool,
}

/// `GET /v1/mailbox`: both folders, each if set.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MailboxStatus {
    /// The folder shared with the partner (the shared document).
    pub shared: Option<FolderStatus>,
    /// The own-devices folder (the private document).
    pub own: Option<FolderStatus>,
}

/// One mailbox folder.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FolderStatus {
    /// Its path.
    pub dir: String,
    /// When this device last wrote a bundle there.
    pub last_written: Option<Stamp>,
    /// Bytes of this device's files there.
    pub bytes_used: u64,
    /// Bundles this device has there (not yet acknowledged by every reader).
    pub bundles: usize,
    /// The devices this folder carries a document to and from.
    pub devices: Vec<MailboxDevice>,
    /// What went wrong last (a missing folder, a full disk, a refused file), if anything.
    pub error: Option<String>,
}

/// A paired device as one mailbox folder sees it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MailboxDevice {
    /// Its device id.
    pub device_id: String,
    /// Its person's name.
    pub name: String,
    /// Whether the two devices share a key (they met since the mailbox exists).
    pub keyed: bool,
    /// When a bundle of it was last applied here.
    pub last_read: Option<Stamp>,
    /// What to do, when something is missing (no key yet).
    pub note: Option<String>,
}
