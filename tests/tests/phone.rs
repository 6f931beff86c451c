//! Phones: the HTTPS listener, per-phone tokens and their refusals, the calendar feed, and
//! the phone page in a real headless Chromium.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use icalendar::{CalendarDateTime, Component, DatePerhapsTime, EventLike};
use serde_json::json;
use tandem_tests::phone::Phone;
use tandem_tests::{Daemon, Home, eventually, pair, titles};

const PLAN: &str = "Dinner at Lou's, then a walk";

/// A plan starting 2026-12-04 19:30 in Paris, by the laptop's API.
fn add_plan(d: &Daemon) {
    let r = d.post(
        "/v1/plans",
        &json!({
            "title": PLAN,
            "start": "2026-12-04T19:30[Europe/Paris]",
            "end": "2026-12-04T22:00[Europe/Paris]",
            "place": "Lou's; rue Neuve",
        }),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
}

#[test]
fn a_phone_uses_the_api_over_https_until_revoked() {
    let home = Home::init("Alex");
    let mut d = home.start();
    assert!(
        !home.path().join("lan.port").exists(),
        "nothing listens for phones before one is added"
    );
    let pixel = Phone::add(&d, "Pixel");

    // The page loads without a token; the API needs one.
    let page = pixel.send("GET", "/", None, &[], None);
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .as_str()
            .unwrap()
            .contains("<title>Tandem</title>")
    );
    let status = pixel.get("/v1/status");
    assert_eq!(status.status, 200, "{:?}", status.body);
    assert_eq!(status.body["me"]["name"], "Alex");

    // A plan made on the phone is on the laptop, and the other way round.
    let made = pixel.post(
        "/v1/plans",
        &json!({"title": "Picnic", "start": "2026-12-05T12:00[Europe/Paris]",
                "end": "2026-12-05T14:00[Europe/Paris]"}),
    );
    assert_eq!(made.status, 201, "{:?}", made.body);
    assert!(titles(&d.get("/v1/plans").body).contains(&"Picnic".to_owned()));
    add_plan(&d);
    assert!(titles(&pixel.get("/v1/plans").body).contains(&PLAN.to_owned()));

    // Refusals, each with its own error.
    let refused = |r: tandem_tests::Reply, status: u16, code: &str| {
        assert_eq!(r.status, status, "{:?}", r.body);
        assert_eq!(r.body["error"]["code"], code, "{:?}", r.body);
    };
    refused(
        pixel.send("GET", "/v1/plans", None, &[], None),
        401,
        "unauthorized",
    );
    refused(
        pixel.send("GET", "/v1/plans", Some(&"0".repeat(64)), &[], None),
        401,
        "unauthorized",
    );
    refused(
        pixel.send("GET", "/v1/plans", Some(&d.token), &[], None),
        401,
        "unauthorized",
    );
    let phone_token_on_laptop = format!("Bearer {}", pixel.token);
    refused(
        d.get_with(
            "/v1/status",
            &[("Authorization", phone_token_on_laptop.as_str())],
        ),
        401,
        "unauthorized",
    );
    refused(
        pixel.send(
            "GET",
            "/v1/plans",
            Some(&pixel.token),
            &[("Origin", "https://evil.example")],
            None,
        ),
        403,
        "forbidden_origin",
    );
    let same_origin = pixel.send(
        "GET",
        "/v1/plans",
        Some(&pixel.token),
        &[("Origin", pixel.base.as_str())],
        None,
    );
    assert_eq!(same_origin.status, 200, "the page's own origin is fine");
    let huge = format!("{{\"title\":\"{}\"}}", "x".repeat(70 * 1024));
    refused(
        pixel.send(
            "POST",
            "/v1/ideas",
            Some(&pixel.token),
            &[],
            Some(huge.as_bytes()),
        ),
        413,
        "too_large",
    );
    refused(
        pixel.send(
            "POST",
            "/v1/ideas",
            Some(&pixel.token),
            &[],
            Some(b"{\"title\": "),
        ),
        400,
        "invalid_json",
    );
    let rating = pixel.post(
        "/v1/checkins",
        &json!({"enough_alone": 7, "enough_together": 3}),
    );
    refused(rating, 400, "invalid");
    // A phone cannot let anything else in: no phone or pairing routes over the network.
    refused(pixel.get("/v1/phones"), 404, "no_route");
    refused(pixel.post("/v1/pairing", &json!({})), 404, "no_route");
    refused(
        pixel.post("/v1/phones", &json!({"name": "x"})),
        404,
        "no_route",
    );

    // The page is served with the device certificate whose fingerprint was shown.
    let device = d.device_id();
    assert_eq!(
        pixel.added["fingerprint"].as_str().unwrap().len(),
        32 * 3 - 1
    );
    assert!(served_certificate_is(&pixel.base, &device));

    // Revoking one phone stops its token at once and leaves the other working.
    let tablet = Phone::add(&d, "Tablet");
    assert_eq!(tablet.get("/v1/status").status, 200);
    d.cli_ok(&["phone", "revoke", "Tablet"]);
    refused(tablet.get("/v1/status"), 401, "unauthorized");
    assert_eq!(pixel.get("/v1/status").status, 200);
    let listed = d.cli_json(&["phone", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["name"], "Pixel");
    assert!(listed[0]["last_seen"].is_string(), "{listed}");
    assert!(!d.cli(&["phone", "revoke", "Tablet"]).status.success());
    assert!(!d.cli(&["phone", "add", "Pixel"]).status.success());

    // Phones survive a restart, at the same address.
    assert!(d.terminate().success());
    let d = home.start();
    assert!(eventually(Duration::from_secs(5), || pixel
        .get("/v1/status")
        .status
        == 200));

    // Guessing tokens gets a source 429s, even with the right token afterwards.
    for _ in 0..10 {
        assert_eq!(pixel.get_with_token("guess").status, 401);
    }
    let throttled = pixel.get("/v1/status");
    refused(throttled, 429, "too_many_attempts");

    // The last phone revoked: nothing listens for phones any more.
    d.cli_ok(&["phone", "revoke", &pixel.id]);
    let port = pixel.base.rsplit(':').next().unwrap().to_owned();
    assert!(eventually(Duration::from_secs(5), || {
        std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err()
    }));
}

/// Whether the phone listener at `base` presents the certificate of device `device`.
fn served_certificate_is(base: &str, device: &str) -> bool {
    use tandem_daemon::identity::Identity;
    use tandem_daemon::tls::{self, Trust};
    let addr = base.trim_start_matches("https://").to_owned();
    let id = device.parse().expect("a device id");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let config = tls::client_config(&Identity::generate(), Trust::Device(id), b"http/1.1");
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tokio_rustls::TlsConnector::from(config)
            .connect(tls::server_name(), tcp)
            .await
            .is_ok()
    })
}

