//! Two Linux network namespaces joined by a veth pair: two "laptops" on one home network,
//! each with its own address, multicast route (for mDNS) and nothing else. Everything is
//! torn down on drop, even when the test fails. Tests skip with a message where namespaces
//! cannot be created (not root, no `ip`).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Two namespaces and the link between them.
pub struct NetPair {
    /// Namespace names.
    pub ns: [String; 2],
    /// The veth end inside each namespace.
    pub dev: [String; 2],
    /// Each end's IPv4 address.
    pub ip: [String; 2],
}

fn run(args: &[&str]) -> Result<Output, String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl NetPair {
    /// Creates the pair, or says why it cannot (the caller skips).
    pub fn create() -> Result<Self, String> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}{n}", std::process::id() % 100_000);
        let subnet = 10 + (std::process::id() % 200 + n * 7) % 240;
        let pair = Self {
            ns: [format!("tnd{tag}a"), format!("tnd{tag}b")],
            dev: [format!("tv{tag}a"), format!("tv{tag}b")],
            ip: [format!("10.203.{subnet}.1"), format!("10.203.{subnet}.2")],
        };
        for ns in &pair.ns {
            run(&["netns", "add", ns])?;
        }
        let setup = || -> Result<(), String> {
            run(&[
                "link",
                "add",
                &pair.dev[0],
                "type",
                "veth",
                "peer",
                "name",
                &pair.dev[1],
            ])?;
            for i in 0..2 {
                let (ns, dev) = (&pair.ns[i], &pair.dev[i]);
                run(&["link", "set", dev, "netns", ns])?;
                run(&[
                    "-n",
                    ns,
                    "addr",
                    "add",
                    &format!("{}/24", pair.ip[i]),
                    "dev",
                    dev,
                ])?;
                run(&["-n", ns, "link", "set", "lo", "up"])?;
                run(&["-n", ns, "link", "set", dev, "up"])?;
                run(&["-n", ns, "route", "add", "224.0.0.0/4", "dev", dev])?;
            }
            Ok(())
        };
        setup()?;
        Ok(pair)
    }

    /// Creates the pair, or prints why the test is skipped and returns `None`.
    pub fn create_or_skip(test: &str) -> Option<Self> {
        match Self::create() {
            Ok(pair) => Some(pair),
            Err(why) => {
                eprintln!("SKIP {test}: cannot create network namespaces here ({why})");
                None
            }
        }
    }

    /// Takes the link down (`false`) or up (`true`) on both sides: a partition.
    pub fn set_link(&self, up: bool) {
        for i in 0..2 {
            run(&[
                "-n",
                &self.ns[i],
                "link",
                "set",
                &self.dev[i],
                if up { "up" } else { "down" },
            ])
            .expect("set link");
        }
        if up {
            // Bringing a link up drops routes through it; restore the multicast route.
            for i in 0..2 {
                self.restore_multicast_route(i);
            }
        }
    }

    /// Puts back the multicast route mDNS needs, which address and link changes drop.
    fn restore_multicast_route(&self, i: usize) {
        let _ = run(&[
            "-n",
            &self.ns[i],
            "route",
            "replace",
            "224.0.0.0/4",
            "dev",
            &self.dev[i],
        ]);
    }

    /// Gives side `i` a new address on the same subnet, as when a laptop's DHCP lease
    /// changes; returns the new address.
    pub fn change_address(&mut self, i: usize) -> String {
        let old = self.ip[i].clone();
        let new = format!("{}.{}", old.rsplit_once('.').expect("IPv4").0, 3 + i);
        // Removing the old address first: removing a primary address also removes the
        // secondaries of its subnet.
        run(&[
            "-n",
            &self.ns[i],
            "addr",
            "del",
            &format!("{old}/24"),
            "dev",
            &self.dev[i],
        ])
        .expect("remove address");
        run(&[
            "-n",
            &self.ns[i],
            "addr",
            "add",
            &format!("{new}/24"),
            "dev",
            &self.dev[i],
        ])
        .expect("add address");
        self.restore_multicast_route(i);
        self.ip[i] = new.clone();
        new
    }

    /// Wi-Fi-like faults on every packet leaving either side, until the returned guard is
    /// dropped: iptables queues the veth's outgoing packets to `netfault` (the
    /// `tandem-tests` binary at `netfault`, run inside the namespace), which delays, jitters
    /// (reorders) and drops them. `Err` says why it cannot be done here (no `iptables`, or
    /// no NFQUEUE in the kernel); the caller skips.
    pub fn impair(&self, netfault: &Path, fault: Fault) -> Result<Impairment, String> {
        let mut impairment = Impairment {
            ns: self.ns.clone(),
            devs: Vec::new(),
            helpers: Vec::new(),
        };
        for i in 0..2 {
            let mut helper = Command::new("ip")
                .args(["netns", "exec", &self.ns[i]])
                .arg(netfault)
                .args(["--delay-ms", &fault.delay.as_millis().to_string()])
                .args(["--jitter-ms", &fault.jitter.as_millis().to_string()])
                .args(["--loss-pct", &fault.loss_percent.to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| format!("netfault: {e}"))?;
            let mut ready = String::new();
            let _ = BufReader::new(helper.stdout.take().expect("piped")).read_line(&mut ready);
            if ready.trim() != "ready" {
                let _ = helper.kill();
                let mut why = String::new();
                let _ = helper
                    .stderr
                    .take()
                    .expect("piped")
                    .read_to_string(&mut why);
                return Err(format!("netfault did not start: {}", why.trim()));
            }
            impairment.helpers.push(helper);
            iptables(&self.ns[i], "-A", &self.dev[i])?;
            impairment.devs.push(self.dev[i].clone());
        }
        Ok(impairment)
    }
}

