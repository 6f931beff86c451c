//! Human times and durations: "tonight", "tomorrow evening", "this weekend", "in 2 hours",
//! "fri 19:00", "2026-12-04 19:30", "2h".
//!
//! Pure functions of the text and "now", so they are tested without a clock. Parsing of
//! each form is jiff's; this module only decides which form the person typed and what the
//! words mean. The meanings are fixed (and written in `--at`'s help, [`FORMS`]) so the
//! same words always give the same time: a plan is never moved by a guess.
//!
//! "Now" is the system clock, or the instant `TANDEM_NOW` names: the variable `tandemd`
//! honours ([`tandem_protocol::clock`]), so a test or demo gives both binaries one clock.

use std::sync::OnceLock;
use std::time::Duration;

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::{RoundMode, Span, Timestamp, Unit, ZonedDateTime, ZonedDateTimeRound};
use tandem_protocol::clock::{BadNow, Clock, NOW_VAR};
use thiserror::Error;

/// The forms `--at` and `--until` read, for their help.
pub const FORMS: &str = "\"tonight\" (today 20:00), \"tomorrow evening\" (19:00; \
     morning 09:00, afternoon 14:00), \"this weekend\" (the coming Saturday 10:00), \
     \"next weekend\" (the Saturday after), \"in 2 hours\", a weekday (\"fri 19:00\": the \
     coming Friday), a date and time (\"2026-12-04 19:30\"), a time (\"19:00\": the next \
     one). A day without a time is its midnight.";

/// What tandem makes of the hours of the day people name.
const PARTS_OF_DAY: [(&str, i8); 4] = [
    ("morning", 9),
    ("afternoon", 14),
    ("evening", 19),
    ("night", 20),
];
/// "tonight": today at this hour.
const TONIGHT: i8 = 20;
/// "this weekend": the coming Saturday at this hour.
const WEEKEND: i8 = 10;

/// A time or duration tandem cannot use, with the reason in words.
#[derive(Debug, Error, PartialEq)]
pub enum WhenError {
    /// The text is no form tandem reads.
    #[error("cannot read {input:?} as {expected}; try e.g. {example}")]
    Unreadable {
        /// What was typed.
        input: String,
        /// "a time" or "a duration".
        expected: &'static str,
        /// Forms that work.
        example: &'static str,
    },
    /// A length of zero or less.
    #[error("--for {input:?} is no length: it must be more than zero, e.g. --for 2h")]
    NotPositive {
        /// What was typed.
        input: String,
    },
    /// The end is not after the start.
    #[error("end: must be after start: --until {input:?} is {end}, and the start is {start}")]
    EndBeforeStart {
        /// What was typed.
        input: String,
        /// The end, in words.
        end: String,
        /// The start, in words.
        start: String,
    },
    /// A start that has passed, without `--past`.
    #[error(
        "--at {input:?} is {start}, which has passed (it is now {now}): give a later time, \
         or add --past to record something that already happened"
    )]
    InThePast {
        /// What was typed.
        input: String,
        /// The start, in words.
        start: String,
        /// Now, in words.
        now: String,
    },
    /// `TANDEM_NOW` is set to something that is not an instant.
    #[error(transparent)]
    BadNow(#[from] BadNow),
}

fn time_error(input: &str) -> WhenError {
    WhenError::Unreadable {
        input: input.to_owned(),
        expected: "a time",
        example: "\"fri 19:00\", \"tomorrow evening\", \"this weekend\", \"in 2 hours\", \
                  \"2026-12-04 19:30\" or \"19:00\"",
    }
}

/// The clock this run reads, set once from `TANDEM_NOW` by [`start_clock`].
static CLOCK: OnceLock<Clock> = OnceLock::new();

/// Reads `TANDEM_NOW` once, before any command: a value that is not an instant is refused
/// by name rather than silently replaced by the system clock.
pub fn start_clock() -> Result<(), WhenError> {
    let clock = Clock::from_var(std::env::var(NOW_VAR).ok().as_deref())?;
    CLOCK.get_or_init(|| clock);
    Ok(())
}

