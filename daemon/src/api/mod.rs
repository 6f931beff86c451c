//! The local HTTP API: axum on 127.0.0.1, JSON, bearer token.
//!
//! Every request passes [`guard`] first: a `Host` that is not this loopback address or a
//! foreign `Origin` is refused (403) so a web page cannot reach the API by DNS rebinding;
//! then the bearer token is checked (401). Bodies are capped at 64 KiB (413). Errors are
//! always `{"error":{"code","message"}}`.

mod error;
mod events;
mod openapi;
mod peers;
mod routes;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tandem_protocol::api::MAX_BODY_BYTES;
use tokio::sync::watch;

pub use error::ApiError;

use crate::repo::{Repo, RepoError};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The documents; a std mutex because every operation runs on a blocking thread
    /// (it ends in an fsync).
    pub repo: Arc<Mutex<Repo>>,
    /// Peer connections and pairing.
    pub hub: Arc<crate::peer::PeerHub>,
    /// Reminders as they become due, for `/v1/events`.
    pub reminders: tokio::sync::broadcast::Sender<tandem_protocol::remind::Reminder>,
    /// mDNS, unless turned off.
    pub discovery: Option<Arc<crate::discovery::Discovery>>,
    /// The bearer token clients must present.
    pub token: Arc<str>,
    /// The port we listen on, to recognise our own `Host` and `Origin`.
    pub port: u16,
    /// Flips to `true` when the daemon stops, ending long-lived SSE streams.
    pub stopping: watch::Receiver<bool>,
}

impl AppState {
    /// Runs `op` on the repo on a blocking thread and maps its error to an API error.
    pub async fn with_repo<T: Send + 'static>(
        &self,
        op: impl FnOnce(&mut Repo) -> Result<T, RepoError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let repo = self.repo.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut repo = repo.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            op(&mut repo)
        })
        .await;
        match joined {
            Ok(result) => result.map_err(ApiError::from),
            Err(e) => Err(ApiError::internal(format!("request handler failed: {e}"))),
        }
    }
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    routes::routes()
        .merge(peers::routes())
        .route("/v1/openapi.json", axum::routing::get(openapi::serve))
        .route("/v1/events", axum::routing::get(events::stream))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no_route",
                "no such route; see /v1/openapi.json",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
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

/// Refuses foreign hosts and origins (403), then missing or wrong tokens (401).
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
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
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden_origin",
                format!("requests from web origin {origin:?} are not allowed"),
            )
            .into_response();
        }
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    match presented {
        Some(token) if same_secret(token.as_bytes(), state.token.as_bytes()) => {
            next.run(request).await
        }
        Some(_) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "wrong API token: use the one in api.token of the data home",
        )
        .into_response(),
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing `Authorization: Bearer <token>`; the token is in api.token of the data home",
        )
        .into_response(),
    }
}
