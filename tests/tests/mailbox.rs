//! Syncing while apart through a shared folder: two paired daemons that can no longer
//! reach each other (no mDNS, no remembered address) and share only a directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use tandem_daemon::peers::PeerBook;
use tandem_protocol::device::DeviceId;
use tandem_protocol::mailbox::PairKey;
use tandem_protocol::mailbox::seal;
use tandem_tests::mailbox::{
    SOON, apart, bundles, forget_addresses, keyed_with, new_bundle, set_mailbox,
};
use tandem_tests::{Daemon, Home, eventually, files_under, pair};

fn titles(d: &Daemon) -> Vec<String> {
    tandem_tests::titles(&d.get("/v1/plans").body)
}

fn plan(d: &Daemon, title: &str) -> String {
    let reply = d.post(
        "/v1/plans",
        &json!({"title": title, "start": "2026-12-04T19:00[Europe/Paris]", "end": "2026-12-04T21:00[Europe/Paris]"}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// Waits for an event whose action is `action` on `events`.
fn wait_event(events: &std::sync::mpsc::Receiver<String>, action: &str) -> Value {
    loop {
        let data = events.recv_timeout(SOON).expect("the event arrives");
        let event: Value = serde_json::from_str(&data).unwrap();
        if event["action"] == action {
            return event;
        }
    }
}

/// No file of the folder holds any of `secrets`, in any case. The daemons may be writing
/// and pruning meanwhile: the folder is read again until one pass reads every file.
fn assert_opaque(folder: &Path, secrets: &[&str]) {
    while !opaque_pass(folder, secrets) {}
}

/// One pass of [`assert_opaque`]; false if a file went away before it was read.
fn opaque_pass(folder: &Path, secrets: &[&str]) -> bool {
    for file in files_under(folder) {
        let Ok(bytes) = std::fs::read(&file) else {
            return false;
        };
        let bytes = bytes.to_ascii_lowercase();
        let name = file.to_string_lossy().to_ascii_lowercase();
        for secret in secrets {
            let secret = secret.to_ascii_lowercase();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes())
                    && !name.contains(&secret),
                "{} holds {secret:?} in plaintext",
                file.display()
            );
        }
    }
    true
}

#[test]
fn edits_cross_the_folder_both_ways_sealed_and_announced() {
    let (_a_home, _b_home, alex, sam) = apart(["Alex", "Sam"]);
    let folder = tempfile::tempdir().unwrap();
    let status = set_mailbox(&alex, folder.path());
    assert_eq!(status["shared"]["devices"][0]["keyed"], true, "{status}");
    set_mailbox(&sam, folder.path());
    let (alex_id, sam_id) = (alex.device_id(), sam.device_id());
    assert_eq!(
        alex.get("/v1/peers").body[0]["connected"],
        false,
        "they cannot meet"
    );

    // Alex → Sam: announced on Sam's API within 2 s of the bundle landing.
    let sam_events = sam.events();
    let before = bundles(folder.path(), &alex_id);
    plan(&alex, "Dinner at Luigi's");
    let (_, landed) = new_bundle(folder.path(), &alex_id, &before);
    let event = wait_event(&sam_events, "plan.add");
    let latency = landed.elapsed();
    eprintln!("figure: bundle landing to partner's API event: {latency:?}");
    assert!(latency < Duration::from_secs(2), "{latency:?}");
    assert_eq!(event["summary"], "Dinner at Luigi's");
    assert_eq!(titles(&sam), ["Dinner at Luigi's"]);

    // Sam → Alex, the same way, and the feed names Sam as peer sync would.
    let alex_events = alex.events();
    let before = bundles(folder.path(), &sam_id);
    let reply = sam.post("/v1/ideas", &json!({"title": "Night swim"}));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let (_, landed) = new_bundle(folder.path(), &sam_id, &before);
    let event = wait_event(&alex_events, "idea.add");
    assert!(
        landed.elapsed() < Duration::from_secs(2),
        "{:?}",
        landed.elapsed()
    );
    assert_eq!(event["by"], sam.cli_json(&["status"])["me"]["id"]);
    assert!(eventually(SOON, || alex.count("/v1/ideas") == 1));

    // One more small edit: how many bytes land in the folder for it.
    let before = bundles(folder.path(), &alex_id);
    let id = alex.get("/v1/ideas").body[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = alex.request(
        "PATCH",
        &format!("/v1/ideas/{id}"),
        Some(&json!({"notes": "bring towels"})),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let (path, _) = new_bundle(folder.path(), &alex_id, &before);
    let bytes = std::fs::metadata(&path).unwrap().len();
    eprintln!("figure: bytes written to the folder for one small edit: {bytes}");
    assert!(bytes < 1024, "{bytes} bytes for one small edit");
    assert!(eventually(SOON, || sam
        .get(&format!("/v1/ideas/{id}"))
        .body["notes"]
        == "bring towels"));

    // Acknowledged bundles are pruned: the folder does not grow with history.
    assert!(
        eventually(SOON, || bundles(folder.path(), &alex_id).len()
            + bundles(folder.path(), &sam_id).len()
            <= 2),
        "applied bundles are pruned"
    );
    assert!(eventually(SOON, || alex.heads()["shared"] == sam.heads()["shared"]));
    assert_opaque(
        folder.path(),
        &["Luigi", "Night swim", "towels", "Alex", "Sam"],
    );
    let status = sam.get("/v1/mailbox").body;
    assert!(
        status["shared"]["devices"][0]["last_read"].is_string(),
        "{status}"
    );
    assert!(status["shared"]["error"].is_null(), "{status}");
}

#[test]
fn laptops_never_online_together_catch_up_from_the_folder() {
    let (a_home, b_home, mut alex, mut sam) = apart(["Alex", "Sam"]);
    let folder = tempfile::tempdir().unwrap();
    set_mailbox(&alex, folder.path());
    set_mailbox(&sam, folder.path());
    // Each has read the other's first bundle and acknowledged it.
    let acked = |d: &Daemon| {
        let dir = folder.path().join(d.device_id());
        std::fs::read_dir(dir).is_ok_and(|mut e| {
            e.any(|f| f.unwrap().file_name().to_string_lossy().starts_with("ack-"))
        })
    };
    assert!(eventually(SOON, || acked(&alex) && acked(&sam)));

    sam.terminate();
    plan(&alex, "Museum");
    let alex_id = alex.device_id();
    assert!(eventually(SOON, || {
        bundles(folder.path(), &alex_id)
            .iter()
            .any(|p| std::fs::metadata(p).is_ok())
            && alex.get("/v1/mailbox").body["shared"]["last_written"].is_string()
    }));
    // Alex's last bundle is on disk before Alex stops (the writer wrote it after the
    // change was durable, and a stop finishes no pass half-way).
    let written = alex.get("/v1/mailbox").body["shared"]["bundles"]
        .as_u64()
        .unwrap();
    assert!(written >= 1);
    alex.terminate();
    // Alex was killed half-way through writing a file: its temp name stays behind.
    let half = bundles(folder.path(), &alex_id)[0].clone();
    let leftover = half.with_extension("tmp-0123456789abcdef");
    let bytes = std::fs::read(&half).unwrap();
    std::fs::write(&leftover, &bytes[..bytes.len() / 2]).unwrap();

    let sam = {
        drop(sam);
        b_home.start()
    };
    assert!(
        eventually(SOON, || titles(&sam) == ["Museum"]),
        "Sam caught up from the folder alone"
    );
    assert!(
        sam.get("/v1/mailbox").body["shared"]["error"].is_null(),
        "a file still being written is no problem to its reader"
    );
    let sam_id = sam.device_id();
    let before = bundles(folder.path(), &sam_id);
    plan(&sam, "Picnic");
    let _ = new_bundle(folder.path(), &sam_id, &before);
    let mut sam = sam;
    sam.terminate();

    drop(alex);
    let alex = a_home.start();
    assert!(eventually(SOON, || titles(&alex) == ["Museum", "Picnic"]));
    assert!(
        !leftover.exists(),
        "Alex deleted what its crash left half-written"
    );
}

#[test]
fn damaged_foreign_replayed_and_duplicated_files_are_harmless() {
    let (_a_home, _b_home, alex, sam) = apart(["Alex", "Sam"]);
    let folder = tempfile::tempdir().unwrap();
    set_mailbox(&alex, folder.path());
    set_mailbox(&sam, folder.path());
    let (alex_id, sam_id) = (alex.device_id(), sam.device_id());
    let before = bundles(folder.path(), &alex_id);
    plan(&alex, "Concert");
    let (bundle, _) = new_bundle(folder.path(), &alex_id, &before);
    let original = std::fs::read(&bundle).unwrap();
    assert!(eventually(SOON, || titles(&sam) == ["Concert"]));
    let alex_dir = folder.path().join(&alex_id);

    // A conflicted copy of an applied bundle: a duplicate.
    let stem = bundle.file_stem().unwrap().to_string_lossy().into_owned();
    std::fs::write(
        alex_dir.join(format!("{stem} (Sam's conflicted copy 2026-12-03).tdm")),
        &original,
    )
    .unwrap();
    // A bit flipped, under a fresh name.
    let mut flipped = original.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01;
    std::fs::write(alex_dir.join("99999999999999998.tdm"), &flipped).unwrap();
    // Cut short: a partial download, waited for.
    std::fs::write(
        alex_dir.join("99999999999999997.tdm"),
        &original[..original.len() / 3],
    )
    .unwrap();
    // Sam's own bundle moved into Alex's directory: another device's file.
    let sam_bundles = bundles(folder.path(), &sam_id);
    if let Some(theirs) = sam_bundles.first() {
        std::fs::copy(theirs, alex_dir.join("99999999999999996.tdm")).unwrap();
    }
    // Garbage with the right name.
    std::fs::write(
        alex_dir.join("99999999999999995.tdm"),
        b"not a bundle at all",
    )
    .unwrap();

    assert!(
        eventually(SOON, || sam.get("/v1/mailbox").body["shared"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("altered"))),
        "the tampered file is refused and shown: {}",
        sam.get("/v1/mailbox").body
    );
    // Nothing was applied twice or lost, and the mailbox still carries new edits.
    let before = bundles(folder.path(), &alex_id);
    plan(&alex, "Theatre");
    let _ = new_bundle(folder.path(), &alex_id, &before);
    assert!(
        eventually(SOON, || titles(&sam) == ["Concert", "Theatre"]),
        "{:?}",
        titles(&sam)
    );
    assert_eq!(sam.count("/v1/plans"), 2);
    assert!(eventually(SOON, || alex.heads()["shared"] == sam.heads()["shared"]));

    // A bundle the writer pruned comes back (a cloud client restoring what it saw
    // deleted): read again, it changes nothing, and its writer prunes it once more.
    assert!(
        eventually(Duration::from_secs(30), || !bundle.exists()),
        "Alex prunes the bundle Sam has acknowledged"
    );
    std::fs::write(&bundle, &original).unwrap();
    let before = bundles(folder.path(), &alex_id);
    plan(&alex, "Museum");
    let _ = new_bundle(folder.path(), &alex_id, &before);
    assert!(
        eventually(SOON, || titles(&sam) == ["Concert", "Museum", "Theatre"]),
        "{:?}",
        titles(&sam)
    );
    assert!(
        eventually(Duration::from_secs(30), || !bundle.exists()),
        "the bundle that came back is pruned again"
    );
    assert_eq!(sam.count("/v1/plans"), 3, "nothing applied twice");
}

#[test]
fn a_folder_deleted_and_set_again_loses_nothing() {
    let (_a_home, _b_home, alex, sam) = apart(["Alex", "Sam"]);
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("Dropbox-tandem");
    std::fs::create_dir(&dir).unwrap();
    set_mailbox(&alex, &dir);
    set_mailbox(&sam, &dir);
    plan(&alex, "Before");
    assert!(eventually(SOON, || titles(&sam) == ["Before"]));

    // The daemons may write or prune meanwhile: remove until it is gone.
    while dir.exists() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    plan(&alex, "While missing");
    assert!(
        eventually(SOON, || alex.get("/v1/mailbox").body["shared"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("missing"))),
        "{}",
        alex.get("/v1/mailbox").body
    );
    // Setting a missing folder is refused in words a person can act on.
    let reply = alex.request(
        "POST",
        "/v1/mailbox",
        Some(&json!({"dir": dir.to_str().unwrap()})),
    );
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a folder")
    );

    std::fs::create_dir(&dir).unwrap();
    set_mailbox(&alex, &dir);
    set_mailbox(&sam, &dir);
    assert!(
        eventually(SOON, || titles(&sam) == ["Before", "While missing"]),
        "{:?}",
        titles(&sam)
    );
    plan(&sam, "After");
    assert!(eventually(SOON, || titles(&alex)
        == ["After", "Before", "While missing"]));
}

/// A shared folder for the three of [`three_apart`], and an own-devices folder for
/// Alex's two laptops.
fn folders_of_three([alex, laptop, sam]: [&Daemon; 3]) -> (tempfile::TempDir, tempfile::TempDir) {
    let (shared, own) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for d in [alex, laptop, sam] {
        set_mailbox(d, shared.path());
    }
    for d in [alex, laptop] {
        let reply = d.request(
            "POST",
            "/v1/mailbox",
            Some(&json!({"dir": own.path().to_str().unwrap(), "own": true})),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    (shared, own)
}

/// Alex on two laptops (the second paired `--own`) and Sam paired with Alex's first,
/// each pair keyed, then restarted unable to reach each other as in [`apart`]: the
/// homes and the daemons `[alex, laptop, sam]`.
fn three_apart() -> ([Home; 3], [Daemon; 3]) {
    let homes = [Home::init("Alex"), Home::init("Alex"), Home::init("Sam")];
    let [mut alex, mut laptop, mut sam] = homes.each_ref().map(Home::start);
    pair(&alex, &sam, false);
    pair(&alex, &laptop, true);
    assert!(eventually(SOON, || keyed_with(&alex, 2)
        && keyed_with(&laptop, 1)
        && keyed_with(&sam, 1)));
    for d in [&mut alex, &mut laptop, &mut sam] {
        d.terminate();
    }
    for home in &homes {
        forget_addresses(home.path());
    }
    let daemons = homes.each_ref().map(Home::start);
    (homes, daemons)
}

#[test]
fn private_notes_reach_an_own_device_through_the_own_folder_only() {
    let ([_alex_home, _laptop_home, sam_home], [alex, laptop, sam]) = three_apart();
    let (shared, own) = folders_of_three([&alex, &laptop, &sam]);
    // The own folder lists only the own device; the shared one both.
    let status = alex.get("/v1/mailbox").body;
    assert_eq!(
        status["own"]["devices"].as_array().unwrap().len(),
        1,
        "{status}"
    );
    assert_eq!(
        status["shared"]["devices"].as_array().unwrap().len(),
        2,
        "{status}"
    );

    let reply = alex.post(
        "/v1/notes",
        &json!({"title": "Surprise party", "body": "book the boathouse"}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    plan(&alex, "Cinema");
    assert!(
        eventually(SOON, || titles_of(&laptop, "/v1/notes")
            == ["Surprise party"]),
        "the note reached Alex's other laptop through the own folder"
    );
    assert!(eventually(SOON, || titles(&sam) == ["Cinema"]));
    // Sam has seen the shared change: by then the private document, had it gone into the
    // shared folder or to Sam, would be there too.
    assert_opaque(
        shared.path(),
        &["Surprise", "boathouse", "Cinema", "Alex", "Sam"],
    );
    assert_opaque(own.path(), &["Surprise", "boathouse", "Cinema", "Alex"]);
    // A file still being written (`*.tmp-*`, renamed into place once whole) is skipped.
    for file in files_under(shared.path())
        .into_iter()
        .filter(|f| !f.to_string_lossy().contains(".tmp-"))
    {
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(
            bytes.get(6),
            Some(&0),
            "{} carries the private document",
            file.display()
        );
    }
    for file in files_under(sam_home.path()) {
        let bytes = std::fs::read(&file).unwrap();
        for secret in [&b"Surprise party"[..], b"boathouse"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "{} holds Alex's note",
                file.display()
            );
        }
    }
}

fn titles_of(d: &Daemon, path: &str) -> Vec<String> {
    tandem_tests::titles(&d.get(path).body)
}

#[test]
fn a_checkin_is_revealed_through_the_folder() {
    let (_a_home, _b_home, alex, sam) = apart(["Alex", "Sam"]);
    let folder = tempfile::tempdir().unwrap();
    set_mailbox(&alex, folder.path());
    set_mailbox(&sam, folder.path());
    let answer = |d: &Daemon, went_well: &str| {
        d.cli_ok(&[
            "checkin",
            "--alone",
            "2",
            "--together",
            "4",
            "--went-well",
            went_well,
            "--week",
            "2026-W48",
        ]);
    };
    answer(&alex, "the long walk");
    answer(&sam, "the cinema");
    for d in [&alex, &sam] {
        assert!(
            eventually(SOON, || {
                let week = d.get("/v1/checkins/2026-W48").body;
                week["revealed"] == true && week["answers"].as_array().is_some_and(|a| a.len() == 2)
            }),
            "revealed on {}",
            d.cli_json(&["status"])["me"]["name"]
        );
    }
    assert_opaque(folder.path(), &["long walk", "cinema"]);
}

#[test]
fn a_simulated_month_keeps_the_folder_bounded_and_converges() {
    let (a_home, b_home, mut alex, mut sam) = apart(["Alex", "Sam"]);
    let folder = tempfile::tempdir().unwrap();
    set_mailbox(&alex, folder.path());
    set_mailbox(&sam, folder.path());
    let mut n = 0;
    for day in 0..6 {
        for _ in 0..60 {
            n += 1;
            for (d, who) in [(&alex, "Alex"), (&sam, "Sam")] {
                let reply = d.post("/v1/ideas", &json!({"title": format!("{who}'s idea {n}")}));
                assert_eq!(reply.status, 201, "{}", reply.body);
            }
        }
        // One laptop is off every other "day": it catches up when it starts again.
        if day % 2 == 0 {
            alex.terminate();
            alex = a_home.start();
        } else {
            sam.terminate();
            sam = b_home.start();
        }
    }
    assert!(
        eventually(Duration::from_secs(60), || alex.heads()["shared"]
            == sam.heads()["shared"]),
        "converged"
    );
    assert_eq!(alex.count("/v1/ideas"), 2 * n);
    assert_eq!(sam.count("/v1/ideas"), 2 * n);
    // Once both have acknowledged everything, only acknowledgements and a last bundle
    // or so remain.
    let size = |files: &[PathBuf]| {
        files
            .iter()
            .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
            .sum::<u64>()
    };
    assert!(
        eventually(SOON, || files_under(folder.path()).len() <= 4),
        "{:?}",
        files_under(folder.path())
    );
    let files = files_under(folder.path());
    eprintln!(
        "figure: folder after {} edits and 6 restarts: {} files, {} bytes",
        2 * n,
        files.len(),
        size(&files)
    );
    assert!(size(&files) < 64 * 1024, "{} bytes", size(&files));
}

#[test]
fn the_cli_sets_shows_and_stops_the_mailbox_and_doctor_checks_it() {
    let home = Home::init("Alex");
    let alex = home.start();
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("shared");
    std::fs::create_dir(&dir).unwrap();
    let dir_arg = dir.to_str().unwrap();

    assert!(alex.cli_ok(&["mailbox", "status"]).contains("No mailbox"));
    let missing = folder.path().join("nowhere");
    let refused = alex.cli(&["mailbox", "set", missing.to_str().unwrap()]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is not a folder: create it"), "{stderr}");

    assert!(
        alex.cli_ok(&["mailbox", "set", dir_arg])
            .contains("Mailbox set")
    );
    let status = alex.cli_json(&["mailbox", "status"]);
    assert_eq!(status["shared"]["dir"], dir_arg);
    assert!(status["own"].is_null());
    assert!(eventually(SOON, || {
        let doctor = alex.cli(&["doctor"]);
        String::from_utf8_lossy(&doctor.stdout).contains("mailbox") && doctor.status.success()
    }));

    while dir.exists() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(
        eventually(SOON, || {
            let doctor = alex.cli(&["doctor"]);
            !doctor.status.success()
                && String::from_utf8_lossy(&doctor.stdout).contains("is missing")
        }),
        "doctor calls a missing mailbox folder a problem"
    );
    alex.cli_ok(&["mailbox", "off"]);
    assert!(alex.cli_json(&["mailbox", "status"])["shared"].is_null());
}

/// The mailbox key `d` holds for the pair with device `other`, read from its `peers.toml`
/// as anyone holding that laptop could.
fn key_held(d: &Daemon, other: &str) -> PairKey {
    let home = tandem_daemon::home::Home::resolve(Some(d.home().to_owned()));
    let book = PeerBook::load(&home).unwrap();
    let (me, them): (DeviceId, DeviceId) = (d.device_id().parse().unwrap(), other.parse().unwrap());
    book.get(&them)
        .expect("the device is paired")
        .mailbox
        .key(me, them)
        .expect("the pair has a mailbox key")
}

/// The mailbox files under their final names (`*.tdm`) in `folder`, with their bytes;
/// one deleted while listing is left out.
fn final_files(folder: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files_under(folder)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "tdm"))
        .filter_map(|f| Some((f.clone(), std::fs::read(&f).ok()?)))
        .collect()
}

/// A small tmpfs mounted for one test and unmounted when dropped.
struct SmallDisk(tempfile::TempDir);

impl SmallDisk {
    /// `None`, with a line saying why, where mounting is not permitted (not root).
    fn mount(kib: u32) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(out) if out.status.success() => Some(Self(dir)),
            Ok(out) => {
                eprintln!(
                    "SKIPPED: cannot mount a small tmpfs to fill ({}); run as root to test a full disk",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount ({e}); run as root to test a full disk");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    /// Takes every byte left with one file, and returns it.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        while file.write_all(&[0xAA; 4096]).is_ok() {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.path())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(self.path()).status();
        }
    }
}

#[test]
fn a_full_disk_is_shown_loses_nothing_and_catches_up_when_freed() {
    let Some(disk) = SmallDisk::mount(256) else {
        return;
    };
    let (_a_home, _b_home, alex, sam) = apart(["Alex", "Sam"]);
    let folder = disk.path();
    set_mailbox(&alex, folder);
    set_mailbox(&sam, folder);
    plan(&alex, "Before");
    assert!(eventually(SOON, || titles(&sam) == ["Before"]));
    let (alex_id, sam_id) = (alex.device_id(), sam.device_id());
    // Settled: every bundle acknowledged and pruned, so nothing frees space later.
    let acked = |id: &str| {
        files_under(&folder.join(id))
            .iter()
            .any(|f| f.file_name().unwrap().to_string_lossy().starts_with("ack-"))
    };
    assert!(eventually(SOON, || bundles(folder, &alex_id).is_empty()
        && bundles(folder, &sam_id).is_empty()
        && acked(&alex_id)
        && acked(&sam_id)));
    let filler = disk.fill();

    // The API still acknowledges edits on both sides; only the folder waits.
    let written: Vec<String> = (1..=3).map(|n| format!("While full {n}")).collect();
    for title in &written {
        plan(&alex, title);
    }
    let reply = sam.post("/v1/ideas", &json!({"title": "Night swim"}));
    assert_eq!(reply.status, 201, "{}", reply.body);
    for d in [&alex, &sam] {
        assert!(
            eventually(SOON, || d.get("/v1/mailbox").body["shared"]["error"]
                .as_str()
                .is_some_and(|e| e.contains("the mailbox folder's disk is full"))),
            "{}",
            d.get("/v1/mailbox").body
        );
    }
    let shown = alex.cli_ok(&["mailbox", "status"]);
    assert!(
        shown.contains("Problem: the mailbox folder's disk is full: free some space"),
        "{shown}"
    );
    let doctor = alex.cli(&["doctor"]);
    assert!(
        !doctor.status.success(),
        "doctor calls a full disk a problem"
    );
    assert!(String::from_utf8_lossy(&doctor.stdout).contains("disk is full"));

    // No half-written file is left behind, under a temp name or a final one: every
    // mailbox file there opens whole with the pair's key.
    assert!(
        eventually(SOON, || files_under(folder)
            .iter()
            .all(|f| !f.to_string_lossy().contains(".tmp-"))),
        "failed writes take their temp files away: {:?}",
        files_under(folder)
    );
    let key = key_held(&sam, &alex_id);
    for (file, bytes) in final_files(folder) {
        assert!(
            seal::open(&key, &bytes).is_ok(),
            "{} does not open whole",
            file.display()
        );
    }

    // Space freed: both catch up from the folder with every edit, and the problem clears.
    std::fs::remove_file(filler).unwrap();
    let mut expected = written.clone();
    expected.push("Before".into());
    expected.sort();
    assert!(
        eventually(SOON, || titles(&sam) == expected),
        "{:?}",
        titles(&sam)
    );
    assert!(eventually(SOON, || alex.count("/v1/ideas") == 1));
    assert!(eventually(SOON, || alex.heads()["shared"] == sam.heads()["shared"]));
    for d in [&alex, &sam] {
        assert!(
            eventually(SOON, || d.get("/v1/mailbox").body["shared"]["error"]
                .is_null()),
            "{}",
            d.get("/v1/mailbox").body
        );
    }
}

#[test]
fn a_removed_laptop_cannot_read_what_is_written_after() {
    // Alex's second laptop is lost; its thief keeps it running on the shared folders.
    let (_homes, [alex, laptop, sam]) = three_apart();
    let (shared, own) = folders_of_three([&alex, &laptop, &sam]);
    let (alex_id, laptop_id) = (alex.device_id(), laptop.device_id());
    plan(&alex, "Before");
    assert!(eventually(SOON, || titles(&laptop) == ["Before"]));
    assert!(eventually(SOON, || titles(&sam) == ["Before"]));

    // What the thief holds: the laptop's key for its pair with Alex's first laptop.
    let stolen = key_held(&laptop, &alex_id);
    let alex_dirs = [shared.path().join(&alex_id), own.path().join(&alex_id)];
    let readable = || {
        alex_dirs
            .iter()
            .flat_map(|dir| final_files(dir))
            .filter(|(_, bytes)| seal::open(&stolen, bytes).is_ok())
            .map(|(file, _)| file)
            .collect::<Vec<_>>()
    };
    assert!(
        eventually(SOON, || alex_dirs
            .iter()
            .all(|dir| readable().iter().any(|f| f.starts_with(dir)))),
        "before: Alex writes for the laptop in both folders ({:?})",
        readable()
    );

    alex.cli_ok(&["peer", "remove", &laptop_id]);
    let before = bundles(shared.path(), &alex_id);
    plan(&alex, "After the laptop was lost");
    let (landed, _) = new_bundle(shared.path(), &alex_id, &before);
    assert!(eventually(SOON, || titles(&sam)
        == ["After the laptop was lost", "Before"]));
    // Alex's files for the laptop are deleted, and nothing Alex writes now opens with
    // the stolen key.
    assert!(
        eventually(SOON, || readable().is_empty()),
        "{:?} still open with the removed laptop's key",
        readable()
    );
    let ack_for_laptop = format!("ack-{laptop_id}.tdm");
    for dir in &alex_dirs {
        assert!(!dir.join(&ack_for_laptop).exists());
    }
    let new_bytes = std::fs::read(&landed).unwrap_or_default();
    assert!(seal::open(&stolen, &new_bytes).is_err());

    // The laptop's daemon does not get the edit: once it has read Alex's directory with
    // the new bundle in it (a file dropped there after it, refused in the same pass,
    // shows it did), it still has only what came before.
    let marker = shared.path().join(&alex_id).join("99999999999999990.tdm");
    std::fs::write(&marker, b"dropped after the new bundle").unwrap();
    assert!(
        eventually(SOON, || laptop.get("/v1/mailbox").body["shared"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("99999999999999990"))),
        "{}",
        laptop.get("/v1/mailbox").body
    );
    assert_eq!(titles(&laptop), ["Before"]);
}

/// The instant `hours` from now, as `TANDEM_NOW` takes it: a laptop's clock that is off.
fn clock_off_by(hours: i64) -> String {
    jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(hours))
        .unwrap()
        .to_string()
}

/// `d`'s answer to `action` on `d_events` comes within 2 s of `writer`'s next bundle
/// landing in `folder`, after `edit` on the writer.
fn crosses_within_2s(
    folder: &Path,
    writer: &Daemon,
    events: &std::sync::mpsc::Receiver<String>,
    action: &str,
    edit: impl FnOnce(),
) {
    let writer_id = writer.device_id();
    let before = bundles(folder, &writer_id);
    edit();
    let (_, landed) = new_bundle(folder, &writer_id, &before);
    wait_event(events, action);
    assert!(
        landed.elapsed() < Duration::from_secs(2),
        "{action}: {:?}",
        landed.elapsed()
    );
}

#[test]
fn clocks_hours_apart_or_set_back_neither_drop_nor_delay_bundles() {
    let (a_home, b_home, mut alex, mut sam) = apart(["Alex", "Sam"]);
    alex.terminate();
    sam.terminate();
    // Alex's laptop runs 9 hours ahead, Sam's 9 hours behind.
    let (alex, sam) = (
        Daemon::start_at(a_home.path(), &clock_off_by(9)),
        Daemon::start_at(b_home.path(), &clock_off_by(-9)),
    );
    let folder = tempfile::tempdir().unwrap();
    let folder = folder.path();
    set_mailbox(&alex, folder);
    set_mailbox(&sam, folder);
    let (alex_id, sam_id) = (alex.device_id(), sam.device_id());
    let sam_events = sam.events();
    crosses_within_2s(folder, &alex, &sam_events, "plan.add", || {
        plan(&alex, "Ahead");
    });
    let alex_events = alex.events();
    crosses_within_2s(folder, &sam, &alex_events, "idea.add", || {
        let reply = sam.post("/v1/ideas", &json!({"title": "Behind"}));
        assert_eq!(reply.status, 201, "{}", reply.body);
    });
    // Each took the other's acknowledgement: everything is pruned.
    assert!(eventually(SOON, || bundles(folder, &alex_id).is_empty()
        && bundles(folder, &sam_id).is_empty()));
    let before_max = max_seq(folder, &alex_id);

    // Alex's clock is set right, 18 hours back, while Sam's daemon keeps running.
    let mut alex = alex;
    alex.terminate();
    let alex = Daemon::start_at(a_home.path(), &clock_off_by(-9));
    let alex_events = alex.events();
    crosses_within_2s(folder, &alex, &sam_events, "plan.add", || {
        plan(&alex, "After the clock went back");
    });
    assert!(
        max_seq(folder, &alex_id) > before_max,
        "Alex numbers its files above what it used before"
    );
    crosses_within_2s(folder, &sam, &alex_events, "idea.add", || {
        let reply = sam.post("/v1/ideas", &json!({"title": "Still behind"}));
        assert_eq!(reply.status, 201, "{}", reply.body);
    });
    // Sam takes Alex's acknowledgements as new, though Alex's clock now reads earlier
    // than when it wrote the last ones: Sam's bundle is pruned.
    assert!(
        eventually(SOON, || bundles(folder, &sam_id).is_empty()
            && bundles(folder, &alex_id).is_empty()),
        "{:?}",
        files_under(folder)
    );
    assert!(eventually(SOON, || alex.heads()["shared"] == sam.heads()["shared"]));
    // Neither says the other has gone silent, nor reports a problem with the folder.
    for d in [&alex, &sam] {
        let doctor = String::from_utf8_lossy(&d.cli(&["doctor"]).stdout).into_owned();
        assert!(doctor.contains("is usable"), "{doctor}");
        assert!(!doctor.contains("nothing from"), "{doctor}");
    }
}

/// The highest sequence number among `device`'s files in `folder` (their clear headers).
fn max_seq(folder: &Path, device: &str) -> u64 {
    final_files(&folder.join(device))
        .iter()
        .filter_map(|(_, bytes)| seal::peek(bytes).ok())
        .map(|e| e.seq)
        .max()
        .unwrap_or(0)
}
