//! `cargo run --release -p tandem-tests --bin bench`: measures DESIGN.md's targets against
//! real release binaries and prints them with their targets (`--json` prints JSON for
//! comparing commits, `--compare FILE` sets each figure beside a saved JSON's).
//!
//! - `writes`: acknowledged writes per second through the API (each one fsync'd) from one
//!   client and from 16 concurrent ones, beside the floor of the disk under them (fsync'd
//!   appends per second of one thread), and the RSS of a fresh daemon;
//! - `startup`: start-up of a daemon whose store holds 10k entities in 10k changes (about
//!   five years of a couple's use) until its API answers, and its idle RSS and CPU;
//! - `sync`: a change on A visible through B's API (p50/p99 over 500 edits on loopback
//!   and over a Wi-Fi-like link), the bytes per small edit, and edits per second
//!   propagated back to back (durable on both sides);
//! - `big-sync`: the first sync of a 10k-change document beside Automerge's own floor for
//!   it, then propagation with 10k entities in the documents.
//!
//! - `backup`: `tandem backup` of the 10k-entity home (size and time, scrypt included)
//!   and `tandem restore` of it.
//! - `mailbox`: two laptops sharing only a folder: bytes written there per small edit,
//!   a bundle landing until the partner's API announces it, the folder after a month.
//!
//! Every run also counts what issue #15 tracks in the source tree: the lines of the writer
//! (`daemon/src/repo.rs`, and `daemon/src/repo/` once it is a directory) and the `.lock()`
//! calls under `daemon/src/peer/`.
//!
//! `--only writes|startup|sync|big-sync|backup|mailbox` runs one group; `--keep` keeps the 10k-entity home.
//! `--compare FILE` reads a JSON written by `--json` (`tests/bench/baseline.json`) and prints
//! each figure beside it with the ratio, marking those worse by more than 10%; it only
//! reports (the exit status stays 0). With `--json` as well, the JSON goes to stdout and
//! the comparison to stderr.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tandem_tests::floor::{AutomergeFloor, fill};
use tandem_tests::netns::{self, Fault, NetPair};
use tandem_tests::{Daemon, Home, eventually, files_under, pair};

const ENTITIES: usize = 10_000;
/// Acknowledged writes per client count.
const WRITES: usize = 2_000;
/// Fsync'd appends of each of the floor's three measurements.
const FLOOR_APPENDS: usize = 500;
/// The concurrent clients of the many-writers figure (issue #15's group-commit goal).
const CLIENTS: usize = 16;
/// How far a figure may move the wrong way before `--compare` marks it.
const TOLERANCE: f64 = 0.10;
const STARTS: usize = 5;
const EDITS: usize = 500;
/// Edits of the back-to-back propagation figure, and the clients adding them.
const B2B_EDITS: usize = 2_000;
const B2B_CLIENTS: usize = 4;

/// One measured figure.
struct Figure {
    /// Its key in the JSON, stable across commits so saved runs compare.
    key: &'static str,
    /// What a person reads in the table.
    label: &'static str,
    value: f64,
    /// DESIGN.md's target, if any.
    target: &'static str,
    /// Which way is an improvement, so `--compare` can tell a regression from a gain.
    better: Better,
}

/// The direction in which a figure improves.
#[derive(Clone, Copy)]
enum Better {
    Higher,
    Lower,
}

