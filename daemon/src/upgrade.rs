//! Bringing a home's documents up to this build's schema at start-up.
//!
//! An old document is never an error: the upgrade changes it lacks are applied (see
//! `tandem_protocol::schema`) and persisted like any change, after the document's files
//! are copied to `docs/<name>.pre-v<N>/` (0700, files 0600), so going back to the build
//! that wrote them stays possible.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use tandem_protocol::document::Document;
use tandem_protocol::schema::Schema;

use crate::home::{io_at, write_file_atomic};
use crate::repo::RepoError;
use crate::store::DocStore;

/// Where the files of the document in `dir` are kept before upgrading it to `version`.
pub fn backup_dir(dir: &Path, version: u32) -> PathBuf {
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    dir.with_file_name(format!("{name}.pre-v{version}"))
}

/// Upgrades the document stored in `dir` to `schema` if it is older, keeping a copy of
/// its files first. Returns the versions upgraded from and to, if it was older.
pub fn upgrade(
    dir: &Path,
    store: &mut DocStore,
    doc: &mut Document,
    schema: &Schema,
) -> Result<Option<(u32, u32)>, RepoError> {
    if doc.schema_version() >= schema.version() {
        return Ok(None);
    }
    let backup = backup_dir(dir, schema.version());
    keep_copy(dir, &backup)?;
    let upgraded = doc.upgrade(schema)?;
    store.persist(doc)?;
    if let Some((from, to)) = upgraded {
        tracing::info!(
            document = doc.kind().name(),
            from,
            to,
            copy = %backup.display(),
            "upgraded the document to this build's schema; the old files are kept"
        );
    }
    Ok(upgraded)
}

/// Copies every file of `dir` into `backup` (created 0700), each written 0600 and fsync'd.
fn keep_copy(dir: &Path, backup: &Path) -> Result<(), RepoError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(backup)
        .map_err(io_at(backup))?;
    for entry in fs::read_dir(dir).map_err(io_at(dir))? {
        let path = entry.map_err(io_at(dir))?.path();
        if path.is_file() {
            let bytes = fs::read(&path).map_err(io_at(&path))?;
            write_file_atomic(
                &backup.join(path.file_name().unwrap_or_default()),
                &bytes,
                0o600,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use automerge::ActorId;
    use tandem_protocol::document::DocKind;
    use tandem_protocol::schema::SchemaStep;

    use super::*;

    /// A version 2 adding one collection, for tests only.
    const NEXT: Schema = Schema::new(&[SchemaStep {
        version: 2,
        adds: &[(DocKind::Shared, "outings")],
    }]);

    #[test]
    fn an_old_document_is_copied_then_upgraded_and_the_upgrade_is_durable() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("shared");
        let (mut store, mut doc) =
            DocStore::open(&dir, DocKind::Shared, ActorId::random()).unwrap();
        let old = fs::read(dir.join("doc.automerge")).unwrap();
        assert_eq!(
            upgrade(&dir, &mut store, &mut doc, &NEXT).unwrap(),
            Some((1, 2))
        );
        let backup = backup_dir(&dir, 2);
        assert_eq!(backup, home.path().join("shared.pre-v2"));
        assert_eq!(fs::read(backup.join("doc.automerge")).unwrap(), old);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&backup), 0o700);
        assert_eq!(mode(&backup.join("doc.automerge")), 0o600);
        assert_eq!(mode(&backup.join("changes.log")), 0o600);
        drop(store);

        let (mut store, mut doc) =
            DocStore::open(&dir, DocKind::Shared, ActorId::random()).unwrap();
        assert_eq!(doc.schema_version(), 2, "the upgrade was persisted");
        fs::remove_dir_all(&backup).unwrap();
        assert_eq!(upgrade(&dir, &mut store, &mut doc, &NEXT).unwrap(), None);
        assert!(!backup.exists(), "a current document is not copied again");
    }
}
