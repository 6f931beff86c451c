//! What a person sees when something is off, asserted exactly: the input, the message and
//! the exit status; output into a closed pipe; and `--json` for scripts, errors included.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use tandem_tests::{Daemon, Home, eventually, pair};

const SOON: Duration = Duration::from_secs(10);
const SIGPIPE: i32 = 13;

/// Runs `tandem ARGS` against `d` and asserts it failed with exactly `message` on stderr,
/// nothing on stdout, and exit status 1.
fn refused(d: &Daemon, args: &[&str], message: &str) {
    let out = d.cli(args);
    assert_refused(&out, args, message);
}

fn assert_refused(out: &Output, args: &[&str], message: &str) {
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("tandem: {message}\n"),
        "tandem {args:?}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "", "tandem {args:?}");
    assert_eq!(out.status.code(), Some(1), "tandem {args:?}");
}

/// Runs `tandem --json ARGS` and returns the exit status and stdout parsed as JSON.
fn json(d: &Daemon, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = d.cli(&all);
    let text = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("tandem {all:?} printed invalid JSON ({e}): {text:?}"));
    (out.status.code().expect("an exit code"), value)
}

fn json_error(d: &Daemon, args: &[&str], code: &str) -> String {
    let (status, value) = json(d, args);
    assert_ne!(status, 0, "tandem --json {args:?} succeeded: {value}");
    assert_eq!(
        value["error"]["code"], code,
        "tandem --json {args:?}: {value}"
    );
    value["error"]["message"]
        .as_str()
        .expect("a message")
        .to_owned()
}

#[test]
fn every_option_error_names_the_option_with_an_example() {
    let home = Home::init("Alex");
    let d = home.start();
    refused(
        &d,
        &[
            "checkin",
            "--alone",
            "3",
            "--together",
            "4",
            "--week",
            "2026-W60",
        ],
        "--week \"2026-W60\" is not a week: give one like 2026-W49, or a date in it like 2026-12-03",
    );
    refused(
        &d,
        &["balance", "--week", "2026-W60"],
        "--week \"2026-W60\" is not a week: give one like 2026-W49, or a date in it like 2026-12-03",
    );
    refused(
        &d,
        &[
            "agree",
            "add",
            "No phones at dinner",
            "--review",
            "2026-13-45",
        ],
        "--review \"2026-13-45\" is not a date: give one like 2027-03-01",
    );
    refused(
        &d,
        &[
            "plan",
            "add",
            "Dinner",
            "--at",
            "fri 19:00",
            "--kind",
            "romantic",
        ],
        "--kind \"romantic\" is not one of date-night, trip, outing, quality-time, other: e.g. --kind date-night",
    );
    refused(
        &d,
        &["plan", "list", "--status", "maybe-later"],
        "--status \"maybe-later\" is not one of idea, proposed, scheduled, done, cancelled: e.g. --status idea",
    );
    refused(
        &d,
        &["checkin", "--alone", "9", "--together", "3"],
        "--alone must be a number from 1 (not at all) to 5 (plenty), e.g. --alone 4; got 9",
    );
    refused(
        &d,
        &["checkin", "--alone", "9"],
        "--alone must be a number from 1 (not at all) to 5 (plenty), e.g. --alone 4; got 9",
    );
    refused(
        &d,
        &["checkin", "--alone", "3"],
        "give --together too, e.g. `tandem checkin --alone 3 --together 4`",
    );
    refused(
        &d,
        &["plan", "show", ""],
        "give the plan's id (ids are in `tandem plan list`)",
    );
    refused(
        &d,
        &["plan", "show", "zzzzzzzz"],
        "no plan has an id starting with zzzzzzzz: see `tandem plan list`",
    );
    // The API itself names the field in plain words, for every client.
    let reply = d.post(
        "/v1/checkins",
        &serde_json::json!({ "week": "2026-W60", "enough_alone": 3, "enough_together": 4 }),
    );
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body["error"]["message"],
        "week: expected a week like 2026-W48 or a date like 2026-11-26, got \"2026-W60\""
    );
}

