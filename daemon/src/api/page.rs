//! The phone page: one HTML file, its script and its style sheet, compiled into the
//! binary (no CDN, nothing fetched from the internet). It holds no data itself, so it is
//! served without a token; everything it shows comes from the API with the phone's token.
//! The web app manifest and the icons let "Add to Home Screen" give a named icon that
//! opens the page full screen.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::routes;

use super::error::ApiError;
use super::{Routes, openapi};

const INDEX: &str = include_str!("../../web/index.html");
const SCRIPT: &str = include_str!("../../web/app.js");
const STYLE: &str = include_str!("../../web/app.css");
const MANIFEST: &str = include_str!("../../web/manifest.webmanifest");

/// The icons, by file name under `/icons/`: the SVG for browsers that take one, PNGs for
/// home screens (192 and 512 px for Android, 180 px for iOS).
const ICONS: [(&str, &str, &[u8]); 4] = [
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("../../web/icons/icon.svg"),
    ),
    (
        "icon-192.png",
        "image/png",
        include_bytes!("../../web/icons/icon-192.png"),
    ),
    (
        "icon-512.png",
        "image/png",
        include_bytes!("../../web/icons/icon-512.png"),
    ),
    (
        "apple-touch-icon.png",
        "image/png",
        include_bytes!("../../web/icons/apple-touch-icon.png"),
    ),
];

/// Only our own files, no inline script, no framing.
const POLICY: &str = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Paths of the page's files, the icons aside.
const PATHS: [&str; 4] = ["/", "/app.js", "/app.css", "/manifest.webmanifest"];

/// Whether `path` is one of the page's files (served without a token): exactly one of
/// them, never a prefix, so nothing else slips past the token check.
pub fn is_page(path: &str) -> bool {
    PATHS.contains(&path)
        || path
            .strip_prefix("/icons/")
            .is_some_and(|name| ICONS.iter().any(|(icon, ..)| *icon == name))
}

/// The routes.
pub fn routes() -> Routes {
    Routes::default()
        .routes(routes!(page))
        .routes(routes!(page_script))
        .routes(routes!(page_style))
        .routes(routes!(manifest))
        .routes(routes!(icon))
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

/// The web app manifest: name, icons, colours, and `standalone` so the home-screen icon
/// opens the page without the browser's bars.
#[utoipa::path(
    get,
    path = "/manifest.webmanifest",
    tag = "page",
    security(()),
    responses(
        (status = 200, description = "the web app manifest", content_type = "application/manifest+json", body = Object),
        openapi::Foreign,
    )
)]
async fn manifest() -> impl IntoResponse {
    serve("application/manifest+json", MANIFEST)
}

/// One of the page's icons.
#[utoipa::path(
    get,
    path = "/icons/{name}",
    tag = "page",
    security(()),
    params(("name" = String, Path, description = "the icon's file name, e.g. icon-192.png")),
    responses(
        (status = 200, description = "the icon", content(
            (Vec<u8> = "image/png"),
            (String = "image/svg+xml"),
        )),
        openapi::Missing,
        openapi::Foreign,
    )
)]
async fn icon(Path(name): Path<String>) -> Response {
    match ICONS.iter().find(|(icon, ..)| *icon == name) {
        Some((_, content_type, body)) => serve(content_type, *body).into_response(),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such icon: the page's icons are icon.svg, icon-192.png, icon-512.png and apple-touch-icon.png",
        )
        .into_response(),
    }
}

fn serve(content_type: &'static str, body: impl IntoResponse) -> impl IntoResponse {
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
