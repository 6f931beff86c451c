//! The HTTP API: JSON, bearer tokens, two listeners.
//!
//! - The laptop's own listener ([`router`]) on 127.0.0.1 takes the token in `api.token`.
//!   [`local_guard`] refuses a `Host` that is not this loopback address or a foreign
//!   `Origin` (403) so a web page cannot reach the API by DNS rebinding, then a missing or
//!   wrong token (401).
//! - The phones' HTTPS listener ([`lan_router`], see [`crate::lan`]) takes per-phone
//!   tokens. [`phone_guard`] refuses cross-origin requests (403), counts wrong tokens per
//!   address and answers 429 once a source has guessed too often. Phones reach the document
//!   routes, events and the calendar, but cannot pair devices or manage phones: a stolen
//!   phone must not be able to let anything else in.
//!
//! Both serve the phone page (no token needed to load it; it has no data of its own).
//! Bodies are capped at 64 KiB (413). Errors are always `{"error":{"code","message"}}`.

mod backup;
mod calendar;
mod error;
mod events;
pub mod idempotency;
mod mailbox;
mod openapi;
mod page;
mod peers;
mod phones;
mod routes;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use parking_lot::Mutex;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use tandem_protocol::api::{MAX_BODY_BYTES, TokenQuery};
use tandem_protocol::throttle::Throttle;
use tokio::sync::watch;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

pub use error::ApiError;

use crate::phones::Access;
use crate::repo::{Repo, RepoError};
use crate::writer::Writer;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The documents; a std mutex because every operation runs on a blocking thread
    /// (it ends in an fsync).
    pub writer: Writer,
    /// Peer connections and pairing.
    pub hub: Arc<crate::peer::PeerHub>,
    /// Reminders as they become due, for `/v1/events`.
    pub reminders: tokio::sync::broadcast::Sender<tandem_protocol::remind::Reminder>,
    /// mDNS, unless turned off.
    pub discovery: Option<Arc<crate::discovery::Discovery>>,
    /// The bearer token the laptop's own clients present.
    pub token: Arc<str>,
    /// Phones and their tokens.
    pub phones: Arc<crate::phones::Phones>,
    /// Where the phones' listener is, while it runs.
    pub lan: crate::lan::Bound,
    /// Wrong phone tokens per source address.
    pub throttle: Arc<Mutex<Throttle<IpAddr>>>,
    /// The port we listen on, to recognise our own `Host` and `Origin`.
    pub port: u16,
    /// Flips to `true` when the daemon stops, ending long-lived SSE streams.
    pub stopping: watch::Receiver<bool>,
    /// The data home, for backups (which read its config).
    pub home: crate::home::Home,
    /// Automatic backups.
    pub backups: Arc<crate::backup::AutoBackups>,
    /// The mailbox folders.
    pub mailboxes: Arc<crate::mailbox::Mailboxes>,
    /// Answers to writes sent with an `Idempotency-Key` ([`idempotency`]).
    pub answers: Arc<idempotency::Answers>,
}

impl AppState {
    /// Runs `op` on the repo (through the writer) and maps its error to an API error. A
    /// request sent with an `Idempotency-Key` runs as that request
    /// ([`Repo::for_request`]): refused if its key already made a change, its changes
    /// marked with the key.
    pub async fn with_repo<T: Send + 'static>(
        &self,
        op: impl FnOnce(&mut Repo) -> Result<T, RepoError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let request = idempotency::current();
        Ok(self
            .writer
            .run(move |repo| repo.for_request(request, op))
            .await?)
    }
}

/// Runs `op` on a blocking thread (its work ends in an fsync) and maps its error to an API
/// error.
pub async fn blocking<T, E>(
    op: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    match tokio::task::spawn_blocking(op).await {
        Ok(result) => result.map_err(Into::into),
        Err(e) => Err(ApiError::internal(format!("request handler failed: {e}"))),
    }
}

/// Who is calling, put into each request by the guards.
#[derive(Clone, Debug)]
pub enum Caller {
    /// A client on this laptop with `api.token`.
    Laptop,
    /// A phone, by its id in `phones.toml`.
    Phone(String),
}

/// Wrong phone tokens a source may send per minute before it gets 429s.
const MAX_TOKEN_FAILURES: u32 = 10;

/// A fresh failed-token throttle for the phone listener.
pub fn new_throttle() -> Arc<Mutex<Throttle<IpAddr>>> {
    Arc::new(Mutex::new(Throttle::new(
        MAX_TOKEN_FAILURES,
        std::time::Duration::from_secs(60),
    )))
}

/// The routes of a listener and its OpenAPI document, built together. [`Routes::routes`] takes
/// only what `utoipa_axum::routes!` makes of handlers declared with `#[utoipa::path]`, and
/// nothing else can be added: a route that is not documented cannot be registered.
#[derive(Default)]
pub struct Routes(OpenApiRouter<AppState>);

impl Routes {
    /// Registers documented handlers (one `routes!`, handlers of one path).
    pub fn routes(self, handlers: UtoipaMethodRouter<AppState>) -> Self {
        Self(self.0.routes(handlers))
    }

    /// Both sets of routes, and both documents.
    pub fn merge(self, other: Routes) -> Self {
        Self(self.0.merge(other.0))
    }

