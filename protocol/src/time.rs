//! Time as tandem stores it.
//!
//! Plans and personal-time blocks keep their time zone ([`Moment`]) so "Friday 19:00 in
//! Lisbon" stays that even across DST or when a laptop travels. Bookkeeping times
//! (created, accepted, answered) are plain instants ([`Stamp`]). Both are stored in
//! documents as RFC 9557 / RFC 3339 strings so any Automerge reader can make sense of them.

use std::fmt;
use std::str::FromStr;

use autosurgeon::{Hydrate, HydrateError, Reconcile, Reconciler};
use jiff::civil::{Date, ISOWeekDate, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// A point in time with its time zone, e.g. `2026-12-04T19:30:00+01:00[Europe/Paris]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Moment(pub ZonedDateTime);

/// An instant in UTC, e.g. `2026-11-26T18:55:33Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Stamp(pub Timestamp);

impl Moment {
    /// The instant this moment denotes.
    pub fn timestamp(&self) -> Timestamp {
        self.0.timestamp()
    }
}

impl fmt::Display for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Calendar dates (review dates, recurrence ends) are stored as `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Day(pub Date);

/// The shape of a [`Moment`] as the API reads it: an RFC 3339 date and time (seconds and
/// offset optional) with its IANA zone in brackets (RFC 9557). Whether that date, time
/// and zone exist together is checked when it is read (422 otherwise): the zone database
/// is not something a schema can list.
pub const MOMENT_PATTERN: &str = r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,9})?)?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?\[[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*\]$";

/// A string schema, for the types stored as text.
fn text_schema(
    pattern: Option<&str>,
    format: Option<utoipa::openapi::KnownFormat>,
    example: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(pattern)
        .format(format.map(utoipa::openapi::SchemaFormat::KnownFormat))
        .examples([example])
        .into()
}

impl utoipa::PartialSchema for Moment {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        text_schema(
            Some(MOMENT_PATTERN),
            None,
            "2026-12-04T19:30:00+01:00[Europe/Paris]",
        )
    }
}

impl utoipa::ToSchema for Moment {}

impl utoipa::PartialSchema for Stamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        text_schema(
            None,
            Some(utoipa::openapi::KnownFormat::DateTime),
            "2026-11-26T18:55:33Z",
        )
    }
}

impl utoipa::ToSchema for Stamp {}

impl utoipa::PartialSchema for Day {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        text_schema(None, Some(utoipa::openapi::KnownFormat::Date), "2027-03-01")
    }
}

impl utoipa::ToSchema for Day {}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Stores a type in documents as its text form (`Display` / `FromStr`), readable by any
/// Automerge client.
macro_rules! stored_as_text {
    ($($ty:ty => $what:literal),+ $(,)?) => {
        $(
            impl Reconcile for $ty {
                type Key<'a> = autosurgeon::reconcile::NoKey;
                fn reconcile<R: Reconciler>(&self, reconciler: R) -> Result<(), R::Error> {
                    self.to_string().reconcile(reconciler)
                }
            }

            impl Hydrate for $ty {
                fn hydrate_string(s: &str) -> Result<Self, HydrateError> {
                    s.parse().map_err(|e| HydrateError::unexpected($what, format!("{e}")))
                }
            }
        )+
    };
}

stored_as_text!(
    Moment => "a zoned date-time",
    Stamp => "an RFC 3339 timestamp",
    Day => "a YYYY-MM-DD date",
    IsoWeek => "an ISO week",
);

impl FromStr for Moment {
    type Err = jiff::Error;
    fn from_str(s: &str) -> Result<Self, jiff::Error> {
        s.parse().map(Moment)
    }
}

impl FromStr for Stamp {
    type Err = jiff::Error;
    fn from_str(s: &str) -> Result<Self, jiff::Error> {
        s.parse().map(Stamp)
    }
}

impl FromStr for Day {
    type Err = jiff::Error;
    fn from_str(s: &str) -> Result<Self, jiff::Error> {
        s.parse().map(Day)
    }
}

/// An ISO 8601 week such as `2026-W48`: the unit of check-ins and balance reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    year: i16,
    week: i8,
}

impl IsoWeek {
    /// The week containing `date`.
    pub fn containing(date: Date) -> Self {
        let iso = date.iso_week_date();
        Self {
            year: iso.year(),
            week: iso.week(),
        }
    }

    /// The week containing `moment` in its own time zone.
    pub fn of(moment: &ZonedDateTime) -> Self {
        Self::containing(moment.date())
    }

    /// Monday of this week.
    pub fn monday(self) -> Date {
        ISOWeekDate::new(self.year, self.week, Weekday::Monday)
            .expect("IsoWeek is only built from valid weeks")
            .date()
    }

    /// The half-open interval [Monday 00:00, next Monday 00:00) of this week in `tz`.
    /// In a week with a DST change it is 167 or 169 hours long, as lived.
    pub fn bounds(self, tz: &TimeZone) -> Result<(Timestamp, Timestamp), ValidationError> {
        let start = self.monday();
        let end = start
            .checked_add(jiff::Span::new().days(7))
            .map_err(|e| ValidationError::new("week", e.to_string()))?;
        let at_midnight = |d: Date| {
            tz.to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
                .map_err(|e| ValidationError::new("week", e.to_string()))
        };
        Ok((at_midnight(start)?, at_midnight(end)?))
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

impl IsoWeek {
    /// The API's form of a week, `YYYY-Www` (weeks 01 to 53).
    pub const PATTERN: &str = r"^[0-9]{4}-W(?:0[1-9]|[1-4][0-9]|5[0-3])$";

    /// Reads exactly the API's form, [`IsoWeek::PATTERN`]: anything else breaks the
    /// schema; a week 53 in a year that has 52 breaks a rule no pattern can state.
    pub fn parse_exact(s: &str) -> Result<Self, ValidationError> {
        let shape = || ValidationError::new("week", format!("{s:?} is not a week like 2026-W48"));
        let (year, week) = s.split_once("-W").ok_or_else(shape)?;
        let digits = |t: &str, n: usize| t.len() == n && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) || !digits(week, 2) {
            return Err(shape());
        }
        let (year, week): (i16, i8) = (
            year.parse().map_err(|_| shape())?,
            week.parse().map_err(|_| shape())?,
        );
        if !(1..=53).contains(&week) {
            return Err(shape());
        }
        let iso = ISOWeekDate::new(year, week, Weekday::Monday).map_err(|_| {
            ValidationError::rule("week", format!("{year} has no week {week}: it has 52"))
        })?;
        Ok(Self {
            year: iso.year(),
            week: iso.week(),
        })
    }
}

impl FromStr for IsoWeek {
    type Err = ValidationError;

    /// Accepts `2026-W48` ([`IsoWeek::parse_exact`]) or any date `2026-11-26` (meaning the
    /// week containing it).
    fn from_str(s: &str) -> Result<Self, ValidationError> {
        if s.contains("-W") {
            return Self::parse_exact(s);
        }
        Date::from_str(s).map(Self::containing).map_err(|_| {
            ValidationError::new(
                "week",
                format!("{s:?} is not a week like 2026-W48 or a date like 2026-11-26"),
            )
        })
    }
}

impl Serialize for IsoWeek {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Reads what [`IsoWeek::from_str`] reads: a malformed week is a wrong value (400 over
/// the API), a week that does not exist a failed rule (422).
impl<'de> Deserialize<'de> for IsoWeek {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse().map_err(|e: ValidationError| match e.kind {
            crate::error::Broken::Schema => serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(&raw),
                &"a week like 2026-W48 or a date like 2026-11-26",
            ),
            crate::error::Broken::Rule => serde::de::Error::custom(e.problem),
        })
    }
}

/// A week (`YYYY-Www`, [`IsoWeek::PATTERN`]) or a date in it; the API always writes weeks.
impl utoipa::PartialSchema for IsoWeek {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::OneOfBuilder::new()
            .item(text_schema(Some(IsoWeek::PATTERN), None, "2026-W48"))
            .item(text_schema(
                None,
                Some(utoipa::openapi::KnownFormat::Date),
                "2026-11-26",
            ))
            .into()
    }
}

impl utoipa::ToSchema for IsoWeek {}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn weeks_parse_and_print() {
        let w: IsoWeek = "2026-W48".parse().unwrap();
        assert_eq!(w.to_string(), "2026-W48");
        assert_eq!(w.monday(), date(2026, 11, 23));
        assert_eq!("2026-11-29".parse::<IsoWeek>().unwrap(), w);
        // 2027-01-01 is a Friday in ISO week 2026-W53.
        assert_eq!(
            "2027-01-01".parse::<IsoWeek>().unwrap().to_string(),
            "2026-W53"
        );
        assert!("2025-W53".parse::<IsoWeek>().is_err());
        assert!("soon".parse::<IsoWeek>().is_err());
    }

    #[test]
    fn dst_weeks_have_lived_length() {
        let tz = TimeZone::get("Europe/Paris").unwrap();
        // Clocks go back on 2026-10-25 in Europe.
        let (a, b) = "2026-W43".parse::<IsoWeek>().unwrap().bounds(&tz).unwrap();
        assert_eq!(b.duration_since(a).as_hours(), 169);
        // And forward on 2026-03-29.
        let (a, b) = "2026-W13".parse::<IsoWeek>().unwrap().bounds(&tz).unwrap();
        assert_eq!(b.duration_since(a).as_hours(), 167);
    }

    #[test]
    fn moments_survive_a_document_round_trip() {
        let m: Moment =
            serde_json::from_str("\"2026-12-04T19:30:00+01:00[Europe/Paris]\"").unwrap();
        let mut doc = automerge::AutoCommit::new();
        autosurgeon::reconcile_prop(&mut doc, automerge::ROOT, "m", &m).unwrap();
        let back: Moment = autosurgeon::hydrate_prop(&doc, automerge::ROOT, "m").unwrap();
        assert_eq!(back, m);
    }
}