impl Figure {
    /// Whether this figure is worse than `baseline` by more than [`TOLERANCE`].
    fn regressed(&self, baseline: f64) -> bool {
        match self.better {
            Better::Higher => self.value < baseline * (1.0 - TOLERANCE),
            Better::Lower => self.value > baseline * (1.0 + TOLERANCE),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json_out = args.iter().any(|a| a == "--json");
    let value_of = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let only = value_of("--only");
    let wanted = |group: &str| only.as_deref().is_none_or(|o| o == group);
    // Read before measuring, so a wrong path costs no minutes of benchmarking.
    let baseline = value_of("--compare").map(|path| read_baseline(Path::new(&path)));
    tandem_tests::bin_dir();

    let mut figures = source();
    if wanted("writes") {
        figures.extend(writes());
    }
    if wanted("startup") {
        figures.extend(startup(args.iter().any(|a| a == "--keep")));
    }
    if wanted("sync") {
        figures.extend(sync());
    }
    if wanted("big-sync") {
        figures.extend(big_sync());
    }
    if wanted("backup") {
        figures.extend(backup());
    }
    if wanted("mailbox") {
        figures.extend(mailbox());
    }
    match (json_out, baseline) {
        (true, baseline) => {
            let map: Map<String, Value> = figures
                .iter()
                .map(|f| (f.key.to_owned(), json!((f.value * 100.0).round() / 100.0)))
                .collect();
            println!("{}", serde_json::to_string_pretty(&map).expect("json"));
            if let Some((path, baseline)) = baseline {
                eprint!("{}", comparison(&figures, &path, &baseline));
            }
        }
        (false, Some((path, baseline))) => print!("{}", comparison(&figures, &path, &baseline)),
        (false, None) => {
            println!("{:<48} {:>10}   target", "measure", "value");
            for f in &figures {
                println!("{:<48} {:>10.2}   {}", f.label, f.value, f.target);
            }
        }
    }
}

/// The figures of a JSON written by `--json`, with the path they came from; exits with a
/// message when the file cannot be used.
fn read_baseline(path: &Path) -> (PathBuf, Map<String, Value>) {
    let parsed = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()));
    match parsed {
        Ok(figures) => (path.to_owned(), figures),
        Err(why) => {
            eprintln!(
                "bench: cannot use {} as a baseline ({why}); give a JSON object written by \
                 `bench --json`, e.g. tests/bench/baseline.json",
                path.display()
            );
            std::process::exit(2);
        }
    }
}

/// Each figure beside `baseline`'s with the ratio (now / then), those worse by more than
/// [`TOLERANCE`] marked. A figure absent from either side is shown without a ratio.
fn comparison(figures: &[Figure], path: &Path, baseline: &Map<String, Value>) -> String {
    let mut out = format!(
        "{:<48} {:>10} {:>10} {:>7}   (baseline: {})\n",
        "measure",
        "value",
        "baseline",
        "ratio",
        path.display()
    );
    let mut worse = 0;
    for f in figures {
        let then = baseline.get(f.key).and_then(Value::as_f64);
        let (then_text, ratio, mark) = match then {
            Some(then) if f.value.is_finite() => {
                let ratio = if then == 0.0 {
                    "-".to_owned()
                } else {
                    format!("{:.2}", f.value / then)
                };
                let mark = if f.regressed(then) {
                    worse += 1;
                    "   WORSE by >10%"
                } else {
                    ""
                };
                (format!("{then:.2}"), ratio, mark)
            }
            Some(then) => (format!("{then:.2}"), "-".to_owned(), ""),
            None => ("-".to_owned(), "-".to_owned(), ""),
        };
        out += &format!(
            "{:<48} {:>10.2} {:>10} {:>7}{mark}\n",
            f.label, f.value, then_text, ratio
        );
    }
    out += &format!(
        "{worse} of {} figures worse than the baseline by more than 10%\n",
        figures.len()
    );
    out
}

/// The workspace this benchmark was built from.
fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
}

/// The text of every Rust file at `path`: the file itself, or every one below it if it is
/// a directory, or none if it does not exist.
fn rust_sources(path: &Path) -> Vec<String> {
    let files = if path.is_dir() {
        files_under(path)
    } else if path.is_file() {
        vec![path.to_owned()]
    } else {
        Vec::new()
    };
    files
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
        .map(|f| {
            std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("read {}: {e}", f.display()))
        })
        .collect()
}

/// What issue #15 tracks in the source tree: how big the writer is (`repo.rs`, plus
/// `repo/` once it is split) and how many locks the peer code takes.
fn source() -> Vec<Figure> {
    let daemon = workspace().join("daemon/src");
    let repo_lines: usize = [daemon.join("repo.rs"), daemon.join("repo")]
        .iter()
        .flat_map(|p| rust_sources(p))
        .map(|text| text.lines().count())
        .sum();
    let peer_locks: usize = rust_sources(&daemon.join("peer"))
        .iter()
        .map(|text| text.matches(".lock()").count())
        .sum();
    vec![
        Figure {
            key: "repo_lines",
            label: "lines in daemon/src/repo.rs (or repo/)",
            value: repo_lines as f64,
            target: "",
            better: Better::Lower,
        },
        Figure {
            key: "peer_lock_calls",
            label: ".lock() calls in daemon/src/peer/",
            value: peer_locks as f64,
            target: "",
            better: Better::Lower,
        },
    ]
}

