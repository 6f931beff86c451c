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
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// See [`Settings::checkin_every_weeks`].
    #[schema(minimum = 1, maximum = 8)]
    #[serde(default, deserialize_with = "crate::entity::optional_whole_number")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkin_every_weeks: Option<u32>,
}

/// How often a check-in may be asked for, in weeks (the schema states the same bounds; a
/// test holds them together).
pub const CHECKIN_EVERY_WEEKS: std::ops::RangeInclusive<u32> = 1..=8;

impl Settings {
    /// Applies a validated update.
    pub fn apply(&mut self, patch: SettingsPatch) -> Result<(), ValidationError> {
        if let Some(weeks) = patch.checkin_every_weeks {
            if !CHECKIN_EVERY_WEEKS.contains(&weeks) {
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
