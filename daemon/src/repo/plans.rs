//! Talking a plan through (comments, other times proposed and answered), the idea jar's
//! draws and plans, what needs me, and the balance over weeks.
//!
//! Who may do each is decided by [`rules`]; what it does to the plan or idea by the
//! model ([`Plan::comment`], [`Plan::propose`], [`Plan::answer_proposal`],
//! [`tandem_protocol::model::idea::draw`]). What needs me is [`inbox::needs_me`] over the
//! documents, with the read marks this laptop keeps in `seen.json` (the partner never
//! learns when a comment was read, and the marks are not worth a document change).

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::tz::TimeZone;
use tandem_protocol::activity::Activity;
use tandem_protocol::balance::{BalanceSeries, SeriesInput, series};
use tandem_protocol::document::{Collection, DocKind};
use tandem_protocol::entity::Entity;
use tandem_protocol::ids::EntityId;
use tandem_protocol::inbox::{self, Conflicted, InboxInput, Today};
use tandem_protocol::model::agreement::Agreement;
use tandem_protocol::model::idea::{self, Idea, IdeaToPlan};
use tandem_protocol::model::personal_time::PersonalTime;
use tandem_protocol::model::plan::{NewComment, NewProposal, Plan};
use tandem_protocol::rules;
use tandem_protocol::time::Stamp;

use super::{Repo, RepoError};
use crate::home::{Home, write_private_file};

/// What "what needs me" reads from the shared document, kept by its heads.
pub(super) struct InboxInputs {
    people: Vec<tandem_protocol::model::person::Person>,
    settings: tandem_protocol::model::settings::Settings,
    markers: Vec<tandem_protocol::model::checkin::CheckinMarker>,
    plans: Vec<Plan>,
    agreements: Vec<Agreement>,
    conflicts: Vec<Conflicted>,
}

/// The file of read marks in the data home.
const SEEN_FILE: &str = "seen.json";

fn seen_path(home: &Home) -> PathBuf {
    home.root().join(SEEN_FILE)
}

/// The read marks kept on this laptop. They only decide what counts as new, so a file
/// that cannot be read counts as none (every comment new again), said in the log.
pub(super) fn read_seen(home: &Home) -> BTreeMap<EntityId, Stamp> {
    let path = seen_path(home);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(path = %path.display(), error = %e, "read marks unreadable; all comments count as new");
            BTreeMap::new()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "read marks unreadable; all comments count as new");
            BTreeMap::new()
        }
    }
}

impl Repo {
    /// Adds this person's comment to a plan.
    pub fn comment_plan(&mut self, prefix: &str, new: NewComment) -> Result<Plan, RepoError> {
        let id = EntityId::from_random(rand::random());
        self.modify_as::<Plan>(prefix, "comment", rules::may_comment, |plan, author| {
            plan.comment(id, &new.text, author)
        })
    }

    /// Proposes another time for the partner's plan.
    pub fn propose_time(&mut self, prefix: &str, new: NewProposal) -> Result<Plan, RepoError> {
        let id = EntityId::from_random(rand::random());
        self.modify_as::<Plan>(prefix, "propose", rules::may_propose, |plan, author| {
            plan.propose(id, new, author)
        })
    }

    /// Accepts (`accept`) or declines the time proposed for this person's plan.
    pub fn answer_time(&mut self, prefix: &str, accept: bool) -> Result<Plan, RepoError> {
        let verb = if accept { "accept" } else { "decline" };
        self.modify_as::<Plan>(prefix, verb, rules::may_answer_proposal, |plan, author| {
            plan.answer_proposal(accept, author);
            Ok(())
        })
    }

    /// Records that this person has looked at the plan now: its comments so far are no
    /// longer new.
    pub fn mark_seen(&mut self, prefix: &str) -> Result<(), RepoError> {
        let plan = self.get::<Plan>(prefix)?;
        self.seen.insert(plan.id, Stamp(crate::clock::now()));
        let bytes = serde_json::to_vec(&self.seen).map_err(|e| {
            RepoError::Document(tandem_protocol::error::DocumentError::Malformed(
                e.to_string(),
            ))
        })?;
        write_private_file(&seen_path(&self.home), &bytes)?;
        Ok(())
    }

    /// Draws an idea from the jar ([`idea::draw`]) and records the draw, so the next ones
    /// pass over it; `None` when the jar is empty.
    pub fn draw_idea(&mut self) -> Result<Option<Idea>, RepoError> {
        let ideas = self.list::<Idea>()?;
        let Some(id) = idea::draw(&ideas, rand::random()).map(|i| i.id.clone()) else {
            return Ok(None);
        };
        self.modify::<Idea>(id.as_str(), "draw", |idea, author| {
            idea.drawn_at = Some(author.at);
            Ok(())
        })
        .map(Some)
    }

