//! TLS 1.3 with mutual authentication by pinned self-signed certificates (rustls).
//!
//! Two kinds of connection share the peer port, told apart by ALPN:
//! - `tandem/1`: sync between paired devices. Both sides accept only a certificate whose
//!   SHA-256 is a pinned device id (the dialer knows which one it expects); anything else
//!   fails the handshake, before a single document byte moves.
//! - `tandem-pair/1`: pairing. Any certificate is accepted, because SPAKE2 over the code
//!   (bound to this TLS session's exporter) decides trust, and only while a pairing window
//!   is open.
//!
//! In every case the handshake signature is verified with the presented certificate's key,
//! so holding a copy of someone's certificate is not enough to be them.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use tandem_protocol::device::DeviceId;

use crate::identity::Identity;

/// ALPN of sync connections.
pub const ALPN_SYNC: &[u8] = b"tandem/1";
/// ALPN of pairing connections.
pub const ALPN_PAIR: &[u8] = b"tandem-pair/1";
/// Label of the TLS exporter that binds pairing to the session.
pub const EXPORTER_LABEL: &[u8] = b"EXPORTER-tandem-pairing";

/// Which certificates a verifier accepts.
#[derive(Clone)]
pub enum Trust {
    /// Only this one device (dialing a known peer).
    Device(DeviceId),
    /// Any device for which the function says yes (accepting: the current pinned set).
    Pinned(Arc<dyn Fn(&DeviceId) -> bool + Send + Sync>),
    /// Any certificate (pairing, where SPAKE2 decides).
    Anyone,
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trust::Device(id) => write!(f, "Trust::Device({id})"),
            Trust::Pinned(_) => f.write_str("Trust::Pinned"),
            Trust::Anyone => f.write_str("Trust::Anyone"),
        }
    }
}

impl Trust {
    fn check(&self, cert: &CertificateDer<'_>) -> Result<(), Error> {
        let id = DeviceId::of_certificate(cert);
        let ok = match self {
            Trust::Device(expected) => *expected == id,
            Trust::Pinned(is_pinned) => is_pinned(&id),
            Trust::Anyone => true,
        };
        if ok {
            Ok(())
        } else {
            tracing::info!(device = %id, "refused a device that is not paired");
            Err(Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }
}

/// The crypto provider, chosen explicitly (ring) so rustls never guesses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Verifies pinned certificates for either side of the handshake.
#[derive(Debug)]
struct PinVerifier {
    trust: Trust,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinVerifier {
    fn new(trust: Trust) -> Arc<Self> {
        Arc::new(Self {
            trust,
            algorithms: provider().signature_verification_algorithms,
        })
    }
}

/// The signature half of both verifier traits: TLS 1.2 refused, TLS 1.3 handshake
/// signatures checked against the presented certificate's key.
macro_rules! signature_checks {
    () => {
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            Err(Error::PeerIncompatible(
                rustls::PeerIncompatible::Tls12NotOffered,
            ))
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            verify_tls13_signature(message, cert, dss, &self.algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.algorithms.supported_schemes()
        }
    };
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        self.trust
            .check(end_entity)
            .map(|()| ServerCertVerified::assertion())
    }

    signature_checks!();
}

impl ClientCertVerifier for PinVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        self.trust
            .check(end_entity)
            .map(|()| ClientCertVerified::assertion())
    }

    signature_checks!();

    fn client_auth_mandatory(&self) -> bool {
        true
    }
}

/// Our certificate with its signing key. Built without rustls's key/certificate match
/// check so tests can play an impostor; a real identity always matches.
fn certified_key(identity: &Identity) -> Arc<rustls::sign::SingleCertAndKey> {
    let key = provider()
        .key_provider
        .load_private_key(identity.key())
        .expect("rcgen keys are PKCS#8 P-256, which ring loads");
    Arc::new(rustls::sign::CertifiedKey::new(vec![identity.cert.clone()], key).into())
}

