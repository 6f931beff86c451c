//! An operation that changes both documents (a check-in answer: the answer privately, the
//! "answered" marker publicly; personal time: the hours publicly, what it is for
//! privately) is there whole or not at all after the daemon dies at any step of writing it.
//! Each case stops the real daemon dead at a named crash point, as `kill -9` would there,
//! then starts it again and looks through the API.

use serde_json::Value;
use tandem_tests::{Daemon, Home};

/// The steps of a joint commit, in order, and whether the operation must be there after a
/// crash at each: before its file is durable nothing was promised; after, it is finished
/// at start-up.
const STEPS: [(&str, bool); 3] = [
    ("joint.begun", false),
    ("joint.written", true),
    ("joint.one_log", true),
];

/// Runs `op` (CLI arguments) on a daemon that dies at `point`, checks that it died there
/// (the command failed), and returns the daemon started again on the same home.
fn crash_during(home: &Home, point: &str, op: &[&str]) -> Daemon {
    let mut d = Daemon::start_crashing_at(home.path(), point);
    let out = d.cli(op);
    assert!(
        !out.status.success(),
        "{point}: the daemon should have died during `tandem {}`",
        op.join(" ")
    );
    // It aborted at the crash point already; this only reaps it.
    d.kill9();
    Daemon::start(home.path())
}

#[test]
fn a_checkin_answer_is_whole_or_absent_after_a_crash_at_any_step() {
    for (point, whole) in STEPS {
        let home = Home::init("Alex");
        let d = crash_during(
            &home,
            point,
            &[
                "checkin",
                "--alone",
                "4",
                "--together",
                "2",
                "--went-well",
                "the walk",
                "--week",
                "2026-W49",
            ],
        );
        let week = d.get("/v1/checkins/2026-W49");
        let answered = week.body["answered"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let answers = week.body["answers"].as_array().cloned().unwrap_or_default();
        if whole {
            assert_eq!(week.status, 200, "{point}: {week:?}");
            assert_eq!(answered.len(), 1, "{point}: the public marker: {week:?}");
            assert_eq!(answers.len(), 1, "{point}: the private answer: {week:?}");
            assert_eq!(answers[0]["went_well"], "the walk", "{point}");
        } else {
            assert!(
                answered.is_empty() && answers.is_empty(),
                "{point}: nothing of it may be there: {week:?}"
            );
        }
        // Finished or dropped, the operation can be done again normally.
        d.cli_ok(&[
            "checkin",
            "--alone",
            "3",
            "--together",
            "3",
            "--week",
            "2026-W49",
        ]);
    }
}

#[test]
fn personal_time_with_details_is_whole_or_absent_after_a_crash_at_any_step() {
    for (point, whole) in STEPS {
        let home = Home::init("Alex");
        let d = crash_during(
            &home,
            point,
            &[
                "me",
                "add",
                "--at",
                "2026-12-05 10:00",
                "--for",
                "2h",
                "--label",
                "climbing",
                "--details",
                "with Jo from work",
            ],
        );
        let blocks = d.get("/v1/personal-time").body;
        let blocks = blocks.as_array().cloned().unwrap_or_default();
        if whole {
            assert_eq!(blocks.len(), 1, "{point}: {blocks:?}");
            assert_eq!(blocks[0]["label"], "climbing", "{point}");
            assert_eq!(blocks[0]["details"], "with Jo from work", "{point}");
        } else {
            assert_eq!(blocks, Vec::<Value>::new(), "{point}");
        }
        // Nothing of a dropped operation lingers in the private document either: its
        // history (the activity feed) has no trace of it.
        let activity = d.get("/v1/log").body.to_string();
        assert_eq!(
            activity.contains("personal_time.details"),
            whole,
            "{point}: {activity}"
        );
    }
}
