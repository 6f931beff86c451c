//! Backup archives: what they hold and how they are sealed.
//!
//! An archive is a standard [age](https://age-encryption.org/v1) file, so it can also be
//! opened with the stock `age` tool. Its plaintext is a fixed magic line, the archive
//! format version (a postcard varint) and the postcard-encoded [`Archive`]. Reading checks
//! the format and each document's schema version before anything else, so an archive from
//! a newer tandem is refused by name rather than misread.
//!
//! Two ways to seal one:
//! - with a passphrase (`tandem backup FILE`): age's scrypt recipient;
//! - to a public key (automatic backups, which run with no one to type a passphrase): the
//!   matching secret key is kept beside the archives in [`IDENTITY_FILE`], itself sealed
//!   with the passphrase given at set-up, so restoring any of them needs only that.
//!
//! An archive never holds the device key, certificate, API or phone tokens, the actor id
//! or the pinned peers: a restored laptop is a new device that pairs again.

use std::io::{Read, Write};
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tandem_protocol::document::DocKind;
use tandem_protocol::ids::PersonId;
use tandem_protocol::schema::Schema;
use tandem_protocol::time::Stamp;
use thiserror::Error;

/// The archive format this build writes and the newest it reads.
pub const FORMAT: u32 = 1;
/// Starts every archive's plaintext, so a decrypted file of another kind is told apart.
const MAGIC: &[u8] = b"tandem backup archive\n";
/// The secret key of automatic backups, sealed with the passphrase, in their directory.
pub const IDENTITY_FILE: &str = "identity.age";

/// Why an archive could not be written or read. Nothing was changed either way.
#[derive(Debug, Error)]
pub enum ArchiveError {
    /// The passphrase does not open the archive.
    #[error("wrong passphrase (or the archive's header was altered): nothing was restored")]
    WrongPassphrase,
    /// The file is cut short or was altered after it was written.
    #[error("the archive is damaged, truncated or not a tandem backup ({0}): nothing was restored")]
    Damaged(String),
    /// The file is not an age file at all.
    #[error("this is not a tandem backup archive ({0})")]
    NotAnArchive(String),
    /// An archive from a newer tandem.
    #[error(
        "this archive was made by a newer tandem ({what} {found}, this build reads up to {supported}): upgrade tandem, then restore again"
    )]
    Newer {
        /// What is newer: the archive format or a document's schema.
        what: &'static str,
        /// Its version in the archive.
        found: u32,
        /// The newest this build knows.
        supported: u32,
    },
    /// An automatic archive, but the sealed secret key is not beside it.
    #[error(
        "this archive was written by automatic backups and is opened with {IDENTITY_FILE} from the same directory, which is missing ({0}): copy it next to the archive"
    )]
    MissingIdentity(String),
    /// The scrypt work factor is higher than this machine allows (made on a much faster one).
    #[error("opening this archive would take too long on this machine: {0}")]
    TooExpensive(String),
    /// age could not encrypt.
    #[error("cannot encrypt the archive: {0}")]
    Encrypt(String),
}

/// One document as saved by Automerge, with the schema version it was at.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DocumentImage {
    /// `Schema` version of the document when archived.
    pub schema: u32,
    /// The saved document (`Document::save`).
    pub bytes: Vec<u8>,
}

/// Everything a new laptop needs to become the same person again.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Archive {
    /// When the snapshot was taken.
    pub created_at: Stamp,
    /// The person this home belongs to.
    pub person: PersonId,
    /// Their name.
    pub name: String,
    /// The configured time zone, if one was set.
    pub time_zone: Option<String>,
    /// The shared document (plans, ideas, settings, the people, ...).
    pub shared: DocumentImage,
    /// The private document (notes, personal-time details, unrevealed answers).
    pub private: DocumentImage,
}

impl Archive {
    /// The image of `kind`.
    pub fn document(&self, kind: DocKind) -> &DocumentImage {
        match kind {
            DocKind::Shared => &self.shared,
            DocKind::Private => &self.private,
        }
    }

