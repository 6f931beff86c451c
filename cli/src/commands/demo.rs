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
use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{Span, ZonedDateTime};
use serde_json::json;
use tandem_protocol::api::{BalanceQuery, JoinRequest, PairRequest};
use tandem_protocol::model::agreement::NewAgreement;
use tandem_protocol::model::checkin::NewCheckin;
use tandem_protocol::model::idea::NewIdea;
use tandem_protocol::model::note::NewNote;
use tandem_protocol::model::personal_time::NewPersonalTime;
use tandem_protocol::model::plan::{NewPlan, Plan, PlanKind, Rsvp, RsvpRequest};
use tandem_protocol::time::{IsoWeek, Moment};

use crate::api;
use crate::client::Client;
use crate::show;

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
            && api::status(&client).is_ok()
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

/// The week the demo fills: the one whose Friday is still ahead, so that its date night,
/// personal time and brunch are all to come and `tandem balance --week` shows every one
/// of them, whatever the weekday today (this week until Thursday, next week from Friday).
fn demo_week(now: &ZonedDateTime) -> IsoWeek {
    let three_days_on = now
        .checked_add(Span::new().days(3))
        .unwrap_or_else(|_| now.clone());
    IsoWeek::of(&three_days_on)
}

/// One thing on the demo's calendar: days after the week's Monday, start, minutes.
#[derive(Clone, Copy)]
struct Slot {
    day: i64,
    hour: i8,
    minute: i8,
    minutes: i64,
}

const FRIDAY: i64 = 4;
const SATURDAY: i64 = 5;
const SUNDAY: i64 = 6;

/// Alex's date night, Friday 19:30 for 2 h 30.
const DINNER: Slot = Slot {
    day: FRIDAY,
    hour: 19,
    minute: 30,
    minutes: 150,
};
/// Alex climbing, Saturday 09:00 for 3 h.
const ALEX_ALONE: Slot = Slot {
    day: SATURDAY,
    hour: 9,
    minute: 0,
    minutes: 180,
};
/// Sam's brunch, Sunday 11:00 for 1 h 30: the change shown arriving on Alex's laptop.
const BRUNCH: Slot = Slot {
    day: SUNDAY,
    hour: 11,
    minute: 0,
    minutes: 90,
};
/// Sam's choir, Sunday 14:00 for 3 h.
const SAM_ALONE: Slot = Slot {
    day: SUNDAY,
    hour: 14,
    minute: 0,
    minutes: 180,
};
/// Sam's quality time, Sunday 20:00 for 1 h.
const TALK: Slot = Slot {
    day: SUNDAY,
    hour: 20,
    minute: 0,
    minutes: 60,
};

impl Slot {
    /// Start and end of the slot in `week`, in `tz`.
    fn in_week(self, week: IsoWeek, tz: &TimeZone) -> anyhow::Result<(Moment, Moment)> {
        let start = week
            .monday()
            .checked_add(Span::new().days(self.day))?
            .to_datetime(Time::new(self.hour, self.minute, 0, 0)?)
            .to_zoned_datetime(tz.clone())?;
        let end = start.checked_add(Span::new().minutes(self.minutes))?;
        Ok((Moment(start), Moment(end)))
    }
}

fn plan(
    d: &DemoDaemon,
    title: &str,
    kind: PlanKind,
    (start, end): (Moment, Moment),
    place: &str,
) -> anyhow::Result<Plan> {
    let new = NewPlan {
        title: title.to_owned(),
        kind: Some(kind),
        start: Some(start),
        end: Some(end),
        place: Some(place.to_owned()),
        notes: None,
        status: None,
        recurrence: None,
    };
    Ok(api::PLANS.create(&d.client, &new)?)
}

/// `who` says yes to `plan`, once it has reached their laptop.
fn say_yes(who: &DemoDaemon, plan: &Plan) -> anyhow::Result<()> {
    let yes = RsvpRequest { answer: Rsvp::Yes };
    wait_for(|| api::rsvp(&who.client, plan.id.as_str(), &yes).is_ok())
}

