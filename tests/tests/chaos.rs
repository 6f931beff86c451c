//! Reconnect chaos, in the spirit of Syncthing's reconnect test: both partners write a
//! stream of plans and private notes while either daemon, or both, is `kill -9`ed and
//! restarted at random moments, mid-sync. At the end both agree exactly, and every write
//! that was acknowledged exists.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use serde_json::{Value, json};
use tandem_tests::{Daemon, Home, eventually, pair, titles};

/// Titles acknowledged by one side's daemon, and whether each was a plan.
type Acked = Arc<Mutex<Vec<(String, bool)>>>;

/// Items each side writes: half plans (synced), half private notes (kept home).
const PER_SIDE: usize = 500;

/// Posts to whichever daemon currently serves `home`, as a phone or script would: reads
/// `api.addr` each time, and treats a failed request as not acknowledged.
fn post(agent: &ureq::Agent, home: &Path, path: &str, body: &Value) -> bool {
    let (Ok(addr), Ok(token)) = (
        std::fs::read_to_string(home.join("api.addr")),
        std::fs::read_to_string(home.join("api.token")),
    ) else {
        return false;
    };
    let reply = agent
        .post(format!("http://{}{path}", addr.trim()))
        .header("Authorization", format!("Bearer {}", token.trim()))
        .send_json(body);
    matches!(reply, Ok(r) if r.status() == 201)
}

/// Writes every item, retrying until acknowledged; returns the acknowledged titles.
fn writer(home: PathBuf, who: &'static str, acked: Acked) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    for n in 0..PER_SIDE {
        let is_plan = n % 2 == 0;
        let title = format!("{who} {} {n}", if is_plan { "plan" } else { "note" });
        let (path, body) = if is_plan {
            (
                "/v1/plans",
                json!({"title": title, "start": "2026-12-04T19:00[Europe/Paris]", "end": "2026-12-04T20:00[Europe/Paris]"}),
            )
        } else {
            ("/v1/notes", json!({"title": title, "body": "private"}))
        };
        while !post(&agent, &home, path, &body) {
            std::thread::sleep(Duration::from_millis(20));
        }
        acked.lock().unwrap().push((title, is_plan));
    }
}

#[test]
fn both_sides_agree_after_kill_9_during_sync() {
    let homes = [Home::init("Alex"), Home::init("Sam")];
    let mut daemons = [Some(homes[0].start()), Some(homes[1].start())];
    pair(
        daemons[0].as_ref().unwrap(),
        daemons[1].as_ref().unwrap(),
        false,
    );

    let acked: [Acked; 2] = Default::default();
    let writers: Vec<_> = [(0, "alex"), (1, "sam")]
        .into_iter()
        .map(|(i, who)| {
            let (home, acked) = (homes[i].path().to_owned(), acked[i].clone());
            std::thread::spawn(move || writer(home, who, acked))
        })
        .collect();
    let mut rng = rand::rng();
    let mut kills = 0;
    while !writers.iter().all(|w| w.is_finished()) {
        std::thread::sleep(Duration::from_millis(rng.random_range(100..400)));
        let victims: &[usize] = match rng.random_range(0..3) {
            0 => &[0],
            1 => &[1],
            _ => &[0, 1],
        };
        for &v in victims {
            if let Some(mut d) = daemons[v].take() {
                d.kill9();
                kills += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..200)));
        for &v in victims {
            daemons[v] = Some(Daemon::start(homes[v].path()));
        }
    }
    for w in writers {
        w.join().unwrap();
    }
    let [alex, sam] = daemons.map(|d| d.unwrap());
    assert!(
        kills >= 3,
        "only {kills} kills: the writers finished too fast to mean anything"
    );

    assert!(
        eventually(Duration::from_secs(60), || alex.heads()["shared"]
            == sam.heads()["shared"]),
        "the two laptops never converged"
    );
    let (alex_plans, sam_plans) = (alex.get("/v1/plans").body, sam.get("/v1/plans").body);
    assert_eq!(alex_plans, sam_plans, "identical plans on both laptops");
    let plans = titles(&alex_plans);
    for (i, d) in [&alex, &sam].into_iter().enumerate() {
        let notes = titles(&d.get("/v1/notes").body);
        for (title, is_plan) in acked[i].lock().unwrap().iter() {
            let found = if *is_plan {
                plans.binary_search(title).is_ok()
            } else {
                notes.binary_search(title).is_ok()
            };
            assert!(
                found,
                "acknowledged {title:?} is missing after {kills} kills"
            );
        }
        assert!(
            notes
                .iter()
                .all(|n| n.starts_with(if i == 0 { "alex" } else { "sam" })),
            "a private note crossed over"
        );
    }
    eprintln!(
        "measured: {} plans (both sides) and every private note survived {kills} kill -9s",
        plans.len()
    );
}
