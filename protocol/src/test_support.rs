//! Builders shared by the unit tests of several modules.

use crate::activity::Activity;
use crate::document::{Collection, DocKind, Document};
use crate::entity::{Author, Entity};
use crate::ids::{EntityId, PersonId};
use crate::model::idea::{Idea, NewIdea};
use crate::model::plan::NewPlan;
use crate::schema::{Schema, SchemaStep};
use crate::time::{Moment, Stamp};

/// A test-only schema version 2 adding one collection to each document, to exercise
/// upgrades without shipping a fake collection.
pub const NEXT_SCHEMA: Schema = Schema::new(&[SchemaStep {
    version: 2,
    adds: &[(DocKind::Shared, "outings"), (DocKind::Private, "wishes")],
}]);

/// `who` making a change at a fixed instant.
pub fn author(who: &str) -> Author {
    Author {
        person: PersonId::parse(who).expect("valid test id"),
        at: Stamp("2026-11-26T10:00:00Z".parse().expect("valid instant")),
    }
}

/// A plan request between two RFC 9557 times, everything else defaulted.
pub fn new_plan(start: &str, end: &str) -> NewPlan {
    NewPlan {
        title: "Dinner".into(),
        kind: None,
        start: Some(Moment(start.parse().expect("valid start"))),
        end: Some(Moment(end.parse().expect("valid end"))),
        place: None,
        notes: None,
        status: None,
        recurrence: None,
    }
}

/// `who` adds the idea `i{id}` to `doc` in a change of its own.
pub fn add_idea(doc: &mut Document, id: u32, who: &str) {
    let a = author(who);
    let idea = Idea::create(
        EntityId::parse(&format!("i{id}")).expect("valid test id"),
        NewIdea {
            title: format!("idea {id}"),
            notes: None,
        },
        &a,
    )
    .expect("a valid idea");
    doc.put(Collection::Ideas, &idea).expect("put the idea");
    doc.commit(&Activity::new(&a, "idea.add", None, "x"));
}

pub use crate::pairing::fake_pake::FakePake;
