//! Helpers for end-to-end tests: start real `tandemd` processes in their own temporary
//! homes and drive them through the real `tandem` binary or the HTTP API. Everything
//! started here is stopped when its guard drops, even when a test fails.

// Only the daemon needs `unsafe` (two glibc calls in its `memory.rs`).
#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub mod floor;
pub mod mailbox;
pub mod netns;
pub mod phone;
pub mod relay;
pub mod stranger;

use serde_json::Value;
use tempfile::TempDir;

/// How long a daemon may take to come up before a test gives up.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the tests' fixed clock starts: Thursday 3 December 2026, 18:00 in Paris. The
/// calendar dates tests write ("2026-12-04 19:30", week 2026-W49) were chosen around it,
/// so on this clock they stay ahead of "now" on whatever day the tests run.
pub const FIXED_NOW: &str = "2026-12-03T18:00:00+01:00";

/// The fixed clock's reading: [`FIXED_NOW`] when this test process first read it, running
/// on at the real pace since. Daemons started one after another, or restarted, on it
/// share one "now" that never goes back (undo and the activity feed order changes by
/// their stamps).
pub fn fixed_now() -> String {
    static FIRST_READ: OnceLock<Instant> = OnceLock::new();
    let since = FIRST_READ.get_or_init(Instant::now).elapsed();
    let start: jiff::Timestamp = FIXED_NOW.parse().expect("FIXED_NOW is an instant");
    jiff::SignedDuration::try_from(since)
        .ok()
        .and_then(|since| start.checked_add(since).ok())
        .expect("a test process runs for less than a few centuries")
        .to_string()
}

/// Directory holding freshly built `tandemd` and `tandem`, building them once per test
/// process. They get a target directory of their own: building them inside the test's
/// own would resolve dependency features differently and relink them on every run.
pub fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root");
        let target = workspace.join("target").join("e2e");
        let release = !cfg!(debug_assertions);
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .current_dir(workspace)
            .args([
                "build",
                "--quiet",
                "--bin",
                "tandemd",
                "--bin",
                "tandem",
                // Crash points (`FAILPOINTS`) stop a daemon at a chosen step, as `kill -9`
                // would, for the tests of what survives; off unless a test names one.
                "--features",
                "tandem-daemon/crash-points",
                "--target-dir",
            ])
            .arg(&target);
        if release {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "building tandemd and tandem failed");
        target.join(if release { "release" } else { "debug" })
    })
}

/// Path of one of the workspace binaries.
pub fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// The `tandem` CLI pointed at `home`.
pub fn tandem(home: &Path) -> Command {
    let mut cmd = Command::new(bin("tandem"));
    cmd.env("TANDEM_HOME", home)
        .env_remove("RUST_LOG")
        .env_remove("TANDEM_NOW")
        .stdin(Stdio::null());
    cmd
}

/// A data home that lives as long as the value.
pub struct Home {
    dir: TempDir,
}

impl Home {
    /// A fresh home initialised for `name` with `tandem init`.
    pub fn init(name: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = Self { dir };
        let out = tandem(home.path())
            .args(["init", "--name", name, "--tz", "Europe/Paris"])
            .output()
            .expect("run tandem init");
        assert!(
            out.status.success(),
            "tandem init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        home
    }

    /// A copy of the data home at `source` (a committed fixture), with the modes a home
    /// has (directories 0700, files 0600): git keeps none of them.
    pub fn copy_of(source: &Path) -> Self {
        fn copy(from: &Path, to: &Path) {
            use std::os::unix::fs::PermissionsExt;
            std::fs::create_dir_all(to).expect("create a directory of the copy");
            std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700))
                .expect("set a directory's mode");
            for entry in std::fs::read_dir(from).expect("read the fixture") {
                let entry = entry.expect("read the fixture");
                let target = to.join(entry.file_name());
                if entry.path().is_dir() {
                    copy(&entry.path(), &target);
                } else {
                    std::fs::copy(entry.path(), &target).expect("copy a fixture file");
                    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600))
                        .expect("set a file's mode");
                }
            }
        }
        let dir = tempfile::tempdir().expect("temp dir");
        copy(source, dir.path());
        Self { dir }
    }

    /// Keeps the directory after the value is gone (for inspecting a benchmark's data).
    pub fn keep(self) -> PathBuf {
        self.dir.keep()
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Starts a daemon on this home.
    pub fn start(&self) -> Daemon {
        Daemon::start(self.path())
    }

    /// Starts a daemon on this home on the fixed clock ([`fixed_now`]), for a test whose
    /// dates must stay ahead of "now".
    pub fn start_on_fixed_clock(&self) -> Daemon {
        Daemon::start_at(self.path(), &fixed_now())
    }
}

