//! API errors and the extractors that turn bad input into them.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tandem_protocol::api::{ErrorBody, ErrorDetail};
use tandem_protocol::error::{Broken, DocumentError};
use tandem_protocol::rules::Refusal;
use tandem_protocol::undo::UndoError;

use crate::repo::RepoError;

/// An error response: status plus `{"error":{"code","message","field"}}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: ErrorDetail,
}

impl ApiError {
    /// An error with a status, stable code and message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            detail: ErrorDetail {
                code: code.to_owned(),
                message: message.into(),
                field: None,
            },
        }
    }

    /// A server-side failure.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(message = %self.detail.message, "request failed");
        }
        (self.status, Json(ErrorBody { error: self.detail })).into_response()
    }
}

impl From<RepoError> for ApiError {
    fn from(e: RepoError) -> Self {
        let message = e.to_string();
        match e {
            RepoError::Document(DocumentError::Invalid(v)) => {
                let status = match v.kind {
                    Broken::Schema => StatusCode::BAD_REQUEST,
                    Broken::Rule => StatusCode::UNPROCESSABLE_ENTITY,
                };
                let mut err = ApiError::new(status, "invalid", message);
                err.detail.field = Some(v.field);
                err
            }
            RepoError::Document(DocumentError::NotFound { .. }) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
            }
            // Whether a prefix names one item depends on what is stored, not on the request.
            RepoError::Document(DocumentError::Ambiguous { .. }) => {
                ApiError::new(StatusCode::CONFLICT, "ambiguous_id", message)
            }
            RepoError::Document(DocumentError::NoConflict { field }) => {
                let mut err = ApiError::new(StatusCode::CONFLICT, "no_conflict", message);
                err.detail.field = Some(field);
                err
            }
            RepoError::Revealed(_) => ApiError::new(StatusCode::CONFLICT, "revealed", message),
            RepoError::Refused(Refusal::NotYours { .. }) => {
                ApiError::new(StatusCode::FORBIDDEN, "not_yours", message)
            }
            RepoError::Refused(Refusal::InTrash { .. }) => {
                ApiError::new(StatusCode::CONFLICT, "in_trash", message)
            }
            RepoError::Refused(Refusal::AlreadyDeleted { .. }) => {
                ApiError::new(StatusCode::CONFLICT, "already_deleted", message)
            }
            RepoError::Refused(Refusal::NotDeleted { .. }) => {
                ApiError::new(StatusCode::CONFLICT, "not_in_trash", message)
            }
            RepoError::Refused(Refusal::OwnPlan { .. }) => {
                ApiError::new(StatusCode::CONFLICT, "own_plan", message)
            }
            RepoError::Refused(Refusal::PlanClosed { .. }) => {
                ApiError::new(StatusCode::CONFLICT, "plan_closed", message)
            }
            RepoError::Refused(Refusal::NoProposal { .. }) => {
                ApiError::new(StatusCode::CONFLICT, "no_proposal", message)
            }
            RepoError::Refused(Refusal::IdeaUsed { .. }) => {
                ApiError::new(StatusCode::CONFLICT, "idea_used", message)
            }
            RepoError::Undo(UndoError::Nothing) => {
                ApiError::new(StatusCode::CONFLICT, "nothing_to_undo", message)
            }
            RepoError::Undo(UndoError::NotUndoable { .. }) => {
                ApiError::new(StatusCode::CONFLICT, "not_undoable", message)
            }
            RepoError::KeyReused => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "key_reused", message)
            }
            RepoError::AlreadyApplied { .. } => {
                ApiError::new(StatusCode::CONFLICT, "already_applied", message)
            }
            RepoError::Stopped => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "stopping", message)
            }
            RepoError::Document(_)
            | RepoError::NotDurable(_)
            | RepoError::Thread(_)
            | RepoError::Store(_)
            | RepoError::Sync(_)
            | RepoError::Home(_) => ApiError::internal(message),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        };
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "invalid_json",
        };
        let message = match &rejection {
            JsonRejection::JsonSyntaxError(_) => {
                "the body is not valid JSON: send a JSON object".to_owned()
            }
            JsonRejection::MissingJsonContentType(_) => {
                "send the body as JSON with `Content-Type: application/json`".to_owned()
            }
            _ => rejection.body_text(),
        };
        ApiError::new(status, code, message)
    }
}

