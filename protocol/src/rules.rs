//! Who may do what to an item: pure rules of the item and the person asking.
//!
//! Each rule is one function here, decided from the item alone (its [`Entity::owner`] and
//! its tombstone) and the person asking, so the same answer comes out whichever path asks:
//! an API request, an undo, a restore from the trash. The protocol's own paths call them
//! ([`Entity::edit`], [`crate::trash::delete`], [`crate::trash::restore`]); the daemon only
//! applies what they decide and never compares people itself.
//!
//! | Rule            | Plans, ideas, agreements, notes | Personal time         |
//! |-----------------|---------------------------------|-----------------------|
//! | [`may_read`]    | whoever holds the document      | both (hours, label)   |
//! | [`may_edit`]    | whoever holds the document      | its owner only        |
//! | [`may_delete`]  | whoever holds the document      | its owner only        |
//! | [`may_restore`] | whoever holds the document      | its owner only        |
//!
//! Both partners hold the shared document (plans, ideas, agreements, personal-time
//! blocks); only one's own devices hold the private one (notes).
//!
//! An item in the trash can be neither read nor edited until it is restored
//! ([`Refusal::InTrash`]); deleting it again or restoring a live one is refused too. An RSVP
//! to a plan and the acceptance of an agreement are edits of that item (each person writes
//! only their own key), so [`may_edit`] is their rule.
//!
//! Plans have a conversation and a negotiation on top ([`may_comment`], [`may_propose`],
//! [`may_answer_proposal`]):
//!
//! | Rule                    | Who                                   | When                      |
//! |-------------------------|---------------------------------------|---------------------------|
//! | [`may_comment`]         | either partner                        | not in the trash          |
//! | [`may_propose`]         | the partner who did not create it     | open (not done/cancelled) |
//! | [`may_answer_proposal`] | its creator (accept or decline)       | a proposal awaits         |
//!
//! Ideas ([`may_use_idea`], to plan or retire one): either partner, while the idea is in
//! the jar (not retired, not already planned, not in the trash).
//!
//! Rules that are not about one item live beside the data they read, and are named here
//! so this is the one place to look:
//! - **Check-in answers** stay hidden until both partners answered, and are final once
//!   revealed: [`crate::checkin::answers_to_reveal`] decides what is published,
//!   [`crate::checkin::ensure_answer_open`] refuses any later change.
//! - **Undo** reverts only the commands this device's own actor made, never a partner's
//!   or an automatic one: [`crate::undo::next_to_undo`] over
//!   [`crate::document::Document::own_commands`].
//! - **Private items** (notes, personal-time details, check-in drafts) are private by
//!   document, not by a field: the private document only ever goes to one's own devices
//!   ([`crate::sync::PeerSync`] syncs only the documents a peer may have). Notes carry no
//!   owner to compare for that reason; a device that joined its owner's person at
//!   pairing wrote its earlier notes under its old person id, and they are still its
//!   owner's.

use thiserror::Error;

use crate::entity::Entity;
use crate::ids::{EntityId, PersonId};
use crate::model::idea::Idea;
use crate::model::person::Person;
use crate::model::plan::Plan;

/// What a person asked to do to an item that only its owner may do it to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Change its fields.
    Edit,
    /// Put it in the trash.
    Delete,
    /// Take it out of the trash.
    Restore,
    /// Accept or decline another time proposed for it.
    AnswerProposal,
}

impl Action {
    /// The verb as a message says it: "only Sam can *change* …".
    pub fn verb(self) -> &'static str {
        match self {
            Action::Edit => "change",
            Action::Delete => "delete",
            Action::Restore => "restore",
            Action::AnswerProposal => "accept or decline a new time for",
        }
    }
}

