//! The reveal rule of check-ins, and the finality that follows from it.
//!
//! Neither partner may see the other's answer before giving their own. Each daemon keeps its
//! person's answer in the private document and writes only a marker to the shared one. Once
//! markers of two different people exist for a week, each daemon publishes its own answer.
//! From then on the week's answers are final: otherwise one could read the other's answer
//! and then quietly rewrite one's own. The rules are pure functions of the documents so
//! they run the same after a local answer and after a partner's changes arrive, and every
//! path that could change an answer (answering again today, an undo or edit tomorrow) asks
//! [`ensure_answer_open`] first. [`crate::rules`] lists it with the other rules of who may
//! do what.

use std::collections::BTreeSet;

use thiserror::Error;

use crate::ids::PersonId;
use crate::model::checkin::{CheckinAnswer, CheckinMarker};
use crate::time::IsoWeek;

/// People needed before a week's answers are revealed: the couple.
pub const PARTNERS: usize = 2;

/// The weeks in which at least [`PARTNERS`] different people have answered.
pub fn complete_weeks(markers: &[CheckinMarker]) -> BTreeSet<IsoWeek> {
    let mut people_by_week: std::collections::BTreeMap<IsoWeek, BTreeSet<&PersonId>> =
        Default::default();
    for m in markers {
        people_by_week.entry(m.week).or_default().insert(&m.person);
    }
    people_by_week
        .into_iter()
        .filter(|(_, people)| people.len() >= PARTNERS)
        .map(|(week, _)| week)
        .collect()
}

/// An answer was refused because the week's answers are already revealed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error(
    "the check-in for week {week} was already revealed to both of you; answers are final once revealed"
)]
pub struct AlreadyRevealed {
    /// The week whose answers are final.
    pub week: IsoWeek,
}

/// Refuses any change to `person`'s answer for `week` once that week is revealed: when
/// both partners have answered it, or when `person`'s answer is already published (by
/// this device or one of `person`'s own other devices). Before that, answering again
/// simply replaces the private draft.
pub fn ensure_answer_open(
    week: IsoWeek,
    person: &PersonId,
    markers: &[CheckinMarker],
    published: &[CheckinAnswer],
) -> Result<(), AlreadyRevealed> {
    let published_mine = published
        .iter()
        .any(|p| p.week == week && &p.person == person);
    if published_mine || complete_weeks(markers).contains(&week) {
        return Err(AlreadyRevealed { week });
    }
    Ok(())
}

/// Which of `me`'s private drafts should now be published to the shared document: those
/// for complete weeks that have no published answer yet. A published answer is never
/// replaced, even if a draft changed later (say, written by an own device that had not
/// yet seen the reveal): the first answer revealed is the one that stands.
pub fn answers_to_reveal(
    me: &PersonId,
    markers: &[CheckinMarker],
    drafts: &[CheckinAnswer],
    published: &[CheckinAnswer],
) -> Vec<CheckinAnswer> {
    let complete = complete_weeks(markers);
    drafts
        .iter()
        .filter(|d| &d.person == me && complete.contains(&d.week))
        .filter(|d| !published.iter().any(|p| p.key == d.key))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::checkin::NewCheckin;
    use crate::time::Stamp;

    fn answer(who: &str, week: &str) -> CheckinAnswer {
        answer_rated(who, week, 2)
    }

    fn answer_rated(who: &str, week: &str, enough_alone: i64) -> CheckinAnswer {
        let new = NewCheckin {
            week: None,
            enough_alone,
            enough_together: 4,
            went_well: Some("the walk".into()),
            need_next: None,
        };
        let at = Stamp("2026-11-26T10:00:00Z".parse().unwrap());
        CheckinAnswer::new(
            week.parse().unwrap(),
            PersonId::parse(who).unwrap(),
            new,
            at,
        )
        .unwrap()
    }

    #[test]
    fn nothing_is_revealed_until_both_answered() {
        let alex = PersonId::parse("alex").unwrap();
        let mine = answer("alex", "2026-W48");
        let markers = vec![mine.marker()];
        assert!(answers_to_reveal(&alex, &markers, std::slice::from_ref(&mine), &[]).is_empty());

        let theirs = answer("sam", "2026-W48");
        let markers = vec![mine.marker(), theirs.marker()];
        assert_eq!(
            answers_to_reveal(&alex, &markers, std::slice::from_ref(&mine), &[]),
            vec![mine.clone()]
        );
        // Already published: nothing more to do.
        assert!(
            answers_to_reveal(
                &alex,
                &markers,
                std::slice::from_ref(&mine),
                std::slice::from_ref(&mine)
            )
            .is_empty()
        );
    }

    #[test]
    fn other_weeks_stay_hidden() {
        let alex = PersonId::parse("alex").unwrap();
        let old = answer("alex", "2026-W47");
        let markers = vec![
            old.marker(),
            answer("alex", "2026-W48").marker(),
            answer("sam", "2026-W48").marker(),
        ];
        assert!(answers_to_reveal(&alex, &markers, &[old], &[]).is_empty());
    }

    #[test]
    fn a_draft_may_be_replaced_until_the_reveal() {
        let alex = PersonId::parse("alex").unwrap();
        let week: IsoWeek = "2026-W48".parse().unwrap();
        let mine = answer("alex", "2026-W48");
        assert_eq!(ensure_answer_open(week, &alex, &[], &[]), Ok(()));
        assert_eq!(
            ensure_answer_open(week, &alex, &[mine.marker()], &[]),
            Ok(())
        );
        // The partner answering a different week changes nothing for this one.
        let other_week = answer("sam", "2026-W47").marker();
        assert_eq!(
            ensure_answer_open(week, &alex, &[mine.marker(), other_week], &[]),
            Ok(())
        );
    }

    #[test]
    fn a_revealed_week_is_final_for_both() {
        let (alex, sam) = (
            PersonId::parse("alex").unwrap(),
            PersonId::parse("sam").unwrap(),
        );
        let week: IsoWeek = "2026-W48".parse().unwrap();
        let mine = answer("alex", "2026-W48");
        let markers = [mine.marker(), answer("sam", "2026-W48").marker()];
        let refused = Err(AlreadyRevealed { week });
        assert_eq!(ensure_answer_open(week, &alex, &markers, &[]), refused);
        assert_eq!(ensure_answer_open(week, &sam, &markers, &[]), refused);
        // Published by one of Alex's own devices before this one saw Sam's marker.
        let published = std::slice::from_ref(&mine);
        assert_eq!(
            ensure_answer_open(week, &alex, &[mine.marker()], published),
            refused
        );
        let message = ensure_answer_open(week, &sam, &markers, &[])
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("week 2026-W48 was already revealed"),
            "{message}"
        );
    }

    #[test]
    fn a_published_answer_is_never_replaced_by_a_later_draft() {
        let alex = PersonId::parse("alex").unwrap();
        let first = answer_rated("alex", "2026-W48", 2);
        let rewritten = answer_rated("alex", "2026-W48", 5);
        let markers = [first.marker(), answer("sam", "2026-W48").marker()];
        assert!(
            answers_to_reveal(
                &alex,
                &markers,
                std::slice::from_ref(&rewritten),
                std::slice::from_ref(&first)
            )
            .is_empty()
        );
    }
}
