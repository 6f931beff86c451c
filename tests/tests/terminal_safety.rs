//! Text from the partner must not drive my terminal (issue #12, item 4).
//!
//! Sam is the attacker: a title like `ESC ] 0 ; pwned BEL`, `ESC [ 2 J`, NUL or U+202E
//! (right-to-left override) would retitle Alex's terminal, clear it, or reorder what Alex
//! reads. Two defences are checked, each from Sam's side:
//!
//! - Sam's own daemon refuses such text through the API with a 400 naming the field.
//! - A hostile or older build of Sam's daemon does not go through that validation: it
//!   writes whatever it likes into the shared Automerge document, which then syncs to Alex
//!   and stays on Alex's disk. The test puts exactly such a document on Alex's disk: with
//!   both daemons stopped after pairing, it commits Sam's hostile person name, idea, plan
//!   and activity records into Alex's shared store with the same `DocStore`/`Document` code
//!   the daemon uses, and pins Sam's device under a hostile name, as a hostile joiner's
//!   pairing message would. Alex's daemon then starts on that home and every command that
//!   prints partner text must print it made safe, while `--json` keeps it exact.

use std::process::Output;

use automerge::ActorId;
use serde_json::{Value, json};
use tandem_daemon::home::Home as DataHome;
use tandem_daemon::peers::PeerBook;
use tandem_daemon::store::DocStore;
use tandem_protocol::activity::Activity;
use tandem_protocol::document::{Collection, DocKind};
use tandem_protocol::entity::{Author, Stored};
use tandem_protocol::ids::{EntityId, PersonId};
use tandem_protocol::model::idea::Idea;
use tandem_protocol::model::person::Person;
use tandem_protocol::model::plan::Plan;
use tandem_protocol::time::Stamp;
use tandem_tests::{Daemon, Home, pair};

/// Everything a terminal obeys: an OSC title change ended by BEL, a clear screen, NUL, a
/// carriage return that overwrites the line, a tab, DEL, the C1 CSI, an override, an
/// isolate and a right-to-left embedding.
const HOSTILE: &str =
    "\u{1b}]0;pwned\u{7}\u{1b}[2J\0\rgone\t\u{7f}\u{9b}31m\u{202e}txt.exe\u{2066}\u{202b}";

/// Ordinary text that must come through unchanged.
const ORDINARY: &str = "– Ł 🎉 夜";

/// Text that contains both.
fn hostile(what: &str) -> String {
    format!("{what} {HOSTILE} {ORDINARY}")
}