/// Why a person may not do what they asked. Each message says what they can do instead.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    /// The item belongs to someone else (personal time): only its owner may change,
    /// delete or restore it.
    #[error("{}", not_yours(.noun, *.action, .owner_name.as_deref()))]
    NotYours {
        /// What sort of item, e.g. `personal_time`.
        noun: &'static str,
        /// What was asked.
        action: Action,
        /// Whose it is.
        owner: PersonId,
        /// Their name, once [`Refusal::named`] has looked it up, so the message can say
        /// who to ask.
        owner_name: Option<String>,
    },
    /// The item is in the trash: it cannot be read or changed until it is restored.
    #[error(
        "this {} is in the trash: bring it back first with `tandem restore-item {id}`",
        spoken(noun)
    )]
    InTrash {
        /// What sort of item.
        noun: &'static str,
        /// Its id.
        id: EntityId,
    },
    /// The item is in the trash already.
    #[error("this {} is already in the trash: see `tandem trash`", spoken(noun))]
    AlreadyDeleted {
        /// What sort of item.
        noun: &'static str,
    },
    /// The creator of a plan proposed another time for it: they move it instead.
    #[error(
        "this is your own plan: move it with `tandem plan edit {id} --at ...` instead of \
         proposing a time to yourself"
    )]
    OwnPlan {
        /// The plan.
        id: EntityId,
    },
    /// The plan is done or cancelled: there is no time left to agree on.
    #[error("this plan is {status}: there is no time left to agree on")]
    PlanClosed {
        /// `done` or `cancelled`.
        status: &'static str,
    },
    /// Nobody proposed another time that still awaits an answer.
    #[error(
        "no other time awaits an answer on this plan: see its history with `tandem plan show {id}`"
    )]
    NoProposal {
        /// The plan.
        id: EntityId,
    },
    /// The idea left the jar: it was retired, or already made into a plan.
    #[error("this idea is no longer in the jar ({why})")]
    IdeaUsed {
        /// What became of it.
        why: String,
    },
    /// The item is not in the trash, so there is nothing to restore.
    #[error(
        "this {} is not in the trash, so there is nothing to restore",
        spoken(noun)
    )]
    NotDeleted {
        /// What sort of item.
        noun: &'static str,
    },
}

impl Refusal {
    /// The same refusal naming the owner as `people` (the shared document's) know them, so
    /// the message says "only Sam can …" instead of "only your partner can …". Rules
    /// decide from the item alone; names are only for the person reading the message.
    pub fn named(mut self, people: &[Person]) -> Self {
        if let Refusal::NotYours {
            owner, owner_name, ..
        } = &mut self
        {
            *owner_name = people
                .iter()
                .find(|p| p.id == *owner)
                .map(|p| p.name.clone());
        }
        self
    }
}

/// A noun as a sentence says it: `personal_time` is "personal time".
fn spoken(noun: &str) -> String {
    noun.replace('_', " ")
}

fn not_yours(noun: &str, action: Action, owner_name: Option<&str>) -> String {
    let (noun, verb) = (spoken(noun), action.verb());
    match owner_name {
        Some(name) => format!("only {name} can {verb} {name}'s {noun}"),
        None => format!("only your partner can {verb} their {noun}"),
    }
}

/// Whether `item` may be read (shown, listed, exported): not while it is in the trash.
/// Who holds the document is who may read it, so the person asking does not matter.
pub fn may_read<E: Entity>(item: &E) -> Result<(), Refusal> {
    if item.meta().is_deleted() {
        return Err(Refusal::InTrash {
            noun: E::NOUN,
            id: item.id().clone(),
        });
    }
    Ok(())
}

/// Whether `person` may change `item` (an edit, an RSVP, an acceptance): its owner, or
/// either partner if it has none; never while it is in the trash.
pub fn may_edit<E: Entity>(item: &E, person: &PersonId) -> Result<(), Refusal> {
    ensure_owner(item, person, Action::Edit)?;
    may_read(item)
}

/// Whether `person` may put `item` in the trash: its owner, or either partner if it has
/// none; not if it is there already.
pub fn may_delete<E: Entity>(item: &E, person: &PersonId) -> Result<(), Refusal> {
    ensure_owner(item, person, Action::Delete)?;
    if item.meta().is_deleted() {
        return Err(Refusal::AlreadyDeleted { noun: E::NOUN });
    }
    Ok(())
}

