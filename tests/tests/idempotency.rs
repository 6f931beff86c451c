//! `Idempotency-Key`: a retried write is applied once and answered the same way, also
//! after `kill -9` and a restart; a different request under a used key is refused; the
//! CLI retries a write whose answer was lost under one key.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;
use tandem_tests::{Daemon, Home};

const JSON: (&str, &str) = ("Content-Type", "application/json");

fn post_keyed(d: &Daemon, key: &str, body: &serde_json::Value) -> tandem_tests::Reply {
    d.request_with(
        "POST",
        "/v1/ideas",
        &[JSON, ("Idempotency-Key", key)],
        Some(body.to_string().as_bytes()),
    )
}

#[test]
fn the_same_write_twice_under_one_key_is_applied_once_and_answered_the_same() {
    let home = Home::init("Alex");
    let d = home.start();
    let body = json!({"title": "Night swim"});
    let first = post_keyed(&d, "outbox-1", &body);
    assert_eq!(first.status, 201, "{:?}", first.body);
    let again = post_keyed(&d, "outbox-1", &body);
    assert_eq!(again.status, 201, "{:?}", again.body);
    assert_eq!(again.body, first.body, "a replay gives the first answer");
    assert_eq!(d.count("/v1/ideas"), 1, "the replay added nothing");

    let other = post_keyed(&d, "outbox-1", &json!({"title": "Picnic"}));
    assert_eq!(other.status, 422, "{:?}", other.body);
    assert_eq!(other.body["error"]["code"], "key_reused");
    assert_eq!(d.count("/v1/ideas"), 1, "a reused key added nothing");

    let fresh = post_keyed(&d, "outbox-2", &json!({"title": "Picnic"}));
    assert_eq!(fresh.status, 201, "{:?}", fresh.body);
    assert_eq!(d.count("/v1/ideas"), 2);

    for bad in ["", "two words", &"k".repeat(256)] {
        let reply = post_keyed(&d, bad, &json!({"title": "Bad key"}));
        assert_eq!(reply.status, 400, "key {bad:?}: {:?}", reply.body);
        assert_eq!(reply.body["error"]["code"], "invalid_idempotency_key");
    }
    assert_eq!(d.count("/v1/ideas"), 2, "a bad key applied nothing");

    let unkeyed = d.post("/v1/ideas", &body);
    assert_eq!(unkeyed.status, 201, "writes without a key work as before");
    assert_eq!(d.count("/v1/ideas"), 3);
}

#[test]
fn a_retry_after_kill_9_and_restart_gets_the_first_answer_and_changes_nothing() {
    let home = Home::init("Alex");
    let mut d = home.start();
    let body = json!({"title": "Night swim"});
    let first = post_keyed(&d, "outbox-kill", &body);
    assert_eq!(first.status, 201, "{:?}", first.body);
    d.kill9();

    let mut d = home.start();
    assert_eq!(d.count("/v1/ideas"), 1, "the acknowledged write survived");
    let replay = post_keyed(&d, "outbox-kill", &body);
    assert_eq!(replay.status, 201, "{:?}", replay.body);
    assert_eq!(
        replay.body, first.body,
        "the first answer, from before the kill"
    );
    assert_eq!(
        d.count("/v1/ideas"),
        1,
        "the replay after restart added nothing"
    );
    let other = post_keyed(&d, "outbox-kill", &json!({"title": "Picnic"}));
    assert_eq!(other.status, 422, "{:?}", other.body);
    assert_eq!(other.body["error"]["code"], "key_reused");
    assert_eq!(d.count("/v1/ideas"), 1);
    d.kill9();

    // A power cut between the change reaching the disk and its answer doing so: the
    // change carries its key, so the retry is refused, never applied twice.
    std::fs::remove_file(home.path().join("answers.log")).expect("remove the saved answers");
    let d = home.start();
    let replay = post_keyed(&d, "outbox-kill", &body);
    assert_eq!(replay.status, 409, "{:?}", replay.body);
    assert_eq!(replay.body["error"]["code"], "already_applied");
    let id = first.body["id"].as_str().expect("the idea's id");
    let message = replay.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(id),
        "the answer names what was applied: {message}"
    );
    assert_eq!(d.count("/v1/ideas"), 1, "the refused retry added nothing");
    let other = post_keyed(&d, "outbox-kill", &json!({"title": "Picnic"}));
    assert_eq!(other.status, 422, "{:?}", other.body);
    assert_eq!(other.body["error"]["code"], "key_reused");
    assert_eq!(d.count("/v1/ideas"), 1);
}