fn startup(keep: bool) -> Vec<Figure> {
    eprintln!("start-up: filling a store with {ENTITIES} entities in {ENTITIES} changes ...");
    let big = Home::init("Bench");
    fill(big.path(), ENTITIES);
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
    if keep {
        drop(d);
        eprintln!("kept the 10k-entity home in {}", big.keep().display());
    }
    vec![
        Figure {
            key: "startup_ms_10k_entities",
            label: "start-up, 10k entities (ms, median of 5)",
            value: startup_ms,
            target: "< 300",
            better: Better::Lower,
        },
        Figure {
            key: "idle_rss_mib_10k_entities",
            label: "idle RSS, 10k entities (MiB)",
            value: loaded_rss as f64 / 1024.0,
            target: "",
            better: Better::Lower,
        },
        Figure {
            key: "idle_cpu_percent",
            label: "idle CPU over 5 s (%)",
            value: idle_cpu_pct,
            target: "~0",
            better: Better::Lower,
        },
    ]
}

fn backup() -> Vec<Figure> {
    eprintln!("backup: filling a store with {ENTITIES} entities in {ENTITIES} changes ...");
    let big = Home::init("Bench");
    fill(big.path(), ENTITIES);
    let d = Daemon::start(big.path());
    let scratch = tempfile::tempdir().expect("temp dir");
    let (pass, archive) = (scratch.path().join("pass"), scratch.path().join("a.tandem"));
    std::fs::write(&pass, "bench passphrase\n").expect("write the passphrase file");
    let path = |p: &std::path::Path| p.to_str().expect("utf-8 path").to_owned();
    let t = Instant::now();
    d.cli_ok(&["backup", &path(&archive), "--passphrase-file", &path(&pass)]);
    let backup_ms = t.elapsed().as_secs_f64() * 1000.0;
    let bytes = std::fs::metadata(&archive).expect("the archive").len();
    let restored = scratch.path().join("restored");
    let t = Instant::now();
    let out = tandem_tests::tandem(&restored)
        .args([
            "restore",
            &path(&archive),
            "--passphrase-file",
            &path(&pass),
        ])
        .output()
        .expect("run tandem restore");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restore_ms = t.elapsed().as_secs_f64() * 1000.0;
    vec![
        Figure {
            key: "backup_kib_10k_entities",
            label: "backup archive, 10k entities (KiB)",
            value: bytes as f64 / 1024.0,
            target: "",
            better: Better::Lower,
        },
        Figure {
            key: "backup_ms_10k_entities",
            label: "tandem backup, 10k entities (ms)",
            value: backup_ms,
            target: "",
            better: Better::Lower,
        },
        Figure {
            key: "restore_ms_10k_entities",
            label: "tandem restore, 10k entities (ms)",
            value: restore_ms,
            target: "",
            better: Better::Lower,
        },
    ]
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Times `edits` ideas added on `a` until `b`'s event stream announces each.
fn propagation(a: &Daemon, b: &Daemon, edits: usize) -> Vec<Duration> {
    propagation_to(a, &b.events(), edits)
}

/// Times `edits` ideas added on `a` until `events` (another daemon's stream) announces each.
fn propagation_to(a: &Daemon, events: &Receiver<String>, edits: usize) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(edits);
    for n in 0..edits {
        let title = format!("edit {n}");
        let t = Instant::now();
        assert_eq!(a.post("/v1/ideas", &json!({ "title": title })).status, 201);
        loop {
            let data = events
                .recv_timeout(Duration::from_secs(10))
                .expect("B announces the change");
            if data.contains(&format!("\"summary\":\"{title}\"")) {
                break;
            }
        }
        latencies.push(t.elapsed());
    }
    latencies.sort();
    latencies
}

/// The packet-fault helper, built next to this benchmark (same profile, same target dir,
/// so only its own file compiles).
fn netfault() -> std::path::PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = std::process::Command::new(cargo);
    build.args([
        "build",
        "--quiet",
        "-p",
        "tandem-tests",
        "--bin",
        "netfault",
    ]);
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "building netfault failed");
    std::env::current_exe()
        .expect("own path")
        .with_file_name("netfault")
}

