//! `Idempotency-Key`: a retried write is applied once and answered the same way, also
//! after `kill -9` and a restart; a different request under a used key is refused.

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
fn a_write_is_applied_once_across_kill_9_and_restart() {
    let home = Home::init("Alex");
    let mut d = home.start();
    let body = json!({"title": "Night swim"});
    let first = post_keyed(&d, "outbox-kill", &body);
    assert_eq!(first.status, 201, "{:?}", first.body);
    d.kill9();

    let d = home.start();
    assert_eq!(d.count("/v1/ideas"), 1, "the acknowledged write survived");
    let replay = post_keyed(&d, "outbox-kill", &body);
    assert_eq!(replay.status, 409, "{:?}", replay.body);
    assert_eq!(replay.body["error"]["code"], "already_applied");
    let id = first.body["id"].as_str().expect("the idea's id");
    let message = replay.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(id),
        "the answer names what was applied: {message}"
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
}
