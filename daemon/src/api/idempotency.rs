//! `Idempotency-Key` on writes: a retried request is applied once and answered the same
//! way (the phone page's outbox and the CLI resend after a timeout).
//!
//! [`layer`] runs after the guards on both listeners for `POST`, `PATCH`, `PUT` and
//! `DELETE` carrying the header. It checks the key (1 to 255 visible ASCII characters,
//! else 400), reads the body (within the usual limit) and looks the key up in
//! [`Answers`], the table of answers given:
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
//! judged afresh (nothing was applied). Nor is one that is not JSON (a backup archive),
//! larger than [`MAX_KEPT_ANSWER`], or marked `Cache-Control: no-store` (a phone's new
//! token, a pairing code: secrets are never written to the log); it passes through as it
//! is, and a retry is judged by the repo.
//!
//! Each kept answer is also appended to `answers.log` in the home before it is sent
//! ([`AnswerLog`]), and read back at start-up, so a retry after `kill -9` and a restart
//! gets the first answer again. The append is not fsynced: a killed process loses nothing
//! the kernel already has, and a power cut in between costs only the answer (the change
//! itself is durable and marked, so the retry gets 409 `already_applied`, never a second
//! change).

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request as HttpRequest, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tandem_protocol::activity::{RequestMark, valid_idempotency_key};
use tandem_protocol::api::MAX_BODY_BYTES;

use super::{ApiError, AppState, Caller};
use crate::home::{open_private_log, write_private_file};
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
/// The largest answer kept.
pub const MAX_KEPT_ANSWER: usize = 1 << 20;
/// How long after failing to write the log it is tried again (a full disk is not
/// rewritten on every keyed write).
const RETRY_LOG_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

tokio::task_local! {
    /// The keyed request the current task serves.
    static CURRENT: Request;
}

/// The keyed request the current task serves, if any: what the repo must mark.
pub fn current() -> Option<Request> {
    CURRENT.try_with(Clone::clone).ok()
}

/// An answer given, to give again.
#[derive(Clone)]
struct Stored {
    status: StatusCode,
    content_type: Option<HeaderValue>,
    body: Bytes,
}

/// One line of `answers.log`: a kept answer and the request it answered.
#[derive(Serialize, Deserialize)]
struct Record {
    key: String,
    digest: String,
    at: Timestamp,
    status: u16,
    content_type: Option<String>,
    /// The answer's body; answers are JSON or empty, so text.
    body: String,
}

impl Record {
    fn new(key: &str, digest: &str, at: Timestamp, stored: &Stored) -> Option<Self> {
        Some(Self {
            key: key.to_owned(),
            digest: digest.to_owned(),
            at,
            status: stored.status.as_u16(),
            content_type: match &stored.content_type {
                Some(value) => Some(value.to_str().ok()?.to_owned()),
                None => None,
            },
            body: String::from_utf8(stored.body.to_vec()).ok()?,
        })
    }

    fn stored(self) -> Option<Stored> {
        Some(Stored {
            status: StatusCode::from_u16(self.status).ok()?,
            content_type: match self.content_type {
                Some(text) => Some(HeaderValue::from_str(&text).ok()?),
                None => None,
            },
            body: Bytes::from(self.body),
        })
    }

    fn line(&self) -> String {
        let mut line = serde_json::to_string(self).expect("a record always serializes");
        line.push('\n');
        line
    }
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

    /// Takes back an answer read from the log (a later line for the same key wins).
    fn restore(&mut self, record: Record, arrival: u64) -> bool {
        let (key, digest, at) = (record.key.clone(), record.digest.clone(), record.at);
        let Some(stored) = record.stored() else {
            return false;
        };
        self.remove(&key);
        self.bytes += stored.body.len();
        self.entries.insert(
            key.clone(),
            Entry {
                digest,
                arrival,
                at,
                phase: Phase::Done(stored),
            },
        );
        self.order.push_back((arrival, key));
        true
    }

    /// Every answer kept, oldest first, as (key, digest, time, answer): cheap clones,
    /// to write out without the lock.
    fn kept(&self) -> Vec<(String, String, Timestamp, Stored)> {
        self.order
            .iter()
            .filter_map(|(arrival, key)| {
                let entry = self.entries.get(key).filter(|e| e.arrival == *arrival)?;
                match &entry.phase {
                    Phase::Done(stored) => {
                        Some((key.clone(), entry.digest.clone(), entry.at, stored.clone()))
                    }
                    Phase::Running => None,
                }
            })
            .collect()
    }
}

/// `answers.log`: the kept answers, one JSON [`Record`] per line, appended as they are
/// given and rewritten without the forgotten ones when it holds more than twice the
/// answers kept (and at start-up).
struct AnswerLog {
    path: PathBuf,
    file: Mutex<LogFile>,
}

