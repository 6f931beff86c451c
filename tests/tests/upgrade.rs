//! Upgrades never break a home (issue #13, item 1).
//!
//! `tests/fixtures/homes/v1/` holds Alex's and Sam's data homes as the first release wrote
//! them (`tests/fixtures/make-v1-home.sh` made them with that build, through the CLI), and
//! each one's JSON export. Every later build must start on a copy of each, show every
//! entity exactly as the export holds it, and the two must still sync with each other.
//! These tests stay forever; each later schema version adds a fixture of its own.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tandem_tests::{Daemon, Home, eventually};

/// The committed fixture of schema version 1.
fn fixture_v1() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/homes/v1")
}

/// What a later build may legitimately show differently in an export of the same home:
/// when it was exported, where the copy lives, the runtime (version, ports, mDNS) and the
/// documents' heads and sizes (an upgrade adds a change).
const VOLATILE_STATUS: [&str; 6] = ["version", "home", "peer_port", "mdns", "heads", "documents"];

fn expected_export(who: &str) -> Value {
    let path = fixture_v1().join(format!("{who}.export.json"));
    let text = std::fs::read_to_string(&path).expect("read the committed export");
    let mut export: Value = serde_json::from_str(&text).expect("the committed export is JSON");
    let object = export.as_object_mut().expect("an export is an object");
    object.remove("exported_at");
    let status = object["status"]
        .as_object_mut()
        .expect("status is an object");
    for key in VOLATILE_STATUS {
        status.remove(key);
    }
    export
}

/// Asserts that `actual` holds everything `expected` does, unchanged: every key of every
/// object with an equal value, every list with as many items, in order. A later build may
/// add fields (new fields read with their defaults), never drop or change one.
fn assert_holds(expected: &Value, actual: &Value, at: &str) {
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => {
            for (key, value) in want {
                let here = format!("{at}.{key}");
                let found = got
                    .get(key)
                    .unwrap_or_else(|| panic!("{here} is gone (was {value})"));
                assert_holds(value, found, &here);
            }
        }
        (Value::Array(want), Value::Array(got)) => {
            assert_eq!(
                want.len(),
                got.len(),
                "{at} has {} items instead of {}: {actual:#}",
                got.len(),
                want.len()
            );
            for (i, (w, g)) in want.iter().zip(got).enumerate() {
                assert_holds(w, g, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(expected, actual, "{at} changed"),
    }
}

fn export_of(daemon: &Daemon) -> Value {
    let text = daemon.cli_ok(&["export", "--format", "json"]);
    serde_json::from_str(&text).expect("the export is JSON")
}

fn count(export: &Value, list: &str) -> usize {
    export[list].as_array().map_or(0, Vec::len)
}

#[test]
fn every_v1_entity_is_intact_after_starting_on_a_copy_of_the_v1_homes() {
    for who in ["alex", "sam"] {
        let home = Home::copy_of(&fixture_v1().join(who));
        let daemon = home.start();
        let expected = expected_export(who);
        let actual = export_of(&daemon);
        assert_holds(&expected, &actual, who);
        // The closing note of the fixture: what it holds, so a shrinking fixture shows.
        let counts: Vec<String> = [
            "plans",
            "ideas",
            "personal_time",
            "agreements",
            "checkins",
            "notes",
        ]
        .iter()
        .map(|list| format!("{list} {}", count(&actual, list)))
        .collect();
        eprintln!("v1 fixture, {who}: {}", counts.join(", "));
        assert!(
            count(&actual, "plans") >= 6 && count(&actual, "checkins") >= 3,
            "{who}'s fixture lost entities: {counts:?}"
        );
    }
}

#[test]
fn the_v1_homes_still_sync_with_each_other_after_the_upgrade() {
    let alex_home = Home::copy_of(&fixture_v1().join("alex"));
    let sam_home = Home::copy_of(&fixture_v1().join("sam"));
    let alex = alex_home.start();
    let sam = sam_home.start();
    // Alex's last edits (replayed from its change log) never reached Sam before the crash.
    let sam_place = |sam: &Daemon| {
        let plans = export_of(sam)["plans"].clone();
        plans
            .as_array()
            .expect("plans")
            .iter()
            .find(|p| p["title"] == "Dinner at Luigi's")
            .map(|p| p["place"].clone())
    };
    assert_eq!(
        sam_place(&sam),
        Some(Value::from("Luigi's, rue des Martyrs"))
    );
    // The remembered addresses are stale (the ports were the fixture machine's).
    alex.cli_ok(&["peer", "add", &sam.peer_addr()]);
    assert!(
        eventually(Duration::from_secs(20), || alex.heads()["shared"]
            == sam.heads()["shared"]),
        "the two v1 homes did not sync: {} vs {}",
        alex.heads(),
        sam.heads()
    );
    assert_eq!(sam_place(&sam), Some(Value::from("Luigi's, upstairs")));
    let expected = expected_export("alex");
    for list in ["plans", "ideas", "personal_time", "agreements"] {
        assert_eq!(
            count(&export_of(&sam), list),
            count(&expected, list),
            "{list} on Sam's side after the sync"
        );
    }
}
