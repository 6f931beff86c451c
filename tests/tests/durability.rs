//! Acknowledged writes survive `kill -9`; damaged stores are refused loudly, never reset.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use serde_json::json;
use tandem_tests::{Daemon, Home};

/// Writers at once in each round, so writes are acknowledged in batches sharing an fsync
/// (group commit): each must still be durable the moment it is acknowledged.
const WRITERS: usize = 8;

#[test]
fn acknowledged_writes_survive_kill_9() {
    let home = Home::init("Alex");
    let mut acked: Vec<String> = Vec::new();
    let mut rng = rand::rng();
    for round in 0..5 {
        let mut d = home.start();
        let round_acks = Arc::new(Mutex::new(Vec::new()));
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let acks = round_acks.clone();
                let (addr, token) = (d.addr.clone(), d.token.clone());
                std::thread::spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .timeout_global(Some(Duration::from_secs(5)))
                        .build()
                        .into();
                    for n in 0.. {
                        let title = format!("round {round} writer {writer} idea {n}");
                        let reply = agent
                            .post(format!("http://{addr}/v1/ideas"))
                            .header("Authorization", format!("Bearer {token}"))
                            .send_json(json!({ "title": title }));
                        match reply {
                            Ok(r) if r.status() == 201 => acks.lock().unwrap().push(title),
                            // The daemon died mid-request: this write was never acknowledged.
                            _ => break,
                        }
                    }
                })
            })
            .collect();
        // Killed after a random number of acknowledgements, whatever the machine's speed,
        // while all writers are still writing.
        let kill_after = rng.random_range(WRITERS..WRITERS * 8);
        while round_acks.lock().unwrap().len() < kill_after {
            std::thread::sleep(Duration::from_millis(1));
        }
        d.kill9();
        for writer in writers {
            writer.join().unwrap();
        }
        acked.extend(round_acks.lock().unwrap().drain(..));

        let d = Daemon::start(home.path());
        let ideas = d.get("/v1/ideas").body;
        let titles: Vec<&str> = ideas
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap())
            .collect();
        for title in &acked {
            assert!(
                titles.contains(&title.as_str()),
                "acknowledged {title:?} lost after kill -9 in round {round}"
            );
        }
    }
}

#[test]
fn sigterm_flushes_and_exits_zero() {
    let home = Home::init("Alex");
    let mut d = home.start();
    d.cli_ok(&["idea", "add", "Night swim"]);
    let status = d.terminate();
    assert!(status.success(), "exit status {status}");
    assert!(
        !home.path().join("api.addr").exists(),
        "api.addr is removed on clean exit"
    );
    let log = home.path().join("docs/shared/changes.log");
    assert_eq!(
        std::fs::read(log).unwrap(),
        tandem_protocol::changelog::MAGIC,
        "the log was compacted into the snapshot: only its file header is left"
    );
    let d = home.start();
    assert_eq!(d.cli_json(&["idea", "list"])[0]["title"], "Night swim");
}

/// Runs `tandemd --home home` expecting it to refuse to start, and returns its output; a
/// daemon that starts after all is stopped after 20 s so the test fails instead of hanging.
fn tandemd_output(home: &std::path::Path) -> std::process::Output {
    let mut child = std::process::Command::new(tandem_tests::bin("tandemd"))
        .arg("--home")
        .arg(home)
        .args([
            "--peer-listen",
            "127.0.0.1",
            "--lan-listen",
            "127.0.0.1",
            "--no-mdns",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let exited = tandem_tests::eventually(Duration::from_secs(20), || {
        child.try_wait().unwrap().is_some()
    });
    if !exited {
        child.kill().unwrap();
    }
    child.wait_with_output().unwrap()
}

#[test]
fn corrupt_snapshot_is_refused_and_left_untouched() {
    let home = Home::init("Alex");
    let mut d = home.start();
    d.cli_ok(&["idea", "add", "Night swim"]);
    assert!(d.terminate().success());
    let snapshot = home.path().join("docs/shared/doc.automerge");
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    bytes.truncate(bytes.len() - 3);
    std::fs::write(&snapshot, &bytes).unwrap();

    let out = tandemd_output(home.path());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("doc.automerge is corrupt"), "{err}");
    assert!(
        err.contains(&snapshot.display().to_string()),
        "names the file: {err}"
    );
    assert_eq!(
        std::fs::read(&snapshot).unwrap(),
        bytes,
        "the damaged file is kept for recovery"
    );
}

#[test]
fn one_daemon_per_home_and_init_first() {
    let home = Home::init("Alex");
    let _d = home.start();
    let out = tandemd_output(home.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another tandemd is already running"));

    let empty = tempfile::tempdir().unwrap();
    let out = tandemd_output(empty.path());
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "there is no tandem data home at {0}: set it up with `tandem init --name YOUR_NAME --home {0}`",
            empty.path().display()
        )),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // `tandemd --name` sets up a fresh home itself.
    let mut d = tandem_tests::Daemon::start_with(empty.path(), &["--name", "Sam"]);
    assert_eq!(d.cli_json(&["status"])["me"]["name"], "Sam");
    assert!(d.terminate().success());
}