struct LogFile {
    /// Open for appending; `None` after a failure, until the next rewrite.
    file: Option<File>,
    /// Lines in the file, kept or forgotten.
    lines: usize,
    /// When writing it last failed.
    failed_at: Option<std::time::Instant>,
}

/// A log is rewritten once it has this many lines more than twice the answers kept.
const SLACK_LINES: usize = 256;

impl AnswerLog {
    /// Reads the answers `path` holds into `table`, numbering them from 0; lines that are
    /// not answers (a line torn by a crash) are left out. Returns the log, rewritten
    /// without what was left out or forgotten, and the next arrival number.
    fn load(path: PathBuf, table: &mut Table, now: Timestamp) -> (Self, u64) {
        let mut arrival = 0;
        let mut lines = 0;
        match std::fs::read(&path) {
            Ok(bytes) => {
                for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    lines += 1;
                    let record = serde_json::from_slice::<Record>(line);
                    if record.is_ok_and(|record| table.restore(record, arrival)) {
                        arrival += 1;
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                path = %path.display(),
                "answers to earlier retried writes cannot be read ({e}); a retry of one of \
                 them gets 409 already_applied instead of its first answer"
            ),
        }
        table.forget_old(now);
        let log = Self {
            path,
            file: Mutex::new(LogFile {
                file: None,
                lines,
                failed_at: None,
            }),
        };
        let kept = table.kept();
        let mut file = log.file.lock();
        // Rewritten only when something was left out; else appended to as it is.
        if kept.len() == lines {
            match open_private_log(&log.path) {
                Ok(opened) => file.file = Some(opened),
                Err(_) => log.rewrite(&mut file, &kept),
            }
        } else {
            log.rewrite(&mut file, &kept);
        }
        drop(file);
        (log, arrival)
    }

    /// Appends `line`, then rewrites the log from the answers `table` keeps if it has
    /// grown well past them.
    fn append(&self, line: &str, table: &Mutex<Table>) {
        let mut log = self.file.lock();
        let written = match log.file.as_mut() {
            Some(file) => file.write_all(line.as_bytes()),
            None => Err(std::io::Error::other("the log could not be opened")),
        };
        match written {
            Ok(()) => log.lines += 1,
            Err(e) => {
                tracing::warn!(path = %self.path.display(), "an answer was not saved ({e})");
                log.file = None;
            }
        }
        let kept = table.lock().entries.len();
        let retry = log
            .failed_at
            .is_none_or(|at| at.elapsed() >= RETRY_LOG_AFTER);
        let grown = log.lines > 2 * kept + SLACK_LINES;
        if (log.file.is_none() && retry) || (log.file.is_some() && grown) {
            let kept = table.lock().kept();
            self.rewrite(&mut log, &kept);
        }
    }

    /// Writes the log afresh with the `kept` answers (those that cannot be written as
    /// text are left out).
    fn rewrite(&self, log: &mut LogFile, kept: &[(String, String, Timestamp, Stored)]) {
        let lines: Vec<String> = kept
            .iter()
            .filter_map(|(key, digest, at, stored)| {
                Some(Record::new(key, digest, *at, stored)?.line())
            })
            .collect();
        let written = write_private_file(&self.path, lines.concat().as_bytes())
            .and_then(|()| open_private_log(&self.path));
        match written {
            Ok(file) => {
                log.file = Some(file);
                log.lines = lines.len();
                log.failed_at = None;
            }
            Err(e) => {
                tracing::warn!("answers to retried writes are not being saved: {e}");
                log.file = None;
                log.failed_at = Some(std::time::Instant::now());
            }
        }
    }
}

/// The answers to keyed writes of the last day, shared by both listeners (callers' keys
/// never meet: the key's digest includes who called).
pub struct Answers {
    table: Mutex<Table>,
    arrivals: AtomicU64,
    log: AnswerLog,
}

/// Where a keyed request stands when it arrives.
enum Arrival {
    New(Request),
    Replay(Response),
    Refused(ApiError),
}

impl Answers {
    /// The answers kept in `path` (`answers.log` in the home), which keeps them from now on.
    pub fn open(path: &Path) -> Self {
        let mut table = Table::default();
        let (log, arrivals) = AnswerLog::load(path.to_owned(), &mut table, crate::clock::now());
        Self {
            table: Mutex::new(table),
            arrivals: AtomicU64::new(arrivals),
            log,
        }
    }

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

    /// Forgets a key whose request failed: nothing was applied, so a retry is judged
    /// afresh.
    fn forget(&self, key: &str) {
        self.table.lock().remove(key);
    }

