//! `/v1/openapi.json`: what of the OpenAPI document cannot be derived from the routes.
//!
//! Every operation (path, method, parameters, request body, every status and its body) is
//! declared once, on its handler, with `#[utoipa::path]`, and registered through
//! [`super::Routes`], which takes nothing else: the router and the document are made by the
//! same call, so a route cannot exist undocumented. This module adds only the title, the
//! bearer security scheme and the error answers routes share, each named once in
//! `components/responses` and referred to by the groups below.

use axum::Extension;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use std::collections::BTreeMap;
use tandem_protocol::api::ErrorBody;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, ToSchema};

/// What the generated routes are added to.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "tandem local API",
        description = "The API of tandemd: on 127.0.0.1 with the token in api.token of the data \
                       home, and, once a phone is added, over HTTPS on the home network with that \
                       phone's token (no pairing, phone or backup routes there: each listener \
                       serves the document of what it routes). Errors are always \
                       `{\"error\":{\"code\",\"message\",\"field\"?}}`: 400 when a request is not \
                       what this document describes, 422 when it is but breaks a rule a schema \
                       cannot state (an end before its start, a date or zone that does not \
                       exist), 409 when the state of an item refuses it. Any POST, PATCH, PUT \
                       or DELETE may carry `Idempotency-Key` (1 to 255 visible ASCII \
                       characters, e.g. a UUID; 400 `invalid_idempotency_key` otherwise): the \
                       same request again under the key is applied once and gets the first \
                       answer again (same status and body, `Idempotent-Replayed: true`) for \
                       24 h; 409 `key_in_use` while the first is still running; 409 \
                       `already_applied` when it was applied but its answer was not kept (the \
                       caller went away first, or power failed before the answer reached the \
                       disk); 422 `key_reused` for a different request under a used key."
    ),
    components(schemas(ErrorBody)),
    modifiers(&Shared),
    security(("bearer" = []))
)]
pub struct Base;

/// Adds the security scheme and the shared error answers.
struct Shared;

impl Modify for Shared {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        for (name, _, description) in ERRORS {
            let body = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                .build();
            components.responses.insert(
                (*name).to_owned(),
                RefOr::T(
                    ResponseBuilder::new()
                        .description(*description)
                        .content("application/json", body)
                        .build(),
                ),
            );
        }
    }
}

/// Every error answer: its name under `components/responses`, its status, and when it is
/// given.
const ERRORS: &[(&str, u16, &str)] = &[
    (
        "BadRequest",
        400,
        "the request is not what this document describes (JSON, types, required and unknown \
         fields, lengths, ranges, patterns, enums); `field` names the field",
    ),
    (
        "Unauthorized",
        401,
        "a missing, wrong or revoked bearer token",
    ),
    (
        "Forbidden",
        403,
        "a Host that is not this daemon's loopback address or a foreign Origin; for an item \
         that belongs to one partner (personal time), the other partner changing it",
    ),
    ("NotFound", 404, "no item with this id or id prefix"),
    (
        "Conflict",
        409,
        "the item's state refuses this (in the trash, already deleted, not in the trash, \
         already revealed, nothing to undo, a pairing refused)",
    ),
    ("TooLarge", 413, "a body over 64 KiB"),
    (
        "UnsupportedMediaType",
        415,
        "a body sent without `Content-Type: application/json`",
    ),
    (
        "Unprocessable",
        422,
        "the request matches this document but breaks a rule no schema states: an end not \
         after its start, a date, time, week or time zone that does not exist; `field` names \
         the field",
    ),
    (
        "TooManyRequests",
        429,
        "too many wrong phone tokens from this address (phones' listener); see Retry-After",
    ),
    (
        "Unavailable",
        503,
        "the daemon is stopping; try again once it is back",
    ),
];

/// A reference to the shared answer `name` of [`ERRORS`], by its status.
fn shared(names: &[&str]) -> BTreeMap<String, RefOr<Response>> {
    names
        .iter()
        .map(|name| {
            let (_, status, _) = ERRORS
                .iter()
                .find(|(n, _, _)| n == name)
                .expect("every group names a shared answer");
            (
                status.to_string(),
                RefOr::Ref(Ref::new(format!("#/components/responses/{name}"))),
            )
        })
        .collect()
}

