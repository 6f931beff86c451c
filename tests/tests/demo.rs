//! `tandem demo` runs end to end and leaves nothing behind.

use std::process::Command;

fn processes_mentioning(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(text) {
                found.push(cmdline);
            }
        }
    }
    found
}

#[test]
fn demo_pairs_fills_a_week_and_cleans_up() {
    let out = Command::new(tandem_tests::bin("tandem"))
        .args(["demo", "--no-wait"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Paired: Alex showed code"), "{text}");
    assert!(text.contains("Filled the week of"), "{text}");
    assert!(
        text.contains("Sam proposed \"Sunday brunch\": on Alex's laptop after"),
        "{text}"
    );
    // The week's balance, once, in a stable order, with both evenings counted.
    let balance: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Together: "))
        .collect();
    assert_eq!(balance.first(), Some(&"Together: 3.5 h"), "{text}");
    assert!(
        balance[1].starts_with("Alex:     3.0 h personal time"),
        "{text}"
    );
    assert!(
        balance[2].starts_with("Sam:      3.0 h personal time"),
        "{text}"
    );
    assert_eq!(
        balance[3..6],
        [
            "• Alex wants more time alone this week.",
            "• Sam wants more time together this week.",
            "• It is Alex's turn to plan time together.",
        ],
        "{text}"
    );
    assert_eq!(text.matches("Week ").count(), 1, "{text}");
    // No instructions for a directory that is gone by the time they are read.
    assert!(!text.contains("TANDEM_HOME"), "{text}");
    assert!(
        text.contains("Demo done: both daemons are stopped and their data removed."),
        "{text}"
    );

    let dir = text
        .lines()
        .find_map(|l| l.strip_prefix("Starting two laptops' daemons in "))
        .map(|l| l.trim_end_matches(" ...").to_owned())
        .expect("the demo names its directory");
    assert!(
        !std::path::Path::new(&dir).exists(),
        "{dir} was left behind"
    );
    assert_eq!(
        processes_mentioning(&dir),
        Vec::<String>::new(),
        "daemons left running"
    );
}
