//! Soak: two paired daemons under a steady stream of edits for a bounded time (20 s in CI;
//! `TANDEM_SOAK_SECS=600 cargo test --test soak -- --nocapture` for longer). Memory and
//! open files must stay bounded, and compaction must keep the change log short.

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
        .unwrap_or(20);
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let (alex, sam) = (alex_home.start(), sam_home.start());
    pair(&alex, &sam, false);
    let idea = alex
        .post("/v1/ideas", &json!({"title": "edited all the time"}))
        .body;
    let id = idea["id"].as_str().unwrap().to_owned();

    let started = Instant::now();
    let mut samples: Vec<(u64, u64, usize, usize)> = Vec::new();
    let mut edits = 0u64;
    let mut next_sample = started + Duration::from_secs(4);
    while started.elapsed() < Duration::from_secs(secs) {
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
    assert!(eventually(
        Duration::from_secs(30),
        || alex.heads()["shared"] == sam.heads()["shared"]
    ));
    let (first, last) = (
        samples.first().copied().unwrap(),
        samples.last().copied().unwrap(),
    );
    eprintln!(
        "measured: {edits} edits in {secs} s; RSS alex {}→{} KiB, sam {}→{} KiB; fds alex {}→{}, sam {}→{}",
        first.0, last.0, first.1, last.1, first.2, last.2, first.3, last.3
    );
    let max_rss = samples.iter().map(|s| s.0.max(s.1)).max().unwrap();
    let max_fds = samples.iter().map(|s| s.2.max(s.3)).max().unwrap();
    assert!(
        max_rss <= first.0.max(first.1) + 40 * 1024,
        "RSS grew from {} to {max_rss} KiB",
        first.0.max(first.1)
    );
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
}
