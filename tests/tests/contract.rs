//! The local API keeps the contract its OpenAPI document states: schemathesis (pinned by
//! `tests/contract/requirements.txt`, installed by `tests/setup`) runs every check it has
//! (server errors, status codes, content types, response and header conformance,
//! schema-valid requests accepted and invalid ones refused, wrong methods, missing
//! headers, ignored auth, use after delete, resources reachable once created) against a
//! live daemon, in all four phases, stateful links included, with a bounded number of
//! examples. It must find nothing, except what is listed below with its reason.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tandem_protocol::api::endpoints;
use tandem_tests::Home;

/// Examples per operation and phase: enough to reach every constraint, within the
/// test's time budget.
const EXAMPLES: &str = "20";

/// The same examples on every run, so a failure can be replayed.
const SEED: &str = "1";

/// Operations the fuzzer must not call, and why.
const NOT_FUZZED: &[(&str, &str)] = &[
    (
        "events",
        "an endless stream: no event comes unless something changes, so a whole body never \
         arrives (api_guards streams it end to end)",
    ),
    (
        "add_peer",
        "dials the address it is given: the fuzzer would send traffic off the machine \
         (api_guards checks the refusals of bad addresses)",
    ),
    (
        "join_pairing",
        "dials the address it is given, or every device mDNS found: traffic off the machine",
    ),
    (
        "set_up_auto_backups",
        "creates the directory it is given: the fuzzer would make directories anywhere on \
         the machine (backup.rs covers it)",
    ),
    (
        "set_mailbox",
        "makes a directory of its own in the folder it is given: the fuzzer would make \
         directories anywhere on the machine (mailbox.rs covers it)",
    ),
];

/// Operations where a request that matches the schema may still be refused with a
/// documented 422, and the rule that JSON Schema cannot state.
const RULES_BEYOND_THE_SCHEMA: &[(&str, &str)] = &[
    (
        "create_plan",
        "end after start (across fields); a start or end whose date, time and zone exist \
         together (the zone database)",
    ),
    ("update_plan", "the same, against the stored plan"),
    ("create_personal_time", "end after start; times that exist"),
    (
        "update_personal_time",
        "end after start, against the stored block; times that exist",
    ),
    (
        "answer_checkin",
        "week 53 exists only in years that have one (the calendar)",
    ),
    ("get_checkin", "week 53 exists only in years that have one"),
    (
        "balance",
        "week 53 exists only in years that have one; the time zone must be in the zone \
         database",
    ),
    (
        "list_plans",
        "a date's midnight must exist in the daemon's zone",
    ),
    (
        "list_personal_time",
        "a date's midnight must exist in the daemon's zone",
    ),
    (
        "create_agreement",
        "a review date that exists in the calendar",
    ),
    (
        "update_agreement",
        "a review date that exists in the calendar",
    ),
    (
        "balance_weeks",
        "the time zone must be in the zone database",
    ),
    ("propose_time", "end after start; times that exist"),
    (
        "plan_idea",
        "both start and end or neither (across fields); end after start; times that exist",
    ),
    (
        "comment_plan",
        "at most 500 comments on one plan (what is stored)",
    ),
];

/// What schemathesis accepts for a schema-valid request by default, plus 422.
const ACCEPTED_WITH_RULES: &str =
    r#"["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]"#;

/// The virtual environment `tests/setup` installs schemathesis into.
fn schemathesis() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let st = workspace.join("target/schemathesis/bin/st");
    assert!(
        st.exists(),
        "{} is missing: run tests/setup (it installs the pinned schemathesis)",
        st.display()
    );
    st
}

/// The fuzzer's configuration: the 422 exemptions, one `[[operations]]` each.
fn config() -> String {
    let mut config = String::from("[phases.stateful]\nenabled = true\n");
    for (operation, _why) in RULES_BEYOND_THE_SCHEMA {
        config.push_str(&format!(
            "\n[[operations]]\ninclude-operation-id = \"{operation}\"\n\
             checks.positive_data_acceptance.expected-statuses = {ACCEPTED_WITH_RULES}\n"
        ));
    }
    config
}

#[test]
fn the_api_keeps_its_documented_contract() {
    let st = schemathesis();
    let home = Home::init("Alex");
    let d = home.start();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("schemathesis.toml"), config()).unwrap();
    let started = Instant::now();
    let mut command = Command::new(st);
    command
        .current_dir(work.path())
        .arg("run")
        .arg(format!("http://{}/v1/openapi.json", d.addr))
        .args(["--header", &format!("Authorization: Bearer {}", d.token)])
        .args([
            "--checks",
            "all",
            "--max-examples",
            EXAMPLES,
            "--seed",
            SEED,
        ])
        // One worker: with two, hypothesis's `ast.parse` of its own lambdas runs on two
        // threads at once, and CPython 3.11 then sometimes fails inside the fuzzer ("AST
        // constructor recursion depth mismatch", a Runtime Error that tests nothing).
        .args(["--request-timeout", "20", "--no-color", "--workers", "1"]);
    for (operation, _why) in NOT_FUZZED {
        command.args(["--exclude-operation-id", operation]);
    }
    let out = command.output().expect("run schemathesis");
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found contract failures:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("No issues found") || text.contains("passed"),
        "schemathesis ran nothing:\n{text}"
    );
    assert!(
        took < Duration::from_secs(120),
        "the contract run took {took:?}; keep it under two minutes"
    );
}

/// The CLI's client and the API cannot drift: every operation the client can send (each
/// of `tandem_protocol::api::endpoints`, the only requests it builds) is an operation the
/// daemon's own `/v1/openapi.json` documents, with that method on that path.
#[test]
fn every_request_the_cli_can_send_is_documented() {
    let home = Home::init("Alex");
    let d = home.start();
    let doc = d.get("/v1/openapi.json");
    assert_eq!(doc.status, 200, "{}", doc.body);
    let undocumented: Vec<String> = endpoints::ALL
        .iter()
        .filter(|(method, path)| {
            doc.body["paths"][*path][method.as_str().to_ascii_lowercase()].is_null()
        })
        .map(|(method, path)| format!("{} {path}", method.as_str()))
        .collect();
    assert!(
        undocumented.is_empty(),
        "the CLI can send requests the API does not document: {undocumented:?}"
    );
    assert!(endpoints::ALL.len() >= 50, "only {}", endpoints::ALL.len());
}
