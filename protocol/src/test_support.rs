//! Builders shared by the unit tests of several modules.

use crate::document::DocKind;
use crate::entity::Author;
use crate::ids::PersonId;
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

pub use crate::pairing::fake_pake::FakePake;
