//! A phone as the tests see it: `tandem phone add` on a daemon, then HTTPS requests to its
//! phone listener with the phone's token.

use serde_json::Value;

use crate::{Daemon, Reply};

/// One phone added to a daemon.
pub struct Phone {
    /// `https://127.0.0.1:PORT`.
    pub base: String,
    /// Its token.
    pub token: String,
    /// Its id, for `tandem phone revoke`.
    pub id: String,
    /// What `tandem phone add --json` printed.
    pub added: Value,
    agent: ureq::Agent,
}

impl Phone {
    /// Adds a phone named `name` through the CLI.
    pub fn add(daemon: &Daemon, name: &str) -> Self {
        let added = daemon.cli_json(&["phone", "add", name]);
        let url = added["urls"][0].as_str().expect("a page address");
        let (base, fragment) = url.split_once("/#token=").expect("token in the fragment");
        let tls = ureq::tls::TlsConfig::builder()
            // The device certificate is self-signed and names no host; tests pin it
            // separately (see `phone.rs`), as the person compares the fingerprint.
            .disable_verification(true)
            .build();
        Self {
            base: base.to_owned(),
            token: fragment.to_owned(),
            id: added["phone"]["id"].as_str().expect("an id").to_owned(),
            agent: ureq::Agent::config_builder()
                .tls_config(tls)
                .http_status_as_error(false)
                // A fresh connection per request: a refusal sent before the body was read
                // makes the server close the connection, and a pooled one could be reused
                // just as it closes (browsers retry such requests; this client would not).
                .max_idle_connections(0)
                // A phone that waits longer than this is locked out, not slow.
                .timeout_global(Some(std::time::Duration::from_secs(10)))
                .build()
                .new_agent(),
            added,
        }
    }

    /// A request to the phone listener with `token` (none when `None`), extra headers and
    /// an optional raw body.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("Content-Type", "application/json");
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let request = request
            .body(body.unwrap_or_default().to_vec())
            .expect("valid request");
        Daemon::reply(self.agent.run(request))
    }

    /// `GET` with this phone's token.
    pub fn get(&self, path: &str) -> Reply {
        self.send("GET", path, Some(&self.token), &[], None)
    }

    /// `GET /v1/status` with some other token.
    pub fn get_with_token(&self, token: &str) -> Reply {
        self.send("GET", "/v1/status", Some(token), &[], None)
    }

    /// `POST` of JSON with this phone's token.
    pub fn post(&self, path: &str, body: &Value) -> Reply {
        let body = body.to_string();
        self.send("POST", path, Some(&self.token), &[], Some(body.as_bytes()))
    }
}
