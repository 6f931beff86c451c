//! Two partners' daemons, paired by code, merging plans directly over pinned TLS.

use std::time::Duration;

use serde_json::{Value, json};
use tandem_tests::{Daemon, Home, eventually, files_under, pair};

const SOON: Duration = Duration::from_secs(10);

fn titles(d: &Daemon) -> Vec<String> {
    tandem_tests::titles(&d.get("/v1/plans").body)
}

fn plan_body(title: &str) -> Value {
    json!({"title": title, "start": "2026-12-04T19:00[Europe/Paris]", "end": "2026-12-04T21:00[Europe/Paris]"})
}

#[test]
fn paired_partners_see_each_others_plans_and_rsvps() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let (alex, sam) = (alex_home.start(), sam_home.start());
    pair(&alex, &sam, false);

    let alex_peers = alex.cli_json(&["peers"]);
    let sam_peers = sam.cli_json(&["peers"]);
    assert_eq!(alex_peers[0]["name"], "Sam");
    assert_eq!(alex_peers[0]["device_id"], sam.device_id());
    assert_eq!(sam_peers[0]["name"], "Alex");
    assert_eq!(sam_peers[0]["relation"], "partner");
    assert!(eventually(
        SOON,
        || sam.cli_json(&["peers"])[0]["connected"] == true
    ));

    let plan = alex.cli_json(&[
        "plan",
        "add",
        "Dinner at Luigi's",
        "--at",
        "2026-12-04 19:30",
    ]);
    let id = plan["id"].as_str().unwrap().to_owned();
    assert!(
        eventually(SOON, || titles(&sam) == ["Dinner at Luigi's"]),
        "Sam never saw Alex's plan"
    );

    // Sam says yes from Sam's laptop; Alex sees it, and two yeses schedule the plan.
    sam.cli_ok(&["plan", "rsvp", &id[..8], "yes"]);
    assert!(eventually(SOON, || alex
        .get(&format!("/v1/plans/{id}"))
        .body["status"]
        == "scheduled"));
    let on_alex = alex.get(&format!("/v1/plans/{id}")).body;
    assert_eq!(on_alex["rsvps"].as_object().unwrap().len(), 2);

    // And the other way round: Alex's event stream and activity feed name Sam.
    let events = alex.events();
    sam.cli_ok(&["idea", "add", "Night swim"]);
    let sam_person = sam.cli_json(&["status"])["me"]["id"].clone();
    let event: Value = loop {
        let data = events
            .recv_timeout(SOON)
            .expect("Alex's event stream shows Sam's change");
        let event: Value = serde_json::from_str(&data).unwrap();
        if event["action"] == "idea.add" {
            break event;
        }
    };
    assert_eq!(event["by"], sam_person);
    assert_eq!(event["summary"], "Night swim");
    assert!(eventually(SOON, || alex.count("/v1/ideas") == 1));
    let log = alex.cli_json(&["log"]);
    let entry = log
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "idea.add")
        .unwrap();
    assert_eq!(entry["by_name"], "Sam");
    assert_eq!(alex.cli_json(&["status"])["partner"]["name"], "Sam");
    assert!(eventually(SOON, || alex.cli_json(&["peers"])[0]["in_sync"] == true));
    let text = alex.cli_ok(&["status"]);
    assert!(
        text.contains("Sam (partner") && text.contains("in sync"),
        "{text}"
    );
    assert!(eventually(SOON, || alex.heads()["shared"] == sam.heads()["shared"]));
}

