//! The local API refuses what it must: strangers, foreign pages, bad and oversized input.

use serde_json::json;
use tandem_tests::Home;

#[test]
fn refusals_have_their_status_and_a_json_error() {
    let home = Home::init("Alex");
    let d = home.start();
    let host = d.addr.clone();
    let good = format!("Bearer {}", d.token);

    let r = d.get_with("/v1/plans", &[]);
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(r.body["error"]["code"], "unauthorized");
    let r = d.get_with("/v1/plans", &[("Authorization", "Bearer not-the-token")]);
    assert_eq!(r.status, 401);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("wrong API token")
    );

    // DNS rebinding: right token, wrong Host; or a foreign page's Origin.
    let r = d.get_with(
        "/v1/plans",
        &[("Authorization", &good), ("Host", "evil.example:80")],
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.body["error"]["code"], "forbidden_host");
    let r = d.get_with(
        "/v1/plans",
        &[("Authorization", &good), ("Origin", "http://evil.example")],
    );
    assert_eq!(r.status, 403);
    let own_origin = format!("http://{host}");
    assert_eq!(
        d.get_with(
            "/v1/plans",
            &[("Authorization", &good), ("Origin", &own_origin)]
        )
        .status,
        200
    );

    let r = d.post_raw("/v1/plans", b"{not json");
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "invalid_json");
    // A start without an end breaks "both times or neither" (a plan with neither has no
    // time yet): a rule across fields, so 422 naming the end.
    let r = d.post(
        "/v1/plans",
        &json!({"title": "x", "start": "2026-12-04T19:00[Europe/Paris]"}),
    );
    assert_eq!(r.status, 422);
    assert!(
        r.body["error"]["message"].as_str().unwrap().contains("end"),
        "{r:?}"
    );
    let r = d.post("/v1/ideas", &json!({"title": "x", "colour": "red"}));
    assert_eq!(r.status, 400);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{r:?}"
    );
    let r = d.post("/v1/ideas", &json!({"title": ""}));
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (400, Some("title"))
    );
    let r = d.post(
        "/v1/checkins",
        &json!({"enough_alone": 0, "enough_together": 3}),
    );
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (400, Some("enough_alone"))
    );
    // A rule across fields, which no schema states: 422, naming the field.
    let r = d.post("/v1/plans", &json!({"title": "x", "start": "2026-12-04T19:00[Europe/Paris]", "end": "2026-12-04T18:00[Europe/Paris]"}));
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("end"))
    );
    // A body that is not an object is not read as the fields in order.
    let r = d.request("PATCH", "/v1/settings", Some(&json!([1])));
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (400, Some("invalid_json"))
    );
    // A peer address that is not HOST:PORT is refused before anything is dialed.
    let r = d.post("/v1/peers", &json!({"addr": ""}));
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (400, Some("addr")),
        "{r:?}"
    );
    // A whole number may be written as JSON Schema allows it.
    let r = d.request(
        "PATCH",
        "/v1/settings",
        Some(&json!({"checkin_every_weeks": 2.0})),
    );
    assert_eq!(r.status, 200, "{r:?}");
    // A week that does not exist (2025 has 52) is a rule, a malformed one a wrong value.
    assert_eq!(d.get("/v1/checkins/2025-W53").status, 422);
    // A body without its content type is a 415 with the same error body.
    let r = d.request_with("POST", "/v1/ideas", &[], Some(b"{}"));
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );

    // Deeply nested JSON within the size limit: refused, the daemon unharmed.
    let nested = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    let r = d.post_raw("/v1/ideas", nested.as_bytes());
    assert_eq!(r.status, 400, "{r:?}");

    let big = json!({ "title": "x".repeat(70 * 1024) });
    let r = d.post("/v1/ideas", &big);
    assert_eq!(r.status, 413, "{r:?}");
    assert_eq!(r.body["error"]["code"], "too_large");

    assert_eq!(d.get("/v1/plans/doesnotexist").status, 404);
    assert_eq!(d.get("/v1/plans/..%2F..%2Fetc").status, 400);
    assert_eq!(d.get("/v1/nothing-here").status, 404);
    assert_eq!(
        d.post("/v1/ideas/draw", &json!({})).status,
        404,
        "empty jar"
    );
    assert_eq!(d.get("/v1/balance?week=someday").status, 400);
    assert_eq!(d.get("/v1/checkins/someday").status, 400);
    assert_eq!(d.get("/v1/checkins/2026-W48").status, 404);
    assert_eq!(d.get("/v1/plans?from=yesterdayish").status, 400);

    // None of that stored anything, and good requests still work.
    assert_eq!(d.get("/v1/ideas").body, json!([]));
    assert_eq!(
        d.post("/v1/ideas", &json!({"title": "Night swim"})).status,
        201
    );
}

