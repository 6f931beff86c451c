//! `/v1/backup`: archives of both documents (laptop only: a phone must never be able to
//! carry the private document away, so these routes are not on the phones' listener).

use std::path::PathBuf;

use age::secrecy::SecretString;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use tandem_protocol::api::{AutoBackupRequest, BackupRequest, BackupStatus, paths};
use utoipa_axum::routes;

use super::error::Body;
use super::openapi::{BadBody, Guarded, Stopping};
use super::{ApiError, AppState, Routes, blocking};
use crate::backup::BackupError;

/// The routes (laptop only).
pub fn routes() -> Routes {
    Routes::default()
        .routes(routes!(backup_status, take_backup))
        .routes(routes!(set_up_auto_backups))
}

impl From<BackupError> for ApiError {
    fn from(e: BackupError) -> Self {
        match e {
            BackupError::BadSetup(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid", e.to_string())
            }
            BackupError::Repo(e) => (*e).into(),
            other => ApiError::internal(other.to_string()),
        }
    }
}

fn passphrase(text: String) -> Result<SecretString, ApiError> {
    if text.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "the passphrase is empty: choose one, it is all a restore will ask for",
        ));
    }
    Ok(SecretString::from(text))
}

/// An archive of both documents taken now, encrypted with the passphrase (age, scrypt).
#[utoipa::path(post, path = paths::BACKUP, tag = "backup", request_body = BackupRequest,
    responses(
        (status = 200, description = "the archive", content_type = "application/octet-stream", body = Vec<u8>),
        BadBody, Guarded, Stopping,
    ))]
async fn take_backup(
    State(state): State<AppState>,
    Body(req): Body<BackupRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let passphrase = passphrase(req.passphrase)?;
    let archive = crate::backup::take(&state.writer, &state.home).await?;
    let sealed = blocking(move || {
        archive
            .seal_with_passphrase(&passphrase)
            .map_err(BackupError::from)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], sealed))
}

/// Sets up automatic backups to a directory, kept to the newest N; the secret key is
/// sealed there with the passphrase.
#[utoipa::path(post, path = paths::BACKUP_AUTO, tag = "backup", request_body = AutoBackupRequest,
    responses((status = 200, body = BackupStatus), BadBody, Guarded))]
async fn set_up_auto_backups(
    State(state): State<AppState>,
    Body(req): Body<AutoBackupRequest>,
) -> Result<Json<BackupStatus>, ApiError> {
    let passphrase = passphrase(req.passphrase)?;
    let backups = state.backups.clone();
    let dir = PathBuf::from(req.dir);
    let status = blocking(move || {
        backups.set_up(&dir, req.keep, &passphrase)?;
        Ok::<_, BackupError>(backups.status())
    })
    .await?;
    Ok(Json(status))
}

/// Automatic backups: their directory and the newest archive.
#[utoipa::path(get, path = paths::BACKUP, tag = "backup",
    responses((status = 200, body = BackupStatus), Guarded))]
async fn backup_status(State(state): State<AppState>) -> Result<Json<BackupStatus>, ApiError> {
    let backups = state.backups.clone();
    Ok(Json(
        blocking(move || Ok::<_, ApiError>(backups.status())).await?,
    ))
}