/// A running `tandemd`; killed on drop.
pub struct Daemon {
    home: PathBuf,
    /// The network namespace it runs in, if any: then only the CLI can reach it.
    netns: Option<String>,
    child: Option<Child>,
    /// `127.0.0.1:PORT` of its API.
    pub addr: String,
    /// Its bearer token.
    pub token: String,
    agent: ureq::Agent,
    /// The `TANDEM_NOW` it was started with, which [`Daemon::cli`] gives the CLI too, so
    /// both binaries read "tonight" and "this week" from one clock.
    clock: Option<String>,
}

/// A response as a test sees it: status and JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
}

/// Daemons in tests log warnings only; `TANDEM_TEST_LOG=info` (any `RUST_LOG` filter)
/// shows more when a test needs explaining.
fn daemon_log_filter() -> String {
    std::env::var("TANDEM_TEST_LOG").unwrap_or_else(|_| "warn".into())
}

/// The HTTP client of the helpers: statuses are results to check, not errors.
fn api_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

impl Daemon {
    /// Starts `tandemd --home home` and waits until its API answers.
    pub fn start(home: &Path) -> Self {
        Self::start_with(home, &[])
    }

    /// Starts `tandemd` inside network namespace `ns`, with mDNS on (it only reaches the
    /// namespace's veth), and waits until its CLI gets an answer.
    pub fn start_in(home: &Path, ns: &str) -> Self {
        Self::spawn_in(home, ns, None)
    }

    /// [`Daemon::start_in`] with the clock starting at `now`, as [`Daemon::start_at`].
    pub fn start_in_at(home: &Path, ns: &str, now: &str) -> Self {
        Self::spawn_in(home, ns, Some(now))
    }

    /// Spawns `tandemd` in namespace `ns`, on the clock `now` names if any.
    fn spawn_in(home: &Path, ns: &str, now: Option<&str>) -> Self {
        let _ = std::fs::remove_file(home.join("api.addr"));
        let mut command = Command::new("ip");
        if let Some(now) = now {
            command.env("TANDEM_NOW", now);
        }
        let child = command
            .args(["netns", "exec", ns])
            .arg(bin("tandemd"))
            .arg("--home")
            .arg(home)
            .env("RUST_LOG", daemon_log_filter())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn tandemd in a namespace");
        let mut daemon = Self {
            home: home.to_owned(),
            netns: Some(ns.to_owned()),
            child: Some(child),
            addr: String::new(),
            token: String::new(),
            agent: api_agent(),
            clock: now.map(str::to_owned),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let api =
            |name: &str| std::fs::read_to_string(home.join(name)).map(|t| t.trim().to_owned());
        while !daemon.cli(&["status"]).status.success() {
            if let Some(status) = daemon
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("tandemd exited during start-up in {ns}: {status}");
            }
            assert!(Instant::now() < deadline, "tandemd did not come up in {ns}");
            std::thread::sleep(Duration::from_millis(50));
        }
        // Usable only from a thread inside the namespace (see `netns::enter`).
        daemon.addr = api("api.addr").expect("api.addr");
        daemon.token = api("api.token").expect("api.token");
        daemon
    }

    /// Starts `tandemd --home home EXTRA...` and waits until its API answers.
    pub fn start_with(home: &Path, extra: &[&str]) -> Self {
        Self::spawn(home, extra, None, None)
    }

    /// Starts `tandemd` with its clock starting at `now` (an RFC 3339 instant, through
    /// `TANDEM_NOW`), so what is due, today and this week do not depend on the day the
    /// test runs.
    pub fn start_at(home: &Path, now: &str) -> Self {
        let mut daemon = Self::spawn(home, &[], None, Some(("TANDEM_NOW", now)));
        daemon.clock = Some(now.to_owned());
        daemon
    }

