//! Soak: two paired daemons under a steady stream of edits (25 a second, far more than a
//! couple makes) for a bounded time: 2 minutes in CI, longer with
//! `TANDEM_SOAK_SECS=600 cargo test --test soak -- --nocapture` (`TANDEM_SOAK_RATE` sets
//! the edits per second). Open files must stay flat; memory may only grow with the
//! document's history (Automerge keeps all of it), so the soaked daemon is compared with a
//! fresh one loading the same data; compaction must keep the change log short.

use std::time::{Duration, Instant};

use serde_json::json;
use tandem_tests::{Daemon, Home, eventually, pair};

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn memory_files_and_store_stay_bounded_under_steady_edits() {
    let secs: u64 = std::env::var("TANDEM_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let rate: u32 = std::env::var("TANDEM_SOAK_RATE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(25);
    let pace = Duration::from_secs(1) / rate.max(1);
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let (mut alex, sam) = (alex_home.start(), sam_home.start());
    pair(&alex, &sam, false);
    let idea = alex
        .post("/v1/ideas", &json!({"title": "edited all the time"}))
        .body;
    let id = idea["id"].as_str().unwrap().to_owned();
    // Both edit it from the start: it must have reached Sam first.
    let paired = Instant::now();
    assert!(eventually(Duration::from_secs(20), || sam
        .get(&format!("/v1/ideas/{id}"))
        .status
        == 200));
    eprintln!(
        "measured: the first idea reached Sam {} ms after it was made",
        paired.elapsed().as_millis()
    );

    let started = Instant::now();
    let mut samples: Vec<(u64, u64, usize, usize)> = Vec::new();
    let mut edits = 0u64;
    let mut next_sample = started + Duration::from_secs(4);
    while started.elapsed() < Duration::from_secs(secs) {
        let due = started + pace * (edits as u32);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let writer: &Daemon = if edits.is_multiple_of(2) { &alex } else { &sam };
        if edits.is_multiple_of(5) {
            assert_eq!(
                writer
                    .post("/v1/ideas", &json!({"title": format!("idea {edits}")}))
                    .status,
                201
            );
        } else {
            let r = writer.request(
                "PATCH",
                &format!("/v1/ideas/{id}"),
                Some(&json!({"notes": format!("edit {edits}")})),
            );
            assert_eq!(r.status, 200, "{r:?}");
        }
        edits += 1;
        if Instant::now() >= next_sample {
            samples.push((
                rss_kib(alex.pid()),
                rss_kib(sam.pid()),
                open_files(alex.pid()),
                open_files(sam.pid()),
            ));
            next_sample += Duration::from_secs(2);
        }
    }
    let stopped = Instant::now();
    assert!(
        eventually(Duration::from_secs(30), || alex.heads()["shared"]
            == sam.heads()["shared"]),
        "not in sync 30 s after the edits stopped"
    );
    eprintln!(
        "measured: in sync {:?} after the edits stopped",
        stopped.elapsed()
    );
    let (first, last) = (
        samples.first().copied().unwrap(),
        samples.last().copied().unwrap(),
    );
    eprintln!(
        "measured: {edits} edits in {secs} s; RSS alex {}→{} KiB, sam {}→{} KiB; fds alex {}→{}, sam {}→{}",
        first.0, last.0, first.1, last.1, first.2, last.2, first.3, last.3
    );
    // RSS and open files over time, every tenth sample (20 s apart).
    for (i, s) in samples.iter().enumerate().step_by(10) {
        eprintln!(
            "measured: t={:>4} s  RSS alex {} KiB, sam {} KiB; fds alex {}, sam {}",
            4 + 2 * i,
            s.0,
            s.1,
            s.2,
            s.3
        );
    }
    let max_fds = samples.iter().map(|s| s.2.max(s.3)).max().unwrap();
    assert!(
        max_fds <= first.2.max(first.3) + 8,
        "open files grew from {} to {max_fds}",
        first.2.max(first.3)
    );

    for home in [&alex_home, &sam_home] {
        let log = std::fs::metadata(home.path().join("docs/shared/changes.log"))
            .unwrap()
            .len();
        assert!(
            log <= 5 * 1024 * 1024,
            "the change log was not compacted: {log} bytes"
        );
    }
    let status = alex.get("/v1/status").body;
    eprintln!(
        "measured: shared document {} changes, {} bytes on disk",
        status["documents"][0]["changes"], status["documents"][0]["bytes_on_disk"]
    );

    // Memory: the soaked daemon against a fresh one holding the same document. What a
    // fresh start does not need is what the long run leaked.
    let soaked = rss_kib(alex.pid());
    assert!(alex.terminate().success());
    let fresh_daemon = alex_home.start();
    std::thread::sleep(Duration::from_secs(2));
    let fresh = rss_kib(fresh_daemon.pid());
    eprintln!(
        "measured: RSS after the soak {soaked} KiB, fresh start on the same data {fresh} KiB"
    );
    assert!(
        soaked <= fresh * 2 + 16 * 1024,
        "RSS after the soak ({soaked} KiB) is far above a fresh start on the same data ({fresh} KiB)"
    );
}
