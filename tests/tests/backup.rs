//! Backup, restore and a new laptop: archives taken while writes go on, refused when
//! wrong or damaged, holding no plaintext; a restored laptop pairs again as the same
//! person; automatic backups run, prune, and `doctor` notices when they stop.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tandem_tests::phone::Phone;
use tandem_tests::{Daemon, Home, eventually, files_under, pair, tandem, titles};

const PASSPHRASE: &str = "correct horse battery staple";

/// A scratch directory for passphrase files, archives and restored homes.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// A file holding `passphrase` on its first line.
    fn passphrase(&self, passphrase: &str) -> PathBuf {
        let path = self.path(&format!("pass-{}", passphrase.len()));
        std::fs::write(&path, format!("{passphrase}\n")).unwrap();
        path
    }
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn backup(d: &Daemon, file: &Path, passphrase_file: &Path) {
    d.cli_ok(&[
        "backup",
        arg(file),
        "--passphrase-file",
        arg(passphrase_file),
    ]);
}

fn restore(home: &Path, file: &Path, passphrase_file: &Path) -> Output {
    tandem(home)
        .args([
            "restore",
            arg(file),
            "--passphrase-file",
            arg(passphrase_file),
        ])
        .output()
        .unwrap()
}

fn restore_ok(home: &Path, file: &Path, passphrase_file: &Path) {
    let out = restore(home, file, passphrase_file);
    assert!(
        out.status.success(),
        "restore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The refusal of a restore that must fail, with the target home's files before and after.
fn refused(home: &Path, file: &Path, passphrase_file: &Path) -> String {
    let before = snapshot_of(home);
    let out = restore(home, file, passphrase_file);
    assert!(!out.status.success(), "restore of a bad archive succeeded");
    assert_eq!(
        snapshot_of(home),
        before,
        "a refused restore changed the home"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file below `dir` with its contents (none if it does not exist).
fn snapshot_of(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    if !dir.exists() {
        return Vec::new();
    }
    let mut files: Vec<_> = files_under(dir)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "lock"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

/// What a person sees of their data, without what belongs to the device or the moment.
fn what_i_see(d: &Daemon) -> Value {
    let mut export = d.cli_json(&["export"]);
    let object = export.as_object_mut().unwrap();
    object.remove("exported_at");
    let status = object.remove("status").unwrap();
    object.insert("me".into(), status["me"].clone());
    object.insert("partner".into(), status["partner"].clone());
    export
}

#[test]
fn a_backup_taken_during_a_stream_of_writes_restores_to_a_state_that_existed() {
    let scratch = Scratch::new();
    let pass = scratch.passphrase(PASSPHRASE);
    let archive = scratch.path("alex.tandem");
    let alex_home = Home::init("Alex");
    let alex = alex_home.start();
    // Each round writes idea N to the shared document, then note N to the private one:
    // any moment of the stream has as many notes as ideas, or one idea more.
    let (acked, stop) = (AtomicUsize::new(0), AtomicBool::new(false));
    let (before, after) = std::thread::scope(|s| {
        s.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) || n < 20 {
                let idea = alex.post("/v1/ideas", &json!({ "title": format!("idea {n:04}") }));
                assert_eq!(idea.status, 201, "{:?}", idea.body);
                let note = alex.post(
                    "/v1/notes",
                    &json!({ "title": format!("note {n:04}"), "body": "x" }),
                );
                assert_eq!(note.status, 201, "{:?}", note.body);
                n += 1;
                acked.store(n, Ordering::SeqCst);
            }
        });
        assert!(eventually(Duration::from_secs(20), || acked
            .load(Ordering::SeqCst)
            >= 10));
        let before = acked.load(Ordering::SeqCst);
        backup(&alex, &archive, &pass);
        let after = acked.load(Ordering::SeqCst);
        stop.store(true, Ordering::SeqCst);
        (before, after)
    });
    assert!(after > before, "the writes did not go on during the backup");

    let home = scratch.path("new-laptop");
    restore_ok(&home, &archive, &pass);
    let restored = Daemon::start(&home);
    let ideas = titles(&restored.get("/v1/ideas").body);
    let notes = titles(&restored.get("/v1/notes").body);
    let expected = |prefix: &str, n: usize| -> Vec<String> {
        (0..n).map(|i| format!("{prefix} {i:04}")).collect()
    };
    assert!(
        ideas.len() >= before && ideas.len() <= after + 1,
        "{} ideas restored; {before} were acknowledged before the backup began, {after} when it ended",
        ideas.len()
    );
    assert_eq!(
        ideas,
        expected("idea", ideas.len()),
        "ideas are not a prefix of the stream"
    );
    assert!(
        notes.len() == ideas.len() || notes.len() + 1 == ideas.len(),
        "{} notes with {} ideas: the two documents were not taken at one moment",
        notes.len(),
        ideas.len()
    );
    assert_eq!(notes, expected("note", notes.len()));
    assert_eq!(restored.cli_json(&["status"])["me"]["name"], "Alex");
}

#[test]
fn wrong_passphrase_damaged_archives_newer_versions_and_used_homes_are_refused_changing_nothing() {
    let scratch = Scratch::new();
    let pass = scratch.passphrase(PASSPHRASE);
    let archive = scratch.path("alex.tandem");
    let alex_home = Home::init("Alex");
    let alex = alex_home.start();
    alex.cli_ok(&["note", "add", "Where the spare key is"]);
    backup(&alex, &archive, &pass);
    let bytes = std::fs::read(&archive).unwrap();
    let target = scratch.path("new-laptop");

    let wrong = scratch.passphrase("not the passphrase");
    let err = refused(&target, &archive, &wrong);
    assert!(err.contains("wrong passphrase"), "{err}");
    assert!(!target.join("config.toml").exists());

    let truncated = scratch.path("truncated.tandem");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = refused(&target, &truncated, &pass);
    assert!(err.contains("damaged, truncated"), "{err}");

    let altered = scratch.path("altered.tandem");
    let mut flipped = bytes.clone();
    let at = flipped.len() - 40;
    flipped[at] ^= 0x01;
    std::fs::write(&altered, &flipped).unwrap();
    let err = refused(&target, &altered, &pass);
    assert!(err.contains("damaged, truncated"), "{err}");

    // An archive whose document comes from a schema this build does not know yet.
    let newer = scratch.path("newer.tandem");
    let image = |schema| tandem_daemon::archive::DocumentImage {
        schema,
        bytes: Vec::new(),
    };
    let from_the_future = tandem_daemon::archive::Archive {
        created_at: tandem_protocol::time::Stamp(jiff::Timestamp::now()),
        person: tandem_protocol::ids::PersonId::parse("p1").unwrap(),
        name: "Alex".into(),
        time_zone: None,
        shared: image(tandem_protocol::schema::Schema::CURRENT.version() + 1),
        private: image(1),
    };
    let sealed = from_the_future
        .seal_with_passphrase(&PASSPHRASE.to_owned().into())
        .unwrap();
    std::fs::write(&newer, sealed).unwrap();
    let err = refused(&target, &newer, &pass);
    assert!(
        err.contains("made by a newer tandem") && err.contains("upgrade"),
        "{err}"
    );

    // A home that already holds a person is never overwritten, even with a good archive.
    let used = Home::init("Robin");
    let err = refused(used.path(), &archive, &pass);
    assert!(err.contains("already holds data"), "{err}");

    // After all of that, the good archive still restores into the untouched target.
    restore_ok(&target, &archive, &pass);
    let restored = Daemon::start(&target);
    assert_eq!(
        titles(&restored.get("/v1/notes").body),
        ["Where the spare key is"]
    );
}

#[test]
fn the_archive_holds_no_plaintext_and_phones_cannot_take_one() {
    let scratch = Scratch::new();
    let pass = scratch.passphrase(PASSPHRASE);
    let archive = scratch.path("alex.tandem");
    let alex_home = Home::init("Alex");
    let alex = alex_home.start();
    let secrets = [
        "Surprise trip to Lisbon",
        "Ring hidden in the sock drawer",
        "Talk about the budget calmly",
        "Pottery class together",
    ];
    alex.cli_ok(&["idea", "add", secrets[0]]);
    alex.cli_ok(&["note", "add", secrets[1]]);
    alex.cli_ok(&["agree", "add", secrets[2]]);
    alex.cli_ok(&["plan", "add", secrets[3], "--at", "tomorrow 19:00"]);
    backup(&alex, &archive, &pass);
    let bytes = std::fs::read(&archive).unwrap();
    for secret in secrets.iter().chain(&["Alex", PASSPHRASE]) {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the archive holds {secret:?} in plaintext"
        );
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&archive).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the archive is readable by others");

    let phone = Phone::add(&alex, "Alex's phone");
    let taken = phone.post("/v1/backup", &json!({ "passphrase": PASSPHRASE }));
    assert_eq!(taken.status, 404, "a phone took a backup: {:?}", taken.body);
    assert_eq!(phone.get("/v1/backup").status, 404);
}

#[test]
fn a_restored_laptop_pairs_again_as_the_same_person_with_nothing_lost_or_doubled() {
    let scratch = Scratch::new();
    let pass = scratch.passphrase(PASSPHRASE);
    let archive = scratch.path("alex.tandem");
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let mut alex = alex_home.start();
    let sam = sam_home.start();
    pair(&sam, &alex, false);
    alex.cli_ok(&["idea", "add", "Picnic by the lake"]);
    alex.cli_ok(&["note", "add", "Sam's birthday gift: the blue scarf"]);
    alex.cli_ok(&[
        "me",
        "add",
        "--at",
        "tomorrow 18:00",
        "--label",
        "Climbing",
        "--details",
        "bouldering gym",
    ]);
    sam.cli_ok(&["idea", "add", "Cook ramen together"]);
    assert!(eventually(
        Duration::from_secs(20),
        || alex.heads()["shared"] == sam.heads()["shared"]
    ));
    let old_device = alex.device_id();
    let alex_before = what_i_see(&alex);
    let sam_before = what_i_see(&sam);
    backup(&alex, &archive, &pass);
    alex.kill9(); // the laptop is gone

    let home = scratch.path("new-laptop");
    restore_ok(&home, &archive, &pass);
    let new_alex = Daemon::start(&home);
    assert_ne!(
        new_alex.device_id(),
        old_device,
        "a restored laptop is a new device"
    );
    pair(&sam, &new_alex, false);
    assert!(eventually(
        Duration::from_secs(20),
        || new_alex.heads()["shared"] == sam.heads()["shared"]
    ));
    assert_eq!(
        what_i_see(&new_alex),
        alex_before,
        "the restored laptop lost or doubled something"
    );
    assert_eq!(
        what_i_see(&sam),
        sam_before,
        "the partner sees a new person or doubled entities"
    );
    assert_eq!(sam.count("/v1/ideas"), 2);

    // The partner lets the lost laptop go: only the new one is trusted.
    let devices = sam.cli_json(&["peers"]);
    assert_eq!(devices.as_array().unwrap().len(), 2, "{devices}");
    sam.cli_ok(&["peer", "remove", &old_device]);
    let devices = sam.cli_json(&["peers"]);
    let ids: Vec<&str> = devices
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["device_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [new_alex.device_id()], "{devices}");

    // And the pair keeps syncing through the new laptop.
    new_alex.cli_ok(&["idea", "add", "Back in business"]);
    assert!(eventually(Duration::from_secs(20), || titles(
        &sam.get("/v1/ideas").body
    )
    .contains(&"Back in business".to_owned())));
}

/// Names of the automatic archives in `dir`.
fn archives_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("tandem-backup-") && n.ends_with(".age"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn automatic_backups_run_on_their_interval_prune_and_restore_with_the_passphrase_alone() {
    let scratch = Scratch::new();
    let pass = scratch.passphrase(PASSPHRASE);
    let dir = scratch.path("usb-stick");
    let alex_home = Home::init("Alex");
    let config = alex_home.path().join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("backup_interval_secs = 1\n{text}")).unwrap();
    let alex = alex_home.start();
    alex.cli_ok(&["note", "add", "Passport is in the blue folder"]);
    alex.cli_ok(&[
        "backup",
        "--auto",
        arg(&dir),
        "--keep",
        "3",
        "--passphrase-file",
        arg(&pass),
    ]);
    let mut seen = std::collections::BTreeSet::new();
    assert!(
        eventually(Duration::from_secs(30), || {
            let now = archives_in(&dir);
            assert!(now.len() <= 3, "more archives than --keep 3: {now:?}");
            seen.extend(now);
            seen.len() >= 5
        }),
        "automatic backups did not keep coming: {seen:?}"
    );
    let status = alex.cli_json(&["backup", "--status"]);
    assert_eq!(status["count"], 3, "{status}");
    assert_eq!(status["auto"]["keep"], 3, "{status}");
    let newest = PathBuf::from(status["newest"]["path"].as_str().unwrap());
    assert!(newest.starts_with(&dir), "{status}");
    assert!(dir.join("identity.age").exists());

    // On the new laptop, the passphrase given at set-up opens any of them.
    let home = scratch.path("new-laptop");
    let wrong = scratch.passphrase("not it");
    let err = refused(&home, &newest, &wrong);
    assert!(err.contains("wrong passphrase"), "{err}");
    restore_ok(&home, &newest, &pass);
    let restored = Daemon::start(&home);
    assert_eq!(
        titles(&restored.get("/v1/notes").body),
        ["Passport is in the blue folder"]
    );
}

#[test]
fn doctor_warns_when_the_newest_automatic_backup_is_older_than_three_days() {
    let scratch = Scratch::new();
    let pass = scratch.passphrase(PASSPHRASE);
    let dir = scratch.path("backups");
    let alex_home = Home::init("Alex");
    let alex = alex_home.start();
    let doctor = || {
        let out = alex.cli(&["doctor"]);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (healthy, text) = doctor();
    assert!(healthy && text.contains("no automatic backups"), "{text}");

    alex.cli_ok(&[
        "backup",
        "--auto",
        arg(&dir),
        "--passphrase-file",
        arg(&pass),
    ]);
    assert!(eventually(Duration::from_secs(20), || archives_in(&dir)
        .len()
        == 1));
    let (healthy, text) = doctor();
    assert!(healthy && text.contains("the newest backup in"), "{text}");

    // The daemon writes the next one a day after this one; pretend it stopped four days ago.
    let newest = dir.join(&archives_in(&dir)[0]);
    let four_days_ago = SystemTime::now() - Duration::from_secs(4 * 24 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&newest)
        .unwrap()
        .set_modified(four_days_ago)
        .unwrap();
    let (healthy, text) = doctor();
    assert!(!healthy, "{text}");
    assert!(
        text.contains("PROBLEM") && text.contains("is 4 days old"),
        "{text}"
    );
}