/// Propagation between two laptops in network namespaces whose every packet is delayed
/// `delay` plus up to `jitter`, with `loss_percent` lost (Wi-Fi-like). `None` where
/// namespaces or packet queues are unavailable.
fn wifi_link(delay: Duration, jitter: Duration, loss_percent: u32) -> Option<Vec<Duration>> {
    let net = match NetPair::create() {
        Ok(net) => net,
        Err(why) => {
            eprintln!("sync: skipping the Wi-Fi figure: {why}");
            return None;
        }
    };
    let (a_home, b_home) = (Home::init("Alex"), Home::init("Sam"));
    let a = Daemon::start_in(a_home.path(), &net.ns[0]);
    let b = Daemon::start_in(b_home.path(), &net.ns[1]);
    let code = a.pairing_code(false);
    let addr = format!("{}:{}", net.ip[0], a.cli_json(&["status"])["peer_port"]);
    b.cli_ok(&["pair", &code, "--addr", &addr]);
    let fault = Fault {
        delay,
        jitter,
        loss_percent,
    };
    let _impairment = match net.impair(&netfault(), fault) {
        Ok(impairment) => impairment,
        Err(why) => {
            eprintln!("sync: skipping the Wi-Fi figure: {why}");
            return None;
        }
    };
    // B's event stream is opened from a thread inside B's namespace, the edits are posted
    // from one inside A's: each socket lives where its daemon does.
    let events = std::thread::scope(|s| {
        s.spawn(|| {
            netns::enter(&net.ns[1]).expect("enter B's namespace");
            b.events()
        })
        .join()
        .expect("open B's events")
    });
    let (a, ns) = (&a, &net.ns[0]);
    Some(std::thread::scope(|s| {
        s.spawn(move || {
            netns::enter(ns).expect("enter A's namespace");
            propagation_to(a, &events, 100)
        })
        .join()
        .expect("time edits")
    }))
}

fn sync() -> Vec<Figure> {
    eprintln!("sync: {EDITS} edits from A, each timed until B's API announces it ...");
    let (a_home, b_home) = (Home::init("Alex"), Home::init("Sam"));
    let (a, b) = (a_home.start(), b_home.start());
    pair(&a, &b, false);
    assert!(eventually(Duration::from_secs(10), || b
        .cli_json(&["peers"])[0]["connected"]
        == true));
    let ports = [&a, &b].map(|d| d.cli_json(&["status"])["peer_port"].as_u64().expect("port"));
    let sent_before = a.get("/v1/peers").body[0]["bytes_sent"]
        .as_u64()
        .unwrap_or(0);
    let wire_before = wire_bytes(&ports);
    let mut latencies = propagation(&a, &b, EDITS);
    let wire_after = wire_bytes(&ports);
    let sent_after = a.get("/v1/peers").body[0]["bytes_sent"]
        .as_u64()
        .unwrap_or(0);
    latencies.sort();
    eprintln!("sync: {B2B_EDITS} edits from {B2B_CLIENTS} clients on A, back to back ...");
    let b2b_per_s = back_to_back(&a, &b, B2B_EDITS);
    eprintln!("sync: 100 edits between namespaces, 20-30 ms each way, 1% loss ...");
    let wifi = wifi_link(Duration::from_millis(20), Duration::from_millis(10), 1);
    let bytes_per_edit = (sent_after - sent_before) as f64 / EDITS as f64;
    let wire_per_edit = match (wire_before, wire_after) {
        (Some(before), Some(after)) => (after - before) as f64 / EDITS as f64,
        _ => f64::NAN,
    };

    vec![
        Figure {
            key: "propagation_p50_ms",
            label: "change on A visible via B's API, p50 (ms)",
            value: percentile(&latencies, 0.5),
            target: "< 5",
            better: Better::Lower,
        },
        Figure {
            key: "propagation_p99_ms",
            label: "change on A visible via B's API, p99 (ms)",
            value: percentile(&latencies, 0.99),
            target: "<= 4 (issue #21)",
            better: Better::Lower,
        },
        Figure {
            key: "back_to_back_edits_per_s",
            label: "edits/s A→B back to back, durable on both",
            value: b2b_per_s,
            target: ">= 1000 (issue #21)",
            better: Better::Higher,
        },
        Figure {
            key: "propagation_wifi_p50_ms",
            label: "same, Wi-Fi-like netns link, p50 (ms)",
            value: wifi.as_deref().map_or(f64::NAN, |w| percentile(w, 0.5)),
            target: "20-30 ms one way, 1% loss",
            better: Better::Lower,
        },
        Figure {
            key: "propagation_wifi_p99_ms",
            label: "same, Wi-Fi-like netns link, p99 (ms)",
            value: wifi.as_deref().map_or(f64::NAN, |w| percentile(w, 0.99)),
            target: "",
            better: Better::Lower,
        },
        Figure {
            key: "bytes_per_edit",
            label: "frame bytes sent per small edit",
            value: bytes_per_edit,
            target: "< 1024",
            better: Better::Lower,
        },
        Figure {
            key: "wire_bytes_per_edit",
            label: "TCP payload per small edit, both ways (B)",
            value: wire_per_edit,
            target: "<= 400 (issue #21)",
            better: Better::Lower,
        },
    ]
}