#[test]
fn the_calendar_feed_parses_with_zones_and_keeps_personal_details_private() {
    let home = Home::init("Alex");
    let d = home.start();
    add_plan(&d);
    d.cli_ok(&[
        "me",
        "add",
        "--at",
        "2026-12-05 10:00",
        "--for",
        "3h",
        "--details",
        "therapy session",
    ]);
    let pixel = Phone::add(&d, "Pixel");
    let feed = pixel.send(
        "GET",
        &format!("/v1/calendar.ics?token={}", pixel.token),
        None,
        &[],
        None,
    );
    assert_eq!(feed.status, 200, "{:?}", feed.body);
    let text = feed.body.as_str().expect("calendar text").to_owned();
    assert!(
        !text.contains("therapy"),
        "private details stay out:\n{text}"
    );
    assert!(
        text.split("\r\n").all(|l| l.len() <= 75),
        "lines are folded:\n{text}"
    );

    let calendar: icalendar::Calendar = text.parse().expect("a valid iCalendar");
    let events: Vec<_> = calendar.events().collect();
    assert_eq!(events.len(), 2, "{text}");
    let plan = events
        .iter()
        .find(|e| e.get_summary() == Some(PLAN))
        .expect("the plan");
    assert_eq!(plan.get_location(), Some("Lou's; rue Neuve"));
    let zoned = |value: Option<DatePerhapsTime>| match value {
        Some(DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone { date_time, tzid })) => {
            (date_time.to_string(), tzid)
        }
        other => panic!("expected a zoned time, got {other:?}"),
    };
    assert_eq!(
        zoned(plan.get_start()),
        ("2026-12-04 19:30:00".to_owned(), "Europe/Paris".to_owned())
    );
    assert_eq!(
        zoned(plan.get_end()),
        ("2026-12-04 22:00:00".to_owned(), "Europe/Paris".to_owned())
    );
    let block = events
        .iter()
        .find(|e| e.get_summary() != Some(PLAN))
        .unwrap();
    assert_eq!(block.get_summary(), Some("Alex: personal time"));
    assert_eq!(block.property_value("TRANSP"), Some("OPAQUE"));

    // The laptop's own token works in the query too; no token does not.
    let local = d.get_with(&format!("/v1/calendar.ics?token={}", d.token), &[]);
    assert_eq!(local.status, 200);
    assert_eq!(d.get_with("/v1/calendar.ics", &[]).status, 401);
    // A token in the query is only for the feed and events, not for the rest of the API.
    assert_eq!(
        d.get_with(&format!("/v1/plans?token={}", d.token), &[])
            .status,
        401
    );
}

