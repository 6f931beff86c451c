//! A check-in answer is a draft until both partners have answered, and final from the
//! moment the week is revealed: nobody may read the other's answer and then rewrite their
//! own, through the CLI or any route of the API.

use std::time::Duration;

use serde_json::{Value, json};
use tandem_tests::{Daemon, Home, eventually, pair};

const SOON: Duration = Duration::from_secs(10);
const WEEK: &str = "2026-W48";

fn connected(alex: &Daemon, sam: &Daemon) {
    pair(alex, sam, false);
    assert!(eventually(
        SOON,
        || alex.cli_json(&["peers"])[0]["connected"] == true
    ));
}

fn checkin(d: &Daemon, alone: &str, together: &str, went_well: &str) -> String {
    d.cli_ok(&[
        "checkin",
        "--alone",
        alone,
        "--together",
        together,
        "--went-well",
        went_well,
        "--week",
        WEEK,
    ])
}

/// The week's answers on `d` once both are visible there, by person.
fn revealed_answers(d: &Daemon) -> Vec<Value> {
    let mut answers = Vec::new();
    let shown = eventually(SOON, || {
        let week = d.get(&format!("/v1/checkins/{WEEK}")).body;
        answers = week["answers"].as_array().cloned().unwrap_or_default();
        week["revealed"] == true && answers.len() == 2
    });
    assert!(shown, "the week was never revealed: {answers:?}");
    answers.sort_by_key(|a| a["person"].as_str().unwrap_or_default().to_owned());
    answers
}

/// Alex adds an idea and waits until Sam has it: every change Alex made before has then
/// reached Sam too (changes arrive in causal order).
fn marker(alex: &Daemon, sam: &Daemon) {
    alex.cli_ok(&["idea", "add", "Night swim"]);
    assert!(eventually(SOON, || sam.count("/v1/ideas") == 1));
}

#[test]
fn answers_are_final_once_revealed() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let (alex, sam) = (alex_home.start(), sam_home.start());
    connected(&alex, &sam);
    checkin(&alex, "2", "4", "the walk");
    checkin(&sam, "3", "5", "the dinner");
    let on_alex = revealed_answers(&alex);
    assert_eq!(revealed_answers(&sam), on_alex);

    // Alex has read Sam's answer and wants to look better now.
    let out = alex.cli(&[
        "checkin",
        "--alone",
        "5",
        "--together",
        "5",
        "--went-well",
        "everything",
        "--week",
        WEEK,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "re-answering a revealed week worked");
    assert!(
        stderr.contains(&format!("{WEEK} was already revealed"))
            && stderr.contains("final once revealed"),
        "{stderr}"
    );

    // The API refuses it too, however the week is spelled and whoever asks.
    let again = |d: &Daemon, week: &str| {
        d.post(
            "/v1/checkins",
            &json!({"week": week, "enough_alone": 1, "enough_together": 1}),
        )
    };
    for (who, week) in [(&alex, WEEK), (&alex, "2026-11-26"), (&sam, WEEK)] {
        let reply = again(who, week);
        assert_eq!(reply.status, 409, "{week}: {:?}", reply.body);
        assert_eq!(reply.body["error"]["code"], "revealed");
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("already revealed")),
            "{:?}",
            reply.body
        );
    }
    // No other route changes a week's answers.
    for method in ["PATCH", "PUT", "DELETE"] {
        let reply = alex.request(
            method,
            &format!("/v1/checkins/{WEEK}"),
            Some(&json!({"enough_alone": 1, "enough_together": 1})),
        );
        assert!(reply.status >= 400, "{method}: {}", reply.status);
    }

    marker(&alex, &sam);
    assert_eq!(revealed_answers(&alex), on_alex, "Alex's laptop changed");
    assert_eq!(revealed_answers(&sam), on_alex, "Sam's laptop changed");
}

#[test]
fn answering_again_before_the_reveal_replaces_the_draft_quietly() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let (alex, sam) = (alex_home.start(), sam_home.start());
    connected(&alex, &sam);

    let first = checkin(&alex, "1", "1", "not much");
    assert!(!first.contains("replaces"), "{first}");
    assert!(eventually(SOON, || sam.count("/v1/checkins") == 1));
    let shared_before = alex.heads()["shared"].clone();

    let second = checkin(&alex, "4", "2", "the walk");
    assert!(second.contains("replaces your earlier answer"), "{second}");
    let json = alex.cli_json(&[
        "checkin",
        "--alone",
        "4",
        "--together",
        "3",
        "--went-well",
        "the walk",
        "--week",
        WEEK,
    ]);
    assert_eq!(json["replaced"], true, "{json}");
    assert_eq!(
        alex.heads()["shared"],
        shared_before,
        "re-answering told the partner's document something"
    );

    checkin(&sam, "3", "5", "the dinner");
    let alex_id = alex.cli_json(&["status"])["me"]["id"].clone();
    for d in [&alex, &sam] {
        let answers = revealed_answers(d);
        let mine: Vec<&Value> = answers.iter().filter(|a| a["person"] == alex_id).collect();
        assert_eq!(mine.len(), 1, "{answers:?}");
        assert_eq!(mine[0]["enough_alone"], 4);
        assert_eq!(mine[0]["enough_together"], 3);
        assert_eq!(mine[0]["went_well"], "the walk");
    }
}
