//! The idea jar: things to do together some day.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::document::Collection;
use crate::entity::{Author, Entity, Meta, bounded_multiline_text, keyed_by_id, required_text};
use crate::error::ValidationError;
use crate::ids::EntityId;
use crate::model::plan::{NewPlan, PlanKind};
use crate::time::{Moment, Stamp};

/// Longest idea title.
pub const MAX_TITLE: usize = 200;
/// Longest idea notes.
pub const MAX_NOTES: usize = 2_000;
/// How many of the latest draws a draw avoids repeating (fewer when the jar holds fewer
/// ideas: there is always something to draw).
pub const RECENT_DRAWS: usize = 3;

/// Something to do together some day.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Idea {
    /// Id of the idea.
    pub id: EntityId,
    /// What to do, e.g. "Night swim".
    pub title: String,
    /// Details, links, who would love it.
    pub notes: String,
    /// When it was last drawn from the jar: the draw passes over the most recent ones.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub drawn_at: Option<Stamp>,
    /// The plan it became; it left the jar then.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub planned_as: Option<EntityId>,
    /// When it was taken out of the jar without being deleted.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub retired_at: Option<Stamp>,
    /// Who put it in the jar and when.
    #[serde(flatten)]
    pub meta: Meta,
}

/// Body of a request to add an idea.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIdea {
    /// See [`Idea::title`].
    #[schema(schema_with = crate::entity::required_text_schema::<MAX_TITLE>)]
    pub title: String,
    /// See [`Idea::notes`].
    #[serde(default)]
    #[schema(schema_with = crate::entity::bounded_multiline_text_or_null_schema::<MAX_NOTES>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// Body of a request to change an idea.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdeaPatch {
    /// New title.
    #[schema(schema_with = crate::entity::required_text_or_null_schema::<MAX_TITLE>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New notes.
    #[schema(schema_with = crate::entity::bounded_multiline_text_or_null_schema::<MAX_NOTES>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// Body of `POST /v1/ideas/{id}/plan`: the idea becomes a proposed plan with its title
/// and notes, at this time (or none yet: a someday plan).
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdeaToPlan {
    /// When it starts; give both `start` and `end`, or neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Moment>,
    /// When it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Moment>,
    /// Defaults to `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = PlanKind::choice_or_null_schema)]
    pub kind: Option<PlanKind>,
}

keyed_by_id!(Idea);

impl Idea {
    /// Why the idea is out of the jar, if it is: retired, or made into a plan.
    pub fn left_jar(&self) -> Option<String> {
        match (&self.planned_as, &self.retired_at) {
            (Some(plan), _) => Some(format!("it became plan {plan}")),
            (None, Some(at)) => Some(format!("it was retired on {}", at.0.strftime("%Y-%m-%d"))),
            (None, None) => None,
        }
    }

    /// The plan request this idea becomes at `when` (a proposed plan, its title and notes).
    pub fn to_plan(&self, when: IdeaToPlan) -> NewPlan {
        NewPlan {
            title: self.title.clone(),
            kind: when.kind,
            start: when.start,
            end: when.end,
            place: None,
            notes: Some(self.notes.clone()),
            status: None,
            recurrence: None,
        }
    }
}

/// The idea a draw gives, by `roll` (a random number the caller draws): one of the ideas
/// in the jar (not deleted, retired or planned), passing over the [`RECENT_DRAWS`] drawn
/// most recently as long as one other is left. `None` when the jar is empty.
pub fn draw(ideas: &[Idea], roll: u64) -> Option<&Idea> {
    let in_jar: Vec<&Idea> = ideas
        .iter()
        .filter(|i| !i.meta.is_deleted() && i.left_jar().is_none())
        .collect();
    if in_jar.is_empty() {
        return None;
    }
    let mut by_recency: Vec<&Idea> = in_jar
        .iter()
        .copied()
        .filter(|i| i.drawn_at.is_some())
        .collect();
    by_recency.sort_by_key(|i| std::cmp::Reverse((i.drawn_at, &i.id)));
    let skip = RECENT_DRAWS.min(in_jar.len() - 1);
    let recent: Vec<&EntityId> = by_recency.iter().take(skip).map(|i| &i.id).collect();
    let candidates: Vec<&Idea> = in_jar
        .into_iter()
        .filter(|i| !recent.contains(&&i.id))
        .collect();
    let index = usize::try_from(roll % candidates.len() as u64).unwrap_or(0);
    candidates.get(index).copied()
}

