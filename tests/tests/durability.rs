//! Acknowledged writes survive `kill -9`; damaged stores are refused loudly, never reset.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use serde_json::json;
use tandem_tests::{Daemon, Home};

#[test]
fn acknowledged_writes_survive_kill_9() {
    let home = Home::init("Alex");
    let mut acked: Vec<String> = Vec::new();
    let mut rng = rand::rng();
    for round in 0..5 {
        let mut d = home.start();
        let (addr, token) = (d.addr.clone(), d.token.clone());
        let round_acks = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let acks = round_acks.clone();
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(5)))
                    .build()
                    .into();
                for n in 0.. {
                    let title = format!("round {round} idea {n}");
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
        };
        std::thread::sleep(Duration::from_millis(rng.random_range(50..400)));
        d.kill9();
        writer.join().unwrap();
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
    assert!(
        acked.len() > 10,
        "the test wrote too little to mean anything ({})",
        acked.len()
    );
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

fn tandemd_output(home: &std::path::Path) -> std::process::Output {
    std::process::Command::new(tandem_tests::bin("tandemd"))
        .arg("--home")
        .arg(home)
        .output()
        .unwrap()
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
    assert!(String::from_utf8_lossy(&out.stderr).contains("run `tandem init --name NAME` first"));

    // `tandemd --name` sets up a fresh home itself.
    let mut d = tandem_tests::Daemon::start_with(empty.path(), &["--name", "Sam"]);
    assert_eq!(d.cli_json(&["status"])["me"]["name"], "Sam");
    assert!(d.terminate().success());
}
