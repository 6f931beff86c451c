//! `cargo run --release -p tandem-tests --bin bench`: measures the foundation's targets
//! against real release binaries and prints them (and JSON with `--json`).
//!
//! - acknowledged writes per second through the API (each one fsync'd);
//! - start-up time of a daemon whose store holds 10k entities in 10k changes
//!   (about five years of a couple's use), until its API answers;
//! - idle RSS and CPU of that daemon.
//!
//! `--startup-only` skips the write measurement; `--keep` keeps the 10k-entity home; `--json` prints JSON for comparisons.

use std::time::{Duration, Instant};

use automerge::ActorId;
use serde_json::json;
use tandem_daemon::store::DocStore;
use tandem_protocol::activity::Activity;
use tandem_protocol::document::{Collection, DocKind};
use tandem_protocol::entity::{Author, Entity};
use tandem_protocol::ids::{EntityId, PersonId};
use tandem_protocol::model::idea::{Idea, NewIdea};
use tandem_protocol::model::note::{NewNote, Note};
use tandem_protocol::model::plan::{NewPlan, Plan};
use tandem_protocol::time::{Moment, Stamp};
use tandem_tests::{Daemon, Home};

const ENTITIES: usize = 10_000;
const WRITES: usize = 1_000;
const STARTS: usize = 5;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json_out = args.iter().any(|a| a == "--json");
    let startup_only = args.iter().any(|a| a == "--startup-only");
    tandem_tests::bin_dir();

    let (writes_per_s, fresh_rss) = if startup_only { (0.0, 0) } else { writes() };

    eprintln!("start-up: filling a store with {ENTITIES} entities in {ENTITIES} changes ...");
    let big = Home::init("Bench");
    fill(big.path());
    let mut starts = Vec::new();
    for _ in 0..STARTS {
        let t = Instant::now();
        let mut d = Daemon::start(big.path());
        starts.push(t.elapsed());
        assert!(d.terminate().success());
    }
    starts.sort();
    let startup_ms = starts[STARTS / 2].as_secs_f64() * 1000.0;
    let d = Daemon::start(big.path());
    assert_eq!(
        d.get("/v1/status").body["counts"]["plans"],
        (ENTITIES / 2) as u64
    );
    std::thread::sleep(Duration::from_secs(2));
    let cpu_before = cpu_ticks(d.pid());
    let idle = Duration::from_secs(5);
    std::thread::sleep(idle);
    let idle_cpu_pct =
        (cpu_ticks(d.pid()) - cpu_before) as f64 / 100.0 / idle.as_secs_f64() * 100.0;
    let loaded_rss = rss_kib(d.pid());

    if args.iter().any(|a| a == "--keep") {
        drop(d);
        eprintln!("kept the 10k-entity home in {}", big.keep().display());
    }
    let results = json!({
        "writes_per_s": writes_per_s.round(),
        "startup_ms_with_10k_entities": (startup_ms * 10.0).round() / 10.0,
        "idle_rss_mib_fresh": (fresh_rss as f64 / 1024.0 * 10.0).round() / 10.0,
        "idle_rss_mib_with_10k_entities": (loaded_rss as f64 / 1024.0 * 10.0).round() / 10.0,
        "idle_cpu_percent": (idle_cpu_pct * 100.0).round() / 100.0,
    });
    if json_out {
        println!("{}", serde_json::to_string_pretty(&results).expect("json"));
        return;
    }
    println!("{:<36} {:>10}   target", "measure", "value");
    println!(
        "{:<36} {:>10.0}",
        "acknowledged writes/s (fsync each)", writes_per_s
    );
    println!(
        "{:<36} {:>10.1}   < 300 ms",
        "start-up, 10k entities (ms)", startup_ms
    );
    println!(
        "{:<36} {:>10.1}   < 20 MiB",
        "idle RSS, fresh daemon (MiB)",
        fresh_rss as f64 / 1024.0
    );
    println!(
        "{:<36} {:>10.1}",
        "idle RSS, 10k entities (MiB)",
        loaded_rss as f64 / 1024.0
    );
    println!(
        "{:<36} {:>10.2}   ~0 %",
        "idle CPU over 5 s (%)", idle_cpu_pct
    );
}

/// Acknowledged writes per second, and the RSS of a fresh daemon afterwards.
fn writes() -> (f64, u64) {
    eprintln!("writes: {WRITES} acknowledged POSTs ...");
    let home = Home::init("Bench");
    let d = home.start();
    let started = Instant::now();
    for n in 0..WRITES {
        let r = d.post("/v1/ideas", &json!({ "title": format!("idea {n}") }));
        assert_eq!(r.status, 201, "{r:?}");
    }
    (
        WRITES as f64 / started.elapsed().as_secs_f64(),
        rss_kib(d.pid()),
    )
}

/// Writes 10k entities straight into the home's stores, one change each, as years of use
/// would: half plans, a quarter ideas (shared), a quarter private notes.
fn fill(home: &std::path::Path) {
    let person = PersonId::parse("bench").expect("id");
    let actor = ActorId::random();
    let (mut shared_store, mut shared) =
        DocStore::open(&home.join("docs/shared"), DocKind::Shared, actor.clone())
            .expect("open shared");
    let (mut private_store, mut private) =
        DocStore::open(&home.join("docs/private"), DocKind::Private, actor).expect("open private");
    let start: jiff::ZonedDateTime = "2021-01-01T19:00[Europe/Paris]".parse().expect("time");
    for n in 0..ENTITIES {
        let author = Author {
            person: person.clone(),
            at: Stamp(jiff::Timestamp::now()),
        };
        let id = EntityId::from_random(rand::random());
        let (doc, activity) = match n % 4 {
            0 | 1 => {
                let s = start
                    .checked_add(jiff::Span::new().hours(n as i64 * 4))
                    .expect("time");
                let new = NewPlan {
                    title: format!("Plan {n}"),
                    kind: None,
                    start: Moment(s.clone()),
                    end: Moment(s.checked_add(jiff::Span::new().hours(2)).expect("time")),
                    place: Some("somewhere nice".into()),
                    notes: Some("bring an umbrella".into()),
                    status: None,
                    recurrence: None,
                };
                let plan = Plan::create(id, new, &author).expect("valid");
                shared.put(Collection::Plans, &plan).expect("put");
                (
                    &mut shared,
                    Activity::new(&author, "plan.add", Some(plan.id), &plan.title),
                )
            }
            2 => {
                let idea = Idea::create(
                    id,
                    NewIdea {
                        title: format!("Idea {n}"),
                        notes: None,
                    },
                    &author,
                )
                .expect("valid");
                shared.put(Collection::Ideas, &idea).expect("put");
                (
                    &mut shared,
                    Activity::new(&author, "idea.add", Some(idea.id), &idea.title),
                )
            }
            _ => {
                let new = NewNote {
                    title: None,
                    body: format!("Day {n}: a few honest lines about how things are going."),
                };
                let note = Note::create(id, new, &author).expect("valid");
                private.put(Collection::Notes, &note).expect("put");
                (
                    &mut private,
                    Activity::new(&author, "note.add", Some(note.id), &note.title),
                )
            }
        };
        doc.commit(&activity);
    }
    shared_store.compact(&mut shared).expect("compact shared");
    private_store
        .compact(&mut private)
        .expect("compact private");
}

fn proc_status_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn rss_kib(pid: u32) -> u64 {
    proc_status_field(pid, "VmRSS:").unwrap_or(0)
}

/// utime + stime of the process, in clock ticks (100 per second on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Fields after the name start at state (3); utime is 14 and stime 15 (1-based).
    field(11) + field(12)
}
