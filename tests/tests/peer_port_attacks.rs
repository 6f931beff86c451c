//! The peer port from an attacker's side on the same Wi-Fi: racing many pairing connections
//! to guess more codes, flooding it with huge frames before proving anything, and holding
//! connections open without a word. Attackers come from other loopback addresses than the
//! partner's (127.0.0.2 and up), as other devices on the network would.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tandem_daemon::identity::Identity;
use tandem_protocol::pairing::PairMessage;
use tandem_tests::stranger::{
    binding, confirmation, connect_from, handshake_from, joiner_pake, recv, rss_kib, send,
    start_message,
};
use tandem_tests::{Daemon, Home, eventually, pair, titles};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Connections each attack opens at once.
const CONNECTIONS: usize = 200;

/// The `n`th attacking source address: 127.0.0.2 to 127.0.0.51.
fn attacker(n: usize) -> IpAddr {
    IpAddr::from([127, 0, 0, 2 + (n % 50) as u8])
}

/// A code that is not `code`.
fn wrong(code: &str) -> &'static str {
    if code.starts_with('1') {
        "2222-2222"
    } else {
        "1111-1111"
    }
}

/// One round of the race: every connection sends a `Start` with `guess` before any sends
/// its confirmation. Returns how many got the inviter's SPAKE2 reply (each such reply is a
/// code the inviter lets the attacker test) and the verdicts on their confirmations.
async fn race_round(eve: &Arc<Identity>, addr: &str, guess: &'static str) -> (usize, Vec<String>) {
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|n| {
            let (eve, addr) = (eve.clone(), addr.to_owned());
            tokio::spawn(async move {
                let mut stream = handshake_from(&eve, attacker(n), &addr).await.ok()?;
                let (inviter, exporter) = binding(&stream);
                let (pake, outbound) = joiner_pake(guess);
                send(&mut stream, &start_message(outbound)).await.ok()?;
                match recv(&mut stream).await? {
                    PairMessage::Reply { pake: theirs, .. } => {
                        let confirm = confirmation(&eve, pake, &theirs, &inviter, &exporter);
                        Some((stream, confirm))
                    }
                    _ => None,
                }
            })
        })
        .collect();
    let mut started = Vec::new();
    for task in tasks {
        if let Some(in_flight) = task.await.unwrap() {
            started.push(in_flight);
        }
    }
    let replies = started.len();
    let mut verdicts = Vec::new();
    for (mut stream, confirm) in started {
        send(&mut stream, &confirm).await.unwrap();
        verdicts.push(match recv(&mut stream).await {
            Some(PairMessage::Refused { reason, .. }) => reason,
            other => format!("{other:?}"),
        });
    }
    (replies, verdicts)
}

#[test]
fn racing_pairing_connections_try_three_codes_at_most() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let (alex, sam) = (alex_home.start(), sam_home.start());
    let code = alex.pairing_code(false);
    let addr = alex.peer_addr();
    let eve = Arc::new(Identity::generate());
    let runtime = tokio::runtime::Runtime::new().unwrap();

    let (mut tried, mut verdicts) = (0, Vec::new());
    for _ in 0..10 {
        let (replies, round) = runtime.block_on(race_round(&eve, &addr, wrong(&code)));
        tried += replies;
        verdicts.extend(round);
        if alex.get("/v1/pairing").body["attempts_left"] == 0 {
            break;
        }
    }
    assert!(
        tried <= 3,
        "{tried} codes were tried against one window; the first verdicts: {:?}",
        &verdicts[..verdicts.len().min(5)]
    );
    assert_eq!(alex.get("/v1/pairing").body["attempts_left"], 0);
    assert!(
        verdicts.last().is_some_and(|v| v.contains("too many")),
        "{verdicts:?}"
    );

    // The right code, typed by the real partner after the lockout, is refused too.
    let out = sam.cli(&["pair", &code, "--addr", &addr]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("too many pairing attempts"), "{stderr}");
    assert_eq!(alex.cli_json(&["peers"]), json!([]));
    assert_eq!(sam.cli_json(&["peers"]), json!([]));
}

/// Opens [`CONNECTIONS`] pairing connections that each announce a 16 MiB frame and send
/// its first 2 MiB, and holds them until `stop`. Returns how many completed a handshake.
async fn flood_huge_frames(addr: String, stop: Arc<AtomicBool>) -> usize {
    let eve = Arc::new(Identity::generate());
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|n| {
            let (eve, addr, stop) = (eve.clone(), addr.clone(), stop.clone());
            tokio::spawn(async move {
                let Ok(mut stream) = handshake_from(&eve, attacker(n), &addr).await else {
                    return false;
                };
                let chunk = vec![0u8; 64 * 1024];
                let mut sent = stream.write_all(&(16u32 << 20).to_be_bytes()).await;
                for _ in 0..32 {
                    if sent.is_err() {
                        break;
                    }
                    sent = stream.write_all(&chunk).await;
                }
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                true
            })
        })
        .collect();
    let mut handshakes = 0;
    for task in tasks {
        handshakes += usize::from(task.await.unwrap());
    }
    handshakes
}