/// Now. A command lives milliseconds, so a `TANDEM_NOW` clock is read as standing still.
pub fn now() -> Timestamp {
    CLOCK
        .get()
        .copied()
        .unwrap_or(Clock::System)
        .now(Timestamp::now(), Duration::ZERO)
}

fn weekday(word: &str) -> Option<Weekday> {
    let days = [
        ("monday", Weekday::Monday),
        ("tuesday", Weekday::Tuesday),
        ("wednesday", Weekday::Wednesday),
        ("thursday", Weekday::Thursday),
        ("friday", Weekday::Friday),
        ("saturday", Weekday::Saturday),
        ("sunday", Weekday::Sunday),
    ];
    days.iter()
        .find(|(name, _)| word.len() >= 3 && name.starts_with(word))
        .map(|(_, day)| *day)
}

/// "19:00", "19h", "7pm", "7:30pm", "evening".
fn clock(word: &str) -> Option<Time> {
    if let Some((_, hour)) = PARTS_OF_DAY.iter().find(|(name, _)| *name == word) {
        return Time::new(*hour, 0, 0, 0).ok();
    }
    if let Ok(t) = word.parse::<Time>() {
        return Some(t);
    }
    let (digits, offset) = if let Some(d) = word.strip_suffix("pm") {
        (d, 12)
    } else if let Some(d) = word.strip_suffix("am") {
        (d, 0)
    } else if let Some(d) = word.strip_suffix('h') {
        (d, -1)
    } else {
        return None;
    };
    let (h, m) = match digits.split_once(':') {
        Some((h, m)) => (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?),
        None => (digits.parse::<i8>().ok()?, 0),
    };
    let h = match offset {
        -1 => h,
        _ if !(1..=12).contains(&h) => return None,
        12 => h % 12 + 12,
        _ => h % 12,
    };
    Time::new(h, m, 0, 0).ok()
}

/// `date` at `time` in `now`'s zone.
fn at(
    date: Date,
    time: Time,
    now: &ZonedDateTime,
    input: &str,
) -> Result<ZonedDateTime, WhenError> {
    date.to_datetime(time)
        .to_zoned_datetime(now.time_zone().clone())
        .map_err(|_| time_error(input))
}

/// `date` plus `days`.
fn plus_days(date: Date, days: i64, input: &str) -> Result<Date, WhenError> {
    date.checked_add(Span::new().days(days))
        .map_err(|_| time_error(input))
}

/// Days from `today` to the coming `day` (0 when today is one).
fn days_until(today: Date, day: Weekday) -> i64 {
    i64::from((day.to_monday_zero_offset() - today.weekday().to_monday_zero_offset()).rem_euclid(7))
}

/// "in 2 hours", "in 90m": from now, to the minute.
fn from_now(rest: &str, now: &ZonedDateTime, input: &str) -> Result<ZonedDateTime, WhenError> {
    let span: Span = rest.trim().parse().map_err(|_| time_error(input))?;
    if span.is_zero() || span.is_negative() {
        return Err(time_error(input));
    }
    now.checked_add(span)
        .and_then(|z| {
            z.round(
                ZonedDateTimeRound::new()
                    .smallest(Unit::Minute)
                    .mode(RoundMode::Trunc),
            )
        })
        .map_err(|_| time_error(input))
}