/// Whether `person` may take `item` out of the trash: whoever may delete it, and only if
/// it is there.
pub fn may_restore<E: Entity>(item: &E, person: &PersonId) -> Result<(), Refusal> {
    ensure_owner(item, person, Action::Restore)?;
    if !item.meta().is_deleted() {
        return Err(Refusal::NotDeleted { noun: E::NOUN });
    }
    Ok(())
}

/// Whether `person` may comment on `plan`: either partner, while it is not in the trash
/// (done and cancelled plans can still be talked about).
pub fn may_comment(plan: &Plan, _person: &PersonId) -> Result<(), Refusal> {
    may_read(plan)
}

/// Whether `person` may propose another time for `plan`: the partner who did not create
/// it (its creator moves it with an edit), while it is open and not in the trash.
pub fn may_propose(plan: &Plan, person: &PersonId) -> Result<(), Refusal> {
    may_read(plan)?;
    if !plan.is_open() {
        return Err(Refusal::PlanClosed {
            status: plan.status.as_str(),
        });
    }
    if &plan.proposed_by == person {
        return Err(Refusal::OwnPlan {
            id: plan.id.clone(),
        });
    }
    Ok(())
}

/// Whether `person` may accept or decline the time proposed for `plan`: its creator
/// only, while one awaits an answer and the plan is open and not in the trash.
pub fn may_answer_proposal(plan: &Plan, person: &PersonId) -> Result<(), Refusal> {
    may_read(plan)?;
    if &plan.proposed_by != person {
        return Err(Refusal::NotYours {
            noun: Plan::NOUN,
            action: Action::AnswerProposal,
            owner: plan.proposed_by.clone(),
            owner_name: None,
        });
    }
    if !plan.is_open() {
        return Err(Refusal::PlanClosed {
            status: plan.status.as_str(),
        });
    }
    if plan.open_proposal().is_none() {
        return Err(Refusal::NoProposal {
            id: plan.id.clone(),
        });
    }
    Ok(())
}

/// Whether an idea may be made into a plan, or retired: while it is in the jar (not in
/// the trash, not retired, not planned already). Either partner may.
pub fn may_use_idea(idea: &Idea) -> Result<(), Refusal> {
    may_read(idea)?;
    match idea.left_jar() {
        Some(why) => Err(Refusal::IdeaUsed { why }),
        None => Ok(()),
    }
}

