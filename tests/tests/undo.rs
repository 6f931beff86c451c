//! `tandem undo` on two paired laptops: each undo reverts this person's previous command
//! made on this laptop, as a new change both see, and never the partner's changes.

use std::time::Duration;

use serde_json::Value;
use tandem_tests::{Daemon, Home, eventually, pair};

const SOON: Duration = Duration::from_secs(10);

fn id_of(reply: &Value) -> String {
    reply["id"].as_str().unwrap().to_owned()
}

/// Runs `tandem undo` on `d` and returns the command it says it undid.
fn undo(d: &Daemon) -> String {
    d.cli_json(&["undo"])["action"].as_str().unwrap().to_owned()
}

fn listed(d: &Daemon, path: &str, id: &str) -> bool {
    d.get(path)
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|item| item["id"] == id)
}

#[test]
fn undo_reverts_each_command_kind_in_turn_and_never_the_partners() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let alex = alex_home.start();
    let sam = sam_home.start();
    pair(&alex, &sam, false);
    let people = alex.cli_json(&["status"]);
    let alex_id = people["me"]["id"].as_str().unwrap().to_owned();
    let sam_id = sam.cli_json(&["status"])["me"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let plan = id_of(&alex.cli_json(&[
        "plan",
        "add",
        "Dinner",
        "--at",
        "2030-12-04 19:00",
        "--for",
        "2h",
    ]));
    assert!(eventually(SOON, || listed(&sam, "/v1/plans", &plan)));
    sam.cli_ok(&["plan", "rsvp", &plan, "yes"]);
    assert!(eventually(SOON, || alex.cli_json(&["plan", "show", &plan])
        ["status"]
        == "scheduled"));
    alex.cli_ok(&["plan", "edit", &plan, "--place", "Luigi's"]);
    sam.cli_ok(&["plan", "edit", &plan, "--title", "Dinner with Jo"]);
    let agreement = id_of(&sam.cli_json(&["agree", "add", "No phones at dinner"]));
    assert!(eventually(SOON, || listed(
        &alex,
        "/v1/agreements",
        &agreement
    ) && alex
        .cli_json(&["plan", "show", &plan])["title"]
        == "Dinner with Jo"));
    alex.cli_ok(&["agree", "accept", &agreement]);
    let idea = id_of(&alex.cli_json(&["idea", "add", "Night swim"]));
    alex.cli_ok(&["idea", "delete", &idea, "--yes"]);
    alex.cli_ok(&["restore-item", &idea]);
    alex.cli_ok(&["plan", "rsvp", &plan, "no"]);

    let on_both = |check: &dyn Fn(&Daemon) -> bool| {
        for d in [&alex, &sam] {
            assert!(eventually(SOON, || check(d)));
        }
    };
    let plan_of = |d: &Daemon| d.cli_json(&["plan", "show", &plan]);

    assert_eq!(undo(&alex), "plan.rsvp");
    on_both(&|d| plan_of(d)["rsvps"][&alex_id] == "yes" && plan_of(d)["rsvps"][&sam_id] == "yes");

    assert_eq!(undo(&alex), "idea.restore");
    on_both(&|d| !listed(d, "/v1/ideas", &idea));
    assert_eq!(undo(&alex), "idea.delete");
    on_both(&|d| listed(d, "/v1/ideas", &idea));
    assert_eq!(undo(&alex), "idea.add");
    on_both(&|d| !listed(d, "/v1/ideas", &idea));

    assert_eq!(undo(&alex), "agreement.accept");
    on_both(&|d| {
        let accepted = &d.cli_json(&["agree", "list"])[0]["accepted_by"];
        accepted.get(&alex_id).is_none() && accepted.get(&sam_id).is_some()
    });

    assert_eq!(undo(&alex), "plan.edit");
    on_both(&|d| {
        let p = plan_of(d);
        p["place"] == "" && p["title"] == "Dinner with Jo"
    });

    assert_eq!(undo(&alex), "plan.add");
    on_both(&|d| !listed(d, "/v1/plans", &plan));

    // Only Sam's own commands are left: Alex has nothing more to undo, and Sam's
    // agreement still stands on both laptops.
    let refused = alex.cli(&["--json", "undo"]);
    assert!(!refused.status.success());
    let error: Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(error["error"]["code"], "nothing_to_undo", "{error}");
    on_both(&|d| listed(d, "/v1/agreements", &agreement));
    let log = alex.cli_ok(&["log"]);
    assert!(
        log.contains("plan.undo") && log.contains("Dinner with Jo (undid plan.add)"),
        "{log}"
    );

    // Sam's undo is his own: it takes back his agreement.
    assert_eq!(undo(&sam), "agreement.add");
    on_both(&|d| !listed(d, "/v1/agreements", &agreement));
}
