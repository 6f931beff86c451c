//! Two laptops on one home network, as two network namespaces joined by a veth pair:
//! they find each other with mDNS, pair by code alone, sync, survive a partition and
//! packet delay, loss and reordering (userspace netem: `netfault` on NFQUEUE). Plus
//! `--no-mdns` on loopback.

use std::time::{Duration, Instant};

use serde_json::Value;
use tandem_tests::netns::{Fault, NetPair};
use tandem_tests::relay::FlakyRelay;
use tandem_tests::{Daemon, Home, eventually, fixed_now, pair};

const SOON: Duration = Duration::from_secs(15);

fn titles(d: &Daemon) -> Vec<String> {
    tandem_tests::titles(&d.cli_json(&["plan", "list"]))
}

fn ideas(d: &Daemon) -> usize {
    d.cli_json(&["idea", "list"]).as_array().unwrap().len()
}

fn nearby_has(d: &Daemon, device: &str) -> bool {
    d.cli_json(&["peers", "--nearby"])
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["device_id"] == device)
}

/// Whether a TCP connection from inside namespace `ns` to `addr` is refused by the network
/// itself (no route to it), which the kernel says at once when the link is down: a
/// partition proven without waiting to see that nothing arrives.
fn unreachable_from(ns: &str, addr: &str) -> bool {
    let addr: std::net::SocketAddr = addr.parse().expect("a peer address");
    std::thread::scope(|s| {
        s.spawn(|| {
            tandem_tests::netns::enter(ns).expect("enter the namespace");
            match std::net::TcpStream::connect_timeout(&addr, SOON) {
                Err(e) => matches!(
                    e.kind(),
                    std::io::ErrorKind::NetworkUnreachable | std::io::ErrorKind::HostUnreachable
                ),
                Ok(_) => false,
            }
        })
        .join()
        .expect("probe the link")
    })
}

/// Two daemons in their namespaces, paired by code with no address given.
fn paired_laptops(net: &NetPair) -> (Home, Home, Daemon, Daemon, Duration) {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    // On the fixed clock: the plans they add must stay ahead of "now" to be listed.
    let alex = Daemon::start_in_at(alex_home.path(), &net.ns[0], &fixed_now());
    let sam = Daemon::start_in_at(sam_home.path(), &net.ns[1], &fixed_now());
    let started = Instant::now();
    let alex_id = alex.device_id();
    assert!(
        eventually(SOON, || nearby_has(&sam, &alex_id)),
        "Sam's laptop never saw Alex's on the network"
    );
    let discovered = started.elapsed();
    let code = alex.pairing_code(false);
    let out = sam.cli_ok(&["pair", &code]);
    assert!(out.contains("Paired with Alex"), "{out}");
    (alex_home, sam_home, alex, sam, discovered)
}

#[test]
fn laptops_find_each_other_pair_by_code_and_sync() {
    let Some(net) = NetPair::create_or_skip("laptops_find_each_other_pair_by_code_and_sync") else {
        return;
    };
    let (_a, _s, alex, sam, discovered) = paired_laptops(&net);
    eprintln!("measured: discovery of the partner took {discovered:?}");
    assert!(
        discovered < Duration::from_secs(3),
        "discovery took {discovered:?}"
    );

    let nearby = sam.cli_json(&["peers", "--nearby"]);
    let entry = nearby
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "Alex")
        .unwrap()
        .clone();
    assert!(
        entry["addrs"][0].as_str().unwrap().starts_with(&net.ip[0]),
        "{entry}"
    );

    alex.cli_ok(&[
        "plan",
        "add",
        "Dinner across the hall",
        "--at",
        "2026-12-04 19:30",
    ]);
    assert!(eventually(SOON, || titles(&sam) == ["Dinner across the hall"]));
    sam.cli_ok(&["idea", "add", "Night swim"]);
    assert!(eventually(SOON, || ideas(&alex) == 1));
    let peers = alex.cli_json(&["peers"]);
    assert_eq!(peers[0]["connected"], true);
    assert!(
        peers[0]["addr"].as_str().unwrap().starts_with(&net.ip[1]),
        "{peers}"
    );
}

