//! Settings both partners share.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// How the couple runs tandem. Part of the genesis change, so both laptops start from the
/// same defaults and later edits merge field by field.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Settings {
    /// A check-in is due every this many weeks (1 = weekly).
    pub checkin_every_weeks: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            checkin_every_weeks: 1,
        }
    }
}

/// Body of a settings update; absent fields stay as they are.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// See [`Settings::checkin_every_weeks`].
    pub checkin_every_weeks: Option<u32>,
}

impl Settings {
    /// Applies a validated update.
    pub fn apply(&mut self, patch: SettingsPatch) -> Result<(), ValidationError> {
        if let Some(weeks) = patch.checkin_every_weeks {
            if !(1..=8).contains(&weeks) {
                return Err(ValidationError::new(
                    "checkin_every_weeks",
                    "must be between 1 and 8",
                ));
            }
            self.checkin_every_weeks = weeks;
        }
        Ok(())
    }
}