/// A stand-in for a connection that breaks on the way back: forwards each request to the
/// daemon's API, but throws the first `lose` answers away and closes the connection.
fn losing_proxy(daemon: &str, lose: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
    let addr = listener.local_addr().unwrap().to_string();
    let forwarded = Arc::new(AtomicUsize::new(0));
    let (daemon, count) = (daemon.to_owned(), forwarded.clone());
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { break };
            let Some(request) = read_request(&mut client, &daemon) else {
                continue;
            };
            let mut upstream = TcpStream::connect(&daemon).expect("reach the daemon");
            upstream.write_all(&request).expect("forward the request");
            let mut answer = Vec::new();
            upstream.read_to_end(&mut answer).expect("read the answer");
            if count.fetch_add(1, Ordering::SeqCst) >= lose {
                let _ = client.write_all(&answer);
            }
        }
    });
    (addr, forwarded)
}

/// One request from `client`, its `Host` made the daemon's and its connection closing
/// after the answer (so the answer ends where the stream does).
fn read_request(client: &mut TcpStream, daemon: &str) -> Option<Vec<u8>> {
    let mut raw = Vec::new();
    let mut buf = [0; 4096];
    let head_end = loop {
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = client.read(&mut buf).ok().filter(|n| *n > 0)?;
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8(raw[..head_end].to_vec()).ok()?;
    let mut lines = head.split("\r\n");
    let mut out = format!(
        "{}\r\nHost: {daemon}\r\nConnection: close\r\n",
        lines.next()?
    );
    let mut length = 0;
    for line in lines {
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if name == "content-length" {
            length = line[15..].trim().parse().ok()?;
        }
        if name != "host" && name != "connection" {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    let mut body = raw[head_end + 4..].to_vec();
    while body.len() < length {
        let n = client.read(&mut buf).ok().filter(|n| *n > 0)?;
        body.extend_from_slice(&buf[..n]);
    }
    let mut request = out.into_bytes();
    request.extend_from_slice(&body);
    Some(request)
}

#[test]
fn the_cli_retries_a_write_whose_answer_was_lost_and_it_is_applied_once() {
    let home = Home::init("Alex");
    let d = home.start();
    let (proxy, forwarded) = losing_proxy(&d.addr, 2);
    std::fs::write(home.path().join("api.addr"), &proxy).expect("point the CLI at the proxy");

    let out = d.cli(&["idea", "add", "Night swim", "--json"]);
    assert!(
        out.status.success(),
        "the CLI got its answer on a retry: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON out");
    assert_eq!(shown["title"], "Night swim", "{shown}");
    assert_eq!(
        forwarded.load(Ordering::SeqCst),
        3,
        "the request reached the daemon three times"
    );
    std::fs::write(home.path().join("api.addr"), &d.addr).expect("point the CLI back");
    assert_eq!(d.count("/v1/ideas"), 1, "three deliveries, one idea");
}

#[test]
fn a_secret_shown_once_is_never_kept_for_a_retry() {
    let home = Home::init("Alex");
    let d = home.start();
    let body = br#"{"name":"Alex's Pixel"}"#;
    let keyed = [JSON, ("Idempotency-Key", "phone-once")];
    let added = d.request_with("POST", "/v1/phones", &keyed, Some(body));
    assert_eq!(added.status, 201, "{:?}", added.body);
    let token = added.body["token"].as_str().expect("the phone's token");
    let kept = std::fs::read_to_string(home.path().join("answers.log")).unwrap_or_default();
    assert!(!kept.contains(token), "the token is not in answers.log");
    // Not kept, so a retry is judged afresh, and shows no token again.
    let again = d.request_with("POST", "/v1/phones", &keyed, Some(body));
    assert_eq!(again.status, 409, "{:?}", again.body);
    assert!(!again.body.to_string().contains(token), "{:?}", again.body);
}
