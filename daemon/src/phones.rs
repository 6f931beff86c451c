//! `phones.toml`: the phones allowed to use the API over the home network.
//!
//! Each phone has its own token so one lost phone can be shut out without touching the
//! others or the laptop's own token, and a second, read-only one for its calendar link:
//! that link is pasted into calendar apps and often synced to their servers, so it opens
//! the calendar feed and nothing else. Only the SHA-256 of a token is stored: a copy of the
//! data home does not let anyone in. Every phone request looks its token up here, so a
//! revocation takes effect on the very next request; open event streams watch
//! [`Phones::changed`] and end too.

use parking_lot::Mutex;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tandem_protocol::api::PhoneView;
use tandem_protocol::entity::required_text;
use tandem_protocol::error::ValidationError;
use tandem_protocol::model::person::MAX_NAME_LEN;
use tandem_protocol::time::Stamp;
use thiserror::Error;
use tokio::sync::watch;

use crate::home::{Home, HomeError, read_toml, write_toml};
use crate::secret;

/// Longest phone name.
pub const MAX_PHONE_NAME: usize = MAX_NAME_LEN;

/// Why a phone could not be added or revoked.
#[derive(Debug, Error)]
pub enum PhoneError {
    /// The name is empty, too long or not plain one-line text.
    #[error(transparent)]
    BadName(#[from] ValidationError),
    /// Another phone has this name.
    #[error("a phone named {0:?} is already added; revoke it first or pick another name")]
    Taken(String),
    /// No phone matches.
    #[error("no phone {0:?}; `tandem phone list` shows them")]
    NotFound(String),
    /// `phones.toml` could not be read or written.
    #[error(transparent)]
    Home(#[from] HomeError),
}

/// One phone as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct PhoneEntry {
    id: String,
    name: String,
    /// Hex SHA-256 of its token.
    token_sha256: String,
    /// Hex SHA-256 of its calendar token; empty for phones added before calendar tokens
    /// existed (they keep using the phone token in their calendar link).
    #[serde(default)]
    calendar_token_sha256: String,
    added_at: Stamp,
}

#[derive(Default, Serialize, Deserialize)]
struct File {
    #[serde(default, rename = "phone")]
    phones: Vec<PhoneEntry>,
}

/// The secrets made for a new phone, shown once and kept only as hashes.
#[derive(Debug)]
pub struct PhoneTokens {
    /// The phone's own token: the page and the whole phone API.
    pub phone: String,
    /// The calendar link's token: `/v1/calendar.ics` only.
    pub calendar: String,
}

/// What a presented token opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Everything a phone may do, as the phone with this id.
    Phone(String),
    /// Only the calendar feed, of the phone with this id.
    Calendar(String),
}

/// The phones of this home, shared by the API handlers.
#[derive(Debug)]
pub struct Phones {
    path: std::path::PathBuf,
    state: Mutex<State>,
    changed: watch::Sender<usize>,
}

#[derive(Debug)]
struct State {
    phones: Vec<PhoneEntry>,
    last_seen: HashMap<String, Stamp>,
}

impl Phones {
    /// Reads `phones.toml` (none yet means no phones).
    pub fn load(home: &Home) -> Result<Self, HomeError> {
        let path = home.phones();
        let phones = read_toml::<File>(&path)?.phones;
        let (changed, _) = watch::channel(phones.len());
        Ok(Self {
            path,
            state: Mutex::new(State {
                phones,
                last_seen: HashMap::new(),
            }),
            changed,
        })
    }