    /// Starts `tandemd` set to stop dead (as `kill -9` would) when it reaches the crash
    /// point `point` (a `fail::fail_point!` name in the daemon).
    pub fn start_crashing_at(home: &Path, point: &str) -> Self {
        Self::spawn(
            home,
            &[],
            None,
            Some(("FAILPOINTS", &format!("{point}=return"))),
        )
    }

    /// Starts `tandemd` talking at `info` level into the file `log`, to check what it logs.
    pub fn start_logging_to(home: &Path, log: &Path) -> Self {
        Self::spawn(home, &[], Some(log), None)
    }

    /// Spawns `tandemd` with one more environment variable if `env` names one.
    fn spawn(home: &Path, extra: &[&str], log: Option<&Path>, env: Option<(&str, &str)>) -> Self {
        let _ = std::fs::remove_file(home.join("api.addr"));
        let (filter, stderr) = match log {
            Some(path) => (
                "info".to_owned(),
                Stdio::from(std::fs::File::create(path).expect("create the log file")),
            ),
            None => (daemon_log_filter(), Stdio::inherit()),
        };
        let mut command = Command::new(bin("tandemd"));
        if let Some((name, value)) = env {
            command.env(name, value);
        }
        let child = command
            .arg("--home")
            .arg(home)
            // Peer and phone traffic in tests stays on loopback, and no mDNS goes out on the
            // host's real network (discovery is tested inside network namespaces).
            .args(if extra.contains(&"--peer-listen") {
                &["--no-mdns"][..]
            } else {
                &["--peer-listen", "127.0.0.1", "--no-mdns"][..]
            })
            .args(["--lan-listen", "127.0.0.1"])
            .args(extra)
            .env("RUST_LOG", filter)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn tandemd");
        let deadline = Instant::now() + START_TIMEOUT;
        let mut daemon = Self {
            home: home.to_owned(),
            netns: None,
            child: Some(child),
            addr: String::new(),
            token: String::new(),
            agent: api_agent(),
            clock: None,
        };
        loop {
            if let Some(status) = daemon
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("tandemd exited during start-up: {status}");
            }
            if let (Ok(addr), Ok(token)) = (
                std::fs::read_to_string(home.join("api.addr")),
                std::fs::read_to_string(home.join("api.token")),
            ) {
                daemon.addr = addr.trim().to_owned();
                daemon.token = token.trim().to_owned();
                if daemon.get("/v1/status").status == 200 {
                    return daemon;
                }
            }
            assert!(
                Instant::now() < deadline,
                "tandemd did not come up within {START_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The data home.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// `kill -9`: no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits; returns the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal("TERM")
    }

    /// Sends `SIG<name>` (e.g. `INT`), then waits; returns the exit status.
    pub fn signal(&mut self, name: &str) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let sent = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("tandemd did not stop within 10 s of SIG{name}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The `tandem` CLI pointed at this daemon (inside its namespace, if any) and on its
    /// clock, for a test that runs it in its own way (a closed pipe, a terminal).
    pub fn command(&self) -> Command {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", ns]).arg(bin("tandem"));
                cmd.env("TANDEM_HOME", &self.home)
                    .env_remove("RUST_LOG")
                    .env_remove("TANDEM_NOW")
                    .stdin(Stdio::null());
                cmd
            }
            None => tandem(&self.home),
        };
        if let Some(now) = &self.clock {
            cmd.env("TANDEM_NOW", now);
        }
        cmd
    }