/// A JSON body whose rejections are API errors (400 naming the field, 413 when too big).
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<serde_json::Value>::from_request(req, state).await?;
        if !value.is_object() {
            // serde would read a struct from an array of its fields in order, too.
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "the body must be a JSON object",
            ));
        }
        serde_path_to_error::deserialize(value)
            .map(Body)
            .map_err(|e| {
                let field = e.path().to_string();
                let serde = e.into_inner().to_string();
                let mut err =
                    ApiError::new(status_of(&serde), "invalid", in_plain_words(&field, &serde));
                err.detail.field = (field != ".").then_some(field);
                err
            })
    }
}

/// The answer to a value serde refused: 400 when the request is not the shape the schema
/// describes (a wrong type, a missing or unknown field, a value outside an enum or a
/// pattern: serde's own wording for each), 422 when it is but the value does not read as
/// what it names (a date, time or zone that does not exist: our types' own messages).
fn status_of(serde: &str) -> StatusCode {
    const SHAPE: [&str; 7] = [
        "invalid type: ",
        "invalid value: ",
        "invalid length ",
        "missing field `",
        "unknown field `",
        "unknown variant `",
        "duplicate field `",
    ];
    if SHAPE.iter().any(|s| serde.starts_with(s)) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// A query string whose rejections are 400 API errors. (Query types hold nothing that can
/// break a rule beyond the schema's: such values are read by the handler.)
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Params(q.0))
            .map_err(|e: QueryRejection| {
                let text = e.body_text();
                let serde = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    in_plain_words(".", serde),
                )
            })
    }
}

/// Path parameters whose rejections are 400 API errors (a segment that is not UTF-8 once
/// decoded, say) instead of axum's plain-text answer.
pub struct Segment<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Segment<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Segment(p.0))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", e.body_text()))
    }
}

/// What serde says about a request field (`field` is its path, `.` for the whole body),
/// in words for a person: the field named once, no Rust types, no line and column.
fn in_plain_words(field: &str, serde: &str) -> String {
    let serde = match serde.rfind(" at line ") {
        Some(at) => &serde[..at],
        None => serde,
    };
    let name = field.rsplit('.').next().unwrap_or(field);
    // Our own validation errors already start with the field's name.
    let serde = serde.strip_prefix(&format!("{name}: ")).unwrap_or(serde);
    let prefix = if field == "." {
        String::new()
    } else {
        format!("{field}: ")
    };
    if let Some(missing) = serde
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        return format!("{prefix}{missing} is missing");
    }
    if let Some(rest) = serde.strip_prefix("unknown variant `") {
        let (unknown, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let expected = expected
            .trim_start_matches(", expected one of ")
            .trim_start_matches(", expected ")
            .replace('`', "");
        return format!("{prefix}{unknown:?} is not one of {expected}");
    }
    if let Some(rest) = serde.strip_prefix("unknown field `") {
        let (unknown, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let expected = expected
            .trim_start_matches(", expected one of ")
            .trim_start_matches(", expected ")
            .replace('`', "");
        return format!("{prefix}{unknown} is not a field here; the fields are {expected}");
    }
    for kind in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = serde.strip_prefix(kind)
            && let Some((got, expected)) = rest.split_once(", expected ")
        {
            return format!(
                "{prefix}expected {}, got {}",
                in_words(expected),
                in_words(got)
            );
        }
    }
    format!("{prefix}{serde}")
}

/// A serde type or value ("i64", "string \"x\"", "integer `9`") as people say it.
fn in_words(serde: &str) -> String {
    let serde = serde.replace('`', "");
    match serde.as_str() {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize" => {
            "a whole number".to_owned()
        }
        "f32" | "f64" => "a number".to_owned(),
        "a string" | "string" => "text".to_owned(),
        "a boolean" => "true or false".to_owned(),
        "null" | "unit value" => "nothing".to_owned(),
        other => other
            .strip_prefix("string ")
            .or_else(|| other.strip_prefix("integer "))
            .or_else(|| other.strip_prefix("floating point "))
            .or_else(|| other.strip_prefix("boolean "))
            .unwrap_or(other)
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_become_plain_words() {
        assert_eq!(
            in_plain_words(
                "week",
                "week: \"2026-W60\" is not a week like 2026-W48 or a date like 2026-11-26 at line 1 column 18"
            ),
            "week: \"2026-W60\" is not a week like 2026-W48 or a date like 2026-11-26"
        );
        assert_eq!(
            in_plain_words("enough_alone", "invalid type: string \"x\", expected i64"),
            "enough_alone: expected a whole number, got \"x\""
        );
        assert_eq!(
            in_plain_words(".", "missing field `title` at line 1 column 2"),
            "title is missing"
        );
        assert_eq!(
            in_plain_words(
                ".",
                "unknown field `colour`, expected one of `title`, `notes`"
            ),
            "colour is not a field here; the fields are title, notes"
        );
    }
}
