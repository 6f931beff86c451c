//! `tandem repair`: a damaged document comes back from the partner's laptop (or one's own
//! other device), the damaged files are kept, and nothing is lost on either side.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};
use tandem_tests::{Daemon, Home, bin, eventually, pair, tandem};

const SOON: Duration = Duration::from_secs(15);

fn plan_body(title: &str) -> Value {
    json!({"title": title, "start": "2026-12-04T19:00[Europe/Paris]", "end": "2026-12-04T21:00[Europe/Paris]"})
}

fn plan_titles(d: &Daemon) -> Vec<String> {
    tandem_tests::titles(&d.get("/v1/plans").body)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Keeps the repair's own peer traffic on loopback and off mDNS, as the test daemons'
/// flags do (`tandem repair` starts tandemd with the home's config alone).
fn loopback_only(home: &Path) {
    let path = home.join("config.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    assert!(config.contains("mdns = true"), "{config}");
    let config = config.replace("mdns = true", "mdns = false\npeer_listen = \"127.0.0.1\"");
    std::fs::write(&path, config).unwrap();
}

/// Flips bytes in the middle of `file`.
fn corrupt_middle(file: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(file).unwrap();
    let middle = bytes.len() / 2;
    for byte in &mut bytes[middle - 8..middle + 8] {
        *byte ^= 0x5a;
    }
    std::fs::write(file, &bytes).unwrap();
    bytes
}

/// Starts tandemd on `home` expecting it to refuse; returns what it said.
fn refused_start(home: &Path) -> String {
    let out = std::process::Command::new(bin("tandemd"))
        .arg("--home")
        .arg(home)
        .args(["--peer-listen", "127.0.0.1", "--no-mdns"])
        .args(["--lan-listen", "127.0.0.1"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "tandemd started: {}", text(&out));
    text(&out)
}

/// Every file under `dir` with its bytes, sorted: to prove a failed repair changed nothing.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = tandem_tests::files_under(dir)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).unwrap();
            (f, bytes)
        })
        .collect();
    files.sort();
    files
}

/// The document directories moved aside by a repair.
fn damaged_copies(home: &Path, doc: &str) -> Vec<PathBuf> {
    std::fs::read_dir(home.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{doc}.damaged-"))
        })
        .collect()
}

/// An export without the moment it was taken.
fn export(d: &Daemon) -> Value {
    let mut export = d.cli_json(&["export"]);
    export.as_object_mut().unwrap().remove("exported_at");
    // What waits for the person, worked out at the moment of asking, is not data.
    export["status"].as_object_mut().unwrap().remove("today");
    export
}

#[test]
fn a_corrupt_shared_snapshot_is_rebuilt_from_the_partner_with_nothing_lost_on_either_side() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let alex = alex_home.start();
    let mut sam = sam_home.start();
    pair(&alex, &sam, false);
    let mut expected = Vec::new();
    for n in 0..4 {
        for (who, d) in [("Alex", &alex), ("Sam", &sam)] {
            let title = format!("{who}'s plan {n}");
            assert_eq!(d.post("/v1/plans", &plan_body(&title)).status, 201);
            expected.push(title);
        }
    }
    sam.cli_ok(&["note", "add", "Sam's own note"]);
    expected.sort();
    assert!(eventually(SOON, || plan_titles(&alex) == expected
        && plan_titles(&sam) == expected
        && alex.heads()["shared"] == sam.heads()["shared"]));
    let alex_before = export(&alex);

    // A clean stop compacts: the snapshot holds every plan, the log none.
    assert!(sam.terminate().success());
    let snapshot = sam_home.path().join("docs/shared/doc.automerge");
    let damaged = corrupt_middle(&snapshot);
    let refused = refused_start(sam_home.path());
    assert!(
        refused.contains(&snapshot.display().to_string()),
        "{refused}"
    );

    let doctor = tandem(sam_home.path()).arg("doctor").output().unwrap();
    assert!(!doctor.status.success(), "{}", text(&doctor));
    let said = text(&doctor);
    assert!(
        said.contains("shared document is damaged")
            && said.contains(&snapshot.display().to_string())
            && said.contains("`tandem repair`"),
        "{said}"
    );

    loopback_only(sam_home.path());
    let repair = tandem(sam_home.path()).arg("repair").output().unwrap();
    let said = text(&repair);
    assert!(repair.status.success(), "{said}");
    assert!(
        said.contains("shared document is rebuilt from Alex's laptop")
            && said.contains("Start the daemon again"),
        "{said}"
    );
    let copies = damaged_copies(sam_home.path(), "shared");
    assert_eq!(copies.len(), 1, "{said}");
    assert_eq!(
        std::fs::read(copies[0].join("doc.automerge")).unwrap(),
        damaged
    );
    assert!(said.contains(&copies[0].display().to_string()), "{said}");

    let sam = sam_home.start();
    assert_eq!(plan_titles(&sam), expected, "every plan is back at once");
    assert_eq!(
        sam.count("/v1/notes"),
        1,
        "the private document was left alone"
    );
    assert!(eventually(SOON, || sam.cli_json(&["peers"])[0]["in_sync"] == true));
    assert_eq!(sam.heads()["shared"], alex.heads()["shared"]);
    assert_eq!(
        export(&alex),
        alex_before,
        "Alex lost nothing, gained nothing"
    );
}