/// Code points that must never reach the terminal: C0 controls except the newline, DEL
/// and C1 controls, bidi embeddings, overrides and isolates.
fn forbidden(c: char) -> bool {
    matches!(c, '\0'..='\u{9}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Decodes what a command printed (stdout and stderr) and checks none of it can drive the
/// terminal.
fn assert_terminal_safe(args: &[&str], out: &Output) -> String {
    let mut text = String::from_utf8(out.stdout.clone())
        .unwrap_or_else(|e| panic!("tandem {args:?} printed invalid UTF-8: {e}"));
    text.push_str(
        std::str::from_utf8(&out.stderr)
            .unwrap_or_else(|e| panic!("tandem {args:?} printed invalid UTF-8 on stderr: {e}")),
    );
    let raw: Vec<String> = text
        .chars()
        .filter(|c| forbidden(*c))
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect();
    assert!(
        raw.is_empty(),
        "tandem {args:?} wrote {raw:?} raw to the terminal:\n{}",
        text.escape_debug()
    );
    text
}

#[test]
fn api_refuses_control_characters_in_one_line_fields_naming_the_field() {
    let home = Home::init("Sam");
    let sam = home.start();
    let refusals = [
        (
            "/v1/ideas",
            json!({ "title": hostile("Night swim") }),
            "title",
        ),
        ("/v1/ideas", json!({ "title": "Night\nswim" }), "title"),
        (
            "/v1/ideas",
            json!({ "title": "Night swim", "notes": hostile("bring towels") }),
            "notes",
        ),
        (
            "/v1/plans",
            json!({
                "title": "Dinner",
                "place": "Luigi's\u{202e}",
                "start": "2030-01-04T19:00:00+01:00[Europe/Paris]",
                "end": "2030-01-04T21:00:00+01:00[Europe/Paris]",
            }),
            "place",
        ),
        (
            "/v1/agreements",
            json!({ "text": "No phones\u{7}" }),
            "text",
        ),
        (
            "/v1/notes",
            json!({ "body": "dear diary\u{1b}[2J" }),
            "body",
        ),
        ("/v1/notes", json!({ "body": "lone\rreturn" }), "body"),
    ];
    for (path, body, field) in refusals {
        let reply = sam.post(path, &body);
        assert_eq!(reply.status, 400, "POST {path} {body} was accepted");
        assert_eq!(reply.body["error"]["field"], field, "{}", reply.body);
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("{field}: ")) && message.contains("control character"),
            "POST {path}: the message should name {field} and say what is wrong: {message:?}"
        );
        assert!(
            !message.chars().any(forbidden),
            "the refusal repeats the hostile text raw: {message:?}"
        );
    }
    assert_eq!(sam.count("/v1/ideas"), 0);

    // Multi-line fields keep what people type: line breaks and tabs (CRLF becomes LF).
    let note = sam.post(
        "/v1/notes",
        &json!({ "title": "Lists", "body": "first\r\n\tsecond – Ł" }),
    );
    assert_eq!(note.status, 201, "{}", note.body);
    assert_eq!(note.body["body"], "first\n\tsecond – Ł");
}

/// A name is shown to the partner on every line they read about this person, so `tandem
/// init` refuses one that would drive their terminal, and says so safely.
#[test]
fn init_refuses_a_name_with_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["init", "--name", "Sam\u{1b}]0;pwned\u{7}"];
    let out = tandem_tests::tandem(dir.path())
        .args(args)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a name with an escape sequence was accepted"
    );
    let text = assert_terminal_safe(&args, &out);
    assert!(
        text.contains("name: must be one line of plain text without control characters"),
        "{text}"
    );
    assert!(!dir.path().join("config.toml").exists());
}

/// Commits `items` into Alex's shared document as Sam's hostile build would have written
/// them, bypassing every check the API makes.
fn write_as_hostile_partner(alex: &Home, sam: &PersonId, write: impl FnOnce(&mut Writer)) {
    let data_home = DataHome::resolve(Some(alex.path().to_owned()));
    let (mut store, doc) = DocStore::open(
        &data_home.doc_dir(DocKind::Shared.name()),
        DocKind::Shared,
        ActorId::random(),
    )
    .expect("open Alex's shared store");
    let mut writer = Writer {
        doc,
        author: Author {
            person: sam.clone(),
            at: Stamp(jiff::Timestamp::now()),
        },
    };
    write(&mut writer);
    store.persist(&mut writer.doc).expect("persist");
}

/// Puts items into a document as one author, one change (and activity record) each.
struct Writer {
    doc: tandem_protocol::document::Document,
    author: Author,
}

impl Writer {
    fn put<T: Stored>(&mut self, collection: Collection, item: &T, action: &str, summary: &str) {
        self.doc.put(collection, item).expect("put");
        self.doc
            .commit(&Activity::new(&self.author, action, None, summary))
            .expect("a change");
    }
}

/// The JSON of an entity with a fresh id and Sam's bookkeeping added to `fields`.
fn by_sam(sam: &PersonId, mut fields: Value) -> Value {
    let now = jiff::Timestamp::now().to_string();
    let meta = json!({
        "id": EntityId::from_random(rand::random()).as_str(),
        "created_by": sam.as_str(),
        "created_at": now,
        "updated_by": sam.as_str(),
        "updated_at": now,
    });
    for (k, v) in meta.as_object().unwrap() {
        fields[k] = v.clone();
    }
    fields
}

