//! The reveal rule of check-ins.
//!
//! Neither partner may see the other's answer before giving their own. Each daemon keeps its
//! person's answer in the private document and writes only a marker to the shared one. Once
//! markers of two different people exist for a week, each daemon publishes its own answer.
//! The rule is a pure function of the documents so it runs the same after a local answer
//! and after a partner's changes arrive.

use std::collections::BTreeSet;

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

/// Which of `me`'s private drafts should now be published to the shared document: those
/// for complete weeks that are not already published with the same content.
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
        .filter(|d| !published.iter().any(|p| p == *d))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::checkin::NewCheckin;
    use crate::time::Stamp;

    fn answer(who: &str, week: &str) -> CheckinAnswer {
        let new = NewCheckin {
            week: None,
            enough_alone: 2,
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
}