/// Reads a start or end time relative to `now` (whose zone is used unless one is given).
pub fn parse_when(input: &str, now: &ZonedDateTime) -> Result<ZonedDateTime, WhenError> {
    let trimmed = input.trim();
    let text = trimmed.to_ascii_lowercase();
    let tz = now.time_zone().clone();
    if let Ok(z) = trimmed.parse::<ZonedDateTime>() {
        return Ok(z);
    }
    if let Ok(ts) = trimmed.parse::<Timestamp>() {
        return Ok(ts.to_zoned_datetime(tz));
    }
    if let Ok(dt) = trimmed.replacen(' ', "T", 1).parse::<DateTime>() {
        return dt.to_zoned_datetime(tz).map_err(|_| time_error(input));
    }
    if let Ok(d) = text.parse::<Date>() {
        return at(d, Time::midnight(), now, input);
    }
    if let Some(rest) = text.strip_prefix("in ") {
        return from_now(rest, now, input);
    }

    let words: Vec<&str> = text.split_whitespace().collect();
    let today = now.date();
    // "this weekend", "next weekend", "weekend", each with an optional time.
    if let Some(w) = words.iter().position(|w| *w == "weekend") {
        let later = match &words[..w] {
            [] | ["this"] => 0,
            ["next"] => 7,
            _ => return Err(time_error(input)),
        };
        let time = match &words[w + 1..] {
            [] => Time::new(WEEKEND, 0, 0, 0).ok(),
            [t] => clock(t),
            _ => None,
        }
        .ok_or_else(|| time_error(input))?;
        let mut saturday = plus_days(today, days_until(today, Weekday::Saturday), input)?;
        if at(saturday, time, now, input)?.timestamp() <= now.timestamp() {
            saturday = plus_days(saturday, 7, input)?;
        }
        return at(plus_days(saturday, later, input)?, time, now, input);
    }

    let words: Vec<&str> = words
        .into_iter()
        .filter(|w| !matches!(*w, "next" | "at" | "this"))
        .collect();
    let (day, rest) = match words.first().copied() {
        Some("today") => (Some(today), &words[1..]),
        Some("tonight") => (Some(today), &words[1..]),
        Some("tomorrow") => (Some(plus_days(today, 1, input)?), &words[1..]),
        Some(w) => match weekday(w) {
            Some(wd) => (
                Some(plus_days(today, days_until(today, wd), input)?),
                &words[1..],
            ),
            None => (None, &words[..]),
        },
        None => return Err(time_error(input)),
    };
    let time = match rest {
        [] if words.first() == Some(&"tonight") => Time::new(TONIGHT, 0, 0, 0).ok(),
        [] => Some(Time::midnight()),
        [t] => clock(t),
        _ => None,
    }
    .ok_or_else(|| time_error(input))?;
    let date = day.unwrap_or(today);
    let candidate = at(date, time, now, input)?;
    // A weekday or bare time that already passed today means the next one.
    let relative_day = words.first().is_some_and(|w| weekday(w).is_some());
    if (relative_day || day.is_none()) && candidate.timestamp() <= now.timestamp() {
        let date = plus_days(date, if relative_day { 7 } else { 1 }, input)?;
        return at(date, time, now, input);
    }
    Ok(candidate)
}

/// Reads a duration: "2h", "90m", "1h30m", "2 hours", "PT2H"; zero or less is refused.
pub fn parse_duration(input: &str) -> Result<Span, WhenError> {
    let span: Span = input.trim().parse().map_err(|_| WhenError::Unreadable {
        input: input.to_owned(),
        expected: "a duration",
        example: "\"2h\", \"90m\" or \"1h30m\"",
    })?;
    if span.is_zero() || span.is_negative() {
        return Err(WhenError::NotPositive {
            input: input.to_owned(),
        });
    }
    Ok(span)
}

/// Whether an end is read from the start rather than from now: a bare time or a weekday
/// ("22:00", "sat 01:00") is the first one after the start, so a plan from 23:00
/// "until 01:00" ends the next night; "tomorrow", a date or "in 2 hours" mean what they
/// mean anywhere.
fn follows_start(until: &str) -> bool {
    let text = until.trim().to_ascii_lowercase();
    text.split_whitespace()
        .next()
        .is_some_and(|first| clock(first).is_some() || weekday(first).is_some())
}

/// A start and an end read from `--at` and `--for` or `--until`, relative to `now`.
pub struct Range {
    /// The start.
    pub start: ZonedDateTime,
    /// The end, after the start.
    pub end: ZonedDateTime,
}

/// Reads `--at` with `--for` (else `default_length`) or `--until`. The end must follow the
/// start; the start must not have passed unless `past` allows it.
pub fn parse_range(
    at: &str,
    length: Option<&str>,
    until: Option<&str>,
    default_length: &str,
    past: bool,
    now: &ZonedDateTime,
) -> Result<Range, WhenError> {
    let start = parse_when(at, now)?;
    if !past && start.timestamp() < now.timestamp() {
        return Err(WhenError::InThePast {
            input: at.to_owned(),
            start: words(&start, now),
            now: words(now, now),
        });
    }
    let end = match (until, length) {
        (Some(until), _) => {
            let end = parse_when(until, if follows_start(until) { &start } else { now })?;
            if end.timestamp() <= start.timestamp() {
                return Err(WhenError::EndBeforeStart {
                    input: until.to_owned(),
                    end: words(&end, now),
                    start: words(&start, now),
                });
            }
            end
        }
        (None, length) => {
            let span = parse_duration(length.unwrap_or(default_length))?;
            start.checked_add(span).map_err(|_| time_error(at))?
        }
    };
    Ok(Range { start, end })
}

