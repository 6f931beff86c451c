//! Deleting is putting in the trash: two paired laptops, a delete on one while the other
//! edits the same items, the same visible state on both, and everything can come back.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use tandem_tests::{Daemon, Home, eventually, pair};

const SOON: Duration = Duration::from_secs(10);

/// `(kind, id)` of everything in a `tandem --json trash` listing.
fn trashed(d: &Daemon) -> BTreeSet<(String, String)> {
    d.cli_json(&["trash"])
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn id_of(reply: &Value) -> String {
    reply["id"].as_str().unwrap().to_owned()
}

#[test]
fn a_delete_while_the_other_laptop_edits_converges_to_a_tombstone_keeping_the_edit() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let mut alex = alex_home.start();
    let mut sam = sam_home.start();
    pair(&alex, &sam, false);
    let plan = id_of(&alex.post("/v1/plans", &json!({"title": "Dinner", "start": "2030-12-04T19:00[Europe/Paris]", "end": "2030-12-04T21:00[Europe/Paris]"})).body);
    let idea = id_of(&alex.post("/v1/ideas", &json!({"title": "Night swim"})).body);
    let agreement = id_of(
        &alex
            .post("/v1/agreements", &json!({"text": "No phones at dinner"}))
            .body,
    );
    let synced = |d: &Daemon| {
        d.count("/v1/plans") == 1 && d.count("/v1/ideas") == 1 && d.count("/v1/agreements") == 1
    };
    assert!(eventually(SOON, || synced(&sam)));

    // Apart: Alex deletes all three while Sam edits all three.
    assert!(sam.terminate().success());
    alex.cli_ok(&["plan", "delete", &plan, "--yes"]);
    alex.cli_ok(&["idea", "rm", &idea[..8], "--yes"]);
    alex.cli_ok(&["agree", "delete", &agreement, "-y"]);
    assert!(alex.terminate().success());
    let sam = Daemon::start(sam_home.path());
    sam.cli_ok(&["plan", "edit", &plan, "--title", "Dinner at Luigi's"]);
    sam.cli_ok(&["idea", "edit", &idea, "--title", "Night swim at the lake"]);
    sam.cli_ok(&[
        "agree",
        "edit",
        &agreement,
        "--text",
        "No phones at dinner or in bed",
    ]);
    let alex = Daemon::start(alex_home.path());
    assert!(eventually(SOON, || alex.heads()["shared"] == sam.heads()["shared"]));

    let expected: BTreeSet<(String, String)> = [
        ("plan".to_owned(), plan.clone()),
        ("idea".to_owned(), idea.clone()),
        ("agreement".to_owned(), agreement.clone()),
    ]
    .into();
    for d in [&alex, &sam] {
        for list in ["/v1/plans", "/v1/ideas", "/v1/agreements"] {
            assert_eq!(d.count(list), 0, "{list} still lists a deleted item");
        }
        assert_eq!(trashed(d), expected, "both laptops show the same trash");
        for entry in d.cli_json(&["trash"]).as_array().unwrap() {
            assert_eq!(entry["deleted_by_name"], "Alex", "{entry}");
            // Which of the two stamps wins is Automerge's choice; the other shows as lost.
            let edits = entry["conflicts"].as_array().unwrap();
            assert!(
                edits.iter().any(|c| c["field"] == "meta.updated_at"
                    && (c["by_name"] == "Sam" || c["by_name"] == "Alex")),
                "Sam's concurrent edit shows as a conflict on the deleted item: {entry}"
            );
        }
        let shown = d.cli_ok(&["trash"]);
        assert!(shown.contains("edited while deleted"), "{shown}");
    }

    // Sam brings two back: the edits made while they were deleted come back with them.
    sam.cli_ok(&["restore-item", &idea[..8]]);
    sam.cli_ok(&["trash", "restore", &agreement]);
    let idea_path = format!("/v1/ideas/{idea}");
    assert!(eventually(SOON, || alex.get(&idea_path).body["title"]
        == "Night swim at the lake"));
    assert!(eventually(SOON, || alex.count("/v1/agreements") == 1));
    let restored = alex.get(&format!("/v1/agreements/{agreement}")).body;
    assert_eq!(restored["text"], "No phones at dinner or in bed");
    assert_eq!(
        trashed(&alex),
        [("plan".to_owned(), plan.clone())].into(),
        "the plan is still in the trash"
    );
    let reply = alex.get(&format!("/v1/plans/{plan}"));
    assert_eq!(reply.status, 409, "{:?}", reply.body);
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("tandem restore-item {plan}")),
        "{:?}",
        reply.body
    );

    // The log says who deleted and who restored.
    let log = alex.cli_json(&["log", "-n", "50"]);
    let did = |action: &str, who: &str| {
        log.as_array().unwrap().iter().any(|e| {
            e["action"] == action && e["by_name"] == who && e["id"].as_str() == Some(&idea)
        })
    };
    assert!(did("idea.delete", "Alex"), "{log}");
    assert!(did("idea.restore", "Sam"), "{log}");
}

#[test]
fn only_the_owner_deletes_personal_time_and_private_notes_vanish_from_every_view() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let alex = alex_home.start();
    let sam = sam_home.start();
    pair(&alex, &sam, false);
    let block = id_of(
        &alex
            .post(
                "/v1/personal-time",
                &json!({"start": "2030-12-05T10:00[Europe/Paris]", "end": "2030-12-05T12:00[Europe/Paris]", "details": "climbing"}),
            )
            .body,
    );
    assert!(eventually(SOON, || sam.count("/v1/personal-time") == 1));
    let out = sam.cli(&["--json", "me", "delete", &block, "--yes"]);
    assert!(!out.status.success());
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"]["code"], "not_yours", "{error}");
    assert_eq!(sam.count("/v1/personal-time"), 1);

    // Without --yes and without a terminal to ask on, nothing is deleted.
    let out = alex.cli(&["me", "delete", &block]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("add --yes"), "{said}");
    assert_eq!(alex.count("/v1/personal-time"), 1);

    alex.cli_ok(&["me", "delete", &block, "--yes"]);
    assert!(eventually(SOON, || sam.count("/v1/personal-time") == 0));
    assert_eq!(alex.count("/v1/personal-time"), 0);
    assert_eq!(alex.get("/v1/balance").status, 200);

    let note = id_of(
        &alex
            .post(
                "/v1/notes",
                &json!({"body": "Secret plan for her birthday"}),
            )
            .body,
    );
    alex.cli_ok(&["note", "delete", &note, "--yes"]);
    assert_eq!(alex.count("/v1/notes"), 0);
    let export = alex.cli_ok(&["export"]);
    assert!(!export.contains("Secret plan"), "{export}");
    let help = alex.cli_ok(&["note", "delete", "--help"]);
    assert!(help.contains("never left them"), "{help}");
    assert_eq!(
        trashed(&alex),
        [
            ("note".to_owned(), note.clone()),
            ("personal_time".to_owned(), block.clone())
        ]
        .into()
    );
    assert_eq!(
        trashed(&sam),
        [("personal_time".to_owned(), block.clone())].into(),
        "the partner sees the deleted block, never the note"
    );
    alex.cli_ok(&["restore-item", &block]);
    let view = alex.get(&format!("/v1/personal-time/{block}")).body;
    assert_eq!(
        view["details"], "climbing",
        "the private details come back too"
    );
}