#[test]
fn the_bearer_scheme_is_accepted_in_any_case_by_the_phone_listener() {
    let home = Home::init("Alex");
    let d = home.start();
    let pixel = Phone::add(&d, "Pixel");
    for scheme in ["bearer", "BEARER"] {
        let header = format!("{scheme} {}", pixel.token);
        let r = pixel.send(
            "GET",
            "/v1/status",
            None,
            &[("Authorization", header.as_str())],
            None,
        );
        assert_eq!(r.status, 200, "{scheme}: {r:?}");
    }
}

/// The calendar link is pasted into calendar apps and synced to their servers: it must not
/// be a key to the notes.
#[test]
fn the_calendar_link_opens_only_the_calendar_and_dies_with_the_phone() {
    let home = Home::init("Alex");
    let d = home.start();
    add_plan(&d);
    let note = d.post(
        "/v1/notes",
        &json!({"body": "private: the surprise is in March"}),
    );
    assert_eq!(note.status, 201, "{note:?}");
    let pixel = Phone::add(&d, "Pixel");
    let link = pixel.added["calendar_url"]
        .as_str()
        .expect("a calendar link");
    let (base, calendar) = link
        .split_once("/v1/calendar.ics?token=")
        .expect("a token in the calendar link");
    assert_eq!(base, pixel.base);
    assert!(
        !calendar.contains(&pixel.token) && !pixel.token.contains(calendar),
        "the calendar link carries the phone's token: {link}"
    );
    let printed = d.cli_ok(&["phone", "add", "Tablet"]);
    let tablet_page = printed
        .split("#token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the printed page link");
    let tablet_calendar = printed
        .split("calendar.ics?token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the printed calendar link");
    assert_ne!(tablet_page, tablet_calendar, "{printed}");

    let feed = pixel.send(
        "GET",
        &format!("/v1/calendar.ics?token={calendar}"),
        None,
        &[],
        None,
    );
    assert_eq!(feed.status, 200, "{feed:?}");
    assert!(feed.body.as_str().unwrap().contains("Dinner at Lou"));

    // Everywhere else the calendar token is refused, in the header or the query.
    for path in [
        "/v1/notes",
        "/v1/plans",
        "/v1/status",
        "/v1/events",
        "/v1/ideas",
    ] {
        let r = pixel.send("GET", path, Some(calendar), &[], None);
        assert_eq!(r.status, 401, "{path} with the calendar token: {r:?}");
    }
    let events = pixel.send(
        "GET",
        &format!("/v1/events?token={calendar}"),
        None,
        &[],
        None,
    );
    assert_eq!(events.status, 401, "{events:?}");
    let write = pixel.send(
        "POST",
        "/v1/notes",
        Some(calendar),
        &[],
        Some(br#"{"body": "written with a calendar link"}"#),
    );
    assert_eq!(write.status, 401, "{write:?}");
    let on_laptop = d.get_with(&format!("/v1/calendar.ics?token={calendar}"), &[]);
    assert_eq!(on_laptop.status, 401, "{on_laptop:?}");
    let notes = d.get("/v1/notes");
    assert_eq!(notes.body.as_array().map(Vec::len), Some(1), "{notes:?}");

    // Revoking the phone shuts its calendar link too.
    d.cli_ok(&["phone", "revoke", "Pixel"]);
    let after = pixel.send(
        "GET",
        &format!("/v1/calendar.ics?token={calendar}"),
        None,
        &[],
        None,
    );
    assert_eq!(after.status, 401, "{after:?}");
}

/// Debian's Chromium and the test's node modules; `None`, saying why `test` is skipped,
/// where the browser test cannot run.
fn browser(test: &str) -> Option<(PathBuf, PathBuf)> {
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let missing = if !chromium.exists() {
        format!(
            "no Chromium at {} (install Debian's chromium, or run tests/setup)",
            chromium.display()
        )
    } else if !dir.join("node_modules/playwright-core").exists() {
        "tests/browser has no node_modules: run tests/setup".to_owned()
    } else {
        return Some((chromium, dir));
    };
    eprintln!("SKIP {test}: {missing}");
    None
}

/// Where the browser tests leave their screenshots.
fn screenshots() -> PathBuf {
    let shots = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("target/phone-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    shots
}

/// `node SCRIPT` in `tests/browser`, driving Alex's and Sam's phones in Chromium.
fn phone_script(chromium: &Path, dir: &Path, script: &str, alex: &Phone, sam: &Phone) -> Command {
    let mut node = Command::new("node");
    node.arg(dir.join(script))
        .current_dir(dir)
        .env("A_URL", &alex.base)
        .env("A_TOKEN", &alex.token)
        .env("B_URL", &sam.base)
        .env("B_TOKEN", &sam.token)
        .env("SHOTS", screenshots())
        .env("CHROMIUM", chromium)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    node
}

#[test]
fn the_phone_page_works_in_chromium_and_updates_live() {
    let Some((chromium, dir)) = browser("the_phone_page_works_in_chromium_and_updates_live") else {
        return;
    };
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let (alex, sam) = (alex_home.start(), sam_home.start());
    pair(&alex, &sam, false);
    // Personal time early today, so it is in this week whatever the day: today in Paris,
    // the zone the laptops read "this week" in (the machine's own may be a day behind).
    let today = jiff::Timestamp::now()
        .in_tz("Europe/Paris")
        .expect("the Paris zone")
        .date();
    alex.cli_ok(&[
        "me",
        "add",
        "--at",
        &format!("{today} 00:30"),
        "--for",
        "1h",
        "--details",
        "bouldering",
    ]);
    assert!(eventually(Duration::from_secs(20), || sam
        .count("/v1/personal-time")
        == 1));
    let (alex_phone, sam_phone) = (
        Phone::add(&alex, "Alex's Pixel"),
        Phone::add(&sam, "Sam's iPhone"),
    );
    // A second phone keeps Alex's listener up after the first is revoked, so the revoked
    // link still loads the page and can be seen to get the login screen.
    let _tablet = Phone::add(&alex, "Alex's tablet");
    let shots = screenshots();
    let mut node = phone_script(&chromium, &dir, "phone.mjs", &alex_phone, &sam_phone)
        .spawn()
        .expect("run node");
    let mut stdin = node.stdin.take().unwrap();
    let mut said = Vec::new();
    for line in BufReader::new(node.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == "revoke-now" {
            alex.cli_ok(&["phone", "revoke", "Alex's Pixel"]);
            writeln!(stdin, "revoked").unwrap();
        }
        said.push(line);
    }
    let status = node.wait().unwrap();
    assert!(status.success(), "browser checks failed; it said {said:?}");
    assert_eq!(said.last().map(String::as_str), Some("ok"), "{said:?}");
    let live = said
        .iter()
        .find_map(|l| l.strip_prefix("plan-live-ms "))
        .expect("the live update was timed");
    eprintln!("plan added on Alex's phone shown on Sam's phone after {live} ms");
    for view in [
        "week",
        "week-dark",
        "plan-edit",
        "ideas",
        "ideas-deleted",
        "agreements",
        "trash",
        "editor-dark",
        "checkin",
        "checkin-error",
        "notes",
        "revoked",
    ] {
        assert!(shots.join(format!("{view}.png")).exists(), "{view}.png");
    }
    // What the phones did reached the daemons: the plan, scheduled and then moved on
    // Alex's phone, is proposed again with no answer on Sam's laptop, at its new place.
    let plans = sam.get("/v1/plans").body;
    let picnic = plans
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == "Picnic by the river")
        .expect("the plan from Alex's phone is on Sam's laptop");
    assert_eq!(picnic["status"], "proposed", "{picnic}");
    assert_eq!(picnic["rsvps"], json!({}), "{picnic}");
    assert_eq!(picnic["place"], "The lake pavilion", "{picnic}");
    assert!(
        picnic["start"].as_str().unwrap().contains("T11:15"),
        "{picnic}"
    );
    assert_eq!(
        sam.count("/v1/notes"),
        0,
        "Alex's private note never reached Sam"
    );
    // The phone's edits, deletes, restores and undos reached the laptops: the edited idea
    // is back on both, the idea whose adding was undone and the reworded agreement are in
    // both trashes, the note only in Alex's.
    let trash = |d: &Daemon| -> Vec<(String, String)> {
        d.get("/v1/trash")
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let field = |k: &str| e[k].as_str().unwrap().to_owned();
                (field("kind"), field("summary"))
            })
            .collect()
    };
    let restored = "Night swim at the lake".to_owned();
    for d in [&alex, &sam] {
        assert!(titles(&d.get("/v1/ideas").body).contains(&restored));
    }
    let undone = ("idea".to_owned(), "Kayak at dawn".to_owned());
    let agreement = (
        "agreement".to_owned(),
        "Phones away at dinner and in bed".to_owned(),
    );
    assert!(eventually(Duration::from_secs(10), || {
        let sams = trash(&sam);
        sams.contains(&undone) && sams.contains(&agreement)
    }));
    let alex_trash = trash(&alex);
    assert!(
        alex_trash.contains(&undone) && alex_trash.contains(&agreement),
        "{alex_trash:?}"
    );
    assert!(
        !alex_trash.iter().any(|(_, summary)| *summary == restored),
        "{alex_trash:?}"
    );
    assert!(
        alex_trash.iter().any(|(kind, _)| kind == "note"),
        "{alex_trash:?}"
    );
    assert!(!trash(&sam).iter().any(|(kind, _)| kind == "note"));
    assert_eq!(alex.count("/v1/notes"), 0, "the note deleted on the phone");
}