#[test]
fn token_file_is_private_and_api_is_loopback_only() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::init("Alex");
    let d = home.start();
    let mode = std::fs::metadata(home.path().join("api.token"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert!(d.addr.starts_with("127.0.0.1:"), "{}", d.addr);
}

#[test]
fn events_stream_every_change() {
    let home = Home::init("Alex");
    let d = home.start();
    let events = d.events();
    d.cli_ok(&["idea", "add", "Night swim"]);
    let event: serde_json::Value = serde_json::from_str(
        &events
            .recv_timeout(std::time::Duration::from_secs(10))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(event["action"], "idea.add");
    assert_eq!(event["summary"], "Night swim");
    assert_eq!(event["document"], "shared");
}

/// Every documented operation is routed, and on every documented path every other method
/// is refused (405 with a JSON error): routed and documented are the same set. (A path
/// that is not documented at all cannot be routed: `api::Routes` registers only handlers
/// declared with `#[utoipa::path]`.)
#[test]
fn the_document_and_the_routes_are_the_same_set() {
    let home = Home::init("Alex");
    let d = home.start();
    let doc = d.get("/v1/openapi.json").body;
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        let documented: Vec<String> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|m| m.to_uppercase())
            .collect();
        let concrete = path
            .replace("{id}", "nonexistent")
            .replace("{device}", &"a".repeat(52))
            .replace("{week}", "2026-W48");
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if documented.iter().any(|m| m == method) {
                operations += 1;
                if path == "/v1/events" {
                    continue; // a stream that never ends; covered by events_stream_every_change
                }
                let body = matches!(method, "POST" | "PATCH").then(|| json!({}));
                let r = d.request(method, &concrete, body.as_ref());
                assert_ne!(
                    r.status, 405,
                    "{method} {path} is documented but not routed"
                );
                assert_ne!(
                    r.body["error"]["code"], "no_route",
                    "{method} {path} is documented but not routed"
                );
            } else {
                let r = d.request(method, &concrete, None);
                assert_eq!(
                    (r.status, r.body["error"]["code"].as_str()),
                    (405, Some("wrong_method")),
                    "{method} {path} is routed but not documented"
                );
            }
        }
    }
    assert!(operations >= 60, "only {operations} operations documented");
}