    /// Keeps a successful answer in memory; returns its log line.
    fn settle(&self, key: &str, stored: Stored) -> Option<String> {
        let mut guard = self.table.lock();
        let table = &mut *guard;
        let entry = table.entries.get_mut(key)?;
        let line = Record::new(key, &entry.digest, entry.at, &stored).map(|record| record.line());
        table.bytes += stored.body.len();
        entry.phase = Phase::Done(stored);
        table.forget_old(crate::clock::now());
        line
    }

    /// Keeps a successful answer in memory and in the log, before it is sent.
    async fn keep(self: &Arc<Self>, key: &str, stored: Stored) {
        let Some(line) = self.settle(key, stored) else {
            return;
        };
        let answers = self.clone();
        let appended = tokio::task::spawn_blocking(move || {
            answers.log.append(&line, &answers.table);
        });
        if let Err(e) = appended.await {
            tracing::warn!("an answer was not saved: {e}");
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
            self.answers.forget(&key);
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

/// Whether an answer is kept to be given again: a success, JSON or empty, small, and not
/// marked `no-store` (secrets shown once).
fn keepable(response: &Response) -> bool {
    let headers = response.headers();
    let json = headers
        .get(header::CONTENT_TYPE)
        .is_none_or(|t| t.as_bytes().starts_with(b"application/json"));
    let secret = headers
        .get(header::CACHE_CONTROL)
        .is_some_and(|c| c.as_bytes().windows(8).any(|w| w == b"no-store"));
    let small = response
        .body()
        .size_hint()
        .upper()
        .is_some_and(|n| n <= MAX_KEPT_ANSWER as u64);
    response.status().is_success() && json && !secret && small
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
    if !keepable(&response) {
        answers.forget(&key);
        return response;
    }
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_KEPT_ANSWER).await {
        Ok(bytes) => {
            let stored = Stored {
                status: parts.status,
                content_type: parts.headers.get(header::CONTENT_TYPE).cloned(),
                body: bytes.clone(),
            };
            answers.keep(&key, stored).await;
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(e) => {
            answers.forget(&key);
            ApiError::internal(format!("the answer could not be read: {e}")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    fn answer(body: &str) -> Stored {
        Stored {
            status: StatusCode::CREATED,
            content_type: Some(HeaderValue::from_static("application/json")),
            body: Bytes::from(body.to_owned()),
        }
    }

    fn mark(key: &str, body: &str) -> RequestMark {
        RequestMark::new("laptop", key, "POST", "/v1/ideas", body.as_bytes())
    }

    /// Gives `key` its first answer, as the middleware does.
    fn answered(answers: &Arc<Answers>, key: &str, body: &str) {
        let mark = mark(key, body);
        let key = mark.key.clone();
        assert!(matches!(answers.arrive(mark), Arrival::New(_)));
        let line = answers
            .settle(&key, answer(body))
            .expect("a JSON answer has a line");
        answers.log.append(&line, &answers.table);
    }

    fn replayed_body(answers: &Answers, key: &str, body: &str) -> Option<Bytes> {
        match answers.arrive(mark(key, body)) {
            Arrival::Replay(response) => {
                let body = axum::body::to_bytes(response.into_body(), 1 << 20);
                Some(
                    body.now_or_never()
                        .expect("a stored body is whole")
                        .unwrap(),
                )
            }
            _ => None,
        }
    }

    #[test]
    fn answers_come_back_from_the_log_without_a_line_torn_by_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("answers.log");
        let answers = Arc::new(Answers::open(&path));
        answered(&answers, "one", r#"{"id":"1"}"#);
        answered(&answers, "two", r#"{"id":"2"}"#);
        drop(answers);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(br#"{"key":"three","dig"#).unwrap();

        let answers = Answers::open(&path);
        assert_eq!(
            replayed_body(&answers, "one", r#"{"id":"1"}"#).as_deref(),
            Some(&br#"{"id":"1"}"#[..])
        );
        assert_eq!(
            replayed_body(&answers, "two", r#"{"id":"2"}"#).as_deref(),
            Some(&br#"{"id":"2"}"#[..])
        );
        assert!(replayed_body(&answers, "three", "{}").is_none());
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "the torn line is gone: {text}");
    }

    #[test]
    fn the_log_stays_near_the_answers_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("answers.log");
        let answers = Arc::new(Answers::open(&path));
        for n in 0..(3 * SLACK_LINES) {
            answered(&answers, &format!("key-{n}"), "{}");
        }
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert_eq!(
            lines,
            3 * SLACK_LINES,
            "every answer is kept: nothing to drop yet"
        );
        {
            let mut table = answers.table.lock();
            let keys: Vec<String> = table.entries.keys().skip(64).cloned().collect();
            for key in keys {
                table.remove(&key);
            }
        }
        answered(&answers, "last", "{}");
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert_eq!(lines, 65, "rewritten without the forgotten answers");
    }
}
