//! A partner who upgraded first (issue #13, item 1): data this build does not know is kept
//! and passed on, never deleted or rewritten when it edits what it knows.
//!
//! Sam's laptop plays the next version: with Sam's daemon stopped, its shared document is
//! upgraded to a test-only schema version 2 with the same upgrade mechanism a next release
//! ships (a new collection `outings`), and a plan gets a field this build does not know
//! (`color`), a kind and an RSVP it has no name for, written as a newer build would, with
//! the Automerge API. Sam's daemon (this build) then syncs that to Alex, Alex edits the
//! plan's title and RSVPs, and everything the newer build wrote must be on both disks.

use std::path::Path;
use std::time::Duration;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value};
use tandem_daemon::home::Home as DataHome;
use tandem_daemon::store::DocStore;
use tandem_protocol::document::DocKind;
use tandem_protocol::schema::{Schema, SchemaStep};
use tandem_tests::{Home, eventually, pair};

/// The next version, as far as this test needs it: one new shared collection.
const NEXT: Schema = Schema::new(&[SchemaStep {
    version: 2,
    adds: &[(DocKind::Shared, "outings")],
}]);

/// Opens the shared store of the stopped daemon whose home is `home`.
fn shared_store(home: &Path) -> (DocStore, tandem_protocol::document::Document) {
    let data_home = DataHome::resolve(Some(home.to_owned()));
    DocStore::open(
        &data_home.doc_dir(DocKind::Shared.name()),
        DocKind::Shared,
        ActorId::random(),
    )
    .expect("open the shared store")
}

/// The raw Automerge document of a stopped daemon's shared store.
fn raw_shared(home: &Path) -> AutoCommit {
    let (_, mut doc) = shared_store(home);
    AutoCommit::load(&doc.save()).expect("a saved document loads")
}

fn map(doc: &AutoCommit, obj: &ObjId, key: &str) -> ObjId {
    match doc.get(obj, key).expect("read") {
        Some((Value::Object(ObjType::Map), id)) => id,
        other => panic!("{key} is not a map: {other:?}"),
    }
}

