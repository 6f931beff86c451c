//! A person's first evening with tandem, through the real CLI against a real daemon.

use serde_json::Value;
use tandem_tests::Home;

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn plans_ideas_checkins_notes_and_balance() {
    let home = Home::init("Alex");
    // On Thursday evening of 2026-W49, so the dinner tomorrow and Sunday's walk are ahead.
    let d = home.start_on_fixed_clock();

    let out = d.cli_ok(&[
        "plan",
        "add",
        "Dinner at Luigi's",
        "--at",
        "2026-12-04 19:30",
        "--for",
        "2h30m",
        "--kind",
        "date-night",
        "--place",
        "Luigi's",
    ]);
    assert!(out.contains("Proposed: Dinner at Luigi's"), "{out}");
    d.cli_ok(&[
        "plan",
        "add",
        "Sunday walk",
        "--at",
        "2026-12-06 10:00",
        "--until",
        "12:00",
        "--every",
        "weekly",
    ]);

    let plans = d.cli_json(&["plan", "list"]);
    assert_eq!(plans.as_array().unwrap().len(), 2);
    let dinner = &plans[0];
    assert_eq!(dinner["title"], "Dinner at Luigi's");
    assert_eq!(dinner["kind"], "date_night");
    assert_eq!(dinner["start"], "2026-12-04T19:30:00+01:00[Europe/Paris]");
    assert_eq!(dinner["end"], "2026-12-04T22:00:00+01:00[Europe/Paris]");
    assert_eq!(dinner["status"], "proposed");
    assert_eq!(plans[1]["recurrence"]["every"], "weekly");

    // Short prefixes work, and the table shows them.
    let dinner_id = dinner["id"].as_str().unwrap();
    let prefix = &dinner_id[..8];
    let table = d.cli_ok(&["plan", "list"]);
    assert!(
        table.contains("Dinner at Luigi's") && table.contains(&dinner_id[..6]),
        "{table}"
    );

    let edited = d.cli_json(&[
        "plan",
        "edit",
        prefix,
        "--notes",
        "book the window table",
        "--title",
        "Dinner at Luigi's!",
    ]);
    assert_eq!(edited["notes"], "book the window table");
    assert_eq!(edited["title"], "Dinner at Luigi's!");
    let rsvp = d.cli_json(&["plan", "rsvp", prefix, "maybe"]);
    assert_eq!(
        rsvp["rsvps"].as_object().unwrap().values().next().unwrap(),
        "maybe"
    );
    d.cli_ok(&["plan", "done", prefix]);
    let shown = d.cli_ok(&["plan", "show", prefix]);
    assert!(
        shown.contains("status:    done") && shown.contains("book the window table"),
        "{shown}"
    );
    let done = d.cli_json(&["plan", "list", "--status", "done"]);
    assert_eq!(ids(&done), [dinner_id]);
    let in_window = d.cli_json(&["plan", "list", "--from", "2026-12-10", "--to", "2026-12-20"]);
    assert_eq!(
        in_window.as_array().unwrap().len(),
        1,
        "the weekly walk recurs in the window"
    );
    let walk = in_window[0]["id"].as_str().unwrap().to_owned();
    d.cli_ok(&["plan", "cancel", &walk[..8]]);
    assert_eq!(d.cli_json(&["plan", "show", &walk])["status"], "cancelled");

    // The idea jar.
    d.cli_ok(&["idea", "add", "Night swim"]);
    d.cli_ok(&["idea", "add", "Pottery class", "--notes", "Thursdays"]);
    let drawn = d.cli_json(&["idea", "draw"]);
    let title = drawn["title"].as_str().unwrap();
    assert!(title == "Night swim" || title == "Pottery class", "{drawn}");

    // Personal time: the details are the owner's.
    let block = d.cli_json(&[
        "me",
        "add",
        "--at",
        "2026-12-05 09:00",
        "--for",
        "3h",
        "--details",
        "climbing with Jo",
    ]);
    assert_eq!(block["label"], "personal time");
    assert_eq!(block["details"], "climbing with Jo");

    // Agreements.
    let agreement = d.cli_json(&[
        "agree",
        "add",
        "No phones at dinner",
        "--review",
        "2027-03-01",
    ]);
    assert_eq!(agreement["review_on"], "2027-03-01");
    assert_eq!(agreement["accepted_by"].as_object().unwrap().len(), 1);

    // A check-in for the first week of December; alone it stays unrevealed.
    let week = d.cli_json(&[
        "checkin",
        "--alone",
        "2",
        "--together",
        "4",
        "--went-well",
        "the walk",
        "--week",
        "2026-W49",
    ]);
    assert_eq!(week["revealed"], false);
    assert_eq!(week["answers"][0]["enough_alone"], 2);
    let listed = d.cli_json(&["checkin", "list"]);
    assert_eq!(listed[0]["week"], "2026-W49");
    let one = d.get("/v1/checkins/2026-12-02").body;
    assert_eq!(one["week"], "2026-W49", "a date selects its week");

    // Private notes.
    d.cli_ok(&["note", "add", "I loved the walk", "--title", "Sunday"]);
    let notes = d.cli_json(&["note", "list"]);
    assert_eq!(notes[0]["title"], "Sunday");
    assert_eq!(notes[0]["body"], "I loved the walk");

    // Balance of that week: the done dinner (2.5 h), 3 h alone, and the reading.
    let balance = d.cli_json(&["balance", "--week", "2026-W49"]);
    assert_eq!(balance["together_hours"], 2.5);
    assert_eq!(balance["people"][0]["personal_hours"], 3.0);
    assert_eq!(
        balance["reading"][0],
        "Alex wants more time alone this week."
    );
    let text = d.cli_ok(&["balance", "--week", "2026-W49"]);
    assert!(
        text.contains("Together: 2.5 h") && text.contains("Alex wants more time alone"),
        "{text}"
    );

    // The activity feed names the author.
    let log = d.cli_json(&["log", "-n", "50"]);
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "plan.add",
        "plan.edit",
        "plan.rsvp",
        "idea.add",
        "note.add",
        "checkin.answer",
        "agreement.add",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .all(|e| e["by_name"] == "Alex")
    );

    // Export: JSON holds everything, ICS has both events with their zone.
    let export = d.cli_json(&["export"]);
    assert_eq!(export["plans"].as_array().unwrap().len(), 2);
    assert_eq!(export["notes"].as_array().unwrap().len(), 1);
    let ics = d.cli_ok(&["export", "--format", "ics"]);
    assert!(
        ics.contains("DTSTART;TZID=Europe/Paris:20261204T193000"),
        "{ics}"
    );
    assert!(ics.contains("RRULE:FREQ=WEEKLY;INTERVAL=1"));
    let md = d.cli_ok(&["export", "--format", "markdown"]);
    assert!(md.contains("## Private notes") && md.contains("I loved the walk"));

    let status = d.cli_json(&["status"]);
    assert_eq!(status["me"]["name"], "Alex");
    assert_eq!(status["counts"]["plans"], 2);
}

