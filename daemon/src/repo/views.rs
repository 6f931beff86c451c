//! Read models over both documents: reminders, the balance, settings, the activity feed,
//! status.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use tandem_protocol::activity::Activity;
use tandem_protocol::api::{ActivityEntry, DocumentStatus, Status};
use tandem_protocol::balance::{Balance, BalanceInput, balance};
use tandem_protocol::document::{Collection, DocKind};
use tandem_protocol::ids::PersonId;
use tandem_protocol::model::agreement::Agreement;
use tandem_protocol::model::checkin::CheckinMarker;
use tandem_protocol::model::person::Person;
use tandem_protocol::model::personal_time::PersonalTime;
use tandem_protocol::model::plan::Plan;
use tandem_protocol::model::settings::{Settings, SettingsPatch};
use tandem_protocol::remind::{Reminder, due};
use tandem_protocol::schema::Schema;
use tandem_protocol::time::IsoWeek;

use super::{Repo, RepoError};

/// What the reminder rules read from the shared document.
pub(super) struct ReminderInputs {
    settings: Settings,
    plans: Vec<Plan>,
    agreements: Vec<Agreement>,
    markers: Vec<CheckinMarker>,
}

impl Repo {
    /// What is due for this person at `now`. The documents' part is cached by the shared
    /// document's heads, so the periodic check costs nothing while nothing changes.
    pub fn reminders(&mut self, now: &jiff::ZonedDateTime) -> Result<Vec<Reminder>, RepoError> {
        let heads = self.shared.doc.heads();
        if self
            .reminder_inputs
            .as_ref()
            .is_none_or(|(cached, _)| *cached != heads)
        {
            let inputs = ReminderInputs {
                settings: self.settings()?,
                plans: self.list::<Plan>()?,
                agreements: self.list::<Agreement>()?,
                markers: self.shared.doc.list(Collection::CheckinMarkers)?,
            };
            self.reminder_inputs = Some((heads, inputs));
        }
        let (_, inputs) = self.reminder_inputs.as_ref().expect("filled above");
        Ok(due(
            now,
            &self.me.id,
            &inputs.settings,
            &inputs.plans,
            &inputs.agreements,
            &inputs.markers,
        ))
    }

    /// Both partners, as listed in the shared document.
    pub fn people(&self) -> Result<Vec<Person>, RepoError> {
        Ok(self.shared.doc.list(Collection::People)?)
    }

    /// The balance report for `week` read in `tz`.
    pub fn balance(&self, week: IsoWeek, tz: &TimeZone) -> Result<Balance, RepoError> {
        let people = self.people()?;
        let plans = self.list::<Plan>()?;
        let personal_time = self.list::<PersonalTime>()?;
        let answers = self.visible_answers()?;
        Ok(balance(&BalanceInput {
            week,
            tz,
            people: &people,
            plans: &plans,
            personal_time: &personal_time,
            answers: &answers,
            now: crate::clock::now(),
        })?)
    }

    /// The shared settings.
    pub fn settings(&self) -> Result<Settings, RepoError> {
        Ok(self.shared.doc.settings()?)
    }

    /// Changes the shared settings.
    pub fn update_settings(&mut self, patch: SettingsPatch) -> Result<Settings, RepoError> {
        let mut settings = self.settings()?;
        settings.apply(patch)?;
        self.change(DocKind::Shared, |doc, author| {
            doc.put_settings(&settings)?;
            Ok((
                settings.clone(),
                Activity::new(author, "settings.edit", None, "settings"),
            ))
        })
    }

    /// The most recent activity of both documents, newest first.
    pub fn activity(&mut self, limit: usize) -> Result<Vec<ActivityEntry>, RepoError> {
        let names: BTreeMap<PersonId, String> =
            self.people()?.into_iter().map(|p| (p.id, p.name)).collect();
        let mut entries: Vec<ActivityEntry> = DocKind::ALL
            .into_iter()
            .flat_map(|kind| {
                let doc = &mut self.slot(kind).doc;
                doc.activity(limit).into_iter().map(move |a| (kind, a))
            })
            .map(|(kind, activity)| ActivityEntry {
                by_name: names.get(&activity.by).cloned(),
                activity,
                document: kind.name().to_owned(),
            })
            .collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.activity.at));
        entries.truncate(limit);
        Ok(entries)
    }

    /// What `tandem status` shows.
    pub fn status(&mut self) -> Result<Status, RepoError> {
        let people = self.people()?;
        let partner = people.iter().find(|p| p.id != self.me.id).cloned();
        let mut counts = BTreeMap::new();
        for c in Collection::ALL {
            counts.insert(c.key().to_owned(), self.doc(c.doc()).count(c)?);
        }
        let documents = DocKind::ALL
            .into_iter()
            .map(|kind| {
                let slot = self.slot(kind);
                DocumentStatus {
                    kind: kind.name().to_owned(),
                    changes: slot.doc.change_count(),
                    bytes_on_disk: slot.store.bytes_on_disk(),
                    schema: slot.doc.schema_version(),
                }
            })
            .collect();
        Ok(Status {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            me: self.me.clone(),
            partner,
            home: self.home.root().display().to_string(),
            time_zone: self.tz.iana_name().unwrap_or("UTC").to_owned(),
            device_id: String::new(),
            peer_port: 0,
            mdns: false,
            heads: self.heads(),
            schema: Schema::CURRENT.version(),
            documents,
            counts,
            today: Some(self.today()?),
        })
    }
}