#[test]
fn a_partition_heals_without_restarts() {
    let Some(net) = NetPair::create_or_skip("a_partition_heals_without_restarts") else {
        return;
    };
    let (_a, _s, alex, sam, _) = paired_laptops(&net);
    alex.cli_ok(&["idea", "add", "Before the partition"]);
    assert!(eventually(SOON, || ideas(&sam) == 1));

    net.set_link(false);
    // The link really is down: from Sam's namespace the kernel refuses at once to reach
    // Alex's peer port (no route), so nothing Alex writes from now on can arrive.
    let alex_peer = format!("{}:{}", net.ip[0], alex.cli_json(&["status"])["peer_port"]);
    let refused = unreachable_from(&net.ns[1], &alex_peer);
    assert!(refused, "Sam's laptop could still reach {alex_peer}");
    alex.cli_ok(&[
        "plan",
        "add",
        "Alex while apart",
        "--at",
        "2026-12-04 19:30",
    ]);
    sam.cli_ok(&["plan", "add", "Sam while apart", "--at", "2026-12-05 19:30"]);
    assert_eq!(titles(&sam), ["Sam while apart"]);
    net.set_link(true);
    let back = Instant::now();
    let both = vec!["Alex while apart".to_owned(), "Sam while apart".to_owned()];
    assert!(
        eventually(Duration::from_secs(30), || titles(&alex) == both
            && titles(&sam) == both),
        "alex {:?} sam {:?}",
        titles(&alex),
        titles(&sam)
    );
    eprintln!(
        "measured: first sync after the link returned took {:?}",
        back.elapsed()
    );
    assert!(eventually(SOON, || alex.heads()["shared"] == sam.heads()["shared"]));
}

#[test]
fn a_flapping_link_and_an_address_change_converge() {
    let Some(mut net) = NetPair::create_or_skip("a_flapping_link_and_an_address_change_converge")
    else {
        return;
    };
    let (_a, _s, alex, sam, _) = paired_laptops(&net);
    for n in 0..6 {
        net.set_link(n % 2 == 1);
        alex.cli_ok(&["idea", "add", &format!("alex during flap {n}")]);
        sam.cli_ok(&["idea", "add", &format!("sam during flap {n}")]);
        std::thread::sleep(Duration::from_millis(300));
    }
    net.set_link(true);
    let back = Instant::now();
    assert!(
        eventually(Duration::from_secs(45), || ideas(&alex) == 12
            && ideas(&sam) == 12),
        "alex {} sam {}",
        ideas(&alex),
        ideas(&sam)
    );
    eprintln!(
        "measured: converged {:?} after the link stopped flapping",
        back.elapsed()
    );

    // Sam's laptop gets a new address while connected.
    let new_ip = net.change_address(1);
    let changed = Instant::now();
    alex.cli_ok(&["idea", "add", "after the address change (alex)"]);
    sam.cli_ok(&["idea", "add", "after the address change (sam)"]);
    assert!(
        eventually(Duration::from_secs(15), || ideas(&alex) == 14
            && ideas(&sam) == 14),
        "alex {} sam {}",
        ideas(&alex),
        ideas(&sam)
    );
    eprintln!(
        "measured: recovered {:?} after Sam's address changed to {new_ip}",
        changed.elapsed()
    );
}

/// Edits on both laptops until each has the other's; returns how long that took.
fn converge_with_edits(alex: &Daemon, sam: &Daemon, tag: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    let before = ideas(alex);
    for n in 0..5 {
        alex.cli_ok(&["idea", "add", &format!("alex {tag} {n}")]);
        sam.cli_ok(&["idea", "add", &format!("sam {tag} {n}")]);
    }
    let want = before + 10;
    assert!(
        eventually(limit, || ideas(alex) == want
            && ideas(sam) == want
            && alex.heads()["shared"] == sam.heads()["shared"]),
        "{tag}: not converged after {limit:?} (alex {}, sam {}, want {want})",
        ideas(alex),
        ideas(sam)
    );
    started.elapsed()
}