#[test]
fn three_wrong_codes_close_pairing_and_pin_nothing() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let (alex, sam) = (alex_home.start(), sam_home.start());
    let code = alex.pairing_code(false);
    let wrong = if code.starts_with('1') {
        "2222-2222"
    } else {
        "1111-1111"
    };
    let addr = alex.peer_addr();
    let mut errors = Vec::new();
    for _ in 0..3 {
        let out = sam.cli(&["pair", wrong, "--addr", &addr]);
        assert!(!out.status.success());
        errors.push(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    assert!(
        errors[0].contains("wrong pairing code (2 attempts left)"),
        "{errors:?}"
    );
    assert!(
        errors[2].contains("too many pairing attempts"),
        "{errors:?}"
    );
    // Even the right code no longer works.
    let out = sam.cli(&["pair", &code, "--addr", &addr]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("too many pairing attempts"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(alex.cli_json(&["peers"]), json!([]));
    assert_eq!(sam.cli_json(&["peers"]), json!([]));
    assert!(
        !alex_home.path().join("peers.toml").exists()
            || std::fs::read_to_string(alex_home.path().join("peers.toml"))
                .unwrap()
                .trim()
                .is_empty()
    );
}

#[test]
fn strangers_and_removed_peers_are_refused() {
    let (alex_home, sam_home, eve_home) =
        (Home::init("Alex"), Home::init("Sam"), Home::init("Eve"));
    let (alex, sam, eve) = (alex_home.start(), sam_home.start(), eve_home.start());
    alex.cli_ok(&[
        "plan",
        "add",
        "Secret anniversary trip",
        "--at",
        "2026-12-04 19:30",
    ]);

    // Eve knows Alex's address but was never paired: refused in the TLS handshake.
    let out = eve.cli(&["peer", "add", &alex.peer_addr()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no paired device answered"));
    assert_eq!(
        titles(&eve),
        Vec::<String>::new(),
        "no document byte reached Eve"
    );

    pair(&alex, &sam, false);
    assert!(eventually(SOON, || titles(&sam) == ["Secret anniversary trip"]));

    // Alex unpairs Sam: disconnected at once, refused afterwards.
    let sam_id = sam.device_id();
    alex.cli_ok(&["peer", "remove", &sam_id[..9]]);
    assert_eq!(alex.cli_json(&["peers"]), json!([]));
    assert!(eventually(
        SOON,
        || sam.cli_json(&["peers"])[0]["connected"] == false
    ));
    alex.cli_ok(&[
        "plan",
        "add",
        "After the breakup",
        "--at",
        "2026-12-05 19:30",
    ]);
    // The marker: a connection Sam tried after the plan was written was refused in the
    // handshake, before any document byte; any earlier one had been closed at the remove.
    let out = sam.cli(&["peer", "add", &alex.peer_addr()]);
    assert!(!out.status.success(), "a removed peer must be refused");
    assert_eq!(
        titles(&sam),
        ["Secret anniversary trip"],
        "nothing new reached the removed peer"
    );
}

#[test]
fn offline_edits_on_both_sides_merge_without_loss() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let mut alex = alex_home.start();
    let mut sam = sam_home.start();
    pair(&alex, &sam, false);
    let plan = alex.post("/v1/plans", &json!({"title": "Weekend away", "start": "2026-12-12T10:00[Europe/Paris]", "end": "2026-12-13T18:00[Europe/Paris]", "notes": "pack light"})).body;
    let id = plan["id"].as_str().unwrap().to_owned();
    assert!(eventually(SOON, || titles(&sam) == ["Weekend away"]));

    // Sam's laptop goes away; both keep editing, including the same plan's notes.
    assert!(sam.terminate().success());
    alex.request(
        "PATCH",
        &format!("/v1/plans/{id}"),
        Some(&json!({"notes": "pack light, bring boots"})),
    );
    alex.post("/v1/plans", &plan_body("Alex's plan while apart"));
    // Then Alex's laptop is away while Sam's is back: the edits are truly concurrent.
    assert!(alex.terminate().success());
    let mut sam = Daemon::start(sam_home.path());
    sam.request(
        "PATCH",
        &format!("/v1/plans/{id}"),
        Some(&json!({"notes": "swimsuits! pack light"})),
    );
    sam.post("/v1/plans", &plan_body("Sam's plan while apart"));
    let alex = alex_home.start();

    assert!(
        eventually(SOON, || titles(&alex).len() == 3 && titles(&sam).len() == 3),
        "alex {:?} sam {:?}",
        titles(&alex),
        titles(&sam)
    );
    assert!(eventually(SOON, || alex.heads()["shared"] == sam.heads()["shared"]));
    let (a, s) = (alex.get("/v1/plans").body, sam.get("/v1/plans").body);
    assert_eq!(a, s, "both laptops show the same plans");
    let notes = alex.get(&format!("/v1/plans/{id}")).body["notes"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        notes.contains("boots") && notes.contains("swimsuits"),
        "both note edits survive: {notes:?}"
    );
    assert!(sam.terminate().success());
}

#[test]
fn private_notes_never_reach_the_partner() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let (alex, sam) = (alex_home.start(), sam_home.start());
    pair(&alex, &sam, false);
    alex.cli_ok(&["note", "add", "I am planning a surprise party zqxv"]);
    alex.cli_ok(&[
        "me",
        "add",
        "--at",
        "2026-12-05 09:00",
        "--for",
        "3h",
        "--details",
        "buying the gift zqxv",
    ]);
    alex.cli_ok(&["idea", "add", "Shared marker idea"]);
    assert!(eventually(SOON, || sam.count("/v1/ideas") == 1));
    assert!(eventually(SOON, || sam.count("/v1/personal-time") == 1));

    assert_eq!(sam.get("/v1/notes").body, json!([]));
    let block = &sam.get("/v1/personal-time").body[0];
    assert_eq!(block["label"], "personal time");
    assert!(block.get("details").is_none(), "{block}");
    assert_eq!(sam.cli_json(&["status"])["counts"]["notes"], 0);
    drop(sam);
    for entry in files_under(sam_home.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(4).any(|w| w == b"zqxv"),
            "private text found in {}",
            entry.display()
        );
    }
}

#[test]
fn checkin_answers_stay_hidden_until_both_answered() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let (alex, sam) = (alex_home.start(), sam_home.start());
    pair(&alex, &sam, false);
    alex.cli_ok(&[
        "checkin",
        "--alone",
        "2",
        "--together",
        "5",
        "--went-well",
        "the long walk qwzk",
        "--week",
        "2026-W49",
    ]);
    assert!(eventually(SOON, || sam.count("/v1/checkins") == 1));
    let week = &sam.get("/v1/checkins").body[0];
    assert_eq!(
        week["answered"].as_array().unwrap().len(),
        1,
        "Sam sees that Alex answered"
    );
    assert_eq!(week["answers"], json!([]), "but not what");
    assert_eq!(week["revealed"], false);
    for entry in files_under(sam_home.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(4).any(|w| w == b"qwzk"),
            "Alex's answer text on Sam's disk: {}",
            entry.display()
        );
    }

    sam.cli_ok(&[
        "checkin",
        "--alone",
        "4",
        "--together",
        "3",
        "--week",
        "2026-W49",
    ]);
    for d in [&alex, &sam] {
        assert!(eventually(SOON, || {
            let week = &d.get("/v1/checkins/2026-W49").body;
            week["revealed"] == true && week["answers"].as_array().unwrap().len() == 2
        }));
    }
    let on_sam = sam.get("/v1/checkins/2026-W49").body;
    let alex_answer = on_sam["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["went_well"] == "the long walk qwzk");
    assert!(alex_answer.is_some(), "{on_sam}");
}

#[test]
fn an_own_second_device_gets_the_private_notes() {
    let (laptop_home, desktop_home, partner_home) = (
        Home::init("Alex"),
        Home::init("Alex's desktop"),
        Home::init("Sam"),
    );
    let (laptop, desktop, partner) = (
        laptop_home.start(),
        desktop_home.start(),
        partner_home.start(),
    );
    // Both sides must agree on --own.
    let code = laptop.pairing_code(false);
    let out = desktop.cli(&["pair", &code, "--addr", &laptop.peer_addr(), "--own"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--own"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    pair(&laptop, &desktop, true);
    pair(&laptop, &partner, false);

    laptop.cli_ok(&["note", "add", "only for my own devices"]);
    assert!(eventually(SOON, || desktop.count("/v1/notes") == 1));
    // The desktop became Alex: same person, and a note written there is Alex's too.
    let (on_desktop, on_laptop) = (desktop.cli_json(&["status"]), laptop.cli_json(&["status"]));
    assert_eq!(on_desktop["me"]["id"], on_laptop["me"]["id"]);
    assert_eq!(on_desktop["me"]["name"], "Alex");
    desktop.cli_ok(&["note", "add", "written on the desktop"]);
    assert!(eventually(SOON, || laptop.count("/v1/notes") == 2));
    // The partner has the shared document and not a single note.
    laptop.cli_ok(&["idea", "add", "Marker"]);
    assert!(eventually(SOON, || partner.count("/v1/ideas") == 1));
    assert_eq!(partner.get("/v1/notes").body, json!([]));
    let people = partner.cli_json(&["status"]);
    assert_eq!(people["partner"]["name"], "Alex");
}

#[test]
fn conflicting_edits_are_shown_and_the_loser_can_be_kept() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let mut alex = alex_home.start();
    let mut sam = sam_home.start();
    pair(&alex, &sam, false);
    let plan = alex.post("/v1/plans", &plan_body("Dinner")).body;
    let id = plan["id"].as_str().unwrap().to_owned();
    assert!(eventually(SOON, || titles(&sam) == ["Dinner"]));

    // Apart: each renames the plan; neither laptop can see the other.
    assert!(sam.terminate().success());
    alex.cli_ok(&["plan", "edit", &id, "--title", "Dinner at Luigi's"]);
    assert!(alex.terminate().success());
    let sam = Daemon::start(sam_home.path());
    sam.cli_ok(&["plan", "edit", &id, "--title", "Dinner at home"]);
    let alex = Daemon::start(alex_home.path());
    assert!(eventually(SOON, || alex.heads()["shared"] == sam.heads()["shared"]));

    let shown = alex.cli_json(&["plan", "show", &id]);
    let winner = shown["title"].as_str().unwrap().to_owned();
    let conflicts = shown["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{shown}");
    let lost = conflicts[0]["value"].as_str().unwrap().to_owned();
    assert_eq!(conflicts[0]["field"], "title");
    let expected_author = if lost == "Dinner at home" {
        "Sam"
    } else {
        "Alex"
    };
    assert_eq!(conflicts[0]["by_name"], expected_author);
    assert_ne!(winner, lost);
    assert_eq!(
        sam.cli_json(&["plan", "show", &id])["conflicts"],
        shown["conflicts"],
        "both see the same conflict"
    );
    let text = alex.cli_ok(&["plan", "show", &id[..8]]);
    assert!(
        text.contains(&format!("title was also \"{lost}\"")),
        "{text}"
    );

    let kept = sam.cli_json(&["plan", "keep", &id[..8], "title"]);
    assert_eq!(kept["title"], lost.as_str());
    assert!(eventually(SOON, || alex
        .get(&format!("/v1/plans/{id}"))
        .body["title"]
        == lost.as_str()));
    assert_eq!(
        alex.cli_json(&["plan", "show", &id])["conflicts"],
        json!([])
    );
    let out = alex.cli(&["plan", "keep", &id, "title"]);
    assert!(!out.status.success(), "nothing left to keep");
}
