//! `Idempotency-Key` on writes: a retried request is applied once and answered the same
//! way (the phone page's outbox and the CLI resend after a timeout).
//!
//! [`layer`] runs after the guards on both listeners for `POST`, `PATCH`, `PUT` and
//! `DELETE` carrying the header. It checks the key (1 to 255 visible ASCII characters,
//! else 400), reads the body (within the usual limit) and looks the key up in
//! [`Answers`], this run's table of answers given:
//! - the same key with the same method, path and body: the stored answer again, status
//!   and body, with `Idempotent-Replayed: true`, and nothing applied;
//! - the same key with a different request: 422 `key_reused`;
//! - the same key while its first request is still running: 409 `key_in_use`.
//!
//! Otherwise the request runs with its [`Request`] in a task-local, which
//! [`super::AppState::with_repo`] hands to the repo: the repo refuses a key that already
//! made a change (after a restart, or when the first caller went away before its
//! answer: 409 `already_applied`) and writes the key's digest into the activity record
//! of each change, so the key is durable with the write itself ([`crate::repo`]).
//! Successful answers are kept for 24 h, at most [`MAX_ANSWERS`] of them and
//! [`MAX_ANSWER_BYTES`] in all; an answer that was an error is not kept, so a retry is
//! judged afresh (nothing was applied).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::{Body, Bytes};
use axum::extract::{Request as HttpRequest, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use parking_lot::Mutex;
use tandem_protocol::activity::{RequestMark, valid_idempotency_key};
use tandem_protocol::api::MAX_BODY_BYTES;

use super::{ApiError, AppState, Caller};
use crate::repo::{RepoError, Request};

/// The request header naming a write's key.
pub const KEY_HEADER: HeaderName = HeaderName::from_static("idempotency-key");
/// The answer header saying an answer is the stored one of an earlier request.
pub const REPLAYED_HEADER: HeaderName = HeaderName::from_static("idempotent-replayed");
/// How long an answer is kept.
const KEEP: SignedDuration = SignedDuration::from_hours(24);
/// The most answers kept at once.
pub const MAX_ANSWERS: usize = 10_000;
/// The most bytes of answer bodies kept at once.
pub const MAX_ANSWER_BYTES: usize = 32 << 20;

tokio::task_local! {
    /// The keyed request the current task serves.
    static CURRENT: Request;
}

/// The keyed request the current task serves, if any: what the repo must mark.
pub fn current() -> Option<Request> {
    CURRENT.try_with(Clone::clone).ok()
}

/// An answer given, to give again.
struct Stored {
    status: StatusCode,
    content_type: Option<HeaderValue>,
    body: Bytes,
}

enum Phase {
    Running,
    Done(Stored),
}

struct Entry {
    digest: String,
    arrival: u64,
    at: Timestamp,
    phase: Phase,
}

#[derive(Default)]
struct Table {
    entries: HashMap<String, Entry>,
    /// Keys by arrival, each with its arrival number, for forgetting the oldest answers
    /// (a key forgotten and used again appears twice; only the number in its entry counts).
    order: VecDeque<(u64, String)>,
    bytes: usize,
}

impl Table {
    /// Forgets answers older than a day, then the oldest beyond the bounds. A request
    /// still running at the front holds the rest back until it is answered.
    fn forget_old(&mut self, now: Timestamp) {
        let cutoff = now - KEEP;
        while let Some((arrival, key)) = self.order.front() {
            let over = self.entries.len() > MAX_ANSWERS || self.bytes > MAX_ANSWER_BYTES;
            let forget = match self.entries.get(key) {
                Some(entry) if entry.arrival == *arrival => match entry.phase {
                    Phase::Done(_) if entry.at < cutoff || over => true,
                    _ => break,
                },
                _ => false,
            };
            if let Some((_, key)) = self.order.pop_front()
                && forget
            {
                self.remove(&key);
            }
        }
    }

    fn remove(&mut self, key: &str) {
        if let Some(Entry {
            phase: Phase::Done(stored),
            ..
        }) = self.entries.remove(key)
        {
            self.bytes -= stored.body.len();
        }
    }
}

/// This run's answers to keyed writes, shared by both listeners (callers' keys never
/// meet: the key's digest includes who called).
#[derive(Default)]
pub struct Answers {
    table: Mutex<Table>,
    arrivals: AtomicU64,
}

/// Where a keyed request stands when it arrives.
enum Arrival {
    New(Request),
    Replay(Response),
    Refused(ApiError),
}

impl Answers {
    fn arrive(&self, mark: RequestMark) -> Arrival {
        let now = crate::clock::now();
        let mut table = self.table.lock();
        table.forget_old(now);
        match table.entries.get(&mark.key) {
            Some(entry) if entry.digest != mark.digest => {
                Arrival::Refused(RepoError::KeyReused.into())
            }
            Some(Entry {
                phase: Phase::Done(stored),
                ..
            }) => Arrival::Replay(replay(stored)),
            Some(_) => Arrival::Refused(ApiError::new(
                StatusCode::CONFLICT,
                "key_in_use",
                "a request with this Idempotency-Key is still running; wait for its answer, then retry",
            )),
            None => {
                let arrival = self.arrivals.fetch_add(1, Ordering::Relaxed);
                table.entries.insert(
                    mark.key.clone(),
                    Entry {
                        digest: mark.digest.clone(),
                        arrival,
                        at: now,
                        phase: Phase::Running,
                    },
                );
                table.order.push_back((arrival, mark.key.clone()));
                Arrival::New(Request {
                    mark,
                    attempt: arrival,
                })
            }
        }
    }

    /// Keeps a successful answer; forgets the key otherwise (nothing was applied, so a
    /// retry is judged afresh).
    fn settle(&self, key: &str, answer: Option<Stored>) {
        let mut table = self.table.lock();
        match answer {
            Some(stored) => {
                table.bytes += stored.body.len();
                if let Some(entry) = table.entries.get_mut(key) {
                    entry.phase = Phase::Done(stored);
                }
                table.forget_old(crate::clock::now());
            }
            None => table.remove(key),
        }
    }
}

/// Forgets a running key if its request is dropped before it is answered (the client went
/// away): a retry then reaches the repo, which knows whether the write was made.
struct Running<'a> {
    answers: &'a Answers,
    key: Option<String>,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.answers.settle(&key, None);
        }
    }
}

