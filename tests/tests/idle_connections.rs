//! Connections that never send a request: an attacker on the home network opening many
//! of them must not lock a phone out, and neither listener keeps them open for long.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::json;
use tandem_daemon::identity::Identity;
use tandem_daemon::tls::{self, Trust};
use tandem_tests::phone::Phone;
use tandem_tests::{Daemon, Home};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// How many idle connections the attacker opens.
const IDLE: usize = 200;
/// The attacker's source address: another loopback address than the phone's 127.0.0.1.
const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// How long the listeners may keep a connection that sends nothing: the header-read
/// timeout (10 s) plus a margin for a loaded machine.
const CLOSED_WITHIN: Duration = Duration::from_secs(20);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A TCP connection to `to` from `from`.
async fn connect_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(to).await
}

/// Waits until the server closes `stream` (EOF or reset); false if it is still open
/// at `deadline`.
async fn closed_by_server(mut stream: impl AsyncRead + Unpin + Send, deadline: Instant) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Runs `tasks` concurrently and returns their results (in no particular order).
async fn all<T: Send + 'static>(
    tasks: impl IntoIterator<Item = impl std::future::Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let mut set: tokio::task::JoinSet<T> = tasks.into_iter().collect();
    let mut done = Vec::new();
    while let Some(result) = set.join_next().await {
        done.push(result.expect("a connection task"));
    }
    done
}

#[test]
fn idle_tls_connections_from_one_source_do_not_lock_a_phone_out() {
    let home = Home::init("Alex");
    let d = home.start();
    let pixel = Phone::add(&d, "Pixel");
    let listener: SocketAddr = pixel
        .base
        .trim_start_matches("https://")
        .parse()
        .expect("the phone listener's address");
    let rt = runtime();

    // The attacker finishes TLS wherever the listener lets it, then sends nothing.
    let config = tls::client_config(&Identity::generate(), Trust::Anyone, b"http/1.1");
    let idle = rt.block_on(all((0..IDLE).map(|_| {
        let connector = tokio_rustls::TlsConnector::from(config.clone());
        async move {
            let tcp = connect_from(ATTACKER, listener).await.ok()?;
            let handshake = connector.connect(tls::server_name(), tcp);
            tokio::time::timeout(Duration::from_secs(3), handshake)
                .await
                .ok()?
                .ok()
        }
    })));
    let idle: Vec<_> = idle.into_iter().flatten().collect();
    let held = idle.len();
    assert!(held > 0, "the attacker got no TLS connection at all");

    // Meanwhile the real phone, from its own address, gets its page and its data at once.
    let started = Instant::now();
    let page = pixel.send("GET", "/", None, &[], None);
    let status = pixel.get("/v1/status");
    let took = started.elapsed();
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(status.status, 200, "{status:?}");
    assert!(
        took < Duration::from_secs(1),
        "with {held} idle TLS connections open from {ATTACKER}, the phone waited {took:?}"
    );
    eprintln!(
        "{held} of {IDLE} idle TLS connections held; the phone's page and status took {took:?}"
    );

    // And the listener does not keep the idle ones: each is closed by the server.
    let deadline = Instant::now() + CLOSED_WITHIN;
    let closed = rt.block_on(all(idle
        .into_iter()
        .map(|tls| closed_by_server(tls, deadline))));
    let still_open = closed.iter().filter(|closed| !**closed).count();
    assert_eq!(
        still_open, 0,
        "{still_open} of {held} idle TLS connections still open after {CLOSED_WITHIN:?}"
    );
}

#[test]
fn the_local_api_closes_idle_and_slow_connections_and_keeps_serving() {
    let home = Home::init("Alex");
    let d = home.start();
    let api: SocketAddr = d.addr.parse().expect("the API address");
    let events = d.events();
    let rt = runtime();

    // Connections that send nothing, and some that send half a request and stop.
    let (idle, slow) = rt.block_on(async {
        let mut idle = Vec::new();
        for _ in 0..IDLE {
            idle.push(TcpStream::connect(api).await.expect("connect to the API"));
        }
        let mut slow = Vec::new();
        for _ in 0..10 {
            let mut tcp = TcpStream::connect(api).await.expect("connect to the API");
            let partial = format!("GET /v1/status HTTP/1.1\r\nHost: {api}\r\nX-Slow: ");
            tcp.write_all(partial.as_bytes()).await.unwrap();
            slow.push(tcp);
        }
        (idle, slow)
    });

    // The CLI still works while they are open.
    let started = Instant::now();
    d.cli_ok(&[
        "plan",
        "add",
        "Picnic",
        "--at",
        "2026-12-05 12:00",
        "--for",
        "2h",
    ]);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "a CLI command took {took:?} with {IDLE} idle connections open"
    );

    let deadline = Instant::now() + CLOSED_WITHIN;
    let closed = rt.block_on(all(idle
        .into_iter()
        .chain(slow)
        .map(|tcp| closed_by_server(tcp, deadline))));
    let still_open = closed.iter().filter(|closed| !**closed).count();
    assert_eq!(
        still_open,
        0,
        "{still_open} of {} idle or slow connections still open after {CLOSED_WITHIN:?}",
        closed.len()
    );

    // An event stream is not idle: it outlived the header-read timeout and still delivers.
    drain(&events);
    let made = d.post(
        "/v1/ideas",
        &json!({"title": "Stargazing after the timeouts"}),
    );
    assert_eq!(made.status, 201, "{made:?}");
    assert!(
        next_event_mentions(&events, "Stargazing"),
        "the event stream was cut while idle connections were"
    );
    stop_cleanly(d);
}

fn drain(events: &std::sync::mpsc::Receiver<String>) {
    while events.try_recv().is_ok() {}
}

fn next_event_mentions(events: &std::sync::mpsc::Receiver<String>, text: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match events.recv_timeout(left) {
            Ok(data) if data.contains(text) => return true,
            Ok(_) => continue,
            Err(_) => return false,
        }
    }
    false
}

/// The daemon still stops gracefully with connections behind it.
fn stop_cleanly(mut d: Daemon) {
    assert!(d.terminate().success());
}