#[test]
fn errors_say_what_to_do() {
    let home = Home::init("Sam");
    // No daemon yet.
    let out = tandem_tests::tandem(home.path())
        .args(["plan", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("daemon not running") && err.contains("tandemd"),
        "{err}"
    );

    let d = home.start();
    let cases: [(&[&str], &str); 6] = [
        (
            &["plan", "add", "x", "--at", "whenever"],
            "cannot read \"whenever\" as a time",
        ),
        (
            &[
                "plan",
                "add",
                "x",
                "--at",
                "2026-12-04 20:00",
                "--until",
                "2026-12-04 19:00",
            ],
            "end: must be after start",
        ),
        (
            &["plan", "add", "  ", "--at", "2026-12-04 20:00"],
            "title: must not be empty",
        ),
        (
            &["plan", "show", "zzzzzzzz"],
            "no plan has an id starting with zzzzzzzz",
        ),
        (
            &["checkin", "--alone", "9", "--together", "2"],
            "--alone must be a number from 1 (not at all) to 5 (plenty)",
        ),
        (
            &[
                "plan",
                "add",
                "x",
                "--at",
                "2026-12-04 20:00",
                "--kind",
                "picnic",
            ],
            "--kind \"picnic\" is not one of date-night",
        ),
    ];
    for (args, expected) in cases {
        let out = d.cli(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    // Without flags and without a terminal, check-in explains itself.
    let out = d.cli(&["checkin"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("give --alone and --together (1 to 5)"));
    // Nothing was stored by the failures.
    assert_eq!(d.cli_json(&["plan", "list"]), serde_json::json!([]));
    // init refuses to overwrite.
    let out = d.cli(&["init", "--name", "Other"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

#[test]
fn checkin_asks_in_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIP: util-linux `script` (to give tandem a terminal) is not installed");
        return;
    }
    let home = Home::init("Alex");
    let d = home.start();
    let command = format!(
        "{} checkin --week 2026-W49",
        tandem_tests::bin("tandem").display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("TANDEM_HOME", home.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    // A 7 is refused and asked again; then 3 and 4 and two lines of text.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"7\n3\n4\nthe walk\nmore sleep\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(screen.contains("I had enough time to myself"), "{screen}");
    assert!(
        screen.contains("Please answer with a number from 1 to 5"),
        "{screen}"
    );
    let weeks = d.cli_json(&["checkin", "list"]);
    let answer = &weeks[0]["answers"][0];
    assert_eq!(
        (
            answer["enough_alone"].as_i64(),
            answer["enough_together"].as_i64()
        ),
        (Some(3), Some(4))
    );
    assert_eq!(answer["went_well"], "the walk");
    assert_eq!(answer["need_next"], "more sleep");
}

#[test]
fn man_page_and_completions_are_generated() {
    let home = tempfile::tempdir().unwrap();
    let man = tandem_tests::tandem(home.path())
        .arg("man")
        .output()
        .unwrap();
    let man = String::from_utf8_lossy(&man.stdout);
    assert!(man.contains(".TH tandem 1"), "{man}");
    for command in ["pair", "checkin", "doctor", "service", "demo"] {
        assert!(man.contains(command), "the man page lists {command}");
    }
    let bash = tandem_tests::tandem(home.path())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bash.stdout).contains("_tandem()"));
}