    fn state(&self) -> parking_lot::MutexGuard<'_, State> {
        self.state.lock()
    }

    fn save(&self, phones: &[PhoneEntry]) -> Result<(), HomeError> {
        write_toml(
            &self.path,
            &File {
                phones: phones.to_vec(),
            },
        )
    }

    /// Number of phones now, updated on every add and revoke: the LAN listener runs while
    /// it is above zero, event streams of phones re-check their token when it changes.
    pub fn changed(&self) -> watch::Receiver<usize> {
        self.changed.subscribe()
    }

    /// Adds a phone; returns it with its tokens, which are not kept.
    pub fn add(&self, name: &str) -> Result<(PhoneView, PhoneTokens), PhoneError> {
        let name = required_text("name", name, MAX_PHONE_NAME)?;
        let name = name.as_str();
        let mut state = self.state();
        if state.phones.iter().any(|p| p.name == name) {
            return Err(PhoneError::Taken(name.to_owned()));
        }
        let tokens = PhoneTokens {
            phone: secret::new_token(),
            calendar: secret::new_token(),
        };
        let entry = PhoneEntry {
            id: secret::hex(&rand::random::<[u8; 4]>()),
            name: name.to_owned(),
            token_sha256: secret::sha256_hex(&tokens.phone),
            calendar_token_sha256: secret::sha256_hex(&tokens.calendar),
            added_at: Stamp(jiff::Timestamp::now()),
        };
        let mut phones = state.phones.clone();
        phones.push(entry.clone());
        self.save(&phones)?;
        state.phones = phones;
        self.changed.send_replace(state.phones.len());
        Ok((view(&entry, None), tokens))
    }

    /// Removes the phone with this id (or id prefix) or name; its token stops working now.
    pub fn revoke(&self, which: &str) -> Result<PhoneView, PhoneError> {
        let mut state = self.state();
        let matches: Vec<usize> = (0..state.phones.len())
            .filter(|&i| {
                let p = &state.phones[i];
                p.name == which || (!which.is_empty() && p.id.starts_with(which))
            })
            .collect();
        let [index] = matches[..] else {
            return Err(PhoneError::NotFound(which.to_owned()));
        };
        let mut phones = state.phones.clone();
        let gone = phones.remove(index);
        self.save(&phones)?;
        state.phones = phones;
        state.last_seen.remove(&gone.id);
        self.changed.send_replace(state.phones.len());
        Ok(view(&gone, None))
    }

    /// What `token` opens, if it belongs to a phone; a phone token also notes that the
    /// phone was seen now.
    pub fn authenticate(&self, token: &str) -> Option<Access> {
        let hash = secret::sha256_hex(token);
        let mut state = self.state();
        // Hashes are compared, not tokens, so comparison time reveals nothing usable.
        let access = state.phones.iter().find_map(|p| {
            if p.token_sha256 == hash {
                Some(Access::Phone(p.id.clone()))
            } else if p.calendar_token_sha256 == hash {
                Some(Access::Calendar(p.id.clone()))
            } else {
                None
            }
        })?;
        if let Access::Phone(id) = &access {
            state
                .last_seen
                .insert(id.clone(), Stamp(jiff::Timestamp::now()));
        }
        Some(access)
    }

    /// Whether the phone `id` is still allowed in.
    pub fn contains(&self, id: &str) -> bool {
        self.state().phones.iter().any(|p| p.id == id)
    }

    /// Every phone, oldest first.
    pub fn list(&self) -> Vec<PhoneView> {
        let state = self.state();
        state
            .phones
            .iter()
            .map(|p| view(p, state.last_seen.get(&p.id).copied()))
            .collect()
    }
}

fn view(entry: &PhoneEntry, last_seen: Option<Stamp>) -> PhoneView {
    PhoneView {
        id: entry.id.clone(),
        name: entry.name.clone(),
        added_at: entry.added_at,
        last_seen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_work_until_revoked_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::resolve(Some(dir.path().to_owned()));
        let phones = Phones::load(&home).unwrap();
        let (pixel, tokens) = phones.add("Pixel").unwrap();
        let token = tokens.phone;
        let (_, other) = phones.add("iPhone").unwrap();
        let other = other.phone;
        assert!(matches!(phones.add("Pixel"), Err(PhoneError::Taken(_))));
        assert!(matches!(phones.add(" "), Err(PhoneError::BadName(_))));
        assert_eq!(
            phones.authenticate(&token),
            Some(Access::Phone(pixel.id.clone()))
        );
        assert_eq!(
            phones.authenticate(&tokens.calendar),
            Some(Access::Calendar(pixel.id.clone()))
        );
        assert_eq!(phones.authenticate("guess"), None);
        assert_eq!(phones.authenticate(""), None);

        let text = std::fs::read_to_string(home.phones()).unwrap();
        assert!(!text.contains(&token), "only the token's hash is stored");
        assert!(
            !text.contains(&tokens.calendar),
            "only the token's hash is stored"
        );

        let reloaded = Phones::load(&home).unwrap();
        assert_eq!(
            reloaded.authenticate(&token),
            Some(Access::Phone(pixel.id.clone()))
        );
        reloaded.revoke("Pixel").unwrap();
        assert_eq!(reloaded.authenticate(&token), None);
        assert_eq!(reloaded.authenticate(&tokens.calendar), None);
        assert!(reloaded.authenticate(&other).is_some());
        assert!(matches!(
            reloaded.revoke("Pixel"),
            Err(PhoneError::NotFound(_))
        ));
        assert_eq!(Phones::load(&home).unwrap().list().len(), 1);
    }
}
