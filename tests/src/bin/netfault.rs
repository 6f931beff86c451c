//! `netfault`: Wi-Fi-like faults on the packets leaving one network namespace, in
//! userspace, for kernels without `sch_netem` (this one and CI's have none).
//!
//! The harness ([`tandem_tests::netns::NetPair::impair`]) queues every packet leaving a
//! namespace's veth to NFQUEUE 0 with iptables, then runs this program inside that
//! namespace. Each packet is held for `--delay-ms` plus a random part of `--jitter-ms`, so
//! packets overtake each other (reordering) when the jitter exceeds the gap between them,
//! and `--loss-pct` percent are dropped. It prints `ready` once bound, and runs until
//! killed; the iptables rule uses `--queue-bypass`, so packets flow unharmed once it is gone.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use nfq::{Queue, Verdict};

/// Queue number used by the harness's iptables rule.
const QUEUE: u16 = 0;

struct Options {
    delay: Duration,
    jitter: Duration,
    loss: f64,
}

fn parse() -> Result<Options, String> {
    let mut options = Options {
        delay: Duration::ZERO,
        jitter: Duration::ZERO,
        loss: 0.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value: u64 = args
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{flag} needs a whole number"))?;
        match flag.as_str() {
            "--delay-ms" => options.delay = Duration::from_millis(value),
            "--jitter-ms" => options.jitter = Duration::from_millis(value),
            "--loss-pct" if value <= 100 => options.loss = value as f64 / 100.0,
            _ => return Err(format!("unknown or out-of-range option {flag} {value}")),
        }
    }
    Ok(options)
}

fn run(options: &Options) -> std::io::Result<()> {
    let mut queue = Queue::open()?;
    queue.bind(QUEUE)?;
    queue.set_fail_open(QUEUE, true)?;
    queue.set_queue_max_len(QUEUE, 8192)?;
    queue.set_nonblocking(true);
    println!("ready");
    // Held packets by release time; the sequence number keeps equal times in order.
    let mut held = BinaryHeap::new();
    let mut messages = std::collections::HashMap::new();
    let mut sequence = 0u64;
    loop {
        loop {
            match queue.recv() {
                Ok(mut message) => {
                    if rand::random::<f64>() < options.loss {
                        message.set_verdict(Verdict::Drop);
                        queue.verdict(message)?;
                        continue;
                    }
                    let extra = options.jitter.mul_f64(rand::random::<f64>());
                    sequence += 1;
                    held.push(Reverse((Instant::now() + options.delay + extra, sequence)));
                    messages.insert(sequence, message);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        let now = Instant::now();
        while let Some(Reverse((at, seq))) = held.peek().copied() {
            if at > now {
                break;
            }
            held.pop();
            if let Some(mut message) = messages.remove(&seq) {
                message.set_verdict(Verdict::Accept);
                queue.verdict(message)?;
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn main() -> std::process::ExitCode {
    let options = match parse() {
        Ok(options) => options,
        Err(why) => {
            eprintln!(
                "netfault: {why}\nusage: netfault [--delay-ms N] [--jitter-ms N] [--loss-pct N]"
            );
            return std::process::ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netfault: NFQUEUE {QUEUE}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