/// Refuses `action` by `person` on an item that has an owner other than them. Checked
/// before the trash state: a partner's deleted item is refused as theirs, not as "restore
/// it first", which they could not do.
fn ensure_owner<E: Entity>(item: &E, person: &PersonId, action: Action) -> Result<(), Refusal> {
    match item.owner() {
        Some(owner) if owner != person => Err(Refusal::NotYours {
            noun: E::NOUN,
            action,
            owner: owner.clone(),
            owner_name: None,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::agreement::{Agreement, NewAgreement};
    use crate::model::idea::{Idea, NewIdea};
    use crate::model::note::{NewNote, Note};
    use crate::model::personal_time::{NewPersonalTime, PersonalTime};
    use crate::model::plan::Plan;
    use crate::test_support::{author, new_plan};
    use crate::time::Stamp;

    fn id(raw: &str) -> EntityId {
        EntityId::parse(raw).unwrap()
    }

    fn person(raw: &str) -> PersonId {
        PersonId::parse(raw).unwrap()
    }

    /// Alex's item of every kind.
    fn plan() -> Plan {
        let new = new_plan(
            "2030-01-04T19:00[Europe/Paris]",
            "2030-01-04T21:00[Europe/Paris]",
        );
        Plan::create(id("p1"), new, &author("alex")).unwrap()
    }

    fn idea() -> Idea {
        let new = NewIdea {
            title: "Night swim".into(),
            notes: None,
        };
        Idea::create(id("i1"), new, &author("alex")).unwrap()
    }

    fn agreement() -> Agreement {
        let new = NewAgreement {
            text: "No phones at dinner".into(),
            review_on: None,
        };
        Agreement::create(id("a1"), new, &author("alex")).unwrap()
    }

    fn note() -> Note {
        let new = NewNote {
            title: None,
            body: "Birthday ideas".into(),
        };
        Note::create(id("n1"), new, &author("alex")).unwrap()
    }

    fn personal_time() -> PersonalTime {
        let new = NewPersonalTime {
            start: "2030-01-05T09:00[Europe/Paris]".parse().unwrap(),
            end: "2030-01-05T12:00[Europe/Paris]".parse().unwrap(),
            label: None,
            details: None,
        };
        PersonalTime::create(id("t1"), new, &author("alex")).unwrap()
    }

    /// The same item in the trash (deleted by `who` directly, not through the rules, so
    /// the rule under test is the only one asked).
    fn deleted<E: Entity>(mut item: E, who: &str) -> E {
        let meta = item.meta_mut();
        meta.deleted_at = Some(Stamp("2030-01-01T00:00:00Z".parse().unwrap()));
        meta.deleted_by = Some(person(who));
        item
    }

    /// Every rule's answer for `who` on `item`.
    fn answers<E: Entity>(item: &E, who: &str) -> [Result<(), Refusal>; 4] {
        let who = person(who);
        [
            may_read(item),
            may_edit(item, &who),
            may_delete(item, &who),
            may_restore(item, &who),
        ]
    }

    /// A shared item: either partner may do anything; only the trash state decides.
    fn shared_by_both<E: Entity>(item: E) {
        let in_trash = Err(Refusal::InTrash {
            noun: E::NOUN,
            id: item.id().clone(),
        });
        for who in ["alex", "sam"] {
            assert_eq!(
                answers(&item, who),
                [
                    Ok(()),
                    Ok(()),
                    Ok(()),
                    Err(Refusal::NotDeleted { noun: E::NOUN })
                ],
                "{} {who} on a live item",
                E::NOUN
            );
            // Deleted by the other partner or by themselves: the same answers.
            for by in ["alex", "sam"] {
                let item = deleted(item.clone(), by);
                assert_eq!(
                    answers(&item, who),
                    [
                        in_trash.clone(),
                        in_trash.clone(),
                        Err(Refusal::AlreadyDeleted { noun: E::NOUN }),
                        Ok(())
                    ],
                    "{} {who} on an item {by} deleted",
                    E::NOUN
                );
            }
        }
    }

    #[test]
    fn plans_ideas_agreements_and_notes_are_both_partners() {
        shared_by_both(plan());
        shared_by_both(idea());
        shared_by_both(agreement());
        shared_by_both(note());
    }

    #[test]
    fn personal_time_is_read_by_both_and_changed_only_by_its_owner() {
        let block = personal_time();
        let refused = |action| {
            Err(Refusal::NotYours {
                noun: "personal_time",
                action,
                owner: person("alex"),
                owner_name: None,
            })
        };
        assert_eq!(
            answers(&block, "alex"),
            [
                Ok(()),
                Ok(()),
                Ok(()),
                Err(Refusal::NotDeleted {
                    noun: "personal_time"
                })
            ]
        );
        assert_eq!(
            answers(&block, "sam"),
            [
                Ok(()),
                refused(Action::Edit),
                refused(Action::Delete),
                refused(Action::Restore)
            ]
        );

        let gone = deleted(block, "alex");
        let in_trash = Err(Refusal::InTrash {
            noun: "personal_time",
            id: id("t1"),
        });
        assert_eq!(
            answers(&gone, "alex"),
            [
                in_trash.clone(),
                in_trash.clone(),
                Err(Refusal::AlreadyDeleted {
                    noun: "personal_time"
                }),
                Ok(())
            ]
        );
        // The partner is told it is not theirs, not to restore what they cannot restore.
        assert_eq!(
            answers(&gone, "sam"),
            [
                in_trash,
                refused(Action::Edit),
                refused(Action::Delete),
                refused(Action::Restore)
            ]
        );
    }

    fn proposal(start: &str, end: &str) -> crate::model::plan::NewProposal {
        crate::model::plan::NewProposal {
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
        }
    }

    #[test]
    fn only_the_partner_proposes_and_only_the_creator_answers() {
        let mut p = plan();
        assert_eq!(
            may_propose(&p, &person("alex")),
            Err(Refusal::OwnPlan { id: id("p1") })
        );
        assert_eq!(may_propose(&p, &person("sam")), Ok(()));
        assert_eq!(
            may_answer_proposal(&p, &person("alex")),
            Err(Refusal::NoProposal { id: id("p1") }),
            "nothing awaits an answer yet"
        );
        p.propose(
            id("c1"),
            proposal(
                "2030-01-05T19:00[Europe/Paris]",
                "2030-01-05T21:00[Europe/Paris]",
            ),
            &author("sam"),
        )
        .unwrap();
        assert_eq!(may_answer_proposal(&p, &person("alex")), Ok(()));
        let sam = may_answer_proposal(&p, &person("sam")).unwrap_err();
        assert!(matches!(
            sam,
            Refusal::NotYours {
                action: Action::AnswerProposal,
                ..
            }
        ));
        let people = [Person {
            id: person("alex"),
            name: "Alex".into(),
            joined_at: author("alex").at,
        }];
        assert_eq!(
            sam.named(&people).to_string(),
            "only Alex can accept or decline a new time for Alex's plan"
        );
        p.answer_proposal(false, &author("alex"));
        assert_eq!(
            may_answer_proposal(&p, &person("alex")),
            Err(Refusal::NoProposal { id: id("p1") }),
            "declined: nothing left to answer"
        );
        // Closed plans take no new times; comments are still welcome.
        p.status = crate::model::plan::PlanStatus::Done;
        assert_eq!(
            may_propose(&p, &person("sam")),
            Err(Refusal::PlanClosed { status: "done" })
        );
        assert_eq!(may_comment(&p, &person("sam")), Ok(()));
        let gone = deleted(p, "alex");
        assert!(matches!(
            may_comment(&gone, &person("sam")),
            Err(Refusal::InTrash { .. })
        ));
        assert!(matches!(
            may_propose(&gone, &person("sam")),
            Err(Refusal::InTrash { .. })
        ));
    }

    #[test]
    fn an_idea_is_used_once_and_retired_ideas_stay_out() {
        let fresh = idea();
        assert_eq!(may_use_idea(&fresh), Ok(()));
        let mut retired = fresh.clone();
        retired.retired_at = Some(author("sam").at);
        assert!(matches!(
            may_use_idea(&retired),
            Err(Refusal::IdeaUsed { .. })
        ));
        let mut planned = fresh.clone();
        planned.planned_as = Some(id("p1"));
        assert_eq!(
            may_use_idea(&planned).unwrap_err().to_string(),
            "this idea is no longer in the jar (it became plan p1)"
        );
        assert!(matches!(
            may_use_idea(&deleted(fresh, "sam")),
            Err(Refusal::InTrash { .. })
        ));
    }

    #[test]
    fn a_refusal_names_the_owner_when_the_people_are_known() {
        let refusal = may_delete(&personal_time(), &person("sam")).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "only your partner can delete their personal time"
        );
        let people = [Person {
            id: person("alex"),
            name: "Alex".into(),
            joined_at: author("alex").at,
        }];
        assert_eq!(
            refusal.clone().named(&people).to_string(),
            "only Alex can delete Alex's personal time"
        );
        // Someone the document does not list: still the partner.
        let strangers = [Person {
            id: person("jo"),
            ..people[0].clone()
        }];
        assert_eq!(refusal.clone().named(&strangers), refusal);
        let edit = may_edit(&personal_time(), &person("sam")).unwrap_err();
        assert_eq!(
            edit.named(&people).to_string(),
            "only Alex can change Alex's personal time"
        );
        // Other refusals have no owner to name.
        let in_trash = may_read(&deleted(idea(), "sam")).unwrap_err();
        assert_eq!(in_trash.clone().named(&people), in_trash);
        assert_eq!(
            in_trash.to_string(),
            "this idea is in the trash: bring it back first with `tandem restore-item i1`"
        );
    }
}