    /// The router and the document of exactly its routes, `/v1/openapi.json` included.
    fn split(self) -> (Router<AppState>, openapi::Document) {
        let (router, paths) = self
            .routes(utoipa_axum::routes!(openapi::openapi))
            .0
            .split_for_parts();
        (router, openapi::Document::of(paths))
    }

    /// The router, with `/v1/openapi.json` serving the document of exactly these routes,
    /// the not-found and wrong-method answers and the body limit.
    fn finish(self) -> Router<AppState> {
        let (router, document) = self.split();
        router
            .layer(Extension(document))
            .fallback(|| async {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "no_route",
                    "no such route; see /v1/openapi.json",
                )
            })
            .method_not_allowed_fallback(|| async {
                ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "wrong_method",
                    "this route does not take that method; see /v1/openapi.json",
                )
            })
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
    }
}

/// What both listeners serve.
fn common() -> Routes {
    routes::routes()
        .merge(page::routes())
        .merge(events::routes())
        .merge(calendar::routes())
}

/// What the laptop's own listener serves: everything, including pairing, phones and
/// backups.
fn laptop_routes() -> Routes {
    common()
        .merge(peers::routes())
        .merge(phones::routes())
        .merge(backup::routes())
        .merge(mailbox::routes())
}

/// The laptop's API on 127.0.0.1.
pub fn router(state: AppState) -> Router {
    laptop_routes()
        .finish()
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), local_guard))
        .with_state(state)
}

/// What the phones' listener serves: the documents, events and calendar, never pairing,
/// phones or backups.
fn lan_routes() -> Routes {
    common()
}

/// The phones' API over HTTPS on the home network.
pub fn lan_router(state: AppState) -> Router {
    lan_routes()
        .finish()
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), phone_guard))
        .with_state(state)
}

fn loopback_hosts(port: u16) -> [String; 3] {
    [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ]
}

/// Compares in time independent of where the first difference is.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The route of the calendar feed, the only one a phone's calendar token opens.
const CALENDAR_PATH: &str = "/v1/calendar.ics";

/// The token a request presents: the bearer header, or `?token=` on the two routes that
/// clients without headers use (EventSource and calendar apps).
fn presented_token(request: &Request) -> Option<String> {
    let from_header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(bearer_token);
    if let Some(token) = from_header {
        return Some(token.to_owned());
    }
    if matches!(request.uri().path(), "/v1/events" | CALENDAR_PATH) {
        let query = axum::extract::Query::<TokenQuery>::try_from_uri(request.uri()).ok()?;
        return query.0.token;
    }
    None
}

/// The token of `Authorization: Bearer <token>`; the scheme name is case-insensitive
/// (RFC 9110, section 11.1), so `bearer` and `BEARER` are the same scheme.
fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.split_once(' ')?;
    let token = token.trim_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn forbidden_origin(origin: &str) -> Response {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden_origin",
        format!("requests from web origin {origin:?} are not allowed"),
    )
    .into_response()
}

fn unauthorized(message: &str) -> Response {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response()
}

/// Refuses foreign hosts and origins (403), then missing or wrong tokens (401).
async fn local_guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    let allowed = loopback_hosts(state.port);
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !allowed.iter().any(|a| a == host) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden_host",
            format!(
                "Host {host:?} is not this daemon's loopback address; use http://127.0.0.1:{}",
                state.port
            ),
        )
        .into_response();
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !allowed.iter().any(|a| origin == format!("http://{a}")) {
            return forbidden_origin(origin);
        }
    }
    if page::is_page(request.uri().path()) {
        return next.run(request).await;
    }
    match presented_token(&request) {
        Some(token) if same_secret(token.as_bytes(), state.token.as_bytes()) => {
            request.extensions_mut().insert(Caller::Laptop);
            next.run(request).await
        }
        Some(_) => unauthorized("wrong API token: use the one in api.token of the data home"),
        None => unauthorized(
            "missing `Authorization: Bearer <token>`; the token is in api.token of the data home",
        ),
    }
}

/// Refuses cross-origin requests (403), throttled sources (429), then missing, wrong or
/// revoked phone tokens (401).
async fn phone_guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if origin != format!("https://{host}") {
            return forbidden_origin(origin);
        }
    }
    if page::is_page(request.uri().path()) {
        return next.run(request).await;
    }
    let source = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let now = jiff::Timestamp::now();
    let throttled = state.throttle.lock().check(&source, now);
    if let Err(retry_after) = throttled {
        let secs = retry_after.as_secs().max(1);
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("too many wrong tokens from {source}; try again in {secs} s"),
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        return response;
    }
    match presented_token(&request).map(|t| state.phones.authenticate(&t)) {
        Some(Some(Access::Phone(id))) => {
            request.extensions_mut().insert(Caller::Phone(id));
            next.run(request).await
        }
        Some(Some(Access::Calendar(id))) if request.uri().path() == CALENDAR_PATH => {
            request.extensions_mut().insert(Caller::Phone(id));
            next.run(request).await
        }
        Some(Some(Access::Calendar(_))) => unauthorized(
            "this is a calendar link's token: it opens /v1/calendar.ics only; the phone page uses the phone's own token",
        ),
        Some(None) => {
            state.throttle.lock().fail(source, now);
            tracing::info!(%source, "wrong or revoked phone token");
            unauthorized(
                "this phone's token is wrong or was revoked: add the phone again with `tandem phone add` on the laptop",
            )
        }
        None => unauthorized("missing `Authorization: Bearer <token>` (a phone token)"),
    }
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_nothing_else_is_a_bearer() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
