//! Files stay private: nothing in a data home, nor an export, is readable by another user
//! of the laptop, whatever the umask of the shell that started the daemon.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use tandem_tests::phone::Phone;
use tandem_tests::{Home, eventually, pair, titles};

/// Every file and directory below `dir` (not `dir` itself), recursively, with its mode.
fn modes_under(dir: &Path) -> Vec<(PathBuf, u32, bool)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        found.push((path.clone(), mode, meta.is_dir()));
        if meta.is_dir() {
            found.extend(modes_under(&path));
        }
    }
    found
}

#[test]
fn no_file_in_either_home_is_readable_by_others_after_a_full_scenario() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let (mut alex, mut sam) = (alex_home.start(), sam_home.start());
    pair(&alex, &sam, false);
    let plan = alex.post(
        "/v1/plans",
        &json!({"title": "Dinner at Lou's", "start": "2026-12-04T19:30[Europe/Paris]",
                "end": "2026-12-04T22:00[Europe/Paris]"}),
    );
    assert_eq!(plan.status, 201, "{plan:?}");
    let note = alex.post("/v1/notes", &json!({"body": "the ring is in the blue box"}));
    assert_eq!(note.status, 201, "{note:?}");
    let idea = sam.post("/v1/ideas", &json!({"title": "Night train to Vienna"}));
    assert_eq!(idea.status, 201, "{idea:?}");
    assert!(
        eventually(Duration::from_secs(10), || titles(
            &sam.get("/v1/plans").body
        )
        .contains(&"Dinner at Lou's".to_owned())
            && titles(&alex.get("/v1/ideas").body)
                .contains(&"Night train to Vienna".to_owned())),
        "the documents did not sync"
    );
    let _pixel = Phone::add(&alex, "Pixel");
    assert!(alex.terminate().success());
    assert!(sam.terminate().success());

    for home in [alex_home.path(), sam_home.path()] {
        let entries = modes_under(home);
        assert!(
            entries.iter().any(|(p, _, _)| p.ends_with("changes.log")),
            "the scenario wrote change logs: {entries:?}"
        );
        assert!(
            entries
                .iter()
                .any(|(p, _, _)| p.starts_with(home.join("sync"))),
            "the scenario saved sync states: {entries:?}"
        );
        let open: Vec<_> = entries
            .iter()
            .filter(|(_, mode, is_dir)| {
                if *is_dir {
                    *mode != 0o700
                } else {
                    mode & 0o077 != 0
                }
            })
            .map(|(path, mode, _)| format!("{} {mode:o}", path.display()))
            .collect();
        assert!(
            open.is_empty(),
            "readable by others (directories must be 0700, files without group/other bits): {open:#?}"
        );
    }
}

#[test]
fn an_export_is_private_and_never_written_through_a_symlink() {
    let home = Home::init("Alex");
    let d = home.start();
    let note = d.post("/v1/notes", &json!({"body": "the ring is in the blue box"}));
    assert_eq!(note.status, 201, "{note:?}");
    let dir = tempfile::tempdir().unwrap();

    let out = dir.path().join("export.json");
    d.cli_ok(&["export", "--out", out.to_str().unwrap()]);
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the export holds private notes");
    assert!(std::fs::read_to_string(&out).unwrap().contains("blue box"));

    // Overwriting an existing, looser file leaves a private one.
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    d.cli_ok(&["export", "--out", out.to_str().unwrap()]);
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a rewritten export is private too");

    // A symlink planted where the export goes is refused, and what it points at untouched.
    let target = dir.path().join("someone-elses-file");
    std::fs::write(&target, "keep me").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.path().join("planted.json");
    symlink(&target, &link).unwrap();
    let refused = d.cli(&["export", "--out", link.to_str().unwrap()]);
    assert!(
        !refused.status.success(),
        "an export through a symlink was written"
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("symlink"), "the refusal says why: {stderr}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link itself was left alone"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        3,
        "no temp file left behind: {leftovers:?}"
    );
}
