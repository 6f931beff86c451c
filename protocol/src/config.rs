//! `config.toml`: who a daemon belongs to and how it runs.
//!
//! Written by `tandem init` (before any daemon runs, so the CLI writes it) and read by the
//! daemon at start. Only the type and its text form live here; the files belong to callers.

use serde::{Deserialize, Serialize};

use crate::entity::required_text;
use crate::error::ValidationError;
use crate::ids::PersonId;
use crate::model::person::MAX_NAME_LEN;

/// The daemon's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The person's display name, e.g. "Alex".
    pub name: String,
    /// The person's stable id, created by `tandem init`.
    pub person_id: PersonId,
    /// Port of the local API on 127.0.0.1; 0 picks a free one at each start.
    #[serde(default)]
    pub api_port: u16,
    /// Port other devices dial; 0 reuses the last one (or picks a free one).
    #[serde(default)]
    pub peer_port: u16,
    /// Address the peer listener binds, `0.0.0.0` (the home network) when absent.
    #[serde(default)]
    pub peer_listen: Option<std::net::IpAddr>,
    /// Announce and look for devices on the home network with mDNS (default on).
    #[serde(default = "yes")]
    pub mdns: bool,
    /// Network interfaces mDNS uses (e.g. `wlan0`); all that are up when empty.
    #[serde(default)]
    pub mdns_interfaces: Vec<String>,
    /// IANA time zone for "this week"; the system's when absent.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Port of the phones' HTTPS listener, open only while a phone is added; 0 reuses the
    /// last one (so bookmarks keep working) or picks a free one.
    #[serde(default)]
    pub lan_port: u16,
    /// Address the phones' listener binds, `0.0.0.0` (the home network) when absent.
    #[serde(default)]
    pub lan_listen: Option<std::net::IpAddr>,
    /// The mailbox folder shared with the partner (`tandem mailbox set DIR`): sealed
    /// bundles of the shared document, for syncing while apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox_dir: Option<std::path::PathBuf>,
    /// The mailbox folder of one's own devices (`tandem mailbox set DIR --own`): the
    /// private document, in a folder the partner never has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox_own_dir: Option<std::path::PathBuf>,
    /// Seconds between automatic backups; one day when absent. Only tests set it, to see
    /// backups happen and be pruned without waiting days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_interval_secs: Option<u64>,
    /// Automatic backups, once `tandem backup --auto DIR` set them up. Last, since TOML
    /// writes tables after plain keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<AutoBackup>,
}

/// Where and how automatic backups are written. The daemon encrypts each archive to
/// `recipient`, a public key, so it needs no passphrase to write one; the matching secret
/// key waits in `dir`, encrypted with the passphrase given at set-up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoBackup {
    /// The directory archives are written to (another disk, a synced folder).
    pub dir: std::path::PathBuf,
    /// How many archives to keep; older ones are deleted.
    pub keep: u32,
    /// The age public key (`age1...`) archives are encrypted to.
    pub recipient: String,
}

fn yes() -> bool {
    true
}

impl Config {
    /// A new config for `name`, checked.
    pub fn new(name: &str, person_id: PersonId) -> Result<Self, ValidationError> {
        let name = required_text("name", name, MAX_NAME_LEN)?;
        Ok(Self {
            name,
            person_id,
            api_port: 0,
            peer_port: 0,
            peer_listen: None,
            mdns: true,
            mdns_interfaces: Vec::new(),
            time_zone: None,
            lan_port: 0,
            lan_listen: None,
            mailbox_dir: None,
            mailbox_own_dir: None,
            backup_interval_secs: None,
            backup: None,
        })
    }

    /// Parses and checks the text of a config file.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        Config::new(&config.name, config.person_id.clone()).map_err(|e| e.to_string())?;
        if let Some(tz) = &config.time_zone {
            jiff::tz::TimeZone::get(tz).map_err(|e| format!("time_zone: {e}"))?;
        }
        Ok(config)
    }

    /// The text of the config file.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("config always serializes")
    }

    /// The time zone "this week" is read in.
    pub fn tz(&self) -> jiff::tz::TimeZone {
        self.time_zone
            .as_deref()
            .and_then(|name| jiff::tz::TimeZone::get(name).ok())
            .unwrap_or_else(jiff::tz::TimeZone::system)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks() {
        let c = Config::new(" Alex ", PersonId::parse("p1").unwrap()).unwrap();
        assert_eq!(c.name, "Alex");
        assert_eq!(Config::from_toml(&c.to_toml()).unwrap(), c);
        assert!(
            Config::from_toml("name = 'A'\nperson_id = 'p1'\ntime_zone = 'Mars/Base'").is_err()
        );
        assert!(Config::from_toml("name = ''\nperson_id = 'p1'").is_err());
        assert!(Config::from_toml("garbage").is_err());
    }

    #[test]
    fn automatic_backups_round_trip_and_old_files_still_load() {
        let mut c = Config::new("Alex", PersonId::parse("p1").unwrap()).unwrap();
        assert_eq!(
            Config::from_toml("name = 'Alex'\nperson_id = 'p1'").unwrap(),
            c
        );
        c.backup_interval_secs = Some(2);
        c.mailbox_dir = Some("/home/alex/Dropbox/tandem".into());
        c.mailbox_own_dir = Some("/media/usb/tandem-own".into());
        c.backup = Some(AutoBackup {
            dir: "/media/usb/tandem".into(),
            keep: 7,
            recipient: "age1example".into(),
        });
        assert_eq!(Config::from_toml(&c.to_toml()).unwrap(), c);
    }
}
