//! What personal time is for is private, and so is the fact that it changed: an edit of
//! only the details must not reach the partner's daemon at all, not even as an event or a
//! new `updated_at`. Silence is proven with a marker edit made afterwards: changes reach
//! the partner in causal order, so once the marker arrives, anything before it has too.

use std::sync::mpsc::Receiver;
use std::time::Duration;

use serde_json::{Value, json};
use tandem_tests::{Daemon, Home, eventually, pair};

const SOON: Duration = Duration::from_secs(10);

/// Pairs two fresh daemons and waits until they are connected.
fn connected(alex: &Daemon, sam: &Daemon) {
    pair(alex, sam, false);
    assert!(eventually(
        SOON,
        || alex.cli_json(&["peers"])[0]["connected"] == true
    ));
}

/// Alex blocks Saturday morning for climbing; returns the block's id once Sam has it.
fn block_personal_time(alex: &Daemon, sam: &Daemon) -> String {
    let created = alex.post(
        "/v1/personal-time",
        &json!({
            "start": "2026-12-05T09:00[Europe/Paris]",
            "end": "2026-12-05T12:00[Europe/Paris]",
            "details": "climbing with Jo",
        }),
    );
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().expect("an id").to_owned();
    assert!(
        eventually(SOON, || sam.count("/v1/personal-time") == 1),
        "Sam never saw the block"
    );
    id
}

/// The change events Sam's stream delivers before the marker idea `title` arrives.
fn events_before_marker(events: &Receiver<String>, title: &str) -> Vec<Value> {
    let mut before = Vec::new();
    loop {
        let data = events
            .recv_timeout(SOON)
            .expect("the marker edit reaches the partner's event stream");
        let event: Value = serde_json::from_str(&data)
            .unwrap_or_else(|_| panic!("an unreadable event proves nothing: {data}"));
        if event["action"] == "idea.add" && event["summary"] == title {
            return before;
        }
        before.push(event);
    }
}

#[test]
fn a_details_only_edit_leaves_no_trace_for_the_partner() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let (alex, sam) = (alex_home.start(), sam_home.start());
    connected(&alex, &sam);
    let id = block_personal_time(&alex, &sam);
    let shared_before = alex.heads()["shared"].clone();
    let block_before = sam.get(&format!("/v1/personal-time/{id}")).body;
    let events = sam.events();

    let edited = alex.request(
        "PATCH",
        &format!("/v1/personal-time/{id}"),
        Some(&json!({"details": "job interview, don't tell anyone yet"})),
    );
    assert_eq!(edited.status, 200, "{:?}", edited.body);
    assert_eq!(
        edited.body["details"],
        "job interview, don't tell anyone yet"
    );
    assert_eq!(
        edited.body["updated_at"], block_before["updated_at"],
        "the shared block was not changed, so it was not updated"
    );
    assert_eq!(
        alex.heads()["shared"],
        shared_before,
        "a details-only edit committed to the shared document"
    );

    alex.cli_ok(&["idea", "add", "Night swim"]);
    let leaked: Vec<Value> = events_before_marker(&events, "Night swim")
        .into_iter()
        .filter(|e| {
            e["action"]
                .as_str()
                .is_some_and(|a| a.starts_with("personal_time"))
        })
        .collect();
    assert!(leaked.is_empty(), "Sam was told about the edit: {leaked:?}");
    let block_after = sam.get(&format!("/v1/personal-time/{id}")).body;
    assert_eq!(block_after, block_before, "Sam's view of the block moved");
    assert!(block_after.get("details").is_none(), "{block_after}");
}

#[test]
fn an_edit_of_the_hours_still_reaches_the_partner_without_the_details() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let (alex, sam) = (alex_home.start(), sam_home.start());
    connected(&alex, &sam);
    let id = block_personal_time(&alex, &sam);
    let shared_before = alex.heads()["shared"].clone();
    let events = sam.events();

    let edited = alex.request(
        "PATCH",
        &format!("/v1/personal-time/{id}"),
        Some(&json!({
            "end": "2026-12-05T13:00[Europe/Paris]",
            "details": "climbing with Jo, then lunch",
        })),
    );
    assert_eq!(edited.status, 200, "{:?}", edited.body);
    assert_ne!(alex.heads()["shared"], shared_before);

    alex.cli_ok(&["idea", "add", "Night swim"]);
    let before = events_before_marker(&events, "Night swim");
    assert!(
        before.iter().any(|e| e["action"] == "personal_time.edit"),
        "Sam was not told the hours changed: {before:?}"
    );
    let block = sam.get(&format!("/v1/personal-time/{id}")).body;
    assert_eq!(block["end"], edited.body["end"]);
    assert!(block.get("details").is_none(), "{block}");
    let text = serde_json::to_string(&before).unwrap();
    assert!(!text.contains("lunch"), "the details travelled: {text}");
}