/// Sunday 29 November 2026, 18:00 in Paris: both laptops' clock and the phones'.
const SUNDAY: &str = "2026-11-29T18:00:00+01:00";

#[test]
fn on_a_sunday_the_phone_looks_ahead_and_plans_are_talked_through() {
    let Some((chromium, dir)) =
        browser("on_a_sunday_the_phone_looks_ahead_and_plans_are_talked_through")
    else {
        return;
    };
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let alex = Daemon::start_at(alex_home.path(), SUNDAY);
    let sam = Daemon::start_at(sam_home.path(), SUNDAY);
    pair(&alex, &sam, false);
    // Monday's picnic, agreed on by both; Friday's concert, Sam's, waiting for Alex; an
    // idea in the jar.
    let picnic = alex.post(
        "/v1/plans",
        &json!({"title": "Picnic on Monday", "start": "2026-11-30T12:00[Europe/Paris]",
                "end": "2026-11-30T15:00[Europe/Paris]"}),
    );
    assert_eq!(picnic.status, 201, "{:?}", picnic.body);
    let concert = sam.post(
        "/v1/plans",
        &json!({"title": "Concert", "start": "2026-12-04T20:00[Europe/Paris]",
                "end": "2026-12-04T22:30[Europe/Paris]"}),
    );
    assert_eq!(concert.status, 201, "{:?}", concert.body);
    assert_eq!(
        alex.post("/v1/ideas", &json!({"title": "Pottery class"}))
            .status,
        201
    );
    assert!(eventually(Duration::from_secs(20), || sam
        .count("/v1/plans")
        == 2
        && alex.count("/v1/plans") == 2));
    let id = picnic.body["id"].as_str().unwrap();
    let yes = sam.post(&format!("/v1/plans/{id}/rsvp"), &json!({"answer": "yes"}));
    assert_eq!(yes.status, 200, "{:?}", yes.body);
    assert!(eventually(Duration::from_secs(20), || alex
        .get(&format!("/v1/plans/{id}"))
        .body["status"]
        == "scheduled"));
    let (alex_phone, sam_phone) = (
        Phone::add(&alex, "Alex's Pixel"),
        Phone::add(&sam, "Sam's iPhone"),
    );

    let out = phone_script(&chromium, &dir, "week.mjs", &alex_phone, &sam_phone)
        .env("NOW", SUNDAY)
        .output()
        .expect("run node");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser checks failed; it said {said}"
    );
    assert_eq!(said.lines().last(), Some("ok"), "{said}");

    // What the phones did reached the laptops: the picnic moved to the time Sam suggested
    // and taken on Alex's phone, with the comment; the pottery idea a someday plan.
    let moved = sam.get(&format!("/v1/plans/{id}")).body;
    assert!(
        moved["start"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-01T19:00"),
        "{moved}"
    );
    assert_eq!(moved["status"], "scheduled", "{moved}");
    let comments: Vec<&str> = moved["comments"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert_eq!(comments, ["Bring the blue blanket?"], "{moved}");
    assert!(titles(&sam.get("/v1/plans").body).contains(&"Pottery class".to_owned()));
}

#[test]
fn the_phone_keeps_edits_in_its_outbox_while_the_laptop_sleeps() {
    let Some((chromium, dir)) =
        browser("the_phone_keeps_edits_in_its_outbox_while_the_laptop_sleeps")
    else {
        return;
    };
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let (mut alex, sam) = (alex_home.start(), sam_home.start());
    pair(&alex, &sam, false);
    let idea = alex.post("/v1/ideas", &json!({"title": "Pottery class"}));
    assert_eq!(idea.status, 201, "{:?}", idea.body);
    let (alex_phone, sam_phone) = (
        Phone::add(&alex, "Alex's Pixel"),
        Phone::add(&sam, "Sam's iPhone"),
    );
    let mut node = phone_script(&chromium, &dir, "outbox.mjs", &alex_phone, &sam_phone)
        .spawn()
        .expect("run node");
    let mut stdin = node.stdin.take().unwrap();
    let mut said = Vec::new();
    for line in BufReader::new(node.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        match line.as_str() {
            "stop-now" => {
                assert!(alex.terminate().success(), "Alex's daemon stops cleanly");
                writeln!(stdin, "stopped").unwrap();
            }
            "start-now" => {
                alex = alex_home.start();
                writeln!(stdin, "started").unwrap();
            }
            _ => {}
        }
        said.push(line);
    }
    let status = node.wait().unwrap();
    assert!(status.success(), "browser checks failed; it said {said:?}");
    assert_eq!(said.last().map(String::as_str), Some("ok"), "{said:?}");
    for shot in ["from-memory", "outbox"] {
        assert!(
            screenshots().join(format!("{shot}.png")).exists(),
            "{shot}.png"
        );
    }

    // The idea whose answer was lost, and both that waited on the phone, reached Sam's
    // laptop; a marker written after them shows nothing more came: each arrived once.
    let marker = alex.post("/v1/ideas", &json!({"title": "Marker"}));
    assert_eq!(marker.status, 201, "{:?}", marker.body);
    assert!(eventually(Duration::from_secs(20), || titles(
        &sam.get("/v1/ideas").body
    )
    .contains(&"Marker".to_owned())));
    let once = |d: &Daemon, path: &str, title: &str| {
        let all = titles(&d.get(path).body);
        assert_eq!(
            all.iter().filter(|t| *t == title).count(),
            1,
            "{title} once on {path}: {all:?}"
        );
    };
    for d in [&alex, &sam] {
        once(d, "/v1/plans", "Sunset walk");
        once(d, "/v1/ideas", "Board games");
        once(d, "/v1/ideas", "Stargazing");
    }
}
