//! Operations across both documents as one joint commit ([`tandem_protocol::joint`]):
//! written whole to a file of its own before either log, finished at start-up if a crash
//! came between.

use tandem_protocol::document::DocKind;
use tandem_protocol::joint::{JointCommit, Step};

use super::{Repo, RepoError};

/// Where a cross-document commit is written whole before either log (see
/// [`tandem_protocol::joint`]).
const JOINT_FILE: &str = "joint-commit";

impl Repo {
    /// Finishes a joint commit a crash interrupted (or drops one cut short, which was
    /// never acted on), so each such operation is there whole or not at all.
    pub(super) fn finish_joint_commit(&mut self) -> Result<(), RepoError> {
        let path = self.home.doc_dir(JOINT_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(crate::home::io_at(&path)(e).into()),
        };
        match JointCommit::decode(&bytes) {
            Some(joint) => {
                self.apply_joint(&joint)?;
                tracing::info!("finished an operation a crash had interrupted");
            }
            None => tracing::info!("dropped an operation a crash cut short before it began"),
        }
        std::fs::remove_file(&path).map_err(crate::home::io_at(&path))?;
        Ok(())
    }

    /// Puts every step of `joint` in place durably: the documents' logs, then the config.
    pub(super) fn apply_joint(&mut self, joint: &JointCommit) -> Result<(), RepoError> {
        for kind in DocKind::ALL {
            let slot = self.slot(kind);
            for changes in joint.changes_for(kind) {
                slot.doc.apply_changes(changes)?;
            }
            slot.store.persist(&mut slot.doc)?;
        }
        if let Some((person, name)) = joint.becomes() {
            let mut config = crate::config::load(&self.home)?;
            if config.person_id != *person || config.name != name {
                config.person_id = person.clone();
                config.name = name.to_owned();
                crate::config::save(&self.home, &config)?;
            }
            self.me.id = person.clone();
            self.me.name = name.to_owned();
        }
        Ok(())
    }

    /// Runs `op`, which may change both documents, as one joint commit with `extra` steps
    /// ([`tandem_protocol::joint`]). Everything `op` needs to check is checked before its
    /// first change, so an error after that is a failing disk.
    pub(super) fn jointly<T>(
        &mut self,
        extra: Vec<Step>,
        op: impl FnOnce(&mut Self) -> Result<T, RepoError>,
    ) -> Result<T, RepoError> {
        self.joint = true;
        let result = op(self);
        self.joint = false;
        let mut joint = JointCommit::default();
        for kind in DocKind::ALL {
            let changes = self.slot(kind).doc.save_incremental();
            if !changes.is_empty() {
                joint.steps.push(Step::Changes { doc: kind, changes });
            }
        }
        joint.steps.extend(extra);
        self.write_joint(&joint)?;
        result
    }

    /// Writes `joint` whole to its own file, then to each log, then removes the file. A
    /// commit that touches one document only needs no file: its log record is already
    /// all-or-nothing.
    pub(super) fn write_joint(&mut self, joint: &JointCommit) -> Result<(), RepoError> {
        if let [Step::Changes { doc, changes }] = joint.steps.as_slice() {
            self.slot(*doc).store.stage_bytes(changes)?;
            self.unsynced.touch(*doc);
            return Ok(());
        }
        if joint.steps.is_empty() {
            return Ok(());
        }
        fail::fail_point!("joint.begun", |_| std::process::abort());
        let path = self.home.doc_dir(JOINT_FILE);
        crate::home::write_file_atomic(&path, &joint.encode(), 0o600)?;
        fail::fail_point!("joint.written", |_| std::process::abort());
        for kind in DocKind::ALL {
            let store = &mut self.slot(kind).store;
            for changes in joint.changes_for(kind) {
                store.stage_bytes(changes)?;
            }
            store.sync()?;
            fail::fail_point!("joint.one_log", |_| std::process::abort());
        }
        if let Some((person, name)) = joint.becomes() {
            let mut config = crate::config::load(&self.home)?;
            config.person_id = person.clone();
            config.name = name.to_owned();
            crate::config::save(&self.home, &config)?;
        }
        std::fs::remove_file(&path).map_err(crate::home::io_at(&path))?;
        Ok(())
    }
}