fn replay(stored: &Stored) -> Response {
    let mut response = (stored.status, stored.body.clone()).into_response();
    let headers = response.headers_mut();
    if let Some(content_type) = &stored.content_type {
        headers.insert(header::CONTENT_TYPE, content_type.clone());
    }
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

fn caller_name(request: &HttpRequest) -> String {
    match request.extensions().get::<Caller>() {
        Some(Caller::Phone(id)) => format!("phone:{id}"),
        Some(Caller::Laptop) | None => "laptop".to_owned(),
    }
}

/// The middleware: see the module's documentation.
pub async fn layer(State(state): State<AppState>, request: HttpRequest, next: Next) -> Response {
    let writes = matches!(
        *request.method(),
        Method::POST | Method::PATCH | Method::PUT | Method::DELETE
    );
    let Some(key) = request.headers().get(KEY_HEADER).filter(|_| writes) else {
        return next.run(request).await;
    };
    if !valid_idempotency_key(key.as_bytes()) {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces), e.g. a UUID",
        )
        .into_response();
    }
    let key = String::from_utf8_lossy(key.as_bytes()).into_owned();
    let caller = caller_name(&request);
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than {MAX_BODY_BYTES} bytes"),
        )
        .into_response();
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |p| p.as_str());
    let mark = RequestMark::new(&caller, &key, parts.method.as_str(), target, &body);
    let answers = &state.answers;
    let request = match answers.arrive(mark) {
        Arrival::New(request) => request,
        Arrival::Replay(response) => return response,
        Arrival::Refused(error) => return error.into_response(),
    };
    let mut running = Running {
        answers,
        key: Some(request.mark.key.clone()),
    };
    let http = HttpRequest::from_parts(parts, Body::from(body));
    let response = CURRENT.scope(request, next.run(http)).await;
    let Some(key) = running.key.take() else {
        return response;
    };
    if !response.status().is_success() {
        answers.settle(&key, None);
        return response;
    }
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_ANSWER_BYTES).await {
        Ok(bytes) => {
            answers.settle(
                &key,
                Some(Stored {
                    status: parts.status,
                    content_type: parts.headers.get(header::CONTENT_TYPE).cloned(),
                    body: bytes.clone(),
                }),
            );
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(e) => {
            answers.settle(&key, None);
            ApiError::internal(format!("the answer could not be read: {e}")).into_response()
        }
    }
}