    /// Encrypts with a passphrase (scrypt, work factor tuned by age to about a second).
    pub fn seal_with_passphrase(&self, passphrase: &SecretString) -> Result<Vec<u8>, ArchiveError> {
        seal(
            age::Encryptor::with_user_passphrase(passphrase.clone()),
            &self.plaintext(),
        )
    }

    /// Encrypts to the public key of automatic backups.
    pub fn seal_to(&self, recipient: &age::x25519::Recipient) -> Result<Vec<u8>, ArchiveError> {
        let recipients = [recipient as &dyn age::Recipient];
        let encryptor = age::Encryptor::with_recipients(recipients.into_iter())
            .map_err(|e| ArchiveError::Encrypt(e.to_string()))?;
        seal(encryptor, &self.plaintext())
    }

    /// Decrypts and reads an archive. A passphrase archive opens with `passphrase`; an
    /// automatic one with the key sealed in `identity_file` (read only then), which
    /// `passphrase` opens.
    pub fn open(
        file: &[u8],
        passphrase: &SecretString,
        identity_file: impl FnOnce() -> std::io::Result<Vec<u8>>,
    ) -> Result<Self, ArchiveError> {
        let decryptor = decryptor(file)?;
        let plaintext = if decryptor.is_scrypt() {
            decrypt(decryptor, &scrypt_identity(passphrase))?
        } else {
            let sealed =
                identity_file().map_err(|e| ArchiveError::MissingIdentity(e.to_string()))?;
            let identity = open_identity(&sealed, passphrase)?;
            decrypt(decryptor, &identity)?
        };
        Self::from_plaintext(&plaintext)
    }

    fn plaintext(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend(postcard::to_stdvec(&FORMAT).expect("a u32 always encodes"));
        out.extend(postcard::to_stdvec(self).expect("an archive always encodes"));
        out
    }

    fn from_plaintext(bytes: &[u8]) -> Result<Self, ArchiveError> {
        let body = bytes.strip_prefix(MAGIC).ok_or_else(|| {
            ArchiveError::NotAnArchive("it decrypts, but holds something else".into())
        })?;
        let (format, body): (u32, _) = postcard::take_from_bytes(body)
            .map_err(|e| ArchiveError::Damaged(format!("format version: {e}")))?;
        if format > FORMAT {
            return Err(ArchiveError::Newer {
                what: "archive format",
                found: format,
                supported: FORMAT,
            });
        }
        let archive: Archive = postcard::from_bytes(body)
            .map_err(|e| ArchiveError::Damaged(format!("contents: {e}")))?;
        let supported = Schema::CURRENT.version();
        for kind in DocKind::ALL {
            let found = archive.document(kind).schema;
            if found > supported {
                return Err(ArchiveError::Newer {
                    what: "document schema",
                    found,
                    supported,
                });
            }
        }
        Ok(archive)
    }
}

/// A new key pair for automatic backups: the public key to write archives to, and the
/// secret key sealed with `passphrase`, to be kept beside them as [`IDENTITY_FILE`].
pub fn new_identity(
    passphrase: &SecretString,
) -> Result<(age::x25519::Recipient, Vec<u8>), ArchiveError> {
    let identity = age::x25519::Identity::generate();
    let sealed = seal(
        age::Encryptor::with_user_passphrase(passphrase.clone()),
        identity.to_string().expose_secret().as_bytes(),
    )?;
    Ok((identity.to_public(), sealed))
}

/// Reads the public key stored in the config.
pub fn parse_recipient(text: &str) -> Result<age::x25519::Recipient, ArchiveError> {
    age::x25519::Recipient::from_str(text)
        .map_err(|e| ArchiveError::Encrypt(format!("the configured public key {text:?}: {e}")))
}

fn open_identity(
    sealed: &[u8],
    passphrase: &SecretString,
) -> Result<age::x25519::Identity, ArchiveError> {
    let text = decrypt(decryptor(sealed)?, &scrypt_identity(passphrase))?;
    std::str::from_utf8(&text)
        .ok()
        .and_then(|t| age::x25519::Identity::from_str(t.trim()).ok())
        .ok_or_else(|| ArchiveError::Damaged(format!("{IDENTITY_FILE} holds no secret key")))
}