#[test]
fn an_ambiguous_id_lists_the_matches() {
    let home = Home::init("Alex");
    let d = home.start();
    // Notes until two ids share a first character.
    let mut notes: Vec<(String, String)> = Vec::new();
    let (first, second) = loop {
        let title = format!("Note {}", notes.len());
        let id = d.cli_json(&["note", "add", &title])["id"]
            .as_str()
            .unwrap()
            .to_owned();
        if let Some(other) = notes.iter().find(|(o, _)| o[..1] == id[..1]) {
            break (other.clone(), (id, title));
        }
        notes.push((id, title));
    };
    let prefix = &first.0[..1];
    let out = d.cli(&["note", "show", prefix]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let listed = stderr
        .strip_prefix(&format!("tandem: {prefix} could be 2 notes: "))
        .and_then(|rest| rest.strip_suffix("; give more of the id\n"))
        .unwrap_or_else(|| panic!("{stderr}"));
    let shown: Vec<&str> = listed.split(", ").collect();
    assert_eq!(shown.len(), 2, "{stderr}");
    for ((id, title), shown) in [first, second.clone()].iter().zip(shown) {
        let (short, label) = shown.split_once(' ').unwrap();
        assert!(id.starts_with(short) && short.len() >= 6, "{stderr}");
        assert_eq!(label, format!("({title})"), "{stderr}");
    }
    // And the same prefix with one more character finds one.
    let shown = d.cli_ok(&["note", "show", &second.0[..8]]);
    assert!(shown.starts_with(&format!("{}\n", second.1)), "{shown}");
}

#[test]
fn broken_pipes_end_every_listing_quietly() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    // On the fixed clock, so the 30 plans stay ahead and `plan list` prints all of them.
    let (alex, sam) = (
        alex_home.start_on_fixed_clock(),
        sam_home.start_on_fixed_clock(),
    );
    pair(&alex, &sam, false);
    for i in 0..30 {
        alex.cli_ok(&["idea", "add", &format!("Idea number {i}")]);
        alex.cli_ok(&["note", "add", &format!("Note number {i}")]);
        alex.cli_ok(&[
            "plan",
            "add",
            &format!("Plan {i}"),
            "--at",
            "2026-12-04 19:30",
        ]);
    }
    alex.cli_ok(&["me", "add", "--at", "2026-12-05 10:00", "--for", "2h"]);
    alex.cli_ok(&["agree", "add", "No phones at dinner"]);
    alex.cli_ok(&["checkin", "--alone", "3", "--together", "4"]);
    alex.cli_ok(&["phone", "add", "Pixel"]);
    let listings: &[&[&str]] = &[
        &["status"],
        &["plan", "list"],
        &["idea", "list"],
        &["me", "list"],
        &["agree", "list"],
        &["checkin", "list"],
        &["note", "list"],
        &["balance"],
        &["remind"],
        &["log", "-n", "200"],
        &["peers"],
        &["peers", "--nearby"],
        &["phone", "list"],
        &["export"],
        &["export", "--format", "markdown"],
        &["doctor"],
        &["man"],
        &["completions", "bash"],
        &["--help"],
    ];
    for args in listings {
        for json in [false, true] {
            let mut all: Vec<&str> = if json { vec!["--json"] } else { vec![] };
            all.extend_from_slice(args);
            for lines_read in [0, 1] {
                closed_pipe(&alex, &all, lines_read);
            }
        }
    }
}

/// Runs `tandem ARGS` against `d` with a stdout pipe whose reader goes away after
/// `lines_read` lines: the command ends quietly, with success or the usual SIGPIPE status,
/// never a panic.
fn closed_pipe(d: &Daemon, args: &[&str], lines_read: usize) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    let child = d
        .command()
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tandem");
    let mut reader = BufReader::new(reader);
    for _ in 0..lines_read {
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
    }
    drop(reader);
    let out = child.wait_with_output().expect("wait for tandem");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "tandem {args:?} after {lines_read} line(s): {stderr}"
    );
    assert!(
        out.status.code() == Some(0) || out.status.signal() == Some(SIGPIPE),
        "tandem {args:?} after {lines_read} line(s) ended with {:?}: {stderr}",
        out.status
    );
}

#[test]
fn the_second_answer_shows_both_answers_at_once() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let (alex, sam) = (alex_home.start(), sam_home.start());
    pair(&alex, &sam, false);
    assert!(eventually(SOON, || {
        alex.cli_json(&["peers"])[0]["connected"] == true
            && sam.cli_json(&["peers"])[0]["connected"] == true
    }));
    let week = ["--week", "2026-W49"];
    let answer = |d: &Daemon, alone: &str, went_well: &str| {
        let mut args = vec!["checkin", "--alone", alone, "--together", "4"];
        args.extend_from_slice(&["--went-well", went_well]);
        args.extend_from_slice(&week);
        d.cli_ok(&args)
    };
    assert_eq!(
        answer(&alex, "2", "the walk"),
        "Thanks. Your answer for 2026-W49 stays private until Sam answers too.\n"
    );
    // Sam sees that Alex answered, and nothing of what Alex said.
    assert!(eventually(SOON, || sam.count("/v1/checkins") == 1));
    assert_eq!(
        sam.cli_ok(&["checkin", "list"]),
        "2026-W49 (Alex answered; your turn)\n"
    );
    assert_eq!(
        alex.cli_ok(&["checkin", "list"]),
        "2026-W49 (waiting for Sam's answer)\n  Alex: time to myself 2/5, time together 4/5\n    went well: the walk\n"
    );
    let out = answer(&sam, "5", "the dinner");
    assert_eq!(
        out,
        "Thanks. You both answered 2026-W49:\n\
         \x20 Alex: time to myself 2/5, time together 4/5\n\
         \x20   went well: the walk\n\
         \x20 Sam: time to myself 5/5, time together 4/5\n\
         \x20   went well: the dinner\n"
    );
}

