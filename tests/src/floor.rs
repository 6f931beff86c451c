//! What the bench (`src/bin/bench.rs`) and the performance check of CI
//! (`tests/performance.rs`) share: a home filled with years of use, and the floor
//! Automerge itself sets for syncing its document, measured in the same process and run.

use std::path::Path;
use std::time::{Duration, Instant};

use automerge::ActorId;
use tandem_daemon::store::DocStore;
use tandem_protocol::activity::Activity;
use tandem_protocol::document::{Collection, DocKind, Document};
use tandem_protocol::entity::{Author, Entity};
use tandem_protocol::ids::{EntityId, PersonId};
use tandem_protocol::model::idea::{Idea, NewIdea};
use tandem_protocol::model::note::{NewNote, Note};
use tandem_protocol::model::plan::{NewPlan, Plan};
use tandem_protocol::time::{Moment, Stamp};

/// Writes `entities` entities straight into the home's stores, one change each, as years
/// of use would: half plans, a quarter ideas (shared), a quarter private notes.
pub fn fill(home: &Path, entities: usize) {
    let person = PersonId::parse("bench").expect("id");
    let actor = ActorId::random();
    let (mut shared_store, mut shared) =
        DocStore::open(&home.join("docs/shared"), DocKind::Shared, actor.clone())
            .expect("open shared");
    let (mut private_store, mut private) =
        DocStore::open(&home.join("docs/private"), DocKind::Private, actor).expect("open private");
    let start: jiff::ZonedDateTime = "2021-01-01T19:00[Europe/Paris]".parse().expect("time");
    for n in 0..entities {
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
                    start: Some(Moment(s.clone())),
                    end: Some(Moment(
                        s.checked_add(jiff::Span::new().hours(2)).expect("time"),
                    )),
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

/// What Automerge itself needs for the first sync of a document, in this process, on the
/// same file and in the same run as the daemons: the floor that tandem's first sync is
/// measured against (issue #21), so a busy machine neither hides nor fakes a change. Each
/// figure is the median of [`FLOOR_RUNS`].
pub struct AutomergeFloor {
    /// `Automerge::load` of the file.
    pub load_ms: f64,
    /// Sync from a peer holding the file into an empty document: Automerge sends the
    /// whole document in one message and the receiver loads it.
    pub into_empty_ms: f64,
    /// Sync into a document holding tandem's genesis and upgrade changes (what a freshly
    /// created home has): the changes are applied one by one.
    pub from_genesis_ms: f64,
}

/// Runs of each in-process floor measurement.
const FLOOR_RUNS: usize = 3;

impl AutomergeFloor {
    /// Measures the floor for the document saved in `file`.
    pub fn measure(file: &Path) -> Self {
        let bytes = read(file);
        let load_ms = median_ms(|| {
            let t = Instant::now();
            load(&bytes);
            t.elapsed()
        });
        let from_genesis_ms = median_ms(|| {
            let mut from = load(&bytes);
            let genesis = Document::create(DocKind::Shared, ActorId::random()).save();
            let mut to = automerge::Automerge::load(&genesis).expect("load genesis");
            let t = Instant::now();
            in_process_sync(&mut from, &mut to);
            t.elapsed()
        });
        Self {
            load_ms,
            into_empty_ms: Self::into_empty_ms(file),
            from_genesis_ms,
        }
    }

    /// Only [`AutomergeFloor::into_empty_ms`], the floor a first sync is held to.
    pub fn into_empty_ms(file: &Path) -> f64 {
        let bytes = read(file);
        median_ms(|| {
            let mut from = load(&bytes);
            let t = Instant::now();
            in_process_sync(&mut from, &mut automerge::Automerge::new());
            t.elapsed()
        })
    }
}

fn read(file: &Path) -> Vec<u8> {
    std::fs::read(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()))
}

fn load(bytes: &[u8]) -> automerge::Automerge {
    automerge::Automerge::load(bytes).expect("load the shared document")
}

/// The median of [`FLOOR_RUNS`] runs, in milliseconds.
fn median_ms(mut run: impl FnMut() -> Duration) -> f64 {
    let mut times: Vec<Duration> = (0..FLOOR_RUNS).map(|_| run()).collect();
    times.sort();
    times[FLOOR_RUNS / 2].as_secs_f64() * 1000.0
}

/// Runs Automerge's sync protocol between two documents in memory (messages encoded and
/// decoded as on the wire) until neither has anything to send.
fn in_process_sync(a: &mut automerge::Automerge, b: &mut automerge::Automerge) {
    use automerge::sync::{Message, State, SyncDoc};
    let (mut a_state, mut b_state) = (State::new(), State::new());
    loop {
        let to_b = a.generate_sync_message(&mut a_state).map(Message::encode);
        let to_a = b.generate_sync_message(&mut b_state).map(Message::encode);
        if to_b.is_none() && to_a.is_none() {
            break;
        }
        if let Some(m) = to_b {
            let m = Message::decode(&m).expect("decode a sync message");
            b.receive_sync_message(&mut b_state, m)
                .expect("apply a sync message");
        }
        if let Some(m) = to_a {
            let m = Message::decode(&m).expect("decode a sync message");
            a.receive_sync_message(&mut a_state, m)
                .expect("apply a sync message");
        }
    }
    assert_eq!(a.get_heads(), b.get_heads(), "in-process sync converged");
}
