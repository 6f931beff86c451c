//! Personal time: the hours in the shared document, what they are for in the private one.

use tandem_protocol::activity::Activity;
use tandem_protocol::api::PersonalTimeView;
use tandem_protocol::document::{Collection, DocKind};
use tandem_protocol::entity::Entity;
use tandem_protocol::model::personal_time::{
    NewPersonalTime, PersonalTime, PersonalTimeDetail, PersonalTimePatch, check_details,
};

use super::{Repo, RepoError};

impl Repo {
    pub(super) fn personal_time_view(
        &self,
        block: PersonalTime,
    ) -> Result<PersonalTimeView, RepoError> {
        let details = if block.owner == self.me.id {
            self.private
                .doc
                .get::<PersonalTimeDetail>(Collection::PersonalTimeDetails, block.id.as_str())?
                .map(|d| d.details)
        } else {
            None
        };
        Ok(PersonalTimeView { block, details })
    }

    /// Every personal-time block, with details on one's own.
    pub fn personal_time(&self) -> Result<Vec<PersonalTimeView>, RepoError> {
        self.list::<PersonalTime>()?
            .into_iter()
            .map(|b| self.personal_time_view(b))
            .collect()
    }

    /// One block, with details if it is one's own.
    pub fn personal_time_one(&self, prefix: &str) -> Result<PersonalTimeView, RepoError> {
        let block = self.get::<PersonalTime>(prefix)?;
        self.personal_time_view(block)
    }

    /// Blocks personal time: the hours go to the shared document, the details to the
    /// private one, as one joint commit.
    pub fn create_personal_time(
        &mut self,
        mut new: NewPersonalTime,
    ) -> Result<PersonalTimeView, RepoError> {
        let details = new.details.take().map(|d| check_details(&d)).transpose()?;
        let block = self.jointly(Vec::new(), |repo| {
            let block = repo.create::<PersonalTime>(new)?;
            repo.set_details(&block, details)?;
            Ok(block)
        })?;
        self.personal_time_view(block)
    }

    /// Changes a block of one's own personal time. The shared document is written only
    /// when the hours or the label change: an edit of the details alone stays in the
    /// private document, so the partner learns neither what changed nor that or when
    /// anything did.
    pub fn update_personal_time(
        &mut self,
        prefix: &str,
        mut patch: PersonalTimePatch,
    ) -> Result<PersonalTimeView, RepoError> {
        let details = patch
            .details
            .take()
            .map(|d| check_details(&d))
            .transpose()?;
        let current = self.get::<PersonalTime>(prefix)?;
        let mut edited = current.clone();
        edited.edit(patch, &self.author())?;
        let block = self.jointly(Vec::new(), |repo| {
            let block = if edited == current {
                current
            } else {
                repo.modify::<PersonalTime>(current.id.as_str(), "edit", |block, _| {
                    *block = edited;
                    Ok(())
                })?
            };
            repo.set_details(&block, details)?;
            Ok(block)
        })?;
        self.personal_time_view(block)
    }

    pub(super) fn set_details(
        &mut self,
        block: &PersonalTime,
        details: Option<String>,
    ) -> Result<(), RepoError> {
        let Some(details) = details else {
            return Ok(());
        };
        let detail = PersonalTimeDetail {
            id: block.id.clone(),
            details,
        };
        self.change(DocKind::Private, |doc, author| {
            doc.put(Collection::PersonalTimeDetails, &detail)?;
            Ok((
                (),
                Activity::new(
                    author,
                    "personal_time.details",
                    Some(detail.id.clone()),
                    &block.label,
                ),
            ))
        })
    }
}
