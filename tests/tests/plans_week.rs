//! Plans people make, what needs me, and a balance that looks ahead (issue #18), through
//! the HTTP API of two paired daemons whose clocks start at the same fixed instant
//! (`TANDEM_NOW`): Sunday 25 October 2026, 18:30 in Paris, the evening the clocks went
//! back, so the test reads the same on any weekday it runs.
//!
//! Alex proposes Monday's picnic; Sam suggests another time and Alex accepts it; they talk
//! it through in comments; Sam writes down a trip with no date yet; the idea jar is drawn,
//! planned from and retired; the balance on that Sunday counts Monday's picnic in the
//! next seven days and not in the week; and each side's "what needs me" lists what waits
//! for them, the partner's answered check-in included.

use std::time::Duration;

use serde_json::{Value, json};
use tandem_tests::{Daemon, Home, eventually, pair};

/// Sunday 25 October 2026, 18:30 CET: the check-in of week 43 is due.
const NOW: &str = "2026-10-25T18:30:00+01:00";
const SOON: Duration = Duration::from_secs(10);

fn kinds(today: &Value) -> Vec<String> {
    today["items"]
        .as_array()
        .expect("a list of items")
        .iter()
        .map(|i| i["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn item<'a>(today: &'a Value, kind: &str, id: &str) -> Option<&'a Value> {
    today["items"]
        .as_array()?
        .iter()
        .find(|i| i["kind"] == kind && i["id"] == id)
}

fn id_of(reply: &Value) -> String {
    reply["id"].as_str().expect("an id").to_owned()
}

/// Waits until `daemon` holds the plan `id` and `check` holds for it.
fn plan_on(daemon: &Daemon, id: &str, check: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let held = eventually(SOON, || {
        last = daemon.get(&format!("/v1/plans/{id}")).body;
        check(&last)
    });
    assert!(held, "plan {id} never got there: {last}");
    last
}

/// Waits until `daemon`'s "what needs me" satisfies `check`.
fn today_on(daemon: &Daemon, check: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let held = eventually(SOON, || {
        last = daemon.get("/v1/today").body;
        check(&last)
    });
    assert!(held, "what needs me never got there: {last}");
    last
}

#[test]
fn a_week_of_plans_through_the_api_on_two_laptops() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let alex = Daemon::start_at(alex_home.path(), NOW);
    let sam = Daemon::start_at(sam_home.path(), NOW);
    pair(&alex, &sam, false);

    // The clock is the test's: stamps are that Sunday evening.
    let status = alex.get("/v1/status").body;
    assert!(
        status["today"]["now"]
            .as_str()
            .unwrap()
            .starts_with("2026-10-25T17:3"),
        "{status}"
    );

    // Alex proposes Monday's picnic; it waits for Sam's answer on his laptop.
    let picnic = alex.post(
        "/v1/plans",
        &json!({"title": "Picnic", "start": "2026-10-26T12:00[Europe/Paris]",
                "end": "2026-10-26T15:00[Europe/Paris]"}),
    );
    assert_eq!(picnic.status, 201, "{:?}", picnic.body);
    let picnic = id_of(&picnic.body);
    let sams = today_on(&sam, |t| item(t, "plan_to_answer", &picnic).is_some());
    assert_eq!(
        item(&sams, "plan_to_answer", &picnic).unwrap()["message"],
        "Alex proposed \"Picnic\" for Mon 26 Oct 12:00: answer with yes, no or maybe"
    );

    // Sam suggests 13:00 instead. Alex cannot counter her own plan, nor Sam answer his.
    let mine = alex.post(
        &format!("/v1/plans/{picnic}/proposals"),
        &json!({"start": "2026-10-26T13:00[Europe/Paris]", "end": "2026-10-26T16:00[Europe/Paris]"}),
    );
    assert_eq!(
        (mine.status, &mine.body["error"]["code"]),
        (409, &json!("own_plan"))
    );
    let backwards = sam.post(
        &format!("/v1/plans/{picnic}/proposals"),
        &json!({"start": "2026-10-26T16:00[Europe/Paris]", "end": "2026-10-26T13:00[Europe/Paris]"}),
    );
    assert_eq!(
        (backwards.status, &backwards.body["error"]["field"]),
        (422, &json!("end"))
    );
    let counter = sam.post(
        &format!("/v1/plans/{picnic}/proposals"),
        &json!({"start": "2026-10-26T13:00[Europe/Paris]", "end": "2026-10-26T16:00[Europe/Paris]"}),
    );
    assert_eq!(counter.status, 201, "{:?}", counter.body);
    let not_his = sam.post(&format!("/v1/plans/{picnic}/accept"), &json!({}));
    assert_eq!(
        (not_his.status, &not_his.body["error"]["code"]),
        (403, &json!("not_yours"))
    );
    assert_eq!(
        not_his.body["error"]["message"],
        "only Alex can accept or decline a new time for Alex's plan"
    );

    // Alex sees it waiting for her, and takes it: the plan moves and is on for both.
    let alexs = today_on(&alex, |t| item(t, "time_to_answer", &picnic).is_some());
    assert_eq!(
        item(&alexs, "time_to_answer", &picnic).unwrap()["message"],
        "Sam suggests Mon 26 Oct 13:00 instead of Mon 26 Oct 12:00 for \"Picnic\": accept or decline"
    );
    let accepted = alex.post(&format!("/v1/plans/{picnic}/accept"), &json!({}));
    assert_eq!(accepted.status, 200, "{:?}", accepted.body);
    assert_eq!(accepted.body["status"], "scheduled");
    let again = alex.post(&format!("/v1/plans/{picnic}/decline"), &json!({}));
    assert_eq!(
        (again.status, &again.body["error"]["code"]),
        (409, &json!("no_proposal"))
    );
    let on_sams = plan_on(&sam, &picnic, |p| p["status"] == "scheduled");
    assert!(
        on_sams["start"]
            .as_str()
            .unwrap()
            .starts_with("2026-10-26T13:00"),
        "{on_sams}"
    );
    let history: Vec<&Value> = on_sams["proposals"].as_object().unwrap().values().collect();
    assert_eq!(history.len(), 1, "the history is kept: {on_sams}");
    assert_eq!(history[0]["outcome"], "accepted");
    assert!(
        !kinds(&sam.get("/v1/today").body).contains(&"plan_to_answer".to_owned()),
        "both said yes with the acceptance"
    );

    // They talk it through: Sam's comment is new to Alex until she looks at the plan.
    let bad = sam.post(
        &format!("/v1/plans/{picnic}/comments"),
        &json!({"text": "bell\u{7}"}),
    );
    assert_eq!(
        (bad.status, &bad.body["error"]["field"]),
        (400, &json!("text"))
    );
    let said = sam.post(
        &format!("/v1/plans/{picnic}/comments"),
        &json!({"text": "I'll bring the rug\r\nand tea"}),
    );
    assert_eq!(said.status, 201, "{:?}", said.body);
    let alexs = today_on(&alex, |t| item(t, "new_comments", &picnic).is_some());
    assert_eq!(item(&alexs, "new_comments", &picnic).unwrap()["count"], 1);
    let comments = plan_on(&alex, &picnic, |p| {
        !p["comments"].as_object().unwrap().is_empty()
    });
    let comment = comments["comments"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(comment["text"], "I'll bring the rug\nand tea");
    assert_eq!(comment["by"], sam.get("/v1/status").body["me"]["id"]);
    assert_eq!(
        alex.post(&format!("/v1/plans/{picnic}/seen"), &json!({}))
            .status,
        204
    );
    assert!(item(&alex.get("/v1/today").body, "new_comments", &picnic).is_none());

    // Sam writes down a trip with no date yet; it waits for Alex as "some day".
    let half = sam.post(
        "/v1/plans",
        &json!({"title": "Trip to Lisbon", "start": "2027-04-02T09:00[Europe/Lisbon]"}),
    );
    assert_eq!(
        (half.status, &half.body["error"]["field"]),
        (422, &json!("end"))
    );
    let trip = sam.post("/v1/plans", &json!({"title": "Trip to Lisbon"}));
    assert_eq!(trip.status, 201, "{:?}", trip.body);
    assert_eq!(
        trip.body["start"], trip.body["end"],
        "no time yet: {:?}",
        trip.body
    );
    let trip = id_of(&trip.body);
    let alexs = today_on(&alex, |t| item(t, "plan_to_answer", &trip).is_some());
    assert_eq!(
        item(&alexs, "plan_to_answer", &trip).unwrap()["message"],
        "Sam proposed \"Trip to Lisbon\" for some day (no time yet): answer with yes, no or maybe"
    );

    // The idea jar: draws move through it, a planned or retired idea leaves it.
    let ideas: Vec<String> = ["Night swim", "Pottery class", "Stargazing"]
        .iter()
        .map(|title| id_of(&alex.post("/v1/ideas", &json!({"title": title})).body))
        .collect();
    let drawn: Vec<String> = (0..3)
        .map(|_| id_of(&alex.post("/v1/ideas/draw", &json!({})).body))
        .collect();
    let mut distinct = drawn.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        3,
        "three draws from three ideas repeat none: {drawn:?}"
    );
    let planned = alex.post(
        &format!("/v1/ideas/{}/plan", ideas[0]),
        &json!({"start": "2026-10-30T21:00[Europe/Paris]", "end": "2026-10-30T23:00[Europe/Paris]"}),
    );
    assert_eq!(planned.status, 201, "{:?}", planned.body);
    assert_eq!(
        (
            planned.body["title"].clone(),
            planned.body["status"].clone()
        ),
        (json!("Night swim"), json!("proposed"))
    );
    assert!(eventually(SOON, || sam
        .get(&format!("/v1/ideas/{}", ideas[1]))
        .status
        == 200));
    let retired = sam.post(&format!("/v1/ideas/{}/retire", ideas[1]), &json!({}));
    assert_eq!(retired.status, 200, "{:?}", retired.body);
    assert!(eventually(SOON, || !alex
        .get(&format!("/v1/ideas/{}", ideas[1]))
        .body["retired_at"]
        .is_null()));
    for _ in 0..3 {
        let draw = alex.post("/v1/ideas/draw", &json!({}));
        assert_eq!(
            id_of(&draw.body),
            ideas[2],
            "only Stargazing is left in the jar"
        );
    }
    let used = alex.post(&format!("/v1/ideas/{}/plan", ideas[1]), &json!({}));
    assert_eq!(
        (used.status, &used.body["error"]["code"]),
        (409, &json!("idea_used"))
    );
    assert_eq!(
        alex.get(&format!("/v1/ideas/{}", ideas[0])).body["planned_as"],
        planned.body["id"]
    );

    // The balance on that Sunday: Monday's picnic is in the next seven days, not the week.
    let balance = sam.get("/v1/balance").body;
    assert_eq!(balance["week"], "2026-W43", "{balance}");
    assert_eq!(balance["together_hours"], 0.0, "{balance}");
    assert_eq!(balance["ahead"]["together_hours"], 3.0, "{balance}");
    assert_eq!(
        balance["ahead"]["proposed_hours"], 2.0,
        "the night swim: {balance}"
    );
    let weeks = sam.get("/v1/balance/weeks?weeks=4").body;
    let names: Vec<&str> = weeks["weeks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["week"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["2026-W40", "2026-W41", "2026-W42", "2026-W43"]);
    assert_eq!(
        weeks["trend"],
        "No check-ins in these weeks yet; you spent 0 hours a week together."
    );
    for bad in ["weeks=0", "weeks=53", "weeks=two"] {
        let reply = sam.get(&format!("/v1/balance/weeks?{bad}"));
        assert_eq!(reply.status, 400, "{bad}: {:?}", reply.body);
        assert!(
            reply.body["error"]["message"].is_string(),
            "{:?}",
            reply.body
        );
    }

    // The partner's side: Alex checks in; Sam's list says she has, never what.
    let sams = sam.get("/v1/today").body;
    let due = sams["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "checkin_due")
        .cloned();
    assert_eq!(
        due.as_ref().map(|d| d["partner_answered"].clone()),
        Some(json!(false)),
        "{sams}"
    );
    let answered = alex.post(
        "/v1/checkins",
        &json!({"enough_alone": 2, "enough_together": 1,
        "went_well": "the picnic plan"}),
    );
    assert_eq!(answered.status, 201, "{:?}", answered.body);
    let sams = today_on(&sam, |t| {
        t["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "checkin_due" && i["partner_answered"] == true)
    });
    assert!(
        !sams.to_string().contains("the picnic plan"),
        "never the answer: {sams}"
    );
    assert_eq!(
        kinds(&sams),
        ["plan_to_answer", "checkin_due"],
        "the night swim awaits Sam, and his check-in; nothing is on today: {sams}"
    );
    assert_eq!(
        sam.get("/v1/status").body["today"]["items"],
        sam.get("/v1/today").body["items"]
    );
}
