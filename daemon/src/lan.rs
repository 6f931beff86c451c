//! The phones' HTTPS listener on the home network.
//!
//! Off until the first phone is added (`tandem phone add`), off again when the last one is
//! revoked: a laptop with no phones has nothing listening for browsers on the Wi-Fi. It
//! serves [`crate::api::lan_router`] over TLS with the device certificate, the one whose
//! fingerprint `tandem phone add` prints, so a phone can check it is talking to this laptop.
//! Each connection is HTTP/1.1 via [`crate::http::serve`] under [`PHONE_LIMITS`]; the
//! caller's address goes into the request as `ConnectInfo` for the failed-token throttle.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::home::{Home, write_file_atomic};
use crate::http::Limits;
use crate::identity::Identity;
use crate::listen::{BindError, bind_remembered};

/// What anyone on the home network may hold of the phone listener. A phone needs its
/// event stream plus a few requests at a time (browsers open up to six connections per
/// site), so 16 per address leave room; 256 in all serve many devices while bounding
/// what a flood from many addresses costs. Deadlines free a slot within 10 s of a client
/// going quiet, before or after TLS.
pub const PHONE_LIMITS: Limits = Limits {
    total: 256,
    per_source: 16,
    handshake: Duration::from_secs(10),
    header_read: Duration::from_secs(10),
};

/// Where the phones' listener is, while it runs.
pub type Bound = watch::Receiver<Option<SocketAddr>>;

/// How the listener is set up.
pub struct LanOptions {
    /// Address to bind, usually `0.0.0.0`.
    pub ip: IpAddr,
    /// Port to bind; 0 reuses the last one, else any free one.
    pub port: u16,
}

/// Runs the listener whenever `phones` (the number of phones) is above zero, until
/// `stopping`. Publishes the bound address on `bound_tx` (`None` while off).
pub fn start(
    home: Home,
    identity: &Identity,
    options: LanOptions,
    app: Router,
    mut phones: watch::Receiver<usize>,
    stopping: watch::Receiver<bool>,
    bound_tx: watch::Sender<Option<SocketAddr>>,
) {
    let acceptor = TlsAcceptor::from(crate::tls::web_server_config(identity));
    tokio::spawn(async move {
        let mut stop = stopping.clone();
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                on = phones.wait_for(|n| *n > 0) => if on.is_err() { return },
            }
            let listener = match bind(&home, &options).await {
                Ok(listener) => listener,
                Err(e) => {
                    tracing::error!(
                        "phones cannot connect: cannot listen on {}: {}",
                        e.addr,
                        e.source
                    );
                    tokio::select! {
                        _ = stop.wait_for(|s| *s) => return,
                        _ = tokio::time::sleep(Duration::from_secs(30)) => continue,
                    }
                }
            };
            let addr = listener.local_addr().ok();
            tracing::info!(addr = ?addr, "phone listener on");
            bound_tx.send_replace(addr);
            // On stop, `serve` itself stops accepting and waits for its connections to end.
            tokio::select! {
                () = serve(listener, acceptor.clone(), app.clone(), stopping.clone()) => {}
                _ = phones.wait_for(|n| *n == 0) => tracing::info!("no phones left: phone listener off"),
            }
            bound_tx.send_replace(None);
            if *stop.borrow() {
                return;
            }
        }
    });
}

/// Binds the configured port, else the one used last, else any free one, and remembers
/// it (a failure to remember only costs the next start its bookmark).
async fn bind(home: &Home, options: &LanOptions) -> Result<TcpListener, BindError> {
    let listener = bind_remembered(options.ip, options.port, &home.lan_port()).await?;
    if let Ok(addr) = listener.local_addr()
        && let Err(e) =
            write_file_atomic(&home.lan_port(), addr.port().to_string().as_bytes(), 0o600)
    {
        tracing::warn!("cannot remember the phone port: {e}");
    }
    Ok(listener)
}

/// Serves the phone API over TLS until `stopping`.
async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    stopping: watch::Receiver<bool>,
) {
    let handshake = move |tcp| acceptor.accept(tcp);
    crate::http::serve(
        "phone listener",
        listener,
        PHONE_LIMITS,
        app,
        handshake,
        stopping,
    )
    .await;
}