impl Entity for Idea {
    const COLLECTION: Collection = Collection::Ideas;
    const NOUN: &'static str = "idea";
    type New = NewIdea;
    type Patch = IdeaPatch;

    fn create(id: EntityId, new: NewIdea, author: &Author) -> Result<Self, ValidationError> {
        Ok(Idea {
            id,
            title: required_text("title", &new.title, MAX_TITLE)?,
            notes: bounded_multiline_text("notes", new.notes.as_deref().unwrap_or(""), MAX_NOTES)?,
            drawn_at: None,
            planned_as: None,
            retired_at: None,
            meta: Meta::new(author),
        })
    }

    fn amend(&mut self, patch: IdeaPatch, author: &Author) -> Result<(), ValidationError> {
        let title = patch
            .title
            .map(|t| required_text("title", &t, MAX_TITLE))
            .transpose()?;
        let notes = patch
            .notes
            .map(|n| bounded_multiline_text("notes", &n, MAX_NOTES))
            .transpose()?;
        self.title = title.unwrap_or_else(|| self.title.clone());
        self.notes = notes.unwrap_or_else(|| self.notes.clone());
        self.meta.touch(author);
        Ok(())
    }

    fn summary(&self) -> String {
        self.title.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::author;

    fn jar(n: usize) -> Vec<Idea> {
        (0..n)
            .map(|i| {
                let new = NewIdea {
                    title: format!("Idea {i}"),
                    notes: None,
                };
                Idea::create(
                    EntityId::parse(&format!("i{i}")).unwrap(),
                    new,
                    &author("alex"),
                )
                .unwrap()
            })
            .collect()
    }

    /// Draws `rolls` times, recording each draw as the daemon does, a second apart.
    fn draws(ideas: &mut [Idea], rolls: &[u64]) -> Vec<String> {
        let mut at = author("alex").at;
        let mut out = Vec::new();
        for roll in rolls {
            let id = draw(ideas, *roll).unwrap().id.clone();
            at = Stamp(at.0 + jiff::SignedDuration::from_secs(1));
            let idea = ideas.iter_mut().find(|i| i.id == id).unwrap();
            idea.drawn_at = Some(at);
            out.push(id.to_string());
        }
        out
    }

    #[test]
    fn a_draw_never_repeats_one_of_the_last_three() {
        let mut ideas = jar(5);
        // The same roll every time (as a fixed seed would give) still moves through the jar.
        let got = draws(&mut ideas, &[0; 12]);
        for window in got.windows(4) {
            let mut seen = window.to_vec();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), 4, "{got:?}");
        }
    }

    #[test]
    fn small_jars_still_draw_and_used_ideas_stay_out() {
        let mut one = jar(1);
        assert_eq!(draws(&mut one, &[7, 7]), ["i0", "i0"]);
        let mut two = jar(2);
        assert_eq!(draws(&mut two, &[0, 0, 0]), ["i0", "i1", "i0"]);
        let mut ideas = jar(3);
        ideas[0].retired_at = Some(author("sam").at);
        ideas[1].planned_as = Some(EntityId::parse("p1").unwrap());
        assert_eq!(draws(&mut ideas, &[0, 1, 2]), ["i2", "i2", "i2"]);
        ideas[2].meta.deleted_at = Some(author("sam").at);
        assert!(draw(&ideas, 0).is_none(), "an empty jar");
    }

    #[test]
    fn an_idea_becomes_a_plan_with_its_words() {
        let mut idea = jar(1).remove(0);
        idea.notes = "bring towels".into();
        let plan = idea.to_plan(IdeaToPlan::default());
        assert_eq!(
            (plan.title.as_str(), plan.notes.as_deref()),
            ("Idea 0", Some("bring towels"))
        );
        assert!(
            plan.start.is_none() && plan.end.is_none(),
            "someday until a time is given"
        );
    }
}
