//! `tandem demo`: two partners on one machine, to try tandem in a minute.
//!
//! Starts two real daemons ("Alex" and "Sam") in a temporary directory on loopback (mDNS
//! off, so nothing leaves the machine), pairs them by code, fills a realistic week, shows a
//! change on one laptop arriving on the other with its measured delay, then waits for
//! Ctrl-C (or exits at once with `--no-wait`) and removes everything it started.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};
use tandem_protocol::api::{CheckinWeek, PairingState, Status};
use tandem_protocol::model::plan::Plan;
use tandem_protocol::time::Moment;

use crate::client::Client;
use crate::show::say;
use crate::when::{parse_duration, parse_when};

/// How long a demo daemon may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A demo daemon; stopped (SIGTERM, then SIGKILL) when dropped.
struct DemoDaemon {
    name: &'static str,
    home: PathBuf,
    child: Child,
    client: Client,
}

impl Drop for DemoDaemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The temporary directory; removed when dropped (after the daemons, declared later).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `tandemd` next to this `tandem`, else on the PATH.
pub fn tandemd() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("tandemd")))
        .filter(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from("tandemd"))
}

fn start(name: &'static str, home: &Path) -> anyhow::Result<DemoDaemon> {
    let child = Command::new(tandemd())
        .arg("--home")
        .arg(home)
        .args(["--name", name, "--peer-listen", "127.0.0.1", "--no-mdns"])
        .args(["--lan-listen", "127.0.0.1"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context(
            "cannot start tandemd: build it first (cargo build --release) or put it on your PATH",
        )?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(client) = Client::connect(home)
            && client.get::<Status>("/v1/status").is_ok()
        {
            return Ok(DemoDaemon {
                name,
                home: home.to_owned(),
                child,
                client,
            });
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{name}'s daemon did not start within {START_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(30));
    }
}

fn at(now: &jiff::ZonedDateTime, when: &str, length: &str) -> anyhow::Result<(Moment, Moment)> {
    let start = parse_when(when, now)?;
    let end = start.checked_add(parse_duration(length)?)?;
    Ok((Moment(start), Moment(end)))
}

fn plan(
    d: &DemoDaemon,
    title: &str,
    kind: &str,
    when: (Moment, Moment),
    place: &str,
) -> anyhow::Result<Plan> {
    Ok(d.client.post(
        "/v1/plans",
        &json!({ "title": title, "kind": kind, "start": when.0, "end": when.1, "place": place }),
    )?)
}

/// Runs the demo.
pub fn run(no_wait: bool) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("cannot handle Ctrl-C")?;
    }
    let scratch = Scratch(std::env::temp_dir().join(format!("tandem-demo-{}", std::process::id())));
    std::fs::create_dir_all(&scratch.0)?;
    say!(
        "Starting two laptops' daemons in {} ...",
        scratch.0.display()
    );
    let alex = start("Alex", &scratch.0.join("alex"))?;
    let sam = start("Sam", &scratch.0.join("sam"))?;

    let invite: PairingState = alex.client.post("/v1/pairing", &json!({}))?;
    let code = invite.code.context("no pairing code")?;
    let alex_status: Status = alex.client.get("/v1/status")?;
    let addr = format!("127.0.0.1:{}", alex_status.peer_port);
    sam.client
        .post::<Value>("/v1/pairing/join", &json!({ "code": code, "addr": addr }))?;
    say!("Paired: Alex showed code {code}, Sam typed it. Their laptops now trust only each other.");

    let now = jiff::ZonedDateTime::now();
    let dinner = plan(
        &alex,
        "Dinner at Luigi's",
        "date_night",
        at(&now, "fri 19:30", "2h30m")?,
        "Luigi's",
    )?;
    // Sam answers once Alex's plan has reached Sam's laptop.
    let rsvp = format!("/v1/plans/{}/rsvp", dinner.id);
    wait_for(|| {
        sam.client
            .post::<Value>(&rsvp, &json!({ "answer": "yes" }))
            .is_ok()
    })?;
    plan(
        &sam,
        "Phones away, just talk",
        "quality_time",
        at(&now, "sun 20:00", "1h")?,
        "home",
    )?;
    alex.client.post::<Value>(
        "/v1/ideas",
        &json!({ "title": "A long weekend in Lisbon", "notes": "spring?" }),
    )?;
    sam.client
        .post::<Value>("/v1/ideas", &json!({ "title": "Pottery class" }))?;
    let (s, e) = at(&now, "sat 09:00", "3h")?;
    alex.client.post::<Value>(
        "/v1/personal-time",
        &json!({ "start": s, "end": e, "details": "climbing with Jo" }),
    )?;
    let (s, e) = at(&now, "sun 14:00", "3h")?;
    sam.client.post::<Value>(
        "/v1/personal-time",
        &json!({ "start": s, "end": e, "label": "choir", "details": "choir rehearsal" }),
    )?;
    let agreement: Value = alex
        .client
        .post("/v1/agreements", &json!({ "text": "No phones at dinner" }))?;
    let agreement_id = agreement["id"].as_str().context("agreement id")?.to_owned();
    alex.client.post::<Value>(
        "/v1/notes",
        &json!({ "body": "Ask Sam about the Lisbon trip. Only I can read this." }),
    )?;
    sam.client.post::<Value>("/v1/checkins", &json!({ "enough_alone": 4, "enough_together": 2, "went_well": "Sunday walk", "need_next": "an evening just us" }))?;
    alex.client.post::<Value>("/v1/checkins", &json!({ "enough_alone": 2, "enough_together": 4, "went_well": "dinner with friends", "need_next": "a quiet Saturday morning" }))?;
    // Sam accepts once Alex's agreement has reached Sam's laptop.
    wait_for(|| {
        sam.client
            .post::<Value>(&format!("/v1/agreements/{agreement_id}/accept"), &json!({}))
            .is_ok()
    })?;
    say!("Filled a week: a date night (both said yes), a quality-time evening, two ideas,");
    say!("personal time for each, an agreement both accepted, a check-in each, a private note.");

    let t = Instant::now();
    let brunch = plan(
        &sam,
        "Sunday brunch",
        "outing",
        at(&now, "sun 11:00", "1h30m")?,
        "the corner café",
    )?;
    wait_for(|| {
        alex.client
            .get::<Plan>(&format!("/v1/plans/{}", brunch.id))
            .is_ok()
    })?;
    say!(
        "Sam proposed \"Sunday brunch\": on Alex's laptop after {:.1} ms.",
        t.elapsed().as_secs_f64() * 1000.0
    );

    // Both answered, so both daemons reveal; wait until Alex's laptop shows both answers.
    wait_for(|| {
        alex.client
            .get::<Vec<CheckinWeek>>("/v1/checkins")
            .is_ok_and(|weeks| {
                weeks
                    .first()
                    .is_some_and(|w| w.revealed && w.answers.len() == 2)
            })
    })?;
    let balance: Value = alex.client.get("/v1/balance")?;
    for line in balance["reading"].as_array().into_iter().flatten() {
        say!("Balance this week: {}", line.as_str().unwrap_or_default());
    }

    say!("\nTry it (in another terminal, while this runs):");
    for d in [&alex, &sam] {
        say!(
            "  export TANDEM_HOME={}   # be {}",
            d.home.display(),
            d.name
        );
    }
    say!("  tandem status; tandem plan list; tandem balance; tandem checkin list; tandem log");
    say!("  tandem note list        # Alex sees the note, Sam never does");
    if no_wait {
        say!("\nDemo done; stopping both daemons.");
        return Ok(());
    }
    say!("\nPress Ctrl-C to stop both daemons and remove the demo data.");
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    say!("\nStopping ...");
    Ok(())
}

/// Retries `check` for up to ten seconds.
fn wait_for(mut check: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the two demo daemons did not sync within 10 s"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}
