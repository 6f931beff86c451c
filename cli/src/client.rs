//! The CLI's only way to the data: the local daemon's HTTP API. This module is the
//! transport (finding the daemon, the token, errors); [`crate::api`] the typed operations.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tandem_protocol::api::{Endpoint, ErrorBody, IDEMPOTENCY_KEY, encode};
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
    /// A read was sent but no answer came.
    #[error("the daemon did not answer ({0}): is it still running? (`tandem doctor`)")]
    NoAnswer(String),
    /// A change was sent but no answer came, also after retries: it may have been made.
    #[error(
        "the daemon did not answer ({0}), so the change may or may not have been made: \
         look (e.g. `tandem log`) before trying again"
    )]
    MaybeApplied(String),
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
            Self::NoAnswer(_) => "no_answer",
            Self::MaybeApplied(_) => "maybe_applied",
        }
    }
}

/// What a request carries besides its endpoint and path parameters: a query string, a
/// JSON body, both or neither.
#[derive(Default)]
pub struct Payload {
    /// `?key=value&...`, encoded, or empty.
    query: String,
    /// The JSON body, if the operation takes one.
    body: Option<Vec<u8>>,
}

impl Payload {
    /// Nothing but the route.
    pub fn none() -> Self {
        Self::default()
    }

    /// A JSON body.
    pub fn json(body: &impl Serialize) -> Result<Self, ClientError> {
        let body = serde_json::to_vec(body).map_err(|e| ClientError::Protocol(e.to_string()))?;
        Ok(Self {
            query: String::new(),
            body: Some(body),
        })
    }

    /// A query string of `query`'s fields (a struct of optional strings and numbers;
    /// absent fields are left out).
    pub fn query(query: &impl Serialize) -> Result<Self, ClientError> {
        let value =
            serde_json::to_value(query).map_err(|e| ClientError::Protocol(e.to_string()))?;
        let serde_json::Value::Object(fields) = value else {
            return Err(ClientError::Protocol(format!(
                "a query is a set of fields, not {value}"
            )));
        };
        let mut pairs = Vec::new();
        for (key, value) in fields {
            let text = match value {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                other => {
                    return Err(ClientError::Protocol(format!(
                        "query field {key} is not text: {other}"
                    )));
                }
            };
            pairs.push(format!("{}={}", encode(&key), encode(&text)));
        }
        let query = if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        };
        Ok(Self { query, body: None })
    }
}

/// How long to wait before each retry of a write whose answer was lost: about 4 s in
/// all, enough for a daemon restart.
const RETRY_PAUSES: [Duration; 4] = [
    Duration::from_millis(100),
    Duration::from_millis(400),
    Duration::from_millis(1_000),
    Duration::from_millis(2_500),
];

/// Why a request got no answer.
enum Lost {
    /// Nothing listens at the daemon's address: the request was not sent.
    Unreachable,
    /// The request may have been sent, but its answer broke off or timed out.
    Answer(String),
    /// The request could not be put together (a bug, never retried).
    Unbuilt(String),
}