/// Moves the calling thread (only it) into namespace `ns`, so the sockets it opens from now
/// on are inside: how the host process reaches a daemon's API on the namespace's loopback.
pub fn enter(ns: &str) -> Result<(), String> {
    let file = std::fs::File::open(format!("/run/netns/{ns}"))
        .map_err(|e| format!("namespace {ns}: {e}"))?;
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("entering namespace {ns}: {e}"))
}

/// Adds (`-A`) or deletes (`-D`) the rule sending `dev`'s outgoing packets to NFQUEUE 0;
/// `--queue-bypass` lets them through untouched when no `netfault` is bound.
fn iptables(ns: &str, action: &str, dev: &str) -> Result<(), String> {
    run(&[
        "netns",
        "exec",
        ns,
        "iptables",
        action,
        "OUTPUT",
        "-o",
        dev,
        "-j",
        "NFQUEUE",
        "--queue-num",
        "0",
        "--queue-bypass",
    ])
    .map(drop)
}

/// What `impair` does to each packet.
#[derive(Clone, Copy, Debug)]
pub struct Fault {
    /// Added to every packet.
    pub delay: Duration,
    /// Up to this much more, at random: packets overtake each other.
    pub jitter: Duration,
    /// Share of packets dropped, in percent.
    pub loss_percent: u32,
}

/// Faults in force; dropping it restores a clean link.
pub struct Impairment {
    ns: [String; 2],
    /// Devices whose rule was added, in namespace order.
    devs: Vec<String>,
    helpers: Vec<Child>,
}

impl Drop for Impairment {
    fn drop(&mut self) {
        for (ns, dev) in self.ns.iter().zip(&self.devs) {
            let _ = iptables(ns, "-D", dev);
        }
        for helper in &mut self.helpers {
            let _ = helper.kill();
            let _ = helper.wait();
        }
    }
}

impl Drop for NetPair {
    fn drop(&mut self) {
        for ns in &self.ns {
            let _ = run(&["netns", "del", ns]);
        }
    }
}
