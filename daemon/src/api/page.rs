//! The phone page: one HTML file, its script and its style sheet, compiled into the
//! binary (no CDN, nothing fetched from the internet). It holds no data itself, so it is
//! served without a token; everything it shows comes from the API with the phone's token.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;

const INDEX: &str = include_str!("../../web/index.html");
const SCRIPT: &str = include_str!("../../web/app.js");
const STYLE: &str = include_str!("../../web/app.css");

/// Only our own files, no inline script, no framing.
const POLICY: &str = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Paths of the page's files.
const PATHS: [&str; 3] = ["/", "/app.js", "/app.css"];

/// Whether `path` is one of the page's files (served without a token).
pub fn is_page(path: &str) -> bool {
    PATHS.contains(&path)
}

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATHS[0], get(|| serve("text/html; charset=utf-8", INDEX)))
        .route(
            PATHS[1],
            get(|| serve("text/javascript; charset=utf-8", SCRIPT)),
        )
        .route(PATHS[2], get(|| serve("text/css; charset=utf-8", STYLE)))
}

async fn serve(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}