/// Runs the flood against `alex` while Sam adds an idea; returns the largest RSS growth in
/// KiB seen meanwhile, after checking the idea reached Alex during the flood.
fn flood_while_syncing(alex: &Daemon, sam: &Daemon, idea: &str) -> u64 {
    let baseline = rss_kib(alex.pid());
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(baseline));
    let sampler = {
        let (stop, peak, pid) = (stop.clone(), peak.clone(), alex.pid());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let flood = runtime.spawn(flood_huge_frames(alex.peer_addr(), stop.clone()));
    sam.cli_ok(&["idea", "add", idea]);
    let synced = eventually(Duration::from_secs(20), || {
        titles(&alex.get("/v1/ideas").body)
            .iter()
            .any(|t| t == idea)
    });
    // Let every flooding connection have had its say before measuring stops.
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let handshakes = runtime.block_on(flood).unwrap();
    sampler.join().unwrap();
    assert!(synced, "the partner's edit did not arrive during the flood");
    eprintln!(
        "flood: {handshakes} of {CONNECTIONS} handshakes completed; RSS {baseline} KiB -> peak {} KiB",
        peak.load(Ordering::Relaxed)
    );
    peak.load(Ordering::Relaxed) - baseline
}

#[test]
fn huge_frames_before_authentication_cost_little_memory() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let (alex, sam) = (alex_home.start(), sam_home.start());
    pair(&alex, &sam, false);
    sam.cli_ok(&["idea", "add", "Warm-up"]);
    assert!(eventually(Duration::from_secs(20), || alex
        .count("/v1/ideas")
        == 1));

    let closed = flood_while_syncing(&alex, &sam, "During a flood, no code open");
    assert!(
        closed < 20 * 1024,
        "RSS grew by {closed} KiB under a flood with no pairing open"
    );
    alex.pairing_code(false);
    let open = flood_while_syncing(&alex, &sam, "During a flood, a code open");
    assert!(
        open < 20 * 1024,
        "RSS grew by {open} KiB under a flood with a pairing code open"
    );
}

#[test]
fn silent_strangers_are_cut_off_and_do_not_lock_out_the_partner() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let alex = alex_home.start();
    let mut sam = sam_home.start();
    pair(&alex, &sam, false);
    alex.pairing_code(false);
    let addr = alex.peer_addr();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let eve = Arc::new(Identity::generate());

    // TCP connections that never start TLS, and pairing sessions that never send a
    // message, from many addresses.
    let opened = Instant::now();
    let silent: Vec<_> = (0..CONNECTIONS)
        .map(|n| {
            let (eve, addr) = (eve.clone(), addr.clone());
            runtime.spawn(async move {
                // Whatever the daemon says (a pairing refusal), it must then close.
                let mut said = Vec::new();
                if n % 2 == 0 {
                    if let Ok(mut tcp) = connect_from(attacker(n), &addr).await {
                        let _ = tcp.read_to_end(&mut said).await;
                    }
                } else if let Ok(mut tls) = handshake_from(&eve, attacker(n), &addr).await {
                    let _ = tls.read_to_end(&mut said).await;
                }
                // How long the daemon let it sit.
                opened.elapsed()
            })
        })
        .collect();

    // Meanwhile the partner restarts and must get back in to sync.
    sam.terminate();
    let sam = sam_home.start();
    sam.cli_ok(&["idea", "add", "Back while strangers wait"]);
    assert!(
        eventually(Duration::from_secs(20), || {
            titles(&alex.get("/v1/ideas").body).contains(&"Back while strangers wait".to_owned())
        }),
        "the partner could not sync while strangers held connections"
    );

    let mut longest = Duration::ZERO;
    for task in silent {
        let held = runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(30), task).await })
            .expect("the daemon closed every silent connection within 30 s")
            .unwrap();
        longest = longest.max(held);
    }
    eprintln!("silent connections held at most {longest:?}");
    assert!(
        longest < Duration::from_secs(15),
        "a silent stranger was kept for {longest:?}"
    );
}

#[test]
fn refusals_are_logged_once_per_source_and_minute() {
    let home = Home::init("Alex");
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("tandemd.log");
    let alex = Daemon::start_logging_to(home.path(), &log);
    let addr = alex.peer_addr();
    let eve = Identity::generate();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let flooder = IpAddr::from([127, 0, 0, 2]);
    runtime.block_on(async {
        for _ in 0..CONNECTIONS {
            let refused = handshake_from(&eve, flooder, &addr).await;
            assert!(refused.is_err(), "no code is open");
        }
    });
    // A first refusal from another address is logged: once it is in the file, so is
    // everything the flood made the daemon write.
    let marker = IpAddr::from([127, 0, 0, 99]);
    let _ = runtime.block_on(handshake_from(&eve, marker, &addr));
    let lines_from = |source: &str| {
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .filter(|l| l.contains(source))
            .count()
    };
    assert!(
        eventually(Duration::from_secs(10), || lines_from("127.0.0.99:") == 1),
        "the marker refusal was not logged"
    );
    let flood_lines = lines_from("127.0.0.2:");
    assert_eq!(
        flood_lines, 1,
        "{CONNECTIONS} refusals from one address took {flood_lines} log lines"
    );
}
