//! This device's identity: a self-signed certificate and its key, made once (rcgen).
//!
//! The device id is the SHA-256 of the certificate, so the certificate *is* the identity:
//! peers pin it at pairing and accept nothing else afterwards.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tandem_protocol::device::{DeviceId, local_host_name};

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
    /// The name this laptop answers to over mDNS (`tandem-<12 hex>.local`, from its key),
    /// which the phone links use. Certificates made since it exists name it too; older
    /// ones keep their names, since the certificate is what the partner pinned.
    pub host_name: String,
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

    /// A fresh identity (also used by tests for strangers and impostors). The certificate
    /// names `tandem` (what peers ask for) and the laptop's mDNS host name (what phones
    /// open).
    pub fn generate() -> Self {
        let key = rcgen::KeyPair::generate().expect("generating a P-256 key cannot fail");
        let names = vec!["tandem".to_owned(), local_host_name(key.public_key_raw())];
        let cert = rcgen::CertificateParams::new(names)
            .and_then(|params| params.self_signed(&key))
            .expect("self-signing a certificate for two DNS names cannot fail");
        Self::from_der(cert.der().to_vec(), key.serialize_der())
    }

    fn from_der(cert: Vec<u8>, key: Vec<u8>) -> Self {
        let device_id = DeviceId::of_certificate(&cert);
        // A key rcgen cannot read (TLS would refuse it too) still gets a fixed name.
        let host_name = rcgen::KeyPair::try_from(key.as_slice())
            .map(|pair| local_host_name(pair.public_key_raw()))
            .unwrap_or_else(|_| local_host_name(&cert));
        Self {
            cert: CertificateDer::from(cert),
            key: Arc::new(PrivatePkcs8KeyDer::from(key)),
            device_id,
            host_name,
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
            host_name: self.host_name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_certificate_names_the_host_name_phones_open() {
        let identity = Identity::generate();
        assert!(
            identity.host_name.ends_with(".local"),
            "{}",
            identity.host_name
        );
        let der: &[u8] = &identity.cert;
        // A dNSName in the subject alternative names is the name's bytes as they are.
        let names = |name: &str| der.windows(name.len()).any(|w| w == name.as_bytes());
        assert!(
            names(&identity.host_name),
            "the certificate names {}",
            identity.host_name
        );
        assert!(names("tandem"), "peers still find the name they ask for");
        let again = Identity::from_der(der.to_vec(), identity.key.secret_pkcs8_der().to_vec());
        assert_eq!(
            again.host_name, identity.host_name,
            "the name survives a restart"
        );
        assert_ne!(Identity::generate().host_name, identity.host_name);
    }
}
