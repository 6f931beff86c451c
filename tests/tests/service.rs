//! `tandem service`: the unit it writes is valid, installing twice is harmless, and
//! uninstalling removes it. Runs with a temporary HOME, so nothing real is touched.

use std::process::Command;

fn tandem(user_home: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(tandem_tests::bin("tandem"))
        .args(args)
        .env("HOME", user_home)
        .env_remove("XDG_CONFIG_HOME")
        .env("TANDEM_HOME", user_home.join("data"))
        // No user bus here: systemctl --user cannot run, which the command reports.
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap()
}

#[test]
fn install_is_idempotent_and_the_unit_verifies() {
    let home = tempfile::tempdir().unwrap();
    let dry = tandem(home.path(), &["service", "install", "--dry-run"]);
    assert!(dry.status.success());
    let text = String::from_utf8_lossy(&dry.stdout).into_owned();
    let unit: String = text.lines().skip(2).map(|l| format!("{l}\n")).collect();
    assert!(
        unit.contains(&format!(
            "ExecStart={}",
            tandem_tests::bin("tandemd")
                .canonicalize()
                .unwrap()
                .display()
        )),
        "{unit}"
    );
    assert!(unit.contains("Restart=on-failure"));
    let unit_path = home.path().join("tandem.service");
    std::fs::write(&unit_path, &unit).unwrap();
    match Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit_path)
        .output()
    {
        Ok(out) => assert!(
            out.status.success() && out.stderr.is_empty(),
            "systemd-analyze: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => eprintln!("SKIP systemd-analyze verify: not installed here"),
    }
    assert!(
        !home
            .path()
            .join(".config/systemd/user/tandem.service")
            .exists(),
        "--dry-run writes nothing"
    );

    let first = tandem(home.path(), &["service", "install"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let installed = home.path().join(".config/systemd/user/tandem.service");
    assert_eq!(std::fs::read_to_string(&installed).unwrap(), unit);
    let second = tandem(home.path(), &["service", "install"]);
    assert!(String::from_utf8_lossy(&second.stdout).contains("already installed"));
    let status =
        String::from_utf8_lossy(&tandem(home.path(), &["service", "status"]).stdout).into_owned();
    assert!(
        status.contains("installed: yes") && status.contains("running:   no"),
        "{status}"
    );

    let removed = tandem(home.path(), &["service", "uninstall"]);
    assert!(removed.status.success());
    assert!(!installed.exists());
    let status =
        String::from_utf8_lossy(&tandem(home.path(), &["service", "status"]).stdout).into_owned();
    assert!(status.contains("installed: no"), "{status}");
}