#[test]
fn json_is_valid_for_every_command_errors_included() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    // On the fixed clock, so `plan list` lists the dinner rather than nothing.
    let (alex, sam) = (
        alex_home.start_on_fixed_clock(),
        sam_home.start_on_fixed_clock(),
    );
    let plan = json(
        &alex,
        &["plan", "add", "Dinner", "--at", "2026-12-04 19:30"],
    )
    .1;
    let plan_id = plan["id"].as_str().unwrap().to_owned();
    let agreement = json(&alex, &["agree", "add", "No phones at dinner"]).1;
    let agreement_id = agreement["id"].as_str().unwrap().to_owned();
    let note = json(&alex, &["note", "add", "Only mine"]).1;
    let note_id = note["id"].as_str().unwrap().to_owned();
    let phone = json(&alex, &["phone", "add", "Pixel"]).1;
    let phone_id = phone["phone"]["id"].as_str().unwrap().to_owned();
    json(&alex, &["idea", "add", "Night swim"]);
    let code = json(&alex, &["pair", "--no-wait"]).1["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let addr = alex.peer_addr();
    assert_eq!(json(&sam, &["pair", &code, "--addr", &addr]).0, 0);
    let succeeding: &[&[&str]] = &[
        &["status"],
        &["plan", "list"],
        &["plan", "show", &plan_id],
        &["plan", "edit", &plan_id, "--place", "Luigi's"],
        &["plan", "rsvp", &plan_id, "yes"],
        &["plan", "done", &plan_id],
        &["idea", "list"],
        &["idea", "draw"],
        &["me", "add", "--at", "2026-12-05 10:00"],
        &["me", "list"],
        &["agree", "list"],
        &["agree", "accept", &agreement_id],
        &["checkin", "--alone", "3", "--together", "4"],
        &["checkin", "list"],
        &["note", "list"],
        &["note", "show", &note_id],
        &["balance"],
        &["remind"],
        &["log"],
        &["peers"],
        &["peers", "--nearby"],
        &["phone", "list"],
        &["phone", "revoke", &phone_id],
        &["export"],
        &["doctor"],
        &["man"],
        &["completions", "zsh"],
        &["plan", "cancel", &plan_id],
    ];
    for args in succeeding {
        let (status, value) = json(&alex, args);
        assert_eq!(status, 0, "tandem --json {args:?}: {value}");
        assert!(
            value.get("error").is_none(),
            "tandem --json {args:?}: {value}"
        );
    }
    // Errors: from the daemon, from the CLI's own checks, from clap, with no daemon.
    json_error(&alex, &["plan", "show", "zzzzzzzz"], "not_found");
    json_error(
        &alex,
        &["checkin", "--alone", "9", "--together", "3"],
        "usage",
    );
    json_error(&alex, &["plan", "list", "--sort", "title"], "usage");
    json_error(&alex, &["peer", "remove", "ZZZZ"], "not_found");
    json_error(&alex, &["plan"], "usage");
    // A fresh home: init, and the daemon not running yet.
    let fresh = tempfile::tempdir().unwrap();
    let fresh_home = fresh.path().join("home");
    let fresh_home = fresh_home.to_str().unwrap();
    let (status, value) = json(&alex, &["--home", fresh_home, "init", "--name", "Kim"]);
    assert_eq!((status, value["name"].as_str()), (0, Some("Kim")));
    let message = json_error(&alex, &["--home", fresh_home, "status"], "not_running");
    assert!(message.contains(fresh_home), "{message}");
    let (status, doctor) = json(&alex, &["--home", fresh_home, "doctor"]);
    assert_eq!(status, 1, "{doctor}");
    assert_ne!(doctor["problems"], 0, "{doctor}");
}