#[test]
fn a_repair_with_no_device_reachable_says_which_to_start_and_changes_nothing() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let mut alex = alex_home.start();
    let mut sam = sam_home.start();
    pair(&alex, &sam, false);
    assert_eq!(sam.post("/v1/plans", &plan_body("Picnic")).status, 201);
    assert!(eventually(SOON, || plan_titles(&alex) == ["Picnic"]));
    assert!(alex.terminate().success());
    assert!(sam.terminate().success());
    corrupt_middle(&sam_home.path().join("docs/shared/doc.automerge"));
    loopback_only(sam_home.path());
    let before = contents(&sam_home.path().join("docs"));

    let repair = tandem(sam_home.path())
        .args(["repair", "--wait", "2"])
        .output()
        .unwrap();
    let said = text(&repair);
    assert!(!repair.status.success(), "{said}");
    assert!(
        said.contains("no device holding the shared document answered within 2 s")
            && said.contains("start tandemd on Alex's laptop (127.0.0.1:")
            && said.contains("run `tandem repair` again"),
        "{said}"
    );
    assert_eq!(contents(&sam_home.path().join("docs")), before);
    assert!(damaged_copies(sam_home.path(), "shared").is_empty());

    // Once Alex is back, the same command repairs.
    let _alex = alex_home.start();
    let repair = tandem(sam_home.path()).arg("repair").output().unwrap();
    assert!(repair.status.success(), "{}", text(&repair));
    assert_eq!(plan_titles(&sam_home.start()), ["Picnic"]);
}

#[test]
fn a_damaged_private_document_with_only_a_partner_needs_an_own_device_or_a_backup_and_a_running_daemon_refuses()
 {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let alex = alex_home.start();
    let mut sam = sam_home.start();
    pair(&alex, &sam, false);
    sam.cli_ok(&["note", "add", "only mine"]);
    let running = tandem(sam_home.path()).arg("repair").output().unwrap();
    assert!(!running.status.success());
    assert!(
        text(&running).contains("another tandemd is already running"),
        "{}",
        text(&running)
    );
    assert!(sam.terminate().success());
    corrupt_middle(&sam_home.path().join("docs/private/doc.automerge"));
    loopback_only(sam_home.path());
    let before = contents(sam_home.path());

    let repair = tandem(sam_home.path()).arg("repair").output().unwrap();
    let said = text(&repair);
    assert!(!repair.status.success(), "{said}");
    assert!(
        said.contains("private document is damaged")
            && said.contains("another device of your own")
            && said.contains("a backup (`tandem restore`"),
        "{said}"
    );
    assert_eq!(
        contents(sam_home.path()),
        before,
        "nothing moved or deleted"
    );
}

#[test]
fn a_damaged_private_document_comes_back_from_an_own_device() {
    let (laptop_home, desktop_home) = (Home::init("Alex"), Home::init("Alex's desktop"));
    let mut laptop = laptop_home.start();
    let desktop = desktop_home.start();
    pair(&laptop, &desktop, true);
    laptop.cli_ok(&["note", "add", "only for my own devices"]);
    assert!(eventually(SOON, || desktop.count("/v1/notes") == 1));
    assert!(laptop.terminate().success());
    corrupt_middle(&laptop_home.path().join("docs/private/doc.automerge"));
    loopback_only(laptop_home.path());

    let repair = tandem(laptop_home.path()).arg("repair").output().unwrap();
    let said = text(&repair);
    assert!(repair.status.success(), "{said}");
    assert!(
        said.contains("private document is rebuilt from your other device"),
        "{said}"
    );
    assert_eq!(damaged_copies(laptop_home.path(), "private").len(), 1);
    let notes = laptop_home.start().get("/v1/notes").body;
    assert_eq!(notes[0]["body"], "only for my own devices", "{notes}");
}
