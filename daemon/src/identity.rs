//! This device's identity: a self-signed certificate and its key, made once (rcgen).
//!
//! The device id is the SHA-256 of the certificate, so the certificate *is* the identity:
//! peers pin it at pairing and accept nothing else afterwards.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tandem_protocol::device::DeviceId;

use crate::home::{Home, HomeError, io_at, write_file_atomic};

/// The certificate, key and id of this device.
#[derive(Clone, Debug)]
pub struct Identity {
    /// Certificate presented in every TLS handshake.
    pub cert: CertificateDer<'static>,
    /// Its private key.
    key: Arc<PrivatePkcs8KeyDer<'static>>,
    /// SHA-256 of `cert`.
    pub device_id: DeviceId,
}

impl Identity {
    /// Loads the home's identity, creating it on first start.
    pub fn load_or_create(home: &Home) -> Result<Self, HomeError> {
        let (cert_path, key_path) = (home.device_cert(), home.device_key());
        match (std::fs::read(&cert_path), std::fs::read(&key_path)) {
            (Ok(cert), Ok(key)) => Ok(Self::from_der(cert, key)),
            (Err(e), _) if e.kind() != std::io::ErrorKind::NotFound => Err(io_at(&cert_path)(e)),
            (_, Err(e)) if e.kind() != std::io::ErrorKind::NotFound => Err(io_at(&key_path)(e)),
            _ => {
                let identity = Self::generate();
                // Key first: a certificate without its key would be a dead identity.
                write_file_atomic(&key_path, identity.key.secret_pkcs8_der(), 0o600)?;
                write_file_atomic(&cert_path, &identity.cert, 0o600)?;
                Ok(identity)
            }
        }
    }

    /// A fresh identity (also used by tests for strangers and impostors).
    pub fn generate() -> Self {
        let certified = rcgen::generate_simple_self_signed(vec!["tandem".to_owned()])
            .expect("generating a P-256 key and certificate cannot fail");
        Self::from_der(
            certified.cert.der().to_vec(),
            certified.signing_key.serialize_der(),
        )
    }

    fn from_der(cert: Vec<u8>, key: Vec<u8>) -> Self {
        let device_id = DeviceId::of_certificate(&cert);
        Self {
            cert: CertificateDer::from(cert),
            key: Arc::new(PrivatePkcs8KeyDer::from(key)),
            device_id,
        }
    }

    /// The private key, for a TLS config.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.as_ref().clone_key())
    }

    /// An identity that presents `self`'s certificate with some other key: an impostor
    /// who copied the public certificate. Only for tests of the handshake checks.
    pub fn impostor(&self) -> Self {
        let other = Self::generate();
        Self {
            cert: self.cert.clone(),
            key: other.key,
            device_id: self.device_id,
        }
    }
}
