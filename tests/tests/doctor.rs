//! `tandem doctor` finds each broken condition and says how to fix it.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use tandem_tests::{Home, eventually, pair};

fn doctor(d: &tandem_tests::Daemon) -> (bool, String) {
    let out = d.cli(&["doctor"]);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn doctor_reports_each_broken_condition_with_its_fix() {
    let (alex_home, sam_home) = (Home::init("Alex"), Home::init("Sam"));
    let alex = alex_home.start();
    let mut sam = sam_home.start();
    pair(&alex, &sam, false);
    assert!(eventually(Duration::from_secs(10), || alex
        .cli_json(&["peers"])[0]["connected"]
        == true));
    let (healthy, text) = doctor(&alex);
    assert!(healthy, "{text}");
    assert!(
        text.contains("ok       tandemd") && text.contains("Sam is connected"),
        "{text}"
    );

    // A world-readable token.
    let token = alex_home.path().join("api.token");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (healthy, text) = doctor(&alex);
    assert!(!healthy);
    assert!(
        text.contains("can be read by other users")
            && text.contains(&format!("chmod 600 {}", token.display())),
        "{text}"
    );
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();

    // The partner's laptop is gone: worth a note, nothing to fix here.
    assert!(sam.terminate().success());
    assert!(eventually(Duration::from_secs(10), || alex
        .cli_json(&["peers"])[0]["connected"]
        == false));
    let (healthy, text) = doctor(&alex);
    assert!(healthy, "{text}");
    assert!(
        text.contains("note     Sam (127.0.0.1:")
            && text.contains("is not reachable")
            && text.contains("tandem peer add"),
        "{text}"
    );

    // No daemon at all.
    drop(alex);
    let out = tandem_tests::tandem(alex_home.path())
        .arg("doctor")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        text.contains("daemon not running") && text.contains("tandem service install"),
        "{text}"
    );
}