#[test]
fn doctor_calls_a_partner_laptop_that_is_off_a_note() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let alex = alex_home.start();
    let mut sam = sam_home.start();
    pair(&alex, &sam, false);
    assert!(eventually(
        SOON,
        || alex.cli_json(&["peers"])[0]["connected"] == true
    ));
    assert!(sam.terminate().success());
    assert!(eventually(
        SOON,
        || alex.cli_json(&["peers"])[0]["connected"] == false
    ));
    let out = alex.cli(&["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("is not reachable"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.starts_with("note     Sam (127.0.0.1:"), "{text}");
}

#[test]
fn a_home_that_is_a_file_or_missing_gets_one_next_step() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "not a home").unwrap();
    let missing = dir.path().join("nowhere");
    for (home, message) in [
        (
            &file,
            format!(
                "{} is a file, not a tandem data directory: give a directory with --home",
                file.display()
            ),
        ),
        (
            &missing,
            format!(
                "there is no tandem data home at {0}: set it up with `tandem init --name YOUR_NAME --home {0}`",
                missing.display()
            ),
        ),
    ] {
        let out = Command::new(tandem_tests::bin("tandem"))
            .arg("--home")
            .arg(home)
            .arg("status")
            .output()
            .unwrap();
        assert_refused(&out, &["status"], &message);
        let out = Command::new(tandem_tests::bin("tandemd"))
            .arg("--home")
            .arg(home)
            .args([
                "--no-mdns",
                "--peer-listen",
                "127.0.0.1",
                "--lan-listen",
                "127.0.0.1",
            ])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("tandemd: {message}\n")
        );
        assert_eq!(out.status.code(), Some(1));
    }
}

#[test]
fn small_things_read_naturally() {
    let home = Home::init("Alex");
    let log = home.path().join("daemon.log");
    let d = Daemon::start_logging_to(home.path(), &log);
    d.cli_ok(&["agree", "add", "No phones at dinner"]);
    let plan = d.cli_json(&[
        "plan",
        "add",
        "Sunday walk",
        "--at",
        "2026-12-06 10:00",
        "--every",
        "weekly",
        "--kind",
        "date-night",
    ]);
    let status = d.cli_ok(&["status"]);
    assert!(
        status.contains(
            "\nHolding:  1 plan, 0 ideas, 0 personal-time blocks, 1 agreement, 0 private notes\n"
        ),
        "{status}"
    );
    let shown = d.cli_ok(&["plan", "show", plan["id"].as_str().unwrap()]);
    for line in [
        "kind:      date-night",
        "repeats:   every week",
        "updated:   just now by Alex",
    ] {
        assert!(shown.lines().any(|l| l == line), "{line:?} in\n{shown}");
    }
    let list = d.cli_ok(&["plan", "list"]);
    assert!(
        list.contains("  date-night  ") && !list.contains("date_night"),
        "{list}"
    );
    let feed = d.cli_ok(&["log"]);
    let mut lines = feed.lines();
    assert!(lines.next().unwrap().starts_with("WHEN      WHO"), "{feed}");
    assert!(lines.all(|l| l.starts_with("just now  Alex")), "{feed}");
    assert_eq!(
        d.cli_ok(&["peers", "--nearby"]),
        "mDNS is off on this laptop (tandemd --no-mdns, or mdns = false in config.toml), so it looks for no one: use `tandem pair CODE --addr HOST:PORT`.\n"
    );
    // Pairing says where the other laptop can dial this one, not a placeholder.
    let pairing = d.cli(&["pair", "--no-wait"]);
    let said = String::from_utf8_lossy(&pairing.stderr);
    assert!(
        said.lines()
            .any(|l| l == format!("(if it cannot find this one, add --addr {})", d.peer_addr())),
        "{said}"
    );
    // A log that is a file gets no colour codes.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("tandemd ready"), "{logged}");
    assert!(!logged.contains('\u{1b}'), "{logged:?}");
}

#[test]
fn the_daemon_in_the_foreground_says_where_it_listens() {
    let home = Home::init("Alex");
    let mut child = Command::new(tandem_tests::bin("tandemd"))
        .arg("--home")
        .arg(home.path())
        .args([
            "--no-mdns",
            "--peer-listen",
            "127.0.0.1",
            "--lan-listen",
            "127.0.0.1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Read on a thread, so a daemon that says nothing fails the test instead of hanging it.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(SOON);
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("tandemd said nothing on stdout");
    let api = std::fs::read_to_string(home.path().join("api.addr")).unwrap();
    let expected_start = format!(
        "tandemd for Alex: local API on {}, paired devices on port ",
        api.trim()
    );
    let expected_end = format!(", data in {}\n", home.path().display());
    assert!(
        line.starts_with(&expected_start) && line.ends_with(&expected_end),
        "{line:?}"
    );
}
