//! `/v1/mailbox`: the folders used to sync while apart (laptop only: a phone has no
//! business choosing where the documents go).

use std::path::PathBuf;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use tandem_protocol::api::paths;
use tandem_protocol::mailbox::status::{MailboxQuery, MailboxRequest, MailboxStatus};
use utoipa_axum::routes;

use super::error::{Body, Params};
use super::openapi::{BadBody, BadParams, Guarded, Unprocessable};
use super::{ApiError, AppState, Routes, blocking};
use crate::mailbox::{MailboxError, Which};

/// The routes (laptop only).
pub fn routes() -> Routes {
    Routes::default().routes(routes!(mailbox_status, set_mailbox, stop_mailbox))
}

impl From<MailboxError> for ApiError {
    fn from(e: MailboxError) -> Self {
        match e {
            // What the machine holds, not the request's shape: a rule no schema states.
            MailboxError::BadFolder(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
            }
            MailboxError::Home(e) => ApiError::internal(e.to_string()),
        }
    }
}

fn which(own: bool) -> Which {
    if own { Which::Own } else { Which::Shared }
}

/// Both mailbox folders: what this laptop wrote, what it read from each device, and which
/// devices still need to meet once on the same network to share a key.
#[utoipa::path(get, path = paths::MAILBOX, tag = "mailbox",
    responses((status = 200, body = MailboxStatus), Guarded))]
async fn mailbox_status(State(state): State<AppState>) -> Json<MailboxStatus> {
    Json(state.mailboxes.status())
}

/// Uses a folder (absolute, existing, writable) as the shared mailbox, or as the
/// own-devices one with `own`; 422 names what is wrong with the folder.
#[utoipa::path(post, path = paths::MAILBOX, tag = "mailbox", request_body = MailboxRequest,
    responses((status = 200, body = MailboxStatus), BadBody, Unprocessable, Guarded))]
async fn set_mailbox(
    State(state): State<AppState>,
    Body(req): Body<MailboxRequest>,
) -> Result<Json<MailboxStatus>, ApiError> {
    let mailboxes = state.mailboxes.clone();
    let dir = PathBuf::from(req.dir);
    blocking(move || mailboxes.set(which(req.own), Some(&dir))).await?;
    Ok(Json(state.mailboxes.status()))
}

/// Stops using the shared mailbox folder (or the own-devices one with `own`); its files
/// stay where they are.
#[utoipa::path(delete, path = paths::MAILBOX, tag = "mailbox", params(MailboxQuery),
    responses((status = 200, body = MailboxStatus), BadParams, Guarded))]
async fn stop_mailbox(
    State(state): State<AppState>,
    Params(query): Params<MailboxQuery>,
) -> Result<Json<MailboxStatus>, ApiError> {
    let mailboxes = state.mailboxes.clone();
    blocking(move || mailboxes.set(which(query.own), None)).await?;
    Ok(Json(state.mailboxes.status()))
}