/// Config for dialing: presents our certificate, trusts per `trust`, speaks `alpn`.
pub fn client_config(identity: &Identity, trust: Trust, alpn: &[u8]) -> Arc<rustls::ClientConfig> {
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("ring supports TLS 1.3")
        .dangerous()
        .with_custom_certificate_verifier(PinVerifier::new(trust))
        .with_client_cert_resolver(certified_key(identity));
    config.alpn_protocols = vec![alpn.to_vec()];
    Arc::new(config)
}

/// Config for accepting: requires a client certificate trusted per `trust`.
pub fn server_config(identity: &Identity, trust: Trust, alpn: &[u8]) -> Arc<rustls::ServerConfig> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("ring supports TLS 1.3")
        .with_client_cert_verifier(PinVerifier::new(trust))
        .with_cert_resolver(certified_key(identity));
    config.alpn_protocols = vec![alpn.to_vec()];
    Arc::new(config)
}

/// Config for the phones' HTTPS listener: the device certificate, no client certificate
/// (browsers authenticate with a token), HTTP/1.1.
pub fn web_server_config(identity: &Identity) -> Arc<rustls::ServerConfig> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_no_client_auth()
        .with_cert_resolver(certified_key(identity));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// The name a dialer puts in its ClientHello; certificates are pinned, not named.
pub fn server_name() -> ServerName<'static> {
    ServerName::try_from("tandem").expect("valid DNS name")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Runs one handshake over loopback; returns whether the client got the server's byte.
    async fn handshake(
        server: &Identity,
        server_trust: Trust,
        client: &Identity,
        client_trust: Trust,
    ) -> bool {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor =
            tokio_rustls::TlsAcceptor::from(server_config(server, server_trust, ALPN_SYNC));
        let server_task = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            if let Ok(mut tls) = acceptor.accept(tcp).await {
                let _ = tls.write_all(b"!").await;
                let _ = tls.flush().await;
                let mut buf = [0u8; 1];
                let _ = tls.read(&mut buf).await;
            }
        });
        let connector =
            tokio_rustls::TlsConnector::from(client_config(client, client_trust, ALPN_SYNC));
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let got = match connector.connect(server_name(), tcp).await {
            Ok(mut tls) => {
                let mut buf = [0u8; 1];
                matches!(tls.read(&mut buf).await, Ok(1))
            }
            Err(_) => false,
        };
        server_task.abort();
        got
    }

    fn pinned(id: DeviceId) -> Trust {
        Trust::Pinned(Arc::new(move |d| *d == id))
    }

    #[tokio::test]
    async fn pinned_devices_connect_and_strangers_do_not() {
        let (alex, sam, eve) = (
            Identity::generate(),
            Identity::generate(),
            Identity::generate(),
        );
        assert!(
            handshake(
                &alex,
                pinned(sam.device_id),
                &sam,
                Trust::Device(alex.device_id)
            )
            .await
        );
        // A stranger dialing Alex is refused by Alex.
        assert!(
            !handshake(
                &alex,
                pinned(sam.device_id),
                &eve,
                Trust::Device(alex.device_id)
            )
            .await
        );
        // Sam dialing what turns out to be Eve refuses her.
        assert!(!handshake(&eve, Trust::Anyone, &sam, Trust::Device(alex.device_id)).await);
    }

    #[tokio::test]
    async fn a_copied_certificate_without_its_key_is_refused() {
        let (alex, sam) = (Identity::generate(), Identity::generate());
        let fake_sam = sam.impostor();
        assert_eq!(fake_sam.device_id, sam.device_id);
        assert!(
            !handshake(
                &alex,
                pinned(sam.device_id),
                &fake_sam,
                Trust::Device(alex.device_id)
            )
            .await
        );
        let fake_alex = alex.impostor();
        assert!(
            !handshake(
                &fake_alex,
                pinned(sam.device_id),
                &sam,
                Trust::Device(alex.device_id)
            )
            .await
        );
    }
}