fn text(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<String> {
    match doc.get(obj, key).expect("read") {
        Some((Value::Scalar(s), _)) => s.as_str().map(str::to_owned),
        _ => None,
    }
}

/// Writes into Sam's stopped store what the next version would have: the schema upgrade,
/// an outing, and a plan with a new field, a new kind and a new RSVP value.
fn write_as_next_version(sam: &Path, plan_id: &str, sam_id: &str) {
    let (mut store, mut doc) = shared_store(sam);
    assert_eq!(doc.upgrade(&NEXT).expect("upgrade"), Some((1, 2)));
    store.persist(&mut doc).expect("persist the upgrade");
    let mut raw = AutoCommit::load(&doc.save())
        .expect("a saved document loads")
        .with_actor(ActorId::random());
    let heads = raw.get_heads();
    let plan = map(&raw, &map(&raw, &ROOT, "plans"), plan_id);
    raw.put(&plan, "color", "teal").unwrap();
    raw.put(&plan, "kind", "picnic").unwrap();
    let rsvps = map(&raw, &plan, "rsvps");
    raw.put(&rsvps, sam_id, "tentative").unwrap();
    let outings = map(&raw, &ROOT, "outings");
    let outing = raw.put_object(&outings, "o1", ObjType::Map).unwrap();
    raw.put(&outing, "title", "Ferry to the island").unwrap();
    raw.commit();
    doc.apply_changes(&raw.save_after(&heads))
        .expect("apply the newer build's change");
    store.persist(&mut doc).expect("persist");
}

/// Asserts that everything the next version wrote is in the shared store of `home`, and
/// that Alex's edits are there too.
fn assert_next_version_data_kept(who: &str, home: &Path, plan_id: &str, ids: (&str, &str)) {
    let (alex_id, sam_id) = ids;
    let raw = raw_shared(home);
    let plan = map(&raw, &map(&raw, &ROOT, "plans"), plan_id);
    assert_eq!(
        text(&raw, &plan, "title").as_deref(),
        Some("Picnic by the lake"),
        "{who}: Alex's edit"
    );
    assert_eq!(text(&raw, &plan, "color").as_deref(), Some("teal"), "{who}");
    assert_eq!(
        text(&raw, &plan, "kind").as_deref(),
        Some("picnic"),
        "{who}"
    );
    let rsvps = map(&raw, &plan, "rsvps");
    assert_eq!(
        text(&raw, &rsvps, sam_id).as_deref(),
        Some("tentative"),
        "{who}"
    );
    assert_eq!(text(&raw, &rsvps, alex_id).as_deref(), Some("no"), "{who}");
    let outing = map(&raw, &map(&raw, &ROOT, "outings"), "o1");
    assert_eq!(
        text(&raw, &outing, "title").as_deref(),
        Some("Ferry to the island"),
        "{who}"
    );
    assert_eq!(tandem_protocol::schema::version_of(&raw), 2, "{who}");
}

#[test]
fn data_of_a_newer_version_survives_edits_and_sync_both_ways() {
    let alex_home = Home::init("Alex");
    let sam_home = Home::init("Sam");
    // On the fixed clock, so the picnic stays ahead of "now" and `plan list` shows it.
    let alex = alex_home.start_on_fixed_clock();
    let mut sam = sam_home.start_on_fixed_clock();
    pair(&alex, &sam, false);
    let plan = sam.cli_json(&[
        "plan",
        "add",
        "Picnic",
        "--at",
        "2030-06-01 12:00",
        "--for",
        "3h",
    ]);
    let plan_id = plan["id"].as_str().expect("plan id").to_owned();
    let alex_id = alex.cli_json(&["status"])["me"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sam_id = sam.cli_json(&["status"])["me"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(sam.terminate().code(), Some(0));

    write_as_next_version(sam_home.path(), &plan_id, &sam_id);
    let sam = sam_home.start_on_fixed_clock();
    alex.cli_ok(&["peer", "add", &sam.peer_addr()]);
    assert!(
        eventually(Duration::from_secs(20), || alex.heads()["shared"]
            == sam.heads()["shared"]),
        "Sam's next-version document did not reach Alex"
    );

    // The whole list still reads on Alex's laptop; the new kind shows as unknown.
    let plans = alex.cli_json(&["plan", "list"]);
    let listed = plans
        .as_array()
        .expect("a list")
        .iter()
        .find(|p| p["id"] == plan_id.as_str())
        .expect("the plan is listed");
    assert_eq!(listed["kind"], "unknown");
    assert_eq!(listed["rsvps"][&sam_id], "unknown");

    alex.cli_ok(&["plan", "edit", &plan_id, "--title", "Picnic by the lake"]);
    alex.cli_ok(&["plan", "rsvp", &plan_id, "no"]);
    assert!(
        eventually(Duration::from_secs(20), || {
            sam.cli_json(&["plan", "show", &plan_id])["title"] == "Picnic by the lake"
                && alex.heads()["shared"] == sam.heads()["shared"]
        }),
        "Alex's edits did not reach Sam"
    );

    // A note, not a problem: Alex's documents were upgraded by a newer tandem.
    let status = alex.cli_ok(&["status"]);
    assert!(
        status.contains("newer tandem") && status.contains("upgrade to keep every feature"),
        "{status}"
    );
    let doctor = alex.cli(&["doctor"]);
    let doctor_text = String::from_utf8_lossy(&doctor.stdout).into_owned();
    assert!(
        doctor_text.contains("note") && doctor_text.contains("upgrade to keep every feature"),
        "{doctor_text}"
    );

    let (mut alex, mut sam) = (alex, sam);
    assert_eq!(alex.terminate().code(), Some(0));
    assert_eq!(sam.terminate().code(), Some(0));
    for (who, home) in [("Alex", alex_home.path()), ("Sam", sam_home.path())] {
        assert_next_version_data_kept(who, home, &plan_id, (&alex_id, &sam_id));
    }
}