/// A home whose shared log holds five acknowledged plans, its daemon killed with `kill -9`
/// (so nothing was compacted), and the path of that log.
fn five_plans_killed() -> (Home, std::path::PathBuf) {
    let home = Home::init("Alex");
    let mut d = home.start();
    for day in 1..=5 {
        let at = format!("2026-12-0{day} 19:30");
        d.cli_ok(&[
            "plan",
            "add",
            &format!("Plan {day}"),
            "--at",
            &at,
            "--for",
            "2h",
        ]);
    }
    d.kill9();
    let log = home.path().join("docs/shared/changes.log");
    (home, log)
}

/// Side files of the shared document holding torn tails set aside.
fn torn_side_files(home: &Home) -> Vec<std::path::PathBuf> {
    tandem_tests::files_under(&home.path().join("docs/shared"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("changes.log.torn-"))
        .collect()
}

#[test]
fn a_damaged_length_refuses_start_and_trims_nothing() {
    let (home, log) = five_plans_killed();
    let mut bytes = std::fs::read(&log).unwrap();
    let first = tandem_protocol::changelog::read(&bytes).unwrap().records()[0].at;
    // A bit of the length's second byte: the length now runs 64 KiB past the end.
    bytes[first + 1] ^= 0x01;
    std::fs::write(&log, &bytes).unwrap();

    let out = tandemd_output(home.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started on a damaged log: {err}");
    let named = format!("{} is damaged at byte {first}", log.display());
    assert!(err.contains(&named), "names the file and the byte: {err}");
    assert!(err.contains("Move it aside"), "says what to do: {err}");
    assert_eq!(
        std::fs::read(&log).unwrap(),
        bytes,
        "the damaged log is kept byte for byte, nothing trimmed"
    );
    assert!(torn_side_files(&home).is_empty(), "nothing was set aside");

    // The advice works: with the log moved aside the document loads from its snapshot.
    std::fs::rename(&log, log.with_extension("log.damaged")).unwrap();
    let d = home.start();
    assert_eq!(d.get("/v1/status").status, 200);
}

#[test]
fn a_torn_tail_is_set_aside_with_every_byte() {
    let (home, log) = five_plans_killed();
    let acknowledged = std::fs::read(&log).unwrap();
    // A sixth write cut short by a crash: the first half of a record like the last one.
    let last = tandem_protocol::changelog::read(&acknowledged)
        .unwrap()
        .records()
        .last()
        .unwrap()
        .at;
    let half = &acknowledged[last..last + (acknowledged.len() - last) / 2];
    let mut torn = acknowledged.clone();
    torn.extend_from_slice(half);
    std::fs::write(&log, &torn).unwrap();

    let d = home.start();
    let plans = tandem_tests::titles(&d.cli_json(&["plan", "list", "--all"]));
    assert_eq!(plans, ["Plan 1", "Plan 2", "Plan 3", "Plan 4", "Plan 5"]);
    let side_files = torn_side_files(&home);
    assert_eq!(side_files.len(), 1, "one side file: {side_files:?}");
    let set_aside = std::fs::read(&side_files[0]).unwrap();
    assert_eq!(set_aside, half, "the side file holds the torn tail");
    let kept = std::fs::read(&log).unwrap();
    assert_eq!(
        [&kept[..acknowledged.len()], &set_aside[..]].concat(),
        torn,
        "log and side file hold every byte that was there"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&side_files[0])
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the side file is private");
}