#[test]
fn hostile_partner_text_never_reaches_the_terminal_raw() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let (mut alex, mut sam) = (alex_home.start(), sam_home.start());
    pair(&alex, &sam, false);
    let sam_id: PersonId = serde_json::from_value(sam.cli_json(&["status"])["me"]["id"].clone())
        .expect("Sam's person id");
    assert_eq!(alex.terminate().code(), Some(0));
    assert_eq!(sam.terminate().code(), Some(0));

    let in_an_hour = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_mins(60))
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Paris").unwrap());
    let plan: Plan = serde_json::from_value(by_sam(
        &sam_id,
        json!({
            "title": hostile("Dinner"),
            "kind": "date_night",
            "start": in_an_hour.to_string(),
            "end": in_an_hour.checked_add(jiff::Span::new().hours(2)).unwrap().to_string(),
            "place": hostile("Luigi's"),
            "notes": format!("{}\nsecond line", hostile("notes")),
            "proposed_by": sam_id.as_str(),
            "rsvps": { sam_id.as_str(): "yes" },
            "status": "proposed",
            "recurrence": null,
        }),
    ))
    .expect("a well-formed plan");
    let idea: Idea = serde_json::from_value(by_sam(
        &sam_id,
        json!({ "title": hostile("Night swim"), "notes": hostile("towels") }),
    ))
    .expect("a well-formed idea");
    let person = Person {
        id: sam_id.clone(),
        name: hostile("Sam"),
        joined_at: Stamp(jiff::Timestamp::now()),
    };
    write_as_hostile_partner(&alex_home, &sam_id, |w| {
        w.put(
            Collection::People,
            &person,
            "person.join",
            &hostile("joined"),
        );
        w.put(Collection::Plans, &plan, "plan.add", &hostile("plan"));
        w.put(Collection::Ideas, &idea, "idea.add", &hostile("idea"));
    });
    let data_home = DataHome::resolve(Some(alex_home.path().to_owned()));
    let mut book = PeerBook::load(&data_home).unwrap();
    let mut entry = book.all().first().expect("Sam's device is pinned").clone();
    entry.name = hostile("Sam's laptop");
    book.pin(entry);
    book.save().unwrap();

    let alex = Daemon::start(alex_home.path());
    let plan_id = &plan.id.as_str()[..8];
    let shows_partner_text: [&[&str]; 7] = [
        &["idea", "list"],
        &["idea", "draw"],
        &["plan", "list"],
        &["plan", "show", plan_id],
        &["log"],
        &["status"],
        &["peers"],
    ];
    for args in shows_partner_text {
        let out = alex.cli(args);
        let text = assert_terminal_safe(args, &out);
        assert!(out.status.success(), "tandem {args:?} failed: {text}");
        assert!(
            text.contains(ORDINARY),
            "tandem {args:?} did not print {ORDINARY:?} unchanged:\n{text}"
        );
    }
    // The daemon's refusals quote what was asked for; they are printed made safe too.
    let args = ["plan", "show", "\u{1b}[2J\u{202e}"];
    let out = alex.cli(&args);
    assert!(!out.status.success());
    assert_terminal_safe(&args, &out);

    // Scripts get the exact text: `--json` is exact JSON.
    assert_eq!(
        alex.cli_json(&["idea", "list"])[0]["title"],
        hostile("Night swim")
    );
    let plans = alex.cli_json(&["plan", "list"]);
    assert_eq!(plans[0]["title"], hostile("Dinner"));
    assert_eq!(plans[0]["notes"], plan.notes.as_str());
    assert_eq!(
        alex.cli_json(&["status"])["partner"]["name"],
        hostile("Sam")
    );
    assert_eq!(
        alex.cli_json(&["peers"])[0]["name"],
        hostile("Sam's laptop")
    );
}
