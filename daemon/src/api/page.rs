//! The phone page: one HTML file, its script and its style sheet, compiled into the
//! binary (no CDN, nothing fetched from the internet). It holds no data itself, so it is
//! served without a token; everything it shows comes from the API with the phone's token.

use axum::http::header;
use axum::response::IntoResponse;
use utoipa_axum::routes;

use super::{Routes, openapi};

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
pub fn routes() -> Routes {
    Routes::default()
        .routes(routes!(page))
        .routes(routes!(page_script))
        .routes(routes!(page_style))
}

/// The phone page.
#[utoipa::path(
    get,
    path = "/",
    tag = "page",
    security(()),
    responses(
        (status = 200, description = "the page", content_type = "text/html", body = String),
        openapi::Foreign,
    )
)]
async fn page() -> impl IntoResponse {
    serve("text/html; charset=utf-8", INDEX)
}

/// The page's script.
#[utoipa::path(
    get,
    path = "/app.js",
    tag = "page",
    security(()),
    responses(
        (status = 200, description = "the script", content_type = "text/javascript", body = String),
        openapi::Foreign,
    )
)]
async fn page_script() -> impl IntoResponse {
    serve("text/javascript; charset=utf-8", SCRIPT)
}

/// The page's style sheet.
#[utoipa::path(
    get,
    path = "/app.css",
    tag = "page",
    security(()),
    responses(
        (status = 200, description = "the style sheet", content_type = "text/css", body = String),
        openapi::Foreign,
    )
)]
async fn page_style() -> impl IntoResponse {
    serve("text/css; charset=utf-8", STYLE)
}

fn serve(content_type: &'static str, body: &'static str) -> impl IntoResponse {
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
