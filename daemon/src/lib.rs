//! # tandem-daemon
//!
//! `tandemd` holds one person's tandem documents, keeps them safe on disk and serves the
//! local API. It is the only writer of the data home; the CLI talks to it over HTTP.
//!
//! # Layout
//! - [`home`]: the data directory, its files and the one-daemon lock.
//! - [`identity`]: this device's certificate and key; its device id.
//! - [`tls`]: rustls configs with pinned-certificate verifiers (sync and pairing).
//! - [`peers`]: `peers.toml`, the pinned devices.
//! - [`peer`]: the peer listener, dialer, connections (sync) and pairing.
//! - [`discovery`]: mDNS announcement and browsing for paired devices and candidates.
//! - [`config`]: reading and writing `config.toml`.
//! - [`clock`]: the one "now" (the system's, or `TANDEM_NOW` for tests).
//! - [`store`]: crash-safe snapshot + change log of one document.
//! - [`upgrade`]: bringing old documents up to this build's schema, keeping a copy first.
//! - [`repair`]: finding damaged documents, and rebuilding one from a paired device.
//! - [`repo`]: both documents and every operation on them; the single place that mutates.
//! - [`reminders`]: announcing due check-ins, plans and agreement reviews.
//! - [`api`]: the axum HTTP API on 127.0.0.1 (auth, host checks, routes, SSE, OpenAPI),
//!   the phone page and the calendar feed.
//! - [`phones`]: `phones.toml`, the phones allowed in and their token hashes.
//! - [`secret`]: making bearer tokens and hashing them for storage.
//! - [`http`]: serving HTTP/1.1 connections with deadlines and per-source slots.
//! - [`lan`]: the opt-in HTTPS listener phones use on the home network.
//! - [`listen`]: binding a listener on the port it had last time (peers, phones).
//! - [`mailbox`]: syncing through folders synced by other means, while apart.
//! - [`slots`]: connection slots per source and overall, released when a connection ends.
//! - [`notices`]: log lines about strangers, once per source and minute.
//! - [`shutdown`]: turning SIGINT/SIGTERM into one graceful stop.
//! - [`daemon`]: start-up and the main loop, tying the above together.

pub mod api;
pub mod archive;
pub mod backup;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod discovery;
pub mod home;
pub mod http;
pub mod identity;
pub mod lan;
pub mod listen;
pub mod mailbox;
pub mod memory;
pub mod notices;
pub mod peer;
pub mod peers;
pub mod phones;
pub mod reminders;
pub mod repair;
pub mod repo;
pub mod restore;
pub mod secret;
pub mod shutdown;
pub mod slots;
pub mod store;
pub mod tls;
pub mod upgrade;
pub mod writer;