/// The first sync of a 10k-entity home to a freshly paired laptop beside the floor
/// Automerge sets for it in this process ([`AutomergeFloor`]), then propagation with 10k
/// entities in the documents.
fn big_sync() -> Vec<Figure> {
    eprintln!("big-sync: first sync of a {ENTITIES}-change document ...");
    let (big_home, fresh_home) = (Home::init("Alex"), Home::init("Sam"));
    fill(big_home.path(), ENTITIES);
    let floor = AutomergeFloor::measure(&big_home.path().join("docs/shared/doc.automerge"));
    let (big, fresh) = (big_home.start(), fresh_home.start());
    pair(&big, &fresh, false);
    let t = Instant::now();
    // Done when each side says the other has exactly its documents. `/v1/peers` is
    // answered off the writer: polling `/v1/status` this often (its counts hydrate every
    // entity on the writer) would slow the very sync it times.
    let in_sync = |d: &Daemon| d.get("/v1/peers").body[0]["in_sync"] == true;
    let deadline = t + Duration::from_secs(60);
    while !(in_sync(&fresh) && in_sync(&big)) {
        assert!(Instant::now() < deadline, "the first sync took over 60 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    let first_sync_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(
        fresh.get("/v1/status").body["heads"]["shared"],
        big.get("/v1/status").body["heads"]["shared"],
        "both sides said in sync"
    );
    eprintln!(
        "big-sync: first sync {first_sync_ms:.0} ms = {:.2}x the in-process sync into an empty \
         document ({:.0} ms; load {:.0} ms, from genesis {:.0} ms)",
        first_sync_ms / floor.into_empty_ms,
        floor.into_empty_ms,
        floor.load_ms,
        floor.from_genesis_ms
    );
    assert_eq!(
        fresh.get("/v1/status").body["counts"]["plans"],
        (ENTITIES / 2) as u64
    );
    assert_eq!(
        fresh.get("/v1/status").body["counts"]["notes"],
        0,
        "the private notes stayed home"
    );
    eprintln!("big-sync: {EDITS} edits from A to B, with {ENTITIES} entities in the documents ...");
    let big_latencies = propagation(&big, &fresh, EDITS);
    vec![
        Figure {
            key: "propagation_p50_ms_10k",
            label: "same, 10k entities in the document, p50 (ms)",
            value: percentile(&big_latencies, 0.5),
            target: "",
            better: Better::Lower,
        },
        Figure {
            key: "propagation_p99_ms_10k",
            label: "same, 10k entities in the document, p99 (ms)",
            value: percentile(&big_latencies, 0.99),
            target: "<= 4 (issue #21)",
            better: Better::Lower,
        },
        Figure {
            key: "first_sync_ms_10k_changes",
            label: "first sync after pairing, 10k changes (ms)",
            value: first_sync_ms,
            target: "< 1000",
            better: Better::Lower,
        },
        Figure {
            key: "floor_load_ms_10k",
            label: "floor: Automerge load of that file (ms)",
            value: floor.load_ms,
            target: "",
            better: Better::Lower,
        },
        Figure {
            key: "floor_sync_into_empty_ms_10k",
            label: "floor: in-process sync into empty doc (ms)",
            value: floor.into_empty_ms,
            target: "",
            better: Better::Lower,
        },
        Figure {
            key: "floor_sync_from_genesis_ms_10k",
            label: "floor: in-process sync into genesis doc (ms)",
            value: floor.from_genesis_ms,
            target: "",
            better: Better::Lower,
        },
        Figure {
            key: "first_sync_ratio_to_floor",
            label: "first sync / sync into empty doc (same run)",
            value: first_sync_ms / floor.into_empty_ms,
            target: "<= 1.5 (issue #21)",
            better: Better::Lower,
        },
    ]
}

/// The mailbox (issue #22) between two laptops that share only a folder, never online
/// together: the bytes written to the folder per small edit (the bundle and every
/// acknowledgement or echo it causes, each version of each file seen by listing the folder
/// every millisecond), the time from a bundle landing (its modification time: written,
/// then fsync'd and renamed into place) to the partner's API announcing it over 50 edits,
/// and the folder once a simulated month (6 days of 60 edits on each side, one laptop
/// restarting each day) has settled.
fn mailbox() -> Vec<Figure> {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tandem_tests::mailbox::{SOON, apart, bundles, set_mailbox};
    const EDITS: usize = 50;

    eprintln!("mailbox: {EDITS} edits through a folder, each timed from its bundle landing ...");
    let (a_home, b_home, mut a, mut b) = apart(["Alex", "Sam"]);
    let folder = tempfile::tempdir().expect("temp dir");
    let folder = folder.path();
    set_mailbox(&a, folder);
    set_mailbox(&b, folder);
    let (a_id, b_id) = (a.device_id(), b.device_id());
    let settled = || bundles(folder, &a_id).is_empty() && bundles(folder, &b_id).is_empty();
    assert!(eventually(SOON, settled), "the first bundles are pruned");
    // Every (file, size, mtime) seen while `stop` is unset, those there at first excepted:
    // each is one version of a file written into the folder.
    let written = |stop: &AtomicBool| {
        let list = || -> Vec<(PathBuf, u64, std::time::SystemTime)> {
            files_under(folder)
                .into_iter()
                .filter(|f| !f.to_string_lossy().contains(".tmp-"))
                .filter_map(|f| {
                    let meta = std::fs::metadata(&f).ok()?;
                    Some((f, meta.len(), meta.modified().ok()?))
                })
                .collect()
        };
        let mut seen: HashSet<_> = list().into_iter().collect();
        // Bundles, then acknowledgements.
        let mut bytes = (0, 0);
        while !stop.load(Ordering::Relaxed) {
            for version in list() {
                let name = version
                    .0
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned());
                let (size, ack) = (version.1, name.is_some_and(|n| n.starts_with("ack-")));
                if seen.insert(version) {
                    *if ack { &mut bytes.1 } else { &mut bytes.0 } += size;
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        bytes
    };
    let events = b.events();
    let stop = AtomicBool::new(false);
    let (mut latencies, bytes) = std::thread::scope(|s| {
        let watcher = s.spawn(|| written(&stop));
        let mut latencies = Vec::with_capacity(EDITS);
        for n in 0..EDITS {
            let title = format!("edit {n}");
            let before = bundles(folder, &a_id);
            assert_eq!(a.post("/v1/ideas", &json!({ "title": title })).status, 201);
            // Polled together, so that the announcement is timed when it comes.
            let (mut landed, mut announced) = (None, None);
            let deadline = Instant::now() + SOON;
            while landed.is_none() || announced.is_none() {
                assert!(Instant::now() < deadline, "B announces edit {n}");
                if landed.is_none() {
                    landed = bundles(folder, &a_id)
                        .iter()
                        .find(|p| !before.contains(p))
                        .and_then(|p| std::fs::metadata(p).ok()?.modified().ok());
                }
                while let Ok(data) = events.try_recv() {
                    if data.contains(&format!("\"summary\":\"{title}\"")) {
                        announced = Some(std::time::SystemTime::now());
                    }
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            let (landed, announced) = (landed.unwrap(), announced.unwrap());
            latencies.push(announced.duration_since(landed).unwrap_or_default());
            // Everything this edit causes is written before the next one.
            assert!(
                eventually(SOON, settled),
                "edit {n} is acknowledged and pruned"
            );
        }
        stop.store(true, Ordering::Relaxed);
        (latencies, watcher.join().expect("the folder watcher"))
    });
    latencies.sort();

    eprintln!("mailbox: a simulated month, 720 edits and 6 restarts ...");
    for day in 0..6 {
        for n in 0..60 {
            for (d, who) in [(&a, "Alex"), (&b, "Sam")] {
                let title = format!("{who}'s idea {day}-{n}");
                assert_eq!(d.post("/v1/ideas", &json!({ "title": title })).status, 201);
            }
        }
        if day % 2 == 0 {
            a.terminate();
            a = a_home.start();
        } else {
            b.terminate();
            b = b_home.start();
        }
    }
    assert!(
        eventually(Duration::from_secs(60), || a.heads()["shared"]
            == b.heads()["shared"]),
        "the month converges"
    );
    assert!(eventually(SOON, settled), "the month's bundles are pruned");
    let month_bytes: u64 = files_under(folder)
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    vec![
        Figure {
            key: "mailbox_bytes_per_edit",
            label: "mailbox: folder bytes written per small edit",
            value: (bytes.0 + bytes.1) as f64 / EDITS as f64,
            target: "bundle + acks",
            better: Better::Lower,
        },
        Figure {
            key: "mailbox_bundle_bytes_per_edit",
            label: "mailbox: of which the bundle",
            value: bytes.0 as f64 / EDITS as f64,
            target: "",
            better: Better::Lower,
        },
        Figure {
            key: "mailbox_landing_to_api_p50_ms",
            label: "mailbox: bundle landed to B's API, p50 (ms)",
            value: percentile(&latencies, 0.5),
            target: "< 2000",
            better: Better::Lower,
        },
        Figure {
            key: "mailbox_landing_to_api_p99_ms",
            label: "mailbox: bundle landed to B's API, p99 (ms)",
            value: percentile(&latencies, 0.99),
            target: "< 2000",
            better: Better::Lower,
        },
        Figure {
            key: "mailbox_month_folder_bytes",
            label: "mailbox: folder after a month, 720 edits (B)",
            value: month_bytes as f64,
            target: "bounded",
            better: Better::Lower,
        },
    ]
}

/// Bytes carried both ways by the established TCP connections accepted on `ports` (the
/// peer ports of two paired daemons, so their one live connection): frames, TLS records
/// and all, as the kernel counts them (`ss`). `None` where `ss` is missing or says
/// nothing.
fn wire_bytes(ports: &[u64]) -> Option<u64> {
    let filter = ports
        .iter()
        .map(|p| format!("sport = :{p}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let out = std::process::Command::new("ss")
        .args(["-tinH", "state", "established", &format!("( {filter} )")])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let counter = |name: &str| -> u64 {
        text.split_whitespace()
            .filter_map(|field| field.strip_prefix(name)?.parse::<u64>().ok())
            .sum()
    };
    let total = counter("bytes_sent:") + counter("bytes_received:");
    (out.status.success() && total > 0).then_some(total)
}

/// Acknowledged writes per second from one client and from [`CLIENTS`] at once (one
/// daemon, the single client first), the disk's floor beside them, and the daemon's RSS
/// fresh and after both runs. The floor is the median of three measurements taken before,
/// between and after the write runs: other work on the machine comes and goes in bursts.
fn writes() -> Vec<Figure> {
    let home = Home::init("Bench");
    let floor_now = || fsync_appends_per_s(home.path(), FLOOR_APPENDS);
    let d = home.start();
    std::thread::sleep(Duration::from_millis(500));
    let fresh_rss = rss_kib(d.pid());
    eprintln!("writes: {WRITES} acknowledged POSTs from 1 client, then {CLIENTS} at once ...");
    let mut floors = vec![floor_now()];
    let one = acknowledged_writes_per_s(&d, 1, WRITES);
    floors.push(floor_now());
    let many = acknowledged_writes_per_s(&d, CLIENTS, WRITES);
    floors.push(floor_now());
    floors.sort_by(f64::total_cmp);
    let floor = floors[1];
    vec![
        Figure {
            key: "fsync_floor_per_s",
            label: "floor: fsync'd 256 B appends/s (median of 3)",
            value: floor,
            target: "the disk, not the code",
            better: Better::Higher,
        },
        Figure {
            key: "writes_per_s",
            label: "acknowledged writes/s, 1 client",
            value: one,
            target: "",
            better: Better::Higher,
        },
        Figure {
            key: "writes_per_s_16_clients",
            label: "acknowledged writes/s, 16 concurrent clients",
            value: many,
            target: ">= 5000 (issue #15)",
            better: Better::Higher,
        },
        Figure {
            key: "writes_1_client_pct_of_floor",
            label: "1 client: writes/s as % of the floor",
            value: one / floor * 100.0,
            target: "",
            better: Better::Higher,
        },
        Figure {
            key: "writes_16_clients_pct_of_floor",
            label: "16 clients: writes/s as % of the floor",
            value: many / floor * 100.0,
            target: "> 100 needs group commit",
            better: Better::Higher,
        },
        Figure {
            key: "idle_rss_mib_fresh",
            label: "idle RSS, fresh daemon (MiB)",
            value: fresh_rss as f64 / 1024.0,
            target: "< 20",
            better: Better::Lower,
        },
        Figure {
            key: "rss_mib_after_writes",
            label: "RSS after both write runs (MiB)",
            value: rss_kib(d.pid()) as f64 / 1024.0,
            target: "",
            better: Better::Lower,
        },
    ]
}

/// Fsync'd appends per second of a small record (about one change's size) by one thread
/// to a file in `dir`: what the disk allows a writer that syncs every write, measured in
/// the same run as the daemon so that figures from a busy machine can still be compared.
fn fsync_appends_per_s(dir: &Path, appends: usize) -> f64 {
    let path = dir.join("bench-floor.log");
    let mut file = std::fs::OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    let record = [0x5a_u8; 256];
    let started = Instant::now();
    for _ in 0..appends {
        file.write_all(&record).expect("append a record");
        file.sync_data().expect("fsync the record");
    }
    let per_s = appends as f64 / started.elapsed().as_secs_f64();
    std::fs::remove_file(&path).expect("remove the floor's file");
    per_s
}

/// Acknowledged writes per second when `clients` threads, each on its own keep-alive HTTP
/// connection, together POST `total` ideas to `d`; the daemon answers each only once it
/// is fsync'd. The clock starts when every connection is open.
fn acknowledged_writes_per_s(d: &Daemon, clients: usize, total: usize) -> f64 {
    total as f64
        / post_ideas(d, clients, total, "idea")
            .elapsed()
            .as_secs_f64()
}

/// Adds `total` ideas titled `{prefix} {client}.{n}` on `d` from `clients` concurrent
/// clients, each on its own connection and sending its next as soon as the last was
/// acknowledged; returns when all were, with the moment they started (every client
/// connected first).
fn post_ideas(d: &Daemon, clients: usize, total: usize, prefix: &str) -> Instant {
    assert_eq!(
        total % clients,
        0,
        "{total} writes split evenly over {clients}"
    );
    let each = total / clients;
    let all_connected = Barrier::new(clients + 1);
    let auth = format!("Bearer {}", d.token);
    let url = |path: &str| format!("http://{}{path}", d.addr);
    std::thread::scope(|s| {
        for client in 0..clients {
            let (all_connected, auth, url) = (&all_connected, &auth, &url);
            s.spawn(move || {
                // An agent per client: its own pool, so its own connection, kept alive.
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(30)))
                    .build()
                    .into();
                let exchange = |request: Result<ureq::http::Response<ureq::Body>, ureq::Error>| {
                    let mut response = request.expect("HTTP exchange with tandemd");
                    // Read to the end, or the connection is not reused.
                    let body = response.body_mut().read_to_string().expect("read body");
                    (response.status().as_u16(), body)
                };
                let (status, body) = exchange(
                    agent
                        .get(url("/v1/status"))
                        .header("Authorization", auth)
                        .call(),
                );
                assert_eq!(status, 200, "{body}");
                all_connected.wait();
                for n in 0..each {
                    let (status, body) = exchange(
                        agent
                            .post(url("/v1/ideas"))
                            .header("Authorization", auth)
                            .send_json(json!({ "title": format!("{prefix} {client}.{n}") })),
                    );
                    assert_eq!(status, 201, "{body}");
                }
            });
        }
        all_connected.wait();
        Instant::now()
    })
}

/// Edits per second propagated from `a` to `b` back to back: [`B2B_CLIENTS`] clients add
/// `edits` ideas on `a` as fast as it acknowledges them, timed until `b` has announced
/// each client's last one. `b` announces a change only once it is durable there, and
/// each client's last edit on `a` descends from every edit `a` made before it, so by
/// then every edit is durable on both sides.
fn back_to_back(a: &Daemon, b: &Daemon, edits: usize) -> f64 {
    let events = b.events();
    let started = post_ideas(a, B2B_CLIENTS, edits, "b2b");
    let each = edits / B2B_CLIENTS;
    let mut waiting: Vec<String> = (0..B2B_CLIENTS)
        .map(|client| format!("\"summary\":\"b2b {client}.{}\"", each - 1))
        .collect();
    while !waiting.is_empty() {
        let data = events
            .recv_timeout(Duration::from_secs(30))
            .expect("B announces the edits");
        waiting.retain(|last| !data.contains(last.as_str()));
    }
    edits as f64 / started.elapsed().as_secs_f64()
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