/// Declares groups of shared error answers that routes list in their `responses(...)`.
macro_rules! error_groups {
    ($($(#[$doc:meta])* $group:ident = [$($name:literal),+];)+) => {
        $(
            $(#[$doc])*
            pub struct $group;

            impl IntoResponses for $group {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    shared(&[$($name),+])
                }
            }
        )+
    };
}

error_groups! {
    /// What every route behind a token may answer before it runs.
    Guarded = ["Unauthorized", "Forbidden", "TooManyRequests"];
    /// What the page's files (no token) may answer: a foreign Host or Origin.
    Foreign = ["Forbidden"];
    /// What a route reading the documents may answer while the daemon stops.
    Stopping = ["Unavailable"];
    /// A route with a JSON body: malformed, too large, or not JSON.
    BadBody = ["BadRequest", "TooLarge", "UnsupportedMediaType"];
    /// A route with path or query parameters that may be malformed.
    BadParams = ["BadRequest"];
    /// A route naming an item by id.
    Missing = ["NotFound"];
    /// A route whose item's state may refuse the request.
    Conflict = ["Conflict"];
    /// A route with a rule across fields, or values a schema cannot check.
    Unprocessable = ["Unprocessable"];
}

/// This listener's OpenAPI document.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "this document (OpenAPI 3.1)", body = Object),
        Guarded,
    )
)]
pub async fn openapi(Extension(doc): Extension<Document>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], doc.0)
}

/// A listener's document as JSON, made once when its router is built.
#[derive(Clone)]
pub struct Document(pub Bytes);

impl Document {
    /// The base and the routes' operations in one document.
    pub fn of(routes: OpenApi) -> Self {
        let mut doc = <Base as utoipa::OpenApi>::openapi();
        doc.merge(routes);
        Self(Bytes::from(
            serde_json::to_vec(&doc).expect("an OpenAPI document always serializes"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::super::{lan_routes, laptop_routes};

    fn document(routes: super::super::Routes) -> Value {
        serde_json::from_slice(&routes.split().1.0).unwrap()
    }

    #[test]
    fn every_reference_is_defined_and_every_operation_answers_its_refusals() {
        let doc = document(laptop_routes());
        let text = doc.to_string();
        for (kind, prefix) in [
            ("schemas", "\"#/components/schemas/"),
            ("responses", "\"#/components/responses/"),
        ] {
            let defined = doc["components"][kind].as_object().unwrap();
            for part in text.split(prefix).skip(1) {
                let name = &part[..part.find('"').unwrap()];
                assert!(
                    defined.contains_key(name),
                    "{name} is referenced but not defined"
                );
            }
        }
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let id = operation["operationId"].as_str().unwrap();
                assert!(ids.insert(id.to_owned()), "{method} {path}: {id} is taken");
                let responses = operation["responses"].as_object().unwrap();
                assert!(responses.contains_key("403"), "{method} {path}: no 403");
                let page = [
                    "/",
                    "/app.js",
                    "/app.css",
                    "/manifest.webmanifest",
                    "/icons/{name}",
                ]
                .contains(&path.as_str());
                assert_eq!(
                    responses.contains_key("401"),
                    !page,
                    "{method} {path}: 401 documented exactly where a token is needed"
                );
                let takes_body = operation.get("requestBody").is_some();
                for status in ["413", "415"] {
                    assert_eq!(
                        responses.contains_key(status),
                        takes_body,
                        "{method} {path}: {status} documented exactly where a body is read"
                    );
                }
            }
        }
        assert!(ids.len() >= 60, "only {} operations", ids.len());
        assert_eq!(
            doc["paths"]["/v1/events"]["get"]["responses"]["200"]["content"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["text/event-stream"]
        );
        assert!(doc["paths"]["/v1/checkins"]["post"]["responses"]["409"].is_object());
    }

    #[test]
    fn the_phones_document_has_no_pairing_phone_or_backup_route() {
        let doc = document(lan_routes());
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.contains_key("/v1/plans"));
        for path in paths.keys() {
            assert!(
                !["/v1/peers", "/v1/pairing", "/v1/phones", "/v1/backup"]
                    .iter()
                    .any(|p| path.starts_with(p)),
                "{path} is on the phones' listener"
            );
        }
    }

    #[test]
    #[ignore = "prints the document, for reading it"]
    fn print_the_document() {
        println!("{:#}", document(laptop_routes()));
    }
}
