//! Every kind of entity, registered once. Code that does something for each kind (the
//! trash lists every kind), or for the kind a stored noun names (undo and restore read the
//! noun from the activity record or the tombstone), goes through here, so a new kind is
//! added in this one place rather than in every `match` on a noun.

use serde::de::DeserializeOwned;

use crate::entity::Entity;
use crate::model::agreement::Agreement;
use crate::model::idea::Idea;
use crate::model::note::Note;
use crate::model::personal_time::PersonalTime;
use crate::model::plan::Plan;

/// Something to do for one kind of entity, chosen by its type.
pub trait ForKind {
    /// Does it for the kind `E`.
    fn run<E: Entity + DeserializeOwned>(&mut self);
}

/// Does `f` for every kind, always in this order.
pub fn each(f: &mut impl ForKind) {
    f.run::<Plan>();
    f.run::<Idea>();
    f.run::<PersonalTime>();
    f.run::<Agreement>();
    f.run::<Note>();
}

/// Does `f` for the kind whose [`Entity::NOUN`] is `noun`; `false` when no kind has it
/// (a noun written by a newer build, say).
pub fn named(noun: &str, f: &mut impl ForKind) -> bool {
    struct Only<'a, F> {
        noun: &'a str,
        f: &'a mut F,
        found: bool,
    }
    impl<F: ForKind> ForKind for Only<'_, F> {
        fn run<E: Entity + DeserializeOwned>(&mut self) {
            if E::NOUN == self.noun {
                self.found = true;
                self.f.run::<E>();
            }
        }
    }
    let mut only = Only {
        noun,
        f,
        found: false,
    };
    each(&mut only);
    only.found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects the nouns it is run for.
    #[derive(Default)]
    struct Nouns(Vec<&'static str>);

    impl ForKind for Nouns {
        fn run<E: Entity + DeserializeOwned>(&mut self) {
            self.0.push(E::NOUN);
        }
    }

    #[test]
    fn every_kind_is_listed_once_and_found_by_its_noun_alone() {
        let mut all = Nouns::default();
        each(&mut all);
        let mut unique = all.0.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), all.0.len(), "{:?}", all.0);
        for noun in &all.0 {
            let mut found = Nouns::default();
            assert!(named(noun, &mut found));
            assert_eq!(found.0, vec![*noun]);
        }
        let mut none = Nouns::default();
        assert!(!named("checkin", &mut none));
        assert!(none.0.is_empty());
    }
}
