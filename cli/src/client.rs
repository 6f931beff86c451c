//! The CLI's only way to the data: the local daemon's HTTP API.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tandem_protocol::api::ErrorBody;
use tandem_protocol::paths::{API_ADDR_FILE, API_TOKEN_FILE, CONFIG_FILE, HomeProblem};
use thiserror::Error;

/// Why a request did not succeed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// No daemon runs for this home.
    #[error("daemon not running for {0}: start it with `tandemd` (or `tandemd --home {0}`)")]
    NotRunning(PathBuf),
    /// The data home is a file, or was never set up.
    #[error(transparent)]
    Home(#[from] HomeProblem),
    /// The token file could not be read.
    #[error("cannot read the API token {path}: {source}")]
    Token {
        /// The token file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The daemon answered with an error.
    #[error("{message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Stable error code.
        code: String,
        /// The daemon's message.
        message: String,
    },
    /// The answer could not be understood.
    #[error("unexpected answer from the daemon: {0}")]
    Protocol(String),
}

impl ClientError {
    /// The stable code scripts see with `--json`: the daemon's own for API errors.
    pub fn code(&self) -> &str {
        match self {
            Self::NotRunning(_) => "not_running",
            Self::Home(HomeProblem::NotADirectory(_)) => "not_a_directory",
            Self::Home(HomeProblem::NotSetUp(_)) => "not_set_up",
            Self::Token { .. } => "no_token",
            Self::Api { code, .. } => code,
            Self::Protocol(_) => "protocol",
        }
    }
}

/// A connection to the local daemon.
pub struct Client {
    home: PathBuf,
    agent: ureq::Agent,
    base: String,
    token: String,
}

impl Client {
    /// Finds the daemon of `home` through `api.addr` and `api.token`.
    pub fn connect(home: &Path) -> Result<Self, ClientError> {
        if home.is_file() {
            return Err(HomeProblem::NotADirectory(home.to_owned()).into());
        }
        if !home.join(CONFIG_FILE).exists() {
            return Err(HomeProblem::NotSetUp(home.to_owned()).into());
        }
        let addr = std::fs::read_to_string(home.join(API_ADDR_FILE))
            .map_err(|_| ClientError::NotRunning(home.to_owned()))?;
        let token_path = home.join(API_TOKEN_FILE);
        let token = std::fs::read_to_string(&token_path).map_err(|source| ClientError::Token {
            path: token_path,
            source,
        })?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Ok(Self {
            home: home.to_owned(),
            agent,
            base: format!("http://{}", addr.trim()),
            token: token.trim().to_owned(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// `GET path`.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let response = self
            .agent
            .get(self.url(path))
            .header("Authorization", self.auth())
            .call();
        self.read(response)
    }

    /// `POST path` with a JSON body.
    pub fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, ClientError> {
        self.send("POST", path, body)
    }

    /// `PATCH path` with a JSON body.
    pub fn patch<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, ClientError> {
        self.send("PATCH", path, body)
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Result<(), ClientError> {
        let response = self
            .agent
            .delete(self.url(path))
            .header("Authorization", self.auth())
            .call();
        self.read::<serde_json::Value>(response).map(|_| ())
    }

    /// `POST path` with a JSON body, answered with raw bytes (a backup archive).
    pub fn post_for_bytes(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<Vec<u8>, ClientError> {
        let (status, bytes) =
            self.answer(self.agent.run(self.json_request("POST", path, body)?))?;
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        Err(Self::error(status, &bytes))
    }

    fn send<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, ClientError> {
        self.read(self.agent.run(self.json_request(method, path, body)?))
    }

    fn json_request(
        &self,
        method: &str,
        path: &str,
        body: &impl Serialize,
    ) -> Result<ureq::http::Request<Vec<u8>>, ClientError> {
        let json = serde_json::to_vec(body).map_err(|e| ClientError::Protocol(e.to_string()))?;
        ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path))
            .header("Authorization", self.auth())
            .header("Content-Type", "application/json")
            .body(json)
            .map_err(|e| ClientError::Protocol(e.to_string()))
    }

    fn read<T: DeserializeOwned>(
        &self,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, ClientError> {
        let (status, bytes) = self.answer(response)?;
        if (200..300).contains(&status) {
            let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(bytes).map_err(|e| ClientError::Protocol(e.to_string()));
        }
        Err(Self::error(status, &bytes))
    }

    /// The status and body of a response, or why there was none.
    fn answer(
        &self,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let mut response = response.map_err(|e| match e {
            ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
                ClientError::NotRunning(self.home.clone())
            }
            other => ClientError::Protocol(other.to_string()),
        })?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        Ok((status, bytes))
    }

    /// The daemon's error answer.
    fn error(status: u16, body: &[u8]) -> ClientError {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(body) => ClientError::Api {
                status,
                code: body.error.code,
                message: body.error.message,
            },
            Err(_) => {
                ClientError::Protocol(format!("HTTP {status}: {}", String::from_utf8_lossy(body)))
            }
        }
    }
}