/// A fresh key for one write and its retries.
fn new_key() -> String {
    format!("cli-{:032x}", rand::random::<u128>())
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

    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// Sends `endpoint` with its path `params` and what `payload` carries, and reads a
    /// successful answer as `T` (an empty one as JSON `null`, which `()` reads). Only
    /// [`crate::api`] calls it, once per operation.
    pub fn call<T: DeserializeOwned, const N: usize>(
        &self,
        endpoint: &Endpoint<N>,
        params: [&str; N],
        payload: Payload,
    ) -> Result<T, ClientError> {
        let bytes = self.call_for_bytes(endpoint, params, payload)?;
        let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        serde_json::from_slice(bytes).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// As [`Client::call`], for an answer that is not JSON (a backup archive).
    ///
    /// A write the daemon applies once per key ([`Endpoint::retried`]) carries a fresh
    /// `Idempotency-Key` and is sent again under it when its answer is lost (the
    /// connection broke or timed out after it was sent, the daemon was stopping or
    /// restarting, at the address it then writes): the daemon applies it once and answers
    /// the retry as it answered the first. A daemon that cannot be reached at all fails
    /// at once.
    pub fn call_for_bytes<const N: usize>(
        &self,
        endpoint: &Endpoint<N>,
        params: [&str; N],
        payload: Payload,
    ) -> Result<Vec<u8>, ClientError> {
        let path = format!("{}{}", endpoint.path(params), payload.query);
        let key = endpoint.retried().then(new_key);
        let mut base = self.base.clone();
        let mut pauses = RETRY_PAUSES.iter();
        // Whether an attempt may have reached the daemon (and so made the change).
        let mut reached = false;
        let (status, bytes) = loop {
            let uri = format!("{base}{path}");
            let sent = self.send(endpoint, &uri, key.as_deref(), payload.body.as_deref());
            let lost = match &sent {
                Err(Lost::Unreachable) => reached,
                Err(Lost::Answer(_)) => true,
                Ok((409, body)) => Self::error(409, body).code() == "key_in_use",
                Ok((status, _)) => *status == 503,
                Err(Lost::Unbuilt(_)) => false,
            };
            reached |= matches!(sent, Err(Lost::Answer(_)) | Ok(_));
            match pauses.next() {
                Some(pause) if lost && key.is_some() => {
                    std::thread::sleep(*pause);
                    // A restarted daemon may listen on another port.
                    base = self.current_base().unwrap_or(base);
                }
                _ => break sent.map_err(|lost| self.lost(lost, key.is_some() && reached))?,
            }
        };
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        Err(Self::error(status, &bytes))
    }

    /// Where the daemon says it listens now.
    fn current_base(&self) -> Option<String> {
        let addr = std::fs::read_to_string(self.home.join(API_ADDR_FILE)).ok()?;
        Some(format!("http://{}", addr.trim()))
    }

    /// Sends one request and reads its whole answer.
    fn send<const N: usize>(
        &self,
        endpoint: &Endpoint<N>,
        uri: &str,
        key: Option<&str>,
        json: Option<&[u8]>,
    ) -> Result<(u16, Vec<u8>), Lost> {
        let mut request = ureq::http::Request::builder()
            .method(endpoint.method().as_str())
            .uri(uri)
            .header("Authorization", self.auth());
        if let Some(key) = key {
            request = request.header(IDEMPOTENCY_KEY, key);
        }
        let unbuilt = |e: ureq::http::Error| Lost::Unbuilt(e.to_string());
        let response = match json {
            Some(json) => self.agent.run(
                request
                    .header("Content-Type", "application/json")
                    .body(json)
                    .map_err(unbuilt)?,
            ),
            None => self.agent.run(request.body(()).map_err(unbuilt)?),
        };
        let mut response = response.map_err(|e| match e {
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => Lost::Unreachable,
            ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                Lost::Unreachable
            }
            other => Lost::Answer(other.to_string()),
        })?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| Lost::Answer(e.to_string()))?;
        Ok((status, bytes))
    }

    /// What a person is told when no answer came; `changed`: a change was sent, and may
    /// have been made.
    fn lost(&self, lost: Lost, changed: bool) -> ClientError {
        match lost {
            Lost::Unbuilt(why) => ClientError::Protocol(why),
            Lost::Unreachable if changed => {
                ClientError::MaybeApplied("it stopped while the change was sent".into())
            }
            Lost::Unreachable => ClientError::NotRunning(self.home.clone()),
            Lost::Answer(why) if changed => ClientError::MaybeApplied(why),
            Lost::Answer(why) => ClientError::NoAnswer(why),
        }
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

#[cfg(test)]
mod tests {
    use tandem_protocol::api::{BalanceQuery, PlanQuery};
    use tandem_protocol::model::plan::PlanStatus;

    use super::Payload;

    #[test]
    fn a_query_has_the_given_fields_encoded_and_nothing_else() {
        let plans = PlanQuery {
            from: Some("2026-12-10".parse().unwrap()),
            to: None,
            status: Some(PlanStatus::Scheduled),
        };
        let query = Payload::query(&plans).unwrap().query;
        assert_eq!(query, "?from=2026-12-10&status=scheduled");
        let balance = BalanceQuery {
            week: None,
            tz: Some("America/Argentina/Buenos_Aires".into()),
        };
        let query = Payload::query(&balance).unwrap().query;
        assert_eq!(query, "?tz=America%2FArgentina%2FBuenos_Aires");
        assert_eq!(Payload::query(&PlanQuery::default()).unwrap().query, "");
    }
}