    /// Makes the idea a proposed plan and marks it used, in one change.
    pub fn plan_idea(&mut self, prefix: &str, when: IdeaToPlan) -> Result<Plan, RepoError> {
        let mut idea = self.find::<Idea>(prefix)?;
        let plan_id = EntityId::from_random(rand::random());
        self.change(DocKind::Shared, |doc, author| {
            rules::may_use_idea(&idea)?;
            let plan = Plan::create(plan_id, idea.to_plan(when), author)?;
            idea.planned_as = Some(plan.id.clone());
            idea.meta.touch(author);
            doc.put(Collection::Plans, &plan)?;
            doc.put(Collection::Ideas, &idea)?;
            let activity = Activity::new(author, "idea.plan", Some(idea.id.clone()), &idea.title);
            Ok((plan, activity))
        })
    }

    /// Takes the idea out of the jar without deleting it.
    pub fn retire_idea(&mut self, prefix: &str) -> Result<Idea, RepoError> {
        self.modify_as::<Idea>(
            prefix,
            "retire",
            |idea, _| rules::may_use_idea(idea),
            |idea, author| {
                idea.retired_at = Some(author.at);
                idea.meta.touch(author);
                Ok(())
            },
        )
    }

    /// What needs this person now ([`inbox::needs_me`]). What it reads of the shared
    /// document (every plan, agreement and conflict) is kept until the document changes:
    /// `status` asks for it on every call, and a scan for conflicts holds up the writer.
    pub fn today(&mut self) -> Result<Today, RepoError> {
        let now = crate::clock::now().to_zoned_datetime(self.tz.clone());
        let heads = self.shared.doc.heads();
        if self
            .inbox_inputs
            .as_ref()
            .is_none_or(|(cached, _)| *cached != heads)
        {
            let plans = self.list::<Plan>()?;
            let ideas = self.list::<Idea>()?;
            let agreements = self.list::<Agreement>()?;
            let mut conflicts = Vec::new();
            self.conflicted(&plans, &mut conflicts)?;
            self.conflicted(&ideas, &mut conflicts)?;
            self.conflicted(&agreements, &mut conflicts)?;
            let inputs = InboxInputs {
                people: self.people()?,
                settings: self.settings()?,
                markers: self.shared.doc.list(Collection::CheckinMarkers)?,
                plans,
                agreements,
                conflicts,
            };
            self.inbox_inputs = Some((heads, inputs));
        }
        let (_, inputs) = self.inbox_inputs.as_ref().expect("filled above");
        Ok(inbox::needs_me(&InboxInput {
            now: &now,
            me: &self.me.id,
            people: &inputs.people,
            settings: &inputs.settings,
            plans: &inputs.plans,
            agreements: &inputs.agreements,
            markers: &inputs.markers,
            conflicts: &inputs.conflicts,
            seen: &self.seen,
        }))
    }

    /// Adds the items of `items` that have values lost in concurrent edits to `out`.
    fn conflicted<E: Entity>(
        &mut self,
        items: &[E],
        out: &mut Vec<Conflicted>,
    ) -> Result<(), RepoError> {
        for item in items {
            let mut fields: Vec<String> = self
                .slot(E::COLLECTION.doc())
                .doc
                .conflicts(E::COLLECTION, item.id().as_str(), None)?
                .into_iter()
                .map(|c| c.field)
                .collect();
            fields.dedup();
            if !fields.is_empty() {
                out.push(Conflicted {
                    noun: E::NOUN,
                    id: item.id().clone(),
                    title: item.summary(),
                    fields,
                });
            }
        }
        Ok(())
    }

    /// The balance over the `weeks` up to this one, read in `tz`.
    pub fn balance_series(&self, weeks: u32, tz: &TimeZone) -> Result<BalanceSeries, RepoError> {
        let now = crate::clock::now().to_zoned_datetime(tz.clone());
        let people = self.people()?;
        let plans = self.list::<Plan>()?;
        let personal_time = self.list::<PersonalTime>()?;
        let answers = self.visible_answers()?;
        Ok(series(&SeriesInput {
            now: &now,
            weeks,
            people: &people,
            plans: &plans,
            personal_time: &personal_time,
            answers: &answers,
        })?)
    }
}
