//! Edits that change what was agreed: on two paired laptops, a new wording of an accepted
//! agreement asks both to accept again, and a scheduled plan moved to another time asks
//! both to RSVP again; `tandem log` says so on both.

use std::time::Duration;

use serde_json::Value;
use tandem_tests::{Daemon, Home, eventually, pair};

const SOON: Duration = Duration::from_secs(10);

fn accepted(d: &Daemon, id: &str) -> usize {
    d.cli_json(&["agree", "list"])
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .map_or(0, |a| a["accepted_by"].as_object().unwrap().len())
}

fn plan(d: &Daemon, id: &str) -> Value {
    d.cli_json(&["plan", "show", id])
}

/// Whether `tandem log` on `d` shows `who` doing `action` with exactly `summary`.
fn logged(d: &Daemon, who: &str, action: &str, summary: &str) -> bool {
    d.cli_json(&["log"])
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["by_name"] == who && e["action"] == action && e["summary"] == summary)
}

#[test]
fn a_new_wording_asks_both_to_accept_again() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let alex = alex_home.start();
    let sam = sam_home.start();
    pair(&alex, &sam, false);

    let agreement = alex.cli_json(&["agree", "add", "No phones at dinner"]);
    let id = agreement["id"].as_str().unwrap().to_owned();
    assert!(eventually(SOON, || accepted(&sam, &id) == 1));
    sam.cli_ok(&["agree", "accept", &id]);
    assert!(eventually(SOON, || accepted(&alex, &id) == 2));

    // A new review date is not a new agreement: both acceptances stay.
    sam.cli_ok(&["agree", "edit", &id, "--review", "2031-01-01"]);
    assert!(eventually(SOON, || {
        alex.cli_json(&["agree", "list"])[0]["review_on"] == "2031-01-01"
    }));
    assert_eq!(accepted(&alex, &id), 2);

    alex.cli_ok(&[
        "agree",
        "edit",
        &id,
        "--text",
        "No phones at dinner or in bed",
    ]);
    let summary = "No phones at dinner or in bed (changed the text: asks both to accept again)";
    for d in [&alex, &sam] {
        assert!(
            eventually(SOON, || accepted(d, &id) == 0),
            "nobody has accepted the new words yet"
        );
        assert!(
            logged(d, "Alex", "agreement.edit", summary),
            "{}",
            d.cli_ok(&["log"])
        );
    }
    assert!(sam.cli_ok(&["log"]).contains("asks both to accept again"));

    alex.cli_ok(&["agree", "accept", &id]);
    sam.cli_ok(&["agree", "accept", &id]);
    for d in [&alex, &sam] {
        assert!(eventually(SOON, || accepted(d, &id) == 2));
    }
}

#[test]
fn a_scheduled_plan_moved_to_another_time_asks_both_to_rsvp_again() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let alex = alex_home.start();
    let sam = sam_home.start();
    pair(&alex, &sam, false);

    let created = alex.cli_json(&[
        "plan",
        "add",
        "Dinner",
        "--at",
        "2030-12-04 19:00",
        "--for",
        "2h",
    ]);
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(eventually(SOON, || sam.count("/v1/plans") == 1));
    sam.cli_ok(&["plan", "rsvp", &id, "yes"]);
    assert!(eventually(SOON, || plan(&alex, &id)["status"] == "scheduled"));

    // A new place is not a new time: the plan stays scheduled.
    alex.cli_ok(&["plan", "edit", &id, "--place", "Luigi's"]);
    assert!(eventually(SOON, || plan(&sam, &id)["place"] == "Luigi's"));
    assert_eq!(plan(&sam, &id)["status"], "scheduled");
    assert_eq!(plan(&sam, &id)["rsvps"].as_object().unwrap().len(), 2);

    alex.cli_ok(&[
        "plan",
        "edit",
        &id,
        "--at",
        "2030-12-05 19:00",
        "--for",
        "2h",
    ]);
    let summary = "Dinner (moved the time: asks both to RSVP again)";
    for d in [&alex, &sam] {
        assert!(eventually(SOON, || {
            let p = plan(d, &id);
            p["start"].as_str().unwrap().starts_with("2030-12-05T19:00")
        }));
        let p = plan(d, &id);
        assert_eq!(p["status"], "proposed", "{p}");
        assert_eq!(p["rsvps"], serde_json::json!({}), "{p}");
        assert!(
            logged(d, "Alex", "plan.edit", summary),
            "{}",
            d.cli_ok(&["log"])
        );
    }

    alex.cli_ok(&["plan", "rsvp", &id, "yes"]);
    sam.cli_ok(&["plan", "rsvp", &id, "yes"]);
    for d in [&alex, &sam] {
        assert!(eventually(SOON, || plan(d, &id)["status"] == "scheduled"));
    }
}

#[test]
fn an_answer_given_on_one_laptop_while_the_other_changes_the_terms_does_not_count() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let mut alex = alex_home.start();
    let mut sam = sam_home.start();
    pair(&alex, &sam, false);
    let plan_id = alex.cli_json(&[
        "plan",
        "add",
        "Dinner",
        "--at",
        "2030-12-04 19:00",
        "--for",
        "2h",
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let agreement_id = alex.cli_json(&["agree", "add", "No phones at dinner"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(eventually(SOON, || alex.heads() == sam.heads()));

    // Apart: Sam says yes and accepts on his laptop while Alex's is off...
    alex.terminate();
    sam.cli_ok(&["plan", "rsvp", &plan_id, "yes"]);
    sam.cli_ok(&["agree", "accept", &agreement_id]);
    assert_eq!(plan(&sam, &plan_id)["status"], "scheduled");
    sam.terminate();
    // ...and Alex, not having seen that, moves the dinner and rewrites the agreement.
    let alex_again = Daemon::start(alex_home.path());
    alex_again.cli_ok(&[
        "plan",
        "edit",
        &plan_id,
        "--at",
        "2030-12-05 19:00",
        "--for",
        "2h",
    ]);
    alex_again.cli_ok(&[
        "agree",
        "edit",
        &agreement_id,
        "--text",
        "No phones at dinner or in bed",
    ]);
    let sam_again = Daemon::start(sam_home.path());
    assert!(eventually(SOON, || alex_again.heads() == sam_again.heads()));

    // Sam answered the old time and the old words: on both laptops nobody has answered
    // the new ones, and the dinner is proposed, not scheduled.
    for d in [&alex_again, &sam_again] {
        let p = plan(d, &plan_id);
        assert_eq!(p["status"], "proposed", "{p}");
        assert_eq!(p["rsvps"], serde_json::json!({}), "{p}");
        assert_eq!(accepted(d, &agreement_id), 0);
    }
    sam_again.cli_ok(&["plan", "rsvp", &plan_id, "yes"]);
    sam_again.cli_ok(&["agree", "accept", &agreement_id]);
    for d in [&alex_again, &sam_again] {
        assert!(eventually(SOON, || {
            plan(d, &plan_id)["rsvps"].as_object().unwrap().len() == 1
                && accepted(d, &agreement_id) == 1
        }));
    }
}
