//! A week in the life of a couple, through the CLI only, on two paired laptops whose
//! daemons and CLIs read one fixed clock (`TANDEM_NOW`): Sunday 18 October 2026, 18:30 in
//! Paris, a week before the clocks go back, so "next weekend" and a weekly Sunday run
//! cross the change. Every command of issue #18 is used as a person would, and the test
//! asserts what they see.

use std::time::Duration;

use serde_json::Value;
use tandem_tests::{Daemon, Home, eventually, pair};

/// Sunday 18 October 2026, 18:30 CEST.
const NOW: &str = "2026-10-18T18:30:00+02:00";
const SOON: Duration = Duration::from_secs(10);

/// Runs a command expected to be refused; returns its stderr.
fn refused(daemon: &Daemon, args: &[&str]) -> String {
    let out = daemon.cli(args);
    assert!(!out.status.success(), "{args:?} was accepted");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits until `tandem ARGS` on `daemon` prints something `check` accepts; returns it.
fn shows(daemon: &Daemon, args: &[&str], check: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    let held = eventually(SOON, || {
        last = daemon.cli_ok(args);
        check(&last)
    });
    assert!(held, "tandem {args:?} never showed it:\n{last}");
    last
}

/// The id in a "Verb: title, when (ID, status)" line.
fn short_id(line: &str) -> String {
    let (_, after) = line.rsplit_once(" (").expect("an id in parentheses");
    after.split([',', ')']).next().unwrap().to_owned()
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

#[test]
fn a_week_in_the_life_through_the_cli() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let alex = Daemon::start_at(alex_home.path(), NOW);
    let sam = Daemon::start_at(sam_home.path(), NOW);
    pair(&alex, &sam, false);
    assert!(eventually(
        SOON,
        || sam.cli_json(&["status"])["partner"]["name"] == "Alex"
    ));

    // Sunday evening: nothing but the week's check-in waits, with the command for it.
    let first = alex.cli_ok(&[]);
    assert_eq!(first, "• Check-in due for this week (tandem checkin)\n");
    assert_eq!(alex.cli_ok(&["today"]), first, "`tandem` is `tandem today`");

    // Alex proposes a picnic tomorrow and dinner tonight; tandem says what it understood.
    let picnic = alex.cli_ok(&[
        "plan",
        "add",
        "Picnic",
        "--at",
        "tomorrow 12:00",
        "--for",
        "3h",
    ]);
    assert!(
        picnic.starts_with("Proposed: Picnic, Mon 19 Oct 12:00–15:00 (")
            && picnic.ends_with(", proposed)\n"),
        "{picnic}"
    );
    let picnic = short_id(&picnic);
    assert_eq!(picnic.len(), 8, "a short id: {picnic}");
    let dinner = alex.cli_ok(&["plan", "add", "Dinner", "--at", "tonight"]);
    assert!(
        dinner.starts_with("Proposed: Dinner, Sun 18 Oct 20:00–22:00 ("),
        "tonight is 20:00, two hours by default: {dinner}"
    );
    let dinner = short_id(&dinner);

    // What tandem refuses, and why; nothing is stored by a refusal.
    let negative = refused(
        &alex,
        &[
            "plan",
            "add",
            "Nap",
            "--at",
            "tomorrow 14:00",
            "--for",
            "-3h",
        ],
    );
    assert!(
        negative.contains("--for \"-3h\" is no length: it must be more than zero")
            && !negative.contains("-- -3"),
        "{negative}"
    );
    let backwards = refused(
        &alex,
        &[
            "plan",
            "add",
            "Nap",
            "--at",
            "tomorrow 14:00",
            "--until",
            "tomorrow 13:00",
        ],
    );
    assert!(
        backwards.contains(
            "end: must be after start: --until \"tomorrow 13:00\" is Mon 19 Oct 13:00, and the start is Mon 19 Oct 14:00"
        ),
        "{backwards}"
    );
    let passed = refused(&alex, &["plan", "add", "Walk", "--at", "2026-10-17 10:00"]);
    assert!(
        passed.contains(
            "--at \"2026-10-17 10:00\" is Sat 17 Oct 10:00, which has passed (it is now Sun 18 Oct 18:30)"
        ) && passed.contains("--past"),
        "{passed}"
    );
    let unreadable = refused(&alex, &["plan", "add", "Walk", "--at", "whenever"]);
    assert!(unreadable.contains("\"tomorrow evening\""), "{unreadable}");
    assert_eq!(
        alex.cli_json(&["plan", "list"]).as_array().unwrap().len(),
        2
    );
    // With --past, yesterday's walk is written down, and done.
    let walk = alex.cli_ok(&["plan", "add", "Walk", "--at", "2026-10-17 10:00", "--past"]);
    let walk = short_id(&walk);
    alex.cli_ok(&["plan", "done", &walk]);
    let help = alex.cli_ok(&["plan", "add", "--help"]);
    assert!(
        help.contains("\"tonight\" (today 20:00)") && help.contains("(the coming Saturday 10:00)"),
        "{help}"
    );

    // Sam writes down a trip with no date yet, and a weekly run across the DST change.
    let trip = sam.cli_ok(&["plan", "add", "Trip to Lisbon"]);
    assert!(
        trip.starts_with("Proposed: Trip to Lisbon, some day (no time yet) ("),
        "{trip}"
    );
    let run = sam.cli_json(&[
        "plan",
        "add",
        "Sunday run",
        "--at",
        "sun 10:00",
        "--for",
        "1h",
        "--every",
        "weekly",
        "--kind",
        "outing",
    ]);
    assert_eq!(
        run["start"], "2026-10-25T10:00:00+01:00[Europe/Paris]",
        "after the change"
    );

    // Sam's list: past and cancelled hidden, repetition in words, "some day" apart.
    let list = shows(&sam, &["plan", "list"], |l| {
        l.contains("Picnic") && l.contains("Dinner")
    });
    assert!(!list.contains("Walk"), "yesterday's walk is past: {list}");
    assert!(list.contains("every Sunday 10:00"), "{list}");
    assert!(list.contains("Mon 19 Oct 12:00–15:00"), "{list}");
    let (dated, someday) = list
        .split_once("Some day (no time yet):")
        .expect("a someday part");
    assert!(
        someday.contains("Trip to Lisbon") && !dated.contains("Trip to Lisbon"),
        "{list}"
    );
    assert!(sam.cli_ok(&["plan", "list", "--all"]).contains("Walk"));

    // What needs Sam: Alex's plans to answer, with the command for each.
    let sams = shows(&sam, &[], |t| t.contains("\"Picnic\""));
    assert!(
        sams.contains(
            "• Alex proposed \"Picnic\" for Mon 19 Oct 12:00: answer with yes, no or maybe"
        ) && sams.contains(&format!("tandem plan rsvp {picnic} yes|no|maybe")),
        "{sams}"
    );

    // Sam suggests 13:00 instead; Alex sees it waiting and takes it.
    let suggested = sam.cli_ok(&[
        "plan",
        "propose",
        &picnic,
        "--at",
        "mon 13:00",
        "--for",
        "3h",
    ]);
    assert_eq!(
        suggested,
        format!(
            "Suggested Mon 19 Oct 13:00–16:00 for \"Picnic\" ({picnic}); Alex accepts or declines it\n"
        )
    );
    let alexs = shows(&alex, &[], |t| t.contains("suggests"));
    assert!(
        alexs.contains(
            "• Sam suggests Mon 19 Oct 13:00 instead of Mon 19 Oct 12:00 for \"Picnic\": accept or decline"
        ) && alexs.contains(&format!("tandem plan accept {picnic}")),
        "{alexs}"
    );
    let took = alex.cli_ok(&["plan", "accept", &picnic]);
    assert_eq!(
        took,
        format!("Took the new time: Picnic, Mon 19 Oct 13:00–16:00 ({picnic}, scheduled)\n")
    );

    // Sam suggests tomorrow evening for the dinner; Alex keeps tonight.
    shows(&sam, &["plan", "list"], |l| l.contains("13:00–16:00"));
    sam.cli_ok(&["plan", "propose", &dinner, "--at", "tomorrow evening"]);
    shows(&alex, &["today"], |t| t.contains("for \"Dinner\""));
    let kept = alex.cli_ok(&["plan", "decline", &dinner]);
    assert_eq!(
        kept,
        format!("Kept the time: Dinner, Sun 18 Oct 20:00–22:00 ({dinner}, proposed)\n")
    );
    shows(&sam, &["plan", "show", &dinner], |s| {
        s.contains("Alex kept the time")
    });
    sam.cli_ok(&["plan", "rsvp", &dinner, "yes"]);

    // They talk it through; the comment waits for Alex until she looks at the plan.
    sam.cli_ok(&["plan", "comment", &picnic, "I'll bring the rug\nand tea"]);
    let status = shows(&alex, &["status"], |s| {
        s.contains("1 new comment on \"Picnic\"")
    });
    assert!(status.contains("Needs you:\n"), "{status}");
    let shown = alex.cli_ok(&["plan", "show", &picnic]);
    assert!(
        shown.contains("\nwhen:      Mon 19 Oct 13:00–16:00\n")
            && shown.contains("Sam suggested Mon 19 Oct 13:00–16:00; Alex accepted it")
            && shown.contains("\ncomments:\n  Sam, Sun 18 Oct 18:")
            && shown.contains("\n    I'll bring the rug\n    and tea"),
        "{shown}"
    );
    assert!(!alex.cli_ok(&[]).contains("new comment"), "shown is read");
    let today = alex.cli_json(&["today"]);
    assert!(
        today["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["kind"] != "new_comments"),
        "{today}"
    );

    // Personal time "this weekend" and "in 2 hours".
    let block = sam.cli_json(&["me", "add", "--at", "this weekend", "--for", "3h"]);
    assert_eq!(block["start"], "2026-10-24T10:00:00+02:00[Europe/Paris]");
    let block = alex.cli_json(&["me", "add", "--at", "in 2 hours", "--for", "1h"]);
    assert_eq!(block["start"], "2026-10-18T20:30:00+02:00[Europe/Paris]");

    // The idea jar: three draws repeat none; one becomes a plan next weekend (after the
    // clocks went back), one is retired; the last is all the jar still gives.
    for title in ["Night swim", "Pottery class", "Stargazing"] {
        alex.cli_ok(&["idea", "add", title]);
    }
    let mut drawn: Vec<String> = (0..3)
        .map(|_| id(&alex.cli_json(&["idea", "draw"])))
        .collect();
    drawn.sort();
    drawn.dedup();
    assert_eq!(drawn.len(), 3, "{drawn:?}");
    let ideas = alex.cli_json(&["idea", "list"]);
    let idea_id = |title: &str| {
        ideas
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["title"] == title)
            .map(id)
            .unwrap()
    };
    let draw = alex.cli_ok(&["idea", "draw"]);
    assert!(
        draw.starts_with("From the jar: ") && draw.contains("tandem idea plan "),
        "{draw}"
    );
    let swim = alex.cli_ok(&[
        "idea",
        "plan",
        &idea_id("Night swim")[..8],
        "--at",
        "next weekend",
    ]);
    assert!(
        swim.starts_with("Proposed: Night swim, Sat 31 Oct 10:00–12:00 (")
            && swim.ends_with("the idea left the jar\n"),
        "{swim}"
    );
    let pottery = &idea_id("Pottery class")[..8];
    shows(&sam, &["idea", "list"], |l| l.contains("Pottery class"));
    let retired = sam.cli_ok(&["idea", "retire", pottery]);
    assert!(
        retired.starts_with("Out of the jar: Pottery class ("),
        "{retired}"
    );
    assert!(eventually(SOON, || {
        (0..3).all(|_| alex.cli_json(&["idea", "draw"])["title"] == "Stargazing")
    }));
    let used = refused(&alex, &["idea", "plan", pottery]);
    assert!(used.contains("retired"), "{used}");

    // The balance on that Sunday: tonight's dinner is in the week; Monday's picnic only in
    // the next seven days, never added to the week.
    let balance = shows(&sam, &["balance"], |b| b.contains("Together: 4.0 h"));
    assert!(
        balance.starts_with("Week 2026-W42\nTogether: 4.0 h\n"),
        "yesterday's walk and tonight's dinner: {balance}"
    );
    assert!(
        balance.contains(
            "\nNext 7 days (Sun 18 Oct 18:3"
        ) && balance.contains(
            "), not counted in the week above:\n  together: 5.0 h agreed, 1.0 h still proposed\n"
        ),
        "dinner and picnic agreed, the run proposed: {balance}"
    );
    let trend = sam.cli_ok(&["balance", "--weeks", "4"]);
    for week in ["2026-W39", "2026-W40", "2026-W41", "2026-W42"] {
        assert!(trend.contains(week), "{trend}");
    }
    assert!(
        trend.contains("TOGETHER █") && trend.contains("Sam APART ░"),
        "{trend}"
    );
    let series = sam.cli_json(&["balance", "--weeks", "4"]);
    assert_eq!(series["weeks"].as_array().unwrap().len(), 4);
    assert!(
        trend
            .trim_end()
            .ends_with(series["trend"].as_str().unwrap()),
        "{trend}"
    );

    // Alex checks in; Sam's list says she has, never what.
    alex.cli_ok(&[
        "checkin",
        "--alone",
        "2",
        "--together",
        "1",
        "--went-well",
        "the picnic plan",
    ]);
    let sams = shows(&sam, &[], |t| t.contains("Alex has answered"));
    assert!(!sams.contains("the picnic plan"), "{sams}");
    let balance = alex.cli_ok(&["balance"]);
    assert!(
        balance.contains("Alex:     ")
            && balance.contains("(asked in check-in 2026-W42: alone 2/5, together 1/5)"),
        "{balance}"
    );

    // A conflict: each changes the dinner's place while the laptops are apart.
    let (mut alex, mut sam) = (alex, sam);
    assert!(sam.terminate().success());
    alex.cli_ok(&["plan", "edit", &dinner, "--place", "Luigi's"]);
    assert!(alex.terminate().success());
    let sam = Daemon::start_at(sam_home.path(), NOW);
    sam.cli_ok(&["plan", "edit", &dinner, "--place", "at home"]);
    let alex = Daemon::start_at(alex_home.path(), NOW);
    assert!(eventually(SOON, || alex.heads()["shared"] == sam.heads()["shared"]));
    let list = shows(&alex, &["plan", "list"], |l| l.contains("conflict!"));
    let row = list.lines().find(|l| l.contains("Dinner")).unwrap();
    assert!(row.contains("conflict!"), "{list}");
    let status = alex.cli_ok(&["status"]);
    assert!(
        status.contains("the plan \"Dinner\" was changed on both laptops at once (place)"),
        "{status}"
    );
}