#[test]
fn due_reminders_are_listed_and_streamed() {
    let home = Home::init("Alex");
    let d = tandem_tests::Daemon::start_with(home.path(), &["--remind-every", "1"]);
    let events = d.events();
    let today = jiff::Timestamp::now()
        .in_tz("Europe/Paris")
        .unwrap()
        .date()
        .to_string();
    d.cli_ok(&["agree", "add", "No phones at dinner", "--review", &today]);
    let listed = d.cli_json(&["remind"]);
    let review = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "agreement_review")
        .cloned();
    assert!(review.is_some(), "{listed}");
    assert!(
        d.cli_ok(&["status"]).contains("Time to review together"),
        "status shows what is due"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let data = events
            .recv_timeout(deadline - std::time::Instant::now())
            .expect("a reminder event within 10 s");
        let event: serde_json::Value = serde_json::from_str(&data).unwrap();
        if event["kind"] == "agreement_review" {
            assert!(
                event["message"]
                    .as_str()
                    .unwrap()
                    .contains("No phones at dinner")
            );
            break;
        }
    }
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &std::path::Path) -> Vec<String> {
    let mut out: Vec<String> = tandem_tests::files_under(dir)
        .iter()
        .map(|path| path.strip_prefix(dir).unwrap().display().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn names_in_requests_never_become_paths() {
    // Only typed values (device ids, document kinds) name files; anything a client sends
    // as an id or title stays data. Traversal attempts find nothing and touch nothing.
    let outer = tempfile::tempdir().unwrap();
    let home_dir = outer.path().join("home");
    let status = tandem_tests::tandem(&home_dir)
        .args(["init", "--name", "Alex"])
        .status()
        .unwrap();
    assert!(status.success());
    let d = tandem_tests::Daemon::start(&home_dir);
    let before = files(&home_dir);
    let config_before = std::fs::read(home_dir.join("config.toml")).unwrap();

    for path in [
        "/v1/plans/..%2F..%2Fconfig.toml",
        "/v1/notes/..%2Fapi.token",
        "/v1/peers/..%2F..%2Fconfig.toml",
        "/v1/phones/..%2Fphones.toml",
        "/v1/personal-time/%2Fetc%2Fpasswd",
    ] {
        let r = d.request("DELETE", path, None);
        assert!(
            matches!(r.status, 400 | 404),
            "DELETE {path}: {} {:?}",
            r.status,
            r.body
        );
        let r = d.get(path);
        assert!(matches!(r.status, 400 | 404 | 405), "GET {path}: {r:?}");
    }
    let r = d.post(
        "/v1/notes",
        &json!({"title": "../../escape", "body": "../../../etc/passwd"}),
    );
    assert_eq!(r.status, 201);
    let r = d.post("/v1/phones", &json!({"name": "../../phones"}));
    assert_eq!(r.status, 201, "a phone name is only a label: {r:?}");
    let r = d.post(
        "/v1/checkins",
        &json!({"week": "../../2026-W48", "enough_alone": 3, "enough_together": 3}),
    );
    assert_eq!(r.status, 400, "{r:?}");

    assert_eq!(
        std::fs::read(home_dir.join("config.toml")).unwrap(),
        config_before
    );
    let after = files(&home_dir);
    let new: Vec<&String> = after.iter().filter(|f| !before.contains(f)).collect();
    assert!(
        new.iter()
            .all(|f| ["phones.toml", "lan.port"].contains(&f.as_str()) || f.starts_with("docs/")),
        "unexpected new files: {new:?}"
    );
    let outside: Vec<String> = files(outer.path())
        .into_iter()
        .filter(|f| !f.starts_with("home/"))
        .collect();
    assert!(
        outside.is_empty(),
        "files written outside the home: {outside:?}"
    );
}

/// RFC 9110: the scheme name of `Authorization` is case-insensitive.
#[test]
fn the_bearer_scheme_is_accepted_in_any_case() {
    let home = Home::init("Alex");
    let d = home.start();
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let header = format!("{scheme} {}", d.token);
        let r = d.get_with("/v1/status", &[("Authorization", header.as_str())]);
        assert_eq!(r.status, 200, "{scheme}: {r:?}");
    }
    let wrong = d.get_with("/v1/status", &[("Authorization", "bearer not-the-token")]);
    assert_eq!(wrong.status, 401, "{wrong:?}");
    let other = format!("Basic {}", d.token);
    let basic = d.get_with("/v1/status", &[("Authorization", other.as_str())]);
    assert_eq!(
        basic.status, 401,
        "only the bearer scheme carries a token: {basic:?}"
    );
}