#[test]
fn packet_delay_loss_and_reordering_still_converge() {
    let test = "packet_delay_loss_and_reordering_still_converge";
    let Some(net) = NetPair::create_or_skip(test) else {
        return;
    };
    let netfault = std::path::Path::new(env!("CARGO_BIN_EXE_netfault"));
    // Probe: can this machine queue packets to userspace at all?
    let probe = Fault {
        delay: Duration::ZERO,
        jitter: Duration::ZERO,
        loss_percent: 0,
    };
    if let Err(why) = net.impair(netfault, probe) {
        eprintln!("SKIP {test}: cannot impair packets here ({why})");
        return;
    }
    let (_a, _s, alex, sam, _) = paired_laptops(&net);
    assert!(eventually(SOON, || alex.heads()["shared"] == sam.heads()["shared"]));
    let ms = Duration::from_millis;
    let faults = [
        (
            "wifi: 50 ms +0-20 ms, 5% loss",
            Fault {
                delay: ms(50),
                jitter: ms(20),
                loss_percent: 5,
            },
        ),
        (
            "300 ms delay",
            Fault {
                delay: ms(300),
                jitter: ms(0),
                loss_percent: 0,
            },
        ),
        (
            "30% loss",
            Fault {
                delay: ms(2),
                jitter: ms(0),
                loss_percent: 30,
            },
        ),
        (
            "reordering: 5 ms +0-40 ms",
            Fault {
                delay: ms(5),
                jitter: ms(40),
                loss_percent: 0,
            },
        ),
    ];
    for (name, fault) in faults {
        let impairment = net.impair(netfault, fault).expect("impair");
        // One edit takes at least the added delay to cross: the fault is really there.
        let started = Instant::now();
        alex.cli_ok(&["plan", "add", name, "--at", "2026-12-04 19:00"]);
        assert!(eventually(Duration::from_secs(60), || titles(&sam)
            .contains(&name.to_owned())));
        let one = started.elapsed();
        assert!(one >= fault.delay, "{name}: one edit crossed in {one:?}");
        let under = converge_with_edits(&alex, &sam, name, Duration::from_secs(90));
        drop(impairment);
        let recovery = converge_with_edits(
            &alex,
            &sam,
            &format!("after {name}"),
            Duration::from_secs(30),
        );
        eprintln!(
            "measured: {name}: one edit crossed in {one:?}; 10 edits converged in {under:?} \
             under the fault, {recovery:?} once it cleared"
        );
    }
}

#[test]
fn a_slow_flaky_link_still_converges() {
    // Userspace stand-in for netem: 25 ms each way per chunk, and 10% of chunks cut the
    // connection. Sam listens on 127.0.0.2, so every byte goes through the relay.
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let alex = alex_home.start();
    let sam = Daemon::start_with(sam_home.path(), &["--peer-listen", "127.0.0.2"]);
    let relay = FlakyRelay::start(
        alex.peer_addr().parse().unwrap(),
        Duration::from_millis(25),
        0.0,
    );
    let code = alex.pairing_code(false);
    sam.cli_ok(&["pair", &code, "--addr", &relay.addr.to_string()]);
    // From now on the link drops; Sam's daemon redials the remembered (relay) address.
    relay.set_cut_chance(0.1);
    for n in 0..10 {
        alex.cli_ok(&["idea", "add", &format!("alex {n}")]);
        sam.cli_ok(&["idea", "add", &format!("sam {n}")]);
    }
    assert!(
        eventually(Duration::from_secs(90), || ideas(&alex) == 20
            && ideas(&sam) == 20),
        "alex {} sam {}",
        ideas(&alex),
        ideas(&sam)
    );
    assert!(eventually(SOON, || alex.heads()["shared"] == sam.heads()["shared"]));
    eprintln!(
        "measured: converged through a flaky relay that cut {} connections",
        relay.cuts.load(std::sync::atomic::Ordering::Relaxed)
    );
}

#[test]
fn without_mdns_peer_add_still_connects() {
    // Loopback only: the test daemons run with --no-mdns.
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let mut alex = alex_home.start();
    let sam = sam_home.start();
    pair(&alex, &sam, false);
    assert_eq!(
        sam.cli_json(&["peers", "--nearby"]),
        Value::Array(vec![]),
        "no discovery with --no-mdns"
    );
    alex.cli_ok(&["idea", "add", "First"]);
    assert!(eventually(SOON, || ideas(&sam) == 1));

    // Alex comes back on another port: Sam's remembered address is stale until `peer add`.
    assert!(alex.terminate().success());
    std::fs::remove_file(alex_home.path().join("peer.port")).unwrap();
    let alex = Daemon::start_with(alex_home.path(), &["--peer-port", "0"]);
    alex.cli_ok(&["idea", "add", "Second"]);
    let out = sam.cli_ok(&["peer", "add", &alex.peer_addr()]);
    assert!(out.contains("Connected to Alex"), "{out}");
    assert!(eventually(SOON, || ideas(&sam) == 2));
    assert_eq!(sam.cli_json(&["peers"])[0]["found_by"], "manual");
}