fn scrypt_identity(passphrase: &SecretString) -> age::scrypt::Identity {
    age::scrypt::Identity::new(passphrase.clone())
}

fn seal(encryptor: age::Encryptor, plaintext: &[u8]) -> Result<Vec<u8>, ArchiveError> {
    let encrypt = |e: std::io::Error| ArchiveError::Encrypt(e.to_string());
    let mut out = Vec::with_capacity(plaintext.len() + 1024);
    let mut writer = encryptor.wrap_output(&mut out).map_err(encrypt)?;
    writer.write_all(plaintext).map_err(encrypt)?;
    writer.finish().map_err(encrypt)?;
    Ok(out)
}

fn decryptor(file: &[u8]) -> Result<age::Decryptor<&[u8]>, ArchiveError> {
    age::Decryptor::new(file).map_err(|e| match e {
        age::DecryptError::UnknownFormat => ArchiveError::NotAnArchive(e.to_string()),
        other => ArchiveError::Damaged(other.to_string()),
    })
}

fn decrypt(
    decryptor: age::Decryptor<&[u8]>,
    identity: &dyn age::Identity,
) -> Result<Vec<u8>, ArchiveError> {
    let mut reader = decryptor
        .decrypt(std::iter::once(identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                ArchiveError::WrongPassphrase
            }
            age::DecryptError::ExcessiveWork { .. } => ArchiveError::TooExpensive(e.to_string()),
            other => ArchiveError::Damaged(other.to_string()),
        })?;
    let mut plaintext = Vec::new();
    reader
        .read_to_end(&mut plaintext)
        .map_err(|e| ArchiveError::Damaged(e.to_string()))?;
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(schema: u32) -> Archive {
        Archive {
            created_at: Stamp(jiff::Timestamp::now()),
            person: PersonId::parse("p1").unwrap(),
            name: "Alex".into(),
            time_zone: None,
            shared: DocumentImage {
                schema,
                bytes: b"shared bytes".to_vec(),
            },
            private: DocumentImage {
                schema: 1,
                bytes: b"my secret note".to_vec(),
            },
        }
    }

    fn no_identity() -> std::io::Result<Vec<u8>> {
        Err(std::io::ErrorKind::NotFound.into())
    }

    #[test]
    fn a_newer_format_or_schema_is_refused_by_name() {
        let mut newer_format = MAGIC.to_vec();
        newer_format.extend(postcard::to_stdvec(&(FORMAT + 1)).unwrap());
        newer_format.extend(b"whatever a later format holds");
        let err = Archive::from_plaintext(&newer_format).unwrap_err();
        assert!(
            err.to_string().contains("newer tandem (archive format 2"),
            "{err}"
        );

        let newer_schema = archive(Schema::CURRENT.version() + 1).plaintext();
        let err = Archive::from_plaintext(&newer_schema).unwrap_err();
        assert!(err.to_string().contains("document schema"), "{err}");
    }

    #[test]
    fn automatic_archives_open_with_the_sealed_key_and_its_passphrase_only() {
        let passphrase = SecretString::from("correct horse".to_owned());
        let (recipient, sealed_identity) = new_identity(&passphrase).unwrap();
        let file = archive(1).seal_to(&recipient).unwrap();
        assert!(
            !file.windows(14).any(|w| w == b"my secret note"),
            "the archive holds plaintext"
        );
        let opened = Archive::open(&file, &passphrase, || Ok(sealed_identity.clone())).unwrap();
        assert_eq!(opened.private.bytes, b"my secret note");

        let wrong = SecretString::from("wrong".to_owned());
        let err = Archive::open(&file, &wrong, || Ok(sealed_identity.clone())).unwrap_err();
        assert!(matches!(err, ArchiveError::WrongPassphrase), "{err}");
        let err = Archive::open(&file, &passphrase, no_identity).unwrap_err();
        assert!(matches!(err, ArchiveError::MissingIdentity(_)), "{err}");
    }
}