/// A check-in answer with both ratings and both texts.
fn answer(alone: i64, together: i64, went_well: &str, need_next: &str) -> NewCheckin {
    NewCheckin {
        week: None,
        enough_alone: alone,
        enough_together: together,
        went_well: Some(went_well.to_owned()),
        need_next: Some(need_next.to_owned()),
    }
}

/// Runs the demo; with `json`, its outcome is one JSON object instead of lines.
pub fn run(no_wait: bool, json: bool) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("cannot handle Ctrl-C")?;
    }
    let say = |text: String| {
        if !json {
            show::line(&text);
        }
    };
    let scratch = Scratch(std::env::temp_dir().join(format!("tandem-demo-{}", std::process::id())));
    std::fs::create_dir_all(&scratch.0)?;
    say(format!(
        "Starting two laptops' daemons in {} ...",
        scratch.0.display()
    ));
    let alex = start("Alex", &scratch.0.join("alex"))?;
    let sam = start("Sam", &scratch.0.join("sam"))?;

    let invite = api::open_pairing(&alex.client, &PairRequest::default())?;
    let code = invite.code.context("no pairing code")?;
    let alex_status = api::status(&alex.client)?;
    let join = JoinRequest {
        code: code.clone(),
        addr: Some(format!("127.0.0.1:{}", alex_status.peer_port)),
        own: false,
    };
    api::join_pairing(&sam.client, &join)?;
    say(format!(
        "Paired: Alex showed code {code}, Sam typed it. Their laptops now trust only each other."
    ));

    let now = jiff::ZonedDateTime::now();
    let tz = now.time_zone().clone();
    let week = demo_week(&now);
    let dinner = plan(
        &alex,
        "Dinner at Luigi's",
        PlanKind::DateNight,
        DINNER.in_week(week, &tz)?,
        "Luigi's",
    )?;
    // Sam answers once Alex's plan has reached Sam's laptop.
    say_yes(&sam, &dinner)?;
    let talk = plan(
        &sam,
        "Phones away, just talk",
        PlanKind::QualityTime,
        TALK.in_week(week, &tz)?,
        "home",
    )?;
    // Alex says yes once Sam's plan has arrived, so both evenings count as together.
    say_yes(&alex, &talk)?;
    let idea = |title: &str, notes: Option<&str>| NewIdea {
        title: title.to_owned(),
        notes: notes.map(str::to_owned),
    };
    api::IDEAS.create(
        &alex.client,
        &idea("A long weekend in Lisbon", Some("spring?")),
    )?;
    api::IDEAS.create(&sam.client, &idea("Pottery class", None))?;
    let (start, end) = ALEX_ALONE.in_week(week, &tz)?;
    let climbing = NewPersonalTime {
        start,
        end,
        label: None,
        details: Some("climbing with Jo".to_owned()),
    };
    api::PERSONAL_TIME.create(&alex.client, &climbing)?;
    let (start, end) = SAM_ALONE.in_week(week, &tz)?;
    let choir = NewPersonalTime {
        start,
        end,
        label: Some("choir".to_owned()),
        details: Some("choir rehearsal".to_owned()),
    };
    api::PERSONAL_TIME.create(&sam.client, &choir)?;
    let no_phones = NewAgreement {
        text: "No phones at dinner".to_owned(),
        review_on: None,
    };
    let agreement = api::AGREEMENTS.create(&alex.client, &no_phones)?;
    let note = NewNote {
        title: None,
        body: "Ask Sam about the Lisbon trip. Only I can read this.".to_owned(),
    };
    api::NOTES.create(&alex.client, &note)?;
    api::answer_checkin(
        &sam.client,
        &answer(4, 2, "Sunday walk", "an evening just us"),
    )?;
    api::answer_checkin(
        &alex.client,
        &answer(2, 4, "dinner with friends", "a quiet Saturday morning"),
    )?;
    // Sam accepts once Alex's agreement has reached Sam's laptop.
    wait_for(|| api::accept_agreement(&sam.client, agreement.id.as_str()).is_ok())?;
    say(format!(
        "Filled the week of {} ({week}): a date night on Friday and a quality-time evening on",
        week.monday().strftime("%a %-d %b")
    ));
    say("Sunday (both said yes), personal time for each, two ideas, an agreement both".into());
    say("accepted, a check-in each and a private note.".into());

    let t = Instant::now();
    let brunch = plan(
        &sam,
        "Sunday brunch",
        PlanKind::Outing,
        BRUNCH.in_week(week, &tz)?,
        "the corner café",
    )?;
    wait_for(|| api::PLANS.get(&alex.client, brunch.id.as_str()).is_ok())?;
    let sync_ms = t.elapsed().as_secs_f64() * 1000.0;
    say(format!(
        "Sam proposed \"Sunday brunch\": on Alex's laptop after {sync_ms:.1} ms."
    ));

    // Both answered, so both daemons reveal; wait until Alex's laptop shows both answers.
    wait_for(|| {
        api::checkins(&alex.client).is_ok_and(|weeks| {
            weeks
                .first()
                .is_some_and(|w| w.revealed && w.answers.len() == 2)
        })
    })?;
    let this_week = BalanceQuery {
        week: Some(week.to_string()),
        tz: None,
    };
    let report = api::balance(&alex.client, &this_week)?;
    if json {
        show::json(&json!({
            "week": week,
            "pairing_code": code,
            "homes": { "alex": alex.home, "sam": sam.home },
            "sync_ms": sync_ms,
            "balance": report,
            "kept_running": !no_wait,
        }));
    } else {
        say(format!("\nThe balance of {week}, as Alex sees it:"));
        super::balance::print(&report, &super::now_at(&alex.client)?);
    }

    if no_wait {
        say(
            "\nDemo done: both daemons are stopped and their data removed. Run `tandem demo`"
                .into(),
        );
        say("without --no-wait to try commands against them while they run.".into());
        return Ok(());
    }
    say("\nTry it (in another terminal, while this runs):".into());
    for d in [&alex, &sam] {
        say(format!(
            "  export TANDEM_HOME={}   # be {}",
            d.home.display(),
            d.name
        ));
    }
    say(format!(
        "  tandem status; tandem plan list; tandem balance --week {week}; tandem checkin list; tandem log"
    ));
    say("  tandem note list        # Alex sees the note, Sam never does".into());
    say("\nPress Ctrl-C to stop both daemons and remove the demo data.".into());
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    say("\nStopping ...".into());
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every slot of the demo on every weekday, early and late: all in the week the demo
    /// reports on, all still to come, in the order the story tells them.
    #[test]
    fn the_demo_week_is_ahead_on_every_day_of_the_week() {
        let tz = TimeZone::get("Europe/Paris").unwrap();
        for day in 7..=13 {
            for clock in ["00:05", "08:00", "23:55"] {
                let now: ZonedDateTime = format!("2026-12-{day:02}T{clock}[Europe/Paris]")
                    .parse()
                    .unwrap();
                let week = demo_week(&now);
                let (from, to) = week.bounds(&tz).unwrap();
                let mut starts = Vec::new();
                for slot in [DINNER, ALEX_ALONE, BRUNCH, SAM_ALONE, TALK] {
                    let (start, end) = slot.in_week(week, &tz).unwrap();
                    let (start, end) = (start.timestamp(), end.timestamp());
                    assert!(start > now.timestamp(), "{now}: a slot is past");
                    assert!(
                        from <= start && end <= to,
                        "{now}: a slot is outside {week}"
                    );
                    starts.push(start);
                }
                assert!(starts.is_sorted(), "{now}: {starts:?}");
            }
        }
    }

    #[test]
    fn until_thursday_the_demo_fills_this_week_then_the_next() {
        let week = |date: &str| {
            demo_week(&format!("{date}T12:00[Europe/Paris]").parse().unwrap()).to_string()
        };
        assert_eq!(week("2026-12-07"), "2026-W50");
        assert_eq!(week("2026-12-10"), "2026-W50");
        assert_eq!(week("2026-12-11"), "2026-W51");
        assert_eq!(week("2026-12-13"), "2026-W51");
    }
}
