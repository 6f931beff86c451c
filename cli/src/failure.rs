//! What a failed command tells people and scripts: one message a person can act on, and
//! with `--json` the same `{"error":{"code","message"}}` the daemon's API uses, so a
//! script reads every error, the CLI's own included, in one way.

use tandem_protocol::api::{ErrorBody, ErrorDetail};
use thiserror::Error;

use crate::client::ClientError;
use crate::when::WhenError;

/// Input the person typed that tandem cannot use. The message names the option as typed
/// and shows a valid example.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// An id that matches nothing: the same `not_found` scripts get from the API.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct NotFound(pub String);

/// A command that already printed its whole answer (`doctor --json` prints its findings)
/// and only has to end with a failing status.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct Reported(pub String);

/// A failed command as it is reported.
pub struct Failure {
    /// Stable code: the daemon's for API errors, `usage` for unusable input, `not_found`,
    /// `not_running` when there is no daemon, `failed` otherwise.
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
    /// The command printed its own answer already; only the exit status is left.
    pub already_shown: bool,
}

impl Failure {
    /// Classifies the error a command returned.
    pub fn of(e: &anyhow::Error) -> Self {
        let mut code = "failed".to_owned();
        let mut already_shown = false;
        for cause in e.chain() {
            if let Some(client) = cause.downcast_ref::<ClientError>() {
                code = client.code().to_owned();
                break;
            }
            if cause.is::<NotFound>() {
                code = "not_found".to_owned();
                break;
            }
            if cause.is::<Usage>() || cause.is::<WhenError>() {
                code = "usage".to_owned();
                break;
            }
            if cause.is::<Reported>() {
                already_shown = true;
                break;
            }
        }
        Self {
            code,
            message: format!("{e:#}"),
            already_shown,
        }
    }

    /// The error as JSON for scripts.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.clone(),
                message: self.message.clone(),
                field: None,
            },
        }
    }
}
