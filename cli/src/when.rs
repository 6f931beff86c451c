//! Human times and durations: "fri 19:00", "tomorrow", "2026-12-04 19:30", "2h".
//!
//! Pure functions of the text and "now", so they are tested without a clock. Parsing of
//! each form is jiff's; this module only decides which form the person typed.

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::{Span, Timestamp, ZonedDateTime};
use thiserror::Error;

/// The text could not be read as a time or duration.
#[derive(Debug, Error, PartialEq)]
#[error("cannot read {input:?} as {expected}; try e.g. {example}")]
pub struct WhenError {
    input: String,
    expected: &'static str,
    example: &'static str,
}

fn time_error(input: &str) -> WhenError {
    WhenError {
        input: input.to_owned(),
        expected: "a time",
        example: "\"fri 19:00\", \"tomorrow 18:30\", \"2026-12-04 19:30\" or \"19:00\"",
    }
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

/// "19:00", "19h", "7pm", "7:30pm".
fn clock(word: &str) -> Option<Time> {
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

/// Reads a start or end time relative to `now` (whose zone is used unless one is given).
pub fn parse_when(input: &str, now: &ZonedDateTime) -> Result<ZonedDateTime, WhenError> {
    let text = input.trim().to_ascii_lowercase();
    let tz = now.time_zone().clone();
    if let Ok(z) = input.trim().parse::<ZonedDateTime>() {
        return Ok(z);
    }
    if let Ok(ts) = input.trim().parse::<Timestamp>() {
        return Ok(ts.to_zoned_datetime(tz));
    }
    if let Ok(dt) = input.trim().replacen(' ', "T", 1).parse::<DateTime>() {
        return dt.to_zoned_datetime(tz).map_err(|_| time_error(input));
    }
    if let Ok(d) = text.parse::<Date>() {
        return d
            .to_datetime(Time::midnight())
            .to_zoned_datetime(tz)
            .map_err(|_| time_error(input));
    }

    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| *w != "next" && *w != "at")
        .collect();
    let today = now.date();
    let (day, rest) = match words.first().copied() {
        Some("today" | "tonight") => (Some(today), &words[1..]),
        Some("tomorrow") => (today.tomorrow().ok(), &words[1..]),
        Some(w) => match weekday(w) {
            Some(wd) => {
                let ahead = (wd.to_monday_zero_offset() - today.weekday().to_monday_zero_offset())
                    .rem_euclid(7);
                (today.checked_add(Span::new().days(ahead)).ok(), &words[1..])
            }
            None => (None, &words[..]),
        },
        None => return Err(time_error(input)),
    };
    let time = match rest {
        [] => Some(if text.starts_with("tonight") {
            Time::constant(20, 0, 0, 0)
        } else {
            Time::midnight()
        }),
        [t] => clock(t),
        _ => None,
    }
    .ok_or_else(|| time_error(input))?;
    let mut date = day.unwrap_or(today);
    // A weekday or bare clock time that already passed today means the next one.
    let candidate = date
        .to_datetime(time)
        .to_zoned_datetime(now.time_zone().clone())
        .map_err(|_| time_error(input))?;
    let relative_day = words.first().is_some_and(|w| weekday(w).is_some());
    if (relative_day || day.is_none()) && candidate.timestamp() <= now.timestamp() {
        date = date
            .checked_add(Span::new().days(if relative_day { 7 } else { 1 }))
            .map_err(|_| time_error(input))?;
        return date
            .to_datetime(time)
            .to_zoned_datetime(now.time_zone().clone())
            .map_err(|_| time_error(input));
    }
    Ok(candidate)
}

/// Reads a duration: "2h", "90m", "1h30m", "2 hours", "PT2H".
pub fn parse_duration(input: &str) -> Result<Span, WhenError> {
    let bad = || WhenError {
        input: input.to_owned(),
        expected: "a duration",
        example: "\"2h\", \"90m\" or \"1h30m\"",
    };
    let span: Span = input.trim().parse().map_err(|_| bad())?;
    if span.is_zero() || span.is_negative() {
        return Err(bad());
    }
    Ok(span)
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
    fn rejects_nonsense_with_an_example() {
        for bad in ["", "someday", "fri 25:00", "13pm", "fri at noon please"] {
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
        assert!(parse_duration("0h").is_err());
        assert!(parse_duration("long").is_err());
    }
}