/// A time in local words, "Fri 4 Dec 19:30", the year added when it is not `now`'s.
pub fn words(time: &ZonedDateTime, now: &ZonedDateTime) -> String {
    let format = if time.year() == now.year() {
        "%a %-d %b %H:%M"
    } else {
        "%a %-d %b %Y %H:%M"
    };
    time.strftime(format).to_string()
}

/// A span in local words: "Fri 4 Dec 19:30–22:00", or both ends in full across days.
pub fn span_words(start: &ZonedDateTime, end: &ZonedDateTime, now: &ZonedDateTime) -> String {
    let end_in_start_zone = end.timestamp().to_zoned_datetime(start.time_zone().clone());
    if end_in_start_zone.date() == start.date() {
        format!(
            "{}–{}",
            words(start, now),
            end_in_start_zone.strftime("%H:%M")
        )
    } else {
        format!("{} – {}", words(start, now), words(&end_in_start_zone, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> ZonedDateTime {
        // A Thursday evening in Paris.
        "2026-11-26T18:00[Europe/Paris]".parse().unwrap()
    }

    fn when(s: &str) -> String {
        parse_when(s, &now()).unwrap().to_string()
    }

    #[test]
    fn reads_the_forms_people_type() {
        assert_eq!(when("fri 19:00"), "2026-11-27T19:00:00+01:00[Europe/Paris]");
        assert_eq!(
            when("Friday 7pm"),
            "2026-11-27T19:00:00+01:00[Europe/Paris]"
        );
        assert_eq!(when("tomorrow"), "2026-11-27T00:00:00+01:00[Europe/Paris]");
        assert_eq!(
            when("tomorrow 18:30"),
            "2026-11-27T18:30:00+01:00[Europe/Paris]"
        );
        assert_eq!(
            when("2026-12-04 19:30"),
            "2026-12-04T19:30:00+01:00[Europe/Paris]"
        );
        assert_eq!(
            when("2026-12-04"),
            "2026-12-04T00:00:00+01:00[Europe/Paris]"
        );
        assert_eq!(when("20:00"), "2026-11-26T20:00:00+01:00[Europe/Paris]");
        // Already past today: tomorrow.
        assert_eq!(when("09:00"), "2026-11-27T09:00:00+01:00[Europe/Paris]");
        // Thursday 17:00 has passed: next Thursday.
        assert_eq!(when("thu 17:00"), "2026-12-03T17:00:00+01:00[Europe/Paris]");
        assert_eq!(
            when("2026-12-04T19:30[America/New_York]"),
            "2026-12-04T19:30:00-05:00[America/New_York]"
        );
    }

    #[test]
    fn the_fixed_meanings() {
        assert_eq!(when("tonight"), "2026-11-26T20:00:00+01:00[Europe/Paris]");
        assert_eq!(
            when("tomorrow evening"),
            "2026-11-27T19:00:00+01:00[Europe/Paris]"
        );
        assert_eq!(
            when("tomorrow morning"),
            "2026-11-27T09:00:00+01:00[Europe/Paris]"
        );
        assert_eq!(
            when("sat afternoon"),
            "2026-11-28T14:00:00+01:00[Europe/Paris]"
        );
        assert_eq!(
            when("this weekend"),
            "2026-11-28T10:00:00+01:00[Europe/Paris]"
        );
        assert_eq!(when("weekend"), "2026-11-28T10:00:00+01:00[Europe/Paris]");
        assert_eq!(
            when("next weekend"),
            "2026-12-05T10:00:00+01:00[Europe/Paris]"
        );
        assert_eq!(
            when("next weekend 15:00"),
            "2026-12-05T15:00:00+01:00[Europe/Paris]"
        );
        assert_eq!(
            when("in 2 hours"),
            "2026-11-26T20:00:00+01:00[Europe/Paris]"
        );
        assert_eq!(when("in 90m"), "2026-11-26T19:30:00+01:00[Europe/Paris]");
        // On a Saturday after 10:00, this weekend's Saturday has passed: the next one.
        let saturday: ZonedDateTime = "2026-11-28T11:00[Europe/Paris]".parse().unwrap();
        assert_eq!(
            parse_when("this weekend", &saturday).unwrap().to_string(),
            "2026-12-05T10:00:00+01:00[Europe/Paris]"
        );
        // On a Sunday, the coming Saturday.
        let sunday: ZonedDateTime = "2026-10-25T18:30[Europe/Paris]".parse().unwrap();
        assert_eq!(
            parse_when("this weekend", &sunday).unwrap().to_string(),
            "2026-10-31T10:00:00+01:00[Europe/Paris]"
        );
    }

    #[test]
    fn rejects_nonsense_with_an_example() {
        for bad in [
            "",
            "someday",
            "fri 25:00",
            "13pm",
            "fri at noon please",
            "in -2 hours",
            "in 0h",
            "last weekend",
        ] {
            let err = parse_when(bad, &now()).unwrap_err();
            assert!(err.to_string().contains("fri 19:00"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("2h").unwrap().fieldwise(),
            Span::new().hours(2).fieldwise()
        );
        assert!(parse_duration("1h30m").is_ok());
        assert!(parse_duration("90 minutes").is_ok());
        assert!(matches!(
            parse_duration("long"),
            Err(WhenError::Unreadable { .. })
        ));
        for none in ["0h", "-3h", "3h ago"] {
            assert_eq!(
                parse_duration(none).unwrap_err().to_string(),
                format!("--for {none:?} is no length: it must be more than zero, e.g. --for 2h")
            );
        }
    }

    fn range(
        at: &str,
        length: Option<&str>,
        until: Option<&str>,
        past: bool,
    ) -> Result<String, String> {
        parse_range(at, length, until, "2h", past, &now())
            .map(|r| span_words(&r.start, &r.end, &now()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn ranges_in_local_words() {
        assert_eq!(
            range("2026-12-04 19:30", Some("2h30m"), None, false),
            Ok("Fri 4 Dec 19:30–22:00".into())
        );
        assert_eq!(
            range("fri 23:00", None, Some("sat 01:00"), false),
            Ok("Fri 27 Nov 23:00 – Sat 28 Nov 01:00".into())
        );
        assert_eq!(
            range("2027-04-02 09:00", Some("3 days"), None, false),
            Ok("Fri 2 Apr 2027 09:00 – Mon 5 Apr 2027 09:00".into())
        );
    }

    #[test]
    fn ranges_refused_with_the_reason() {
        assert_eq!(
            range("2026-12-04 20:00", None, Some("2026-12-04 19:00"), false),
            Err("end: must be after start: --until \"2026-12-04 19:00\" is Fri 4 Dec 19:00, and the start is Fri 4 Dec 20:00".into())
        );
        assert_eq!(
            range("2026-11-25 19:00", None, None, false),
            Err("--at \"2026-11-25 19:00\" is Wed 25 Nov 19:00, which has passed (it is now Thu 26 Nov 18:00): give a later time, or add --past to record something that already happened".into())
        );
        assert_eq!(
            range("2026-11-25 19:00", None, None, true),
            Ok("Wed 25 Nov 19:00–21:00".into())
        );
        assert_eq!(
            range("fri 20:00", None, Some("tomorrow 13:00"), false),
            Err("end: must be after start: --until \"tomorrow 13:00\" is Fri 27 Nov 13:00, and the start is Fri 27 Nov 20:00".into())
        );
        assert_eq!(
            range("fri 20:00", None, Some("23:30"), false),
            Ok("Fri 27 Nov 20:00–23:30".into())
        );
        assert!(
            range("fri 19:00", Some("-3h"), None, false)
                .unwrap_err()
                .contains("must be more than zero")
        );
    }
}