    /// Runs `tandem ARGS` against this daemon (inside its namespace, if any).
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.args(args);
        // A test on the system clock that writes a fixed date ("2026-12-04 19:30") has its
        // start taken as written once the calendar overtakes it. Tests whose dates must
        // stay ahead of "now" run on the fixed clock (`start_on_fixed_clock`), where
        // nothing is added and the refusal of a past start is tested.
        if self.clock.is_none() && args.contains(&"--at") && !args.contains(&"--past") {
            cmd.arg("--past");
        }
        cmd.output().expect("run tandem")
    }

    /// Runs `tandem ARGS`, asserts success, returns stdout.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "tandem {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs `tandem --json ARGS` and parses the output.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let text = self.cli_ok(&all);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("tandem {args:?} printed invalid JSON ({e}): {text}"))
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn reply(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
        let mut response = response.expect("HTTP exchange with tandemd");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().expect("read body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply { status, body }
    }

    /// Authorised `GET`.
    pub fn get(&self, path: &str) -> Reply {
        Self::reply(
            self.agent
                .get(self.url(path))
                .header("Authorization", format!("Bearer {}", self.token))
                .call(),
        )
    }

    /// How many items a list route returns.
    pub fn count(&self, path: &str) -> usize {
        self.get(path).body.as_array().map_or(0, Vec::len)
    }

    /// Authorised `POST` of raw bytes as JSON.
    pub fn post_raw(&self, path: &str, body: &[u8]) -> Reply {
        Self::reply(
            self.agent
                .post(self.url(path))
                .header("Authorization", format!("Bearer {}", self.token))
                .header("Content-Type", "application/json")
                .send(body),
        )
    }

    /// Authorised `POST` of a JSON value.
    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_raw(path, body.to_string().as_bytes())
    }

    /// An authorised request with any method and an optional JSON body.
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/json")
            .body(body.map(Value::to_string).unwrap_or_default())
            .expect("valid request");
        Self::reply(self.agent.run(request))
    }

    /// An authorised request with exactly these other headers (no automatic
    /// `Content-Type`) and raw body.
    pub fn request_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path))
            .header("Authorization", format!("Bearer {}", self.token));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let request = request
            .body(body.unwrap_or_default().to_vec())
            .expect("valid request");
        Self::reply(self.agent.run(request))
    }

    /// A `GET` with the given extra headers and no automatic token.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.agent.get(self.url(path));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        Self::reply(request.call())
    }

    /// Opens `/v1/events` and returns a channel of its `data:` lines.
    pub fn events(&self) -> std::sync::mpsc::Receiver<String> {
        let response = self
            .agent
            .get(self.url("/v1/events"))
            .header("Authorization", format!("Bearer {}", self.token))
            .config()
            .timeout_global(None)
            .build()
            .call()
            .expect("open event stream");
        assert_eq!(response.status().as_u16(), 200);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let reader = BufReader::new(response.into_body().into_reader());
            for line in reader.lines() {
                let Ok(line) = line else { break };
                if let Some(data) = line.strip_prefix("data:")
                    && tx.send(data.trim().to_owned()).is_err()
                {
                    break;
                }
            }
        });
        rx
    }
}

impl Daemon {
    /// This daemon's peer address on loopback.
    pub fn peer_addr(&self) -> String {
        format!("127.0.0.1:{}", self.cli_json(&["status"])["peer_port"])
    }

    /// This daemon's device id.
    pub fn device_id(&self) -> String {
        self.cli_json(&["status"])["device_id"]
            .as_str()
            .expect("device id")
            .to_owned()
    }

    /// Both documents' heads.
    pub fn heads(&self) -> Value {
        self.cli_json(&["status"])["heads"].clone()
    }

    /// Opens a pairing window here and returns its code.
    pub fn pairing_code(&self, own: bool) -> String {
        let mut args = vec!["pair", "--no-wait"];
        if own {
            args.push("--own");
        }
        self.cli_json(&args)["code"]
            .as_str()
            .expect("a code")
            .to_owned()
    }
}

/// Pairs `joiner` with `inviter` through the CLI, as two people would.
pub fn pair(inviter: &Daemon, joiner: &Daemon, own: bool) {
    let code = inviter.pairing_code(own);
    let addr = inviter.peer_addr();
    let mut args = vec!["pair", code.as_str(), "--addr", addr.as_str()];
    if own {
        args.push("--own");
    }
    joiner.cli_ok(&args);
}

/// The `title`s of a JSON list of items, sorted.
pub fn titles(list: &Value) -> Vec<String> {
    let mut titles: Vec<String> = list
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["title"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    titles.sort();
    titles
}

/// Every file below `dir`, recursively: for checking what a daemon wrote to disk.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Polls `check` until it holds or `limit` passes; returns whether it held.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}
