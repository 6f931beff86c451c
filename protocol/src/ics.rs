//! iCalendar (RFC 5545) text of plans and personal-time blocks.
//!
//! One writer for both `tandem export --format ics` and the daemon's calendar feed, so a
//! phone that subscribes sees exactly what an export holds. Personal time appears as
//! opaque busy blocks with their public label only; the private details never get here.

use jiff::Timestamp;

use crate::api::PersonalTimeView;
use crate::model::person::Person;
use crate::model::plan::{Frequency, Plan, PlanStatus};
use crate::time::Moment;

/// Longest content line in octets before folding (RFC 5545 §3.1).
const MAX_LINE_OCTETS: usize = 75;

/// The whole calendar. `people` names the owner of each personal-time block;
/// `now` stamps every event (DTSTAMP).
pub fn calendar(
    plans: &[Plan],
    blocks: &[PersonalTimeView],
    people: &[Person],
    now: Timestamp,
) -> String {
    let stamp = now.strftime("%Y%m%dT%H%M%SZ").to_string();
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".into(),
        "PRODID:-//tandem//tandem//EN".into(),
        "X-WR-CALNAME:Tandem".into(),
    ];
    // A someday plan has no time to put in a calendar.
    for p in plans.iter().filter(|p| !p.is_someday()) {
        lines.extend(event(p.id.as_ref(), &stamp, &p.start, &p.end));
        lines.push(format!("SUMMARY:{}", text(&p.title)));
        if !p.place.is_empty() {
            lines.push(format!("LOCATION:{}", text(&p.place)));
        }
        if !p.notes.as_str().is_empty() {
            lines.push(format!("DESCRIPTION:{}", text(p.notes.as_str())));
        }
        let status = match p.status {
            PlanStatus::Cancelled => "CANCELLED",
            PlanStatus::Scheduled | PlanStatus::Done => "CONFIRMED",
            _ => "TENTATIVE",
        };
        lines.push(format!("STATUS:{status}"));
        // A repetition from a newer tandem has no rule here: the first occurrence only.
        if let Some(r) = &p.recurrence
            && let Some(freq) = match r.every {
                Frequency::Daily => Some("DAILY"),
                Frequency::Weekly => Some("WEEKLY"),
                Frequency::Monthly => Some("MONTHLY"),
                Frequency::Unknown => None,
            }
        {
            let until = r
                .until
                .map(|d| format!(";UNTIL={}", d.0.strftime("%Y%m%d")))
                .unwrap_or_default();
            lines.push(format!("RRULE:FREQ={freq};INTERVAL={}{until}", r.interval));
        }
        lines.push("END:VEVENT".into());
    }
    for b in blocks {
        let block = &b.block;
        lines.extend(event(block.id.as_ref(), &stamp, &block.start, &block.end));
        let summary = match people.iter().find(|p| p.id == block.owner) {
            Some(owner) => format!("{}: {}", owner.name, block.label),
            None => block.label.clone(),
        };
        lines.push(format!("SUMMARY:{}", text(&summary)));
        lines.push("TRANSP:OPAQUE".into());
        lines.push("CLASS:PRIVATE".into());
        lines.push("END:VEVENT".into());
    }
    lines.push("END:VCALENDAR".into());
    lines.iter().map(|l| fold(l)).collect()
}

/// The opening lines of one event.
fn event(id: &str, stamp: &str, start: &Moment, end: &Moment) -> [String; 5] {
    [
        "BEGIN:VEVENT".into(),
        format!("UID:{id}@tandem"),
        format!("DTSTAMP:{stamp}"),
        time("DTSTART", start),
        time("DTEND", end),
    ]
}

/// Escapes text per RFC 5545 §3.3.11.
fn text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace("\r\n", "\\n")
        .replace(['\n', '\r'], "\\n")
}

/// `DTSTART;TZID=Europe/Paris:20261204T193000`, or UTC when the zone has no IANA name.
fn time(name: &str, m: &Moment) -> String {
    match m.0.time_zone().iana_name() {
        Some(tz) => format!("{name};TZID={tz}:{}", m.0.strftime("%Y%m%dT%H%M%S")),
        None => format!("{name}:{}", m.0.timestamp().strftime("%Y%m%dT%H%M%SZ")),
    }
}

/// One content line ending in CRLF, folded every 75 octets without splitting a character.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut octets = 0;
    for c in line.chars() {
        if octets + c.len_utf8() > MAX_LINE_OCTETS {
            out.push_str("\r\n ");
            octets = 1;
        }
        out.push(c);
        octets += c.len_utf8();
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_without_splitting_characters() {
        let line = format!("SUMMARY:{}", "é".repeat(100));
        let folded = fold(&line);
        for physical in folded.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= MAX_LINE_OCTETS, "{physical:?}");
        }
        let unfolded = folded.replace("\r\n ", "");
        assert_eq!(unfolded, format!("{line}\r\n"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
