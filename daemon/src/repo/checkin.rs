//! Check-ins: the answer kept private until both partners answered, then revealed.

use std::collections::{BTreeMap, BTreeSet};

use tandem_protocol::activity::Activity;
use tandem_protocol::api::{CheckinAnswered, CheckinWeek};
use tandem_protocol::checkin::{answers_to_reveal, complete_weeks, ensure_answer_open};
use tandem_protocol::document::{Collection, DocKind};
use tandem_protocol::error::DocumentError;
use tandem_protocol::model::checkin::{CheckinAnswer, CheckinMarker, NewCheckin};
use tandem_protocol::time::{IsoWeek, Stamp};

use super::{Repo, RepoError};

impl Repo {
    /// The week "now" falls in, in this daemon's time zone.
    pub fn this_week(&self) -> IsoWeek {
        IsoWeek::of(&crate::clock::now().to_zoned_datetime(self.tz.clone()))
    }

    /// Records this person's check-in: the answer privately, a marker publicly; then
    /// reveals whatever both partners have now answered. Answering again before the
    /// reveal replaces the private draft and leaves the first marker as it was (the
    /// partner learns nothing of it); once the week is revealed the answer is final.
    pub fn answer_checkin(&mut self, new: NewCheckin) -> Result<CheckinAnswered, RepoError> {
        let week = new.week.unwrap_or_else(|| self.this_week());
        let markers: Vec<CheckinMarker> = self.shared.doc.list(Collection::CheckinMarkers)?;
        let published: Vec<CheckinAnswer> = self.shared.doc.list(Collection::CheckinAnswers)?;
        ensure_answer_open(week, &self.me.id, &markers, &published)?;
        let answer = CheckinAnswer::new(week, self.me.id.clone(), new, Stamp(crate::clock::now()))?;
        let replaced = self
            .private
            .doc
            .get::<CheckinAnswer>(Collection::CheckinDrafts, &answer.key)?
            .is_some();
        let summary = format!("check-in {week}");
        self.jointly(Vec::new(), |repo| {
            repo.change(DocKind::Private, |doc, author| {
                doc.put(Collection::CheckinDrafts, &answer)?;
                Ok(((), Activity::new(author, "checkin.answer", None, &summary)))
            })?;
            if !markers.iter().any(|m| m.key == answer.key) {
                let marker = answer.marker();
                repo.change(DocKind::Shared, |doc, author| {
                    doc.put(Collection::CheckinMarkers, &marker)?;
                    Ok((
                        (),
                        Activity::new(author, "checkin.answered", None, &summary),
                    ))
                })?;
            }
            repo.reveal_checkins()
        })?;
        let week = self
            .checkin_weeks()?
            .into_iter()
            .find(|w| w.week == week)
            .ok_or_else(|| {
                DocumentError::Malformed("the check-in just written is missing".into())
            })?;
        Ok(CheckinAnswered { week, replaced })
    }

    /// Publishes this person's answers for every week both partners have answered. Runs
    /// after local answers, and (with peer sync) after the partner's changes arrive.
    pub fn reveal_checkins(&mut self) -> Result<(), RepoError> {
        let markers: Vec<CheckinMarker> = self.shared.doc.list(Collection::CheckinMarkers)?;
        let drafts: Vec<CheckinAnswer> = self.private.doc.list(Collection::CheckinDrafts)?;
        let published: Vec<CheckinAnswer> = self.shared.doc.list(Collection::CheckinAnswers)?;
        let reveal = answers_to_reveal(&self.me.id, &markers, &drafts, &published);
        if reveal.is_empty() {
            return Ok(());
        }
        self.change(DocKind::Shared, |doc, author| {
            for answer in &reveal {
                doc.put(Collection::CheckinAnswers, answer)?;
            }
            let weeks: Vec<String> = reveal.iter().map(|a| a.week.to_string()).collect();
            Ok((
                (),
                Activity::new(author, "checkin.reveal", None, &weeks.join(", ")),
            ))
        })
    }

    /// The answers this person may read: their own, and published ones.
    pub(super) fn visible_answers(&self) -> Result<Vec<CheckinAnswer>, RepoError> {
        let mut answers: BTreeMap<String, CheckinAnswer> = BTreeMap::new();
        for a in self
            .shared
            .doc
            .list::<CheckinAnswer>(Collection::CheckinAnswers)?
        {
            answers.insert(a.key.clone(), a);
        }
        for a in self
            .private
            .doc
            .list::<CheckinAnswer>(Collection::CheckinDrafts)?
        {
            answers.insert(a.key.clone(), a);
        }
        Ok(answers.into_values().collect())
    }

    /// Every week someone checked in, newest first.
    pub fn checkin_weeks(&self) -> Result<Vec<CheckinWeek>, RepoError> {
        let markers: Vec<CheckinMarker> = self.shared.doc.list(Collection::CheckinMarkers)?;
        let answers = self.visible_answers()?;
        let complete = complete_weeks(&markers);
        let weeks: BTreeSet<IsoWeek> = markers
            .iter()
            .map(|m| m.week)
            .chain(answers.iter().map(|a| a.week))
            .collect();
        Ok(weeks
            .into_iter()
            .rev()
            .map(|week| CheckinWeek {
                week,
                answered: markers
                    .iter()
                    .filter(|m| m.week == week)
                    .map(|m| m.person.clone())
                    .collect(),
                answers: answers.iter().filter(|a| a.week == week).cloned().collect(),
                revealed: complete.contains(&week),
            })
            .collect())
    }
}
