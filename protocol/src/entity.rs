//! What every stored collection item has in common.
//!
//! [`Stored`] is enough to read and write an item in a document; [`Entity`] adds the
//! create/patch rules that make generic create-read-update-delete possible, so the API and
//! the daemon need one code path for every collection instead of one per noun. Who may
//! change what is [`crate::rules`]; [`Entity::edit`] asks it before every update.

use autosurgeon::{Hydrate, Reconcile};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::document::Collection;
use crate::error::ValidationError;
use crate::ids::{EntityId, PersonId};
use crate::rules::{self, Refusal};
use crate::time::{Moment, Stamp};

/// Who makes a change and when; passed in because the core owns no clock.
#[derive(Clone, Debug)]
pub struct Author {
    /// The person making the change.
    pub person: PersonId,
    /// When the change is made.
    pub at: Stamp,
}

/// Bookkeeping every entity carries so the activity feed and conflict display can say who
/// did what and when.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Meta {
    /// Person who created the entity.
    pub created_by: PersonId,
    /// When it was created.
    pub created_at: Stamp,
    /// Person who changed it last.
    pub updated_by: PersonId,
    /// When it was changed last.
    pub updated_at: Stamp,
    /// When it was put in the trash, if it is there. A delete is a tombstone, not a
    /// removal, so a partner's concurrent edit lands on the deleted item instead of being
    /// lost, and the item can come back ([`crate::trash`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[autosurgeon(missing = "Default::default", reconcile = "written_only_when_set")]
    pub deleted_at: Option<Stamp>,
    /// Who put it in the trash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[autosurgeon(missing = "Default::default", reconcile = "written_only_when_set")]
    pub deleted_by: Option<PersonId>,
}

/// Reconciles a tombstone field only when it is set. An edit made on a copy that never
/// saw the delete must not write the field back as empty: that concurrent write could win
/// and silently bring the item back. Only a restore clears the fields, explicitly
/// ([`crate::document::Document::remove_fields`]).
fn written_only_when_set<T: Reconcile, R: autosurgeon::Reconciler>(
    value: &Option<T>,
    reconciler: R,
) -> Result<(), R::Error> {
    match value {
        Some(value) => value.reconcile(reconciler),
        None => Ok(()),
    }
}

impl Meta {
    /// Metadata of a brand-new entity.
    pub fn new(author: &Author) -> Self {
        Self {
            created_by: author.person.clone(),
            created_at: author.at,
            updated_by: author.person.clone(),
            updated_at: author.at,
            deleted_at: None,
            deleted_by: None,
        }
    }

    /// The item field holding its `Meta` (a nested map in the document).
    pub const KEY: &'static str = "meta";

    /// Every `Meta` field: bookkeeping, which an undo never puts back (it stamps anew).
    pub const FIELDS: [&'static str; 6] = [
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
        "deleted_at",
        "deleted_by",
    ];

    /// The `Meta` fields a tombstone is made of.
    pub const TOMBSTONE_FIELDS: [&'static str; 2] = ["deleted_at", "deleted_by"];

    /// Whether the item is in the trash.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// Records that `author` changed the entity now.
    pub fn touch(&mut self, author: &Author) {
        self.updated_by = author.person.clone();
        self.updated_at = author.at;
    }
}

/// An item that lives in a map-valued collection of a document, under its key.
pub trait Stored: Reconcile + Hydrate + Serialize + Clone {
    /// The map key of this item inside its collection.
    fn storage_key(&self) -> &str;
}

/// An item with its own id and bookkeeping, stored under that id.
pub trait Identified: Stored {
    /// The entity's id.
    fn id(&self) -> &EntityId;
    /// Who created and changed it, and when.
    fn meta(&self) -> &Meta;
    /// The same, to change.
    fn meta_mut(&mut self) -> &mut Meta;
}

/// Implements [`Stored`] (keyed by the `id` field) and [`Identified`] (from the `id` and
/// `meta` fields) for entity structs.
macro_rules! keyed_by_id {
    ($($entity:ty),+ $(,)?) => {
        $(
            impl $crate::entity::Stored for $entity {
                fn storage_key(&self) -> &str {
                    self.id.as_str()
                }
            }

            impl $crate::entity::Identified for $entity {
                fn id(&self) -> &$crate::ids::EntityId {
                    &self.id
                }

                fn meta(&self) -> &$crate::entity::Meta {
                    &self.meta
                }

                fn meta_mut(&mut self) -> &mut $crate::entity::Meta {
                    &mut self.meta
                }
            }
        )+
    };
}
pub(crate) use keyed_by_id;

/// A collection item people create, edit and delete through the API and CLI.
pub trait Entity: Identified {
    /// Where items of this type live.
    const COLLECTION: Collection;
    /// Singular noun used in activity records and messages, e.g. `plan`.
    const NOUN: &'static str;
    /// Body of a create request.
    type New: DeserializeOwned + utoipa::ToSchema + Send;
    /// Body of an update request: every field optional.
    type Patch: DeserializeOwned + utoipa::ToSchema + Send;

    /// Builds a validated item from a create request.
    fn create(id: EntityId, new: Self::New, author: &Author) -> Result<Self, ValidationError>;
    /// What an update does to the item: validates `patch` and writes it; on error the item
    /// is left unchanged. Whether `author` may change it at all is not asked here but in
    /// [`Entity::edit`], the entry point that runs this after the rule.
    fn amend(&mut self, patch: Self::Patch, author: &Author) -> Result<(), ValidationError>;
    /// Applies `author`'s update if [`rules::may_edit`] allows it (personal time only its
    /// owner, nothing in the trash); on error the item is left unchanged.
    fn edit(&mut self, patch: Self::Patch, author: &Author) -> Result<(), EditError> {
        rules::may_edit(self, &author.person)?;
        self.amend(patch, author)?;
        Ok(())
    }
    /// One line for the activity feed, e.g. the title.
    fn summary(&self) -> String;
    /// What an edit from `before` to `self` asks of both partners again, because it
    /// changed what they had agreed to (e.g. "moved the time: asks both to RSVP again");
    /// `None` for an edit that leaves their answers standing. [`Entity::amend`] has
    /// already cleared those answers; the feed says why they are gone.
    fn asks_again(&self, _before: &Self) -> Option<&'static str> {
        None
    }
    /// Drops answers given to a version of the item that is no longer current. An RSVP to
    /// the old time, or an acceptance of the old wording, given on the other laptop while
    /// this one changed it survives the merge in the document (Automerge keeps a concurrent
    /// put over a delete) and must not count. Applied to every item read; an edit writes the
    /// settled item back.
    fn settle(&mut self) {}
    /// The one person this item belongs to, if it is not shared by both: only they may
    /// change, delete or restore it ([`crate::rules`]).
    fn owner(&self) -> Option<&PersonId> {
        None
    }
}

/// Why an edit was not made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EditError {
    /// The person may not change this item ([`rules::may_edit`]).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The update itself is invalid; it names the field.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

/// Checks a required one-line text (a title, label, name or place): at most `max`
/// characters as sent, plain text, and something left once surrounding space is trimmed
/// off (which it is).
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, ValidationError> {
    required(field, bounded_text(field, value, max)?)
}

/// Checks an optional one-line text: at most `max` characters as sent, plain text; stored
/// trimmed. One-line text is shown in table cells and one-line messages, so it holds no
/// line breaks or tabs either.
pub fn bounded_text(field: &str, value: &str, max: usize) -> Result<String, ValidationError> {
    checked_text(field, value, max, Lines::One)
}

/// Checks a required multi-line text (a note's body): like [`bounded_multiline_text`],
/// and not empty once trimmed.
pub fn required_multiline_text(
    field: &str,
    value: &str,
    max: usize,
) -> Result<String, ValidationError> {
    required(field, bounded_multiline_text(field, value, max)?)
}

/// Checks an optional multi-line text (notes, answers): at most `max` characters as sent,
/// plain text keeping line breaks and tabs; stored trimmed. Windows line ends (`\r\n`,
/// what browsers send from a text area) become `\n`; a lone `\r`, which makes a terminal
/// overwrite the line, is refused.
pub fn bounded_multiline_text(
    field: &str,
    value: &str,
    max: usize,
) -> Result<String, ValidationError> {
    checked_text(field, value, max, Lines::Many)
}

/// The schemas of what the four text checks accept, for request fields
/// (`#[schema(schema_with = required_text_schema::<MAX_TITLE>)]`): the same length (as
/// sent), the same characters and, for required text, something besides space. Built
/// from [`text_pattern`], which a test holds to the checks themselves. The `_or_null`
/// forms are for patches, where `null` leaves a field as it is.
macro_rules! text_schemas {
    ($($name:ident: $lines:expr, $required:expr, $nullable:expr;)+) => {
        $(
            #[doc = concat!("Schema of `", stringify!($name), "` (see [`text_schema`]).")]
            pub fn $name<const MAX: usize>() -> utoipa::openapi::schema::Object {
                text_schema(MAX, $lines, $required, $nullable)
            }
        )+
    };
}

text_schemas! {
    required_text_schema: Lines::One, true, false;
    required_text_or_null_schema: Lines::One, true, true;
    bounded_text_schema: Lines::One, false, false;
    bounded_text_or_null_schema: Lines::One, false, true;
    required_multiline_text_schema: Lines::Many, true, false;
    bounded_multiline_text_schema: Lines::Many, false, false;
    bounded_multiline_text_or_null_schema: Lines::Many, false, true;
}

/// The schema of a text field checked by the text rules: a string (or `null`), at most
/// `max` characters, matching [`text_pattern`].
pub fn text_schema(
    max: usize,
    lines: Lines,
    required: bool,
    nullable: bool,
) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    let kind = if nullable {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::new(Type::String)
    };
    ObjectBuilder::new()
        .schema_type(kind)
        .min_length(required.then_some(1))
        .max_length(Some(max))
        .pattern(Some(text_pattern(lines, required)))
        .build()
}

/// Characters no text holds: C0 and C1 controls and DEL (terminals obey them) and bidi
/// controls ([`is_bidi_control`]); for multi-line text less `\t` and `\n` (a `\r` only
/// before `\n`). As a regular-expression class body (ECMA 262, Python and Rust alike).
const NEVER_IN_ONE_LINE: &str = r"\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069";
/// See [`NEVER_IN_ONE_LINE`].
const NEVER_IN_LINES: &str = r"\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069";
/// White space that is not a control character: what trimming removes besides `\t`, `\n`
/// and friends (Unicode `White_Space`, as `str::trim` uses it).
const SPACE: &str = r"\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// The pattern of a text rule: only allowed characters (and `\r` only in `\r\n` for
/// multi-line text), and, when `required`, at least one that is not space.
pub fn text_pattern(lines: Lines, required: bool) -> String {
    let (unit, visible) = match lines {
        Lines::One => (
            format!("[^{NEVER_IN_ONE_LINE}]"),
            format!("[^{NEVER_IN_ONE_LINE}{SPACE}]"),
        ),
        Lines::Many => (
            format!(r"(?:[^{NEVER_IN_LINES}]|\r\n)"),
            format!(r"[^{NEVER_IN_LINES}{SPACE}\t\n]"),
        ),
    };
    if required {
        format!("^{unit}*{visible}{unit}*$")
    } else {
        format!("^{unit}*$")
    }
}

/// Explicit bidirectional formatting: embeddings and overrides (U+202A–U+202E) and
/// isolates (U+2066–U+2069). Invisible, they reorder the text around them, so what a
/// reader sees is not what was written ("Trojan Source"). Ordinary right-to-left text
/// needs none of them.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether a text may hold line breaks and tabs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Lines {
    /// One line: no line breaks or tabs.
    One,
    /// Line breaks and tabs allowed.
    Many,
}

fn required(field: &str, value: String) -> Result<String, ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    Ok(value)
}

/// Checks `value`'s length as sent and its characters: no control characters (C0, DEL,
/// C1: terminals obey them) and no bidi controls; a multi-line text may keep `\n` and
/// `\t` (`\r\n` becomes `\n`). Then trims it.
fn checked_text(
    field: &str,
    value: &str,
    max: usize,
    lines: Lines,
) -> Result<String, ValidationError> {
    let len = value.chars().count();
    if len > max {
        return Err(ValidationError::new(
            field,
            format!("is {len} characters long; at most {max} are allowed"),
        ));
    }
    let value = match lines {
        Lines::One => value.to_owned(),
        Lines::Many => value.replace("\r\n", "\n"),
    };
    let allowed = |c: char| lines == Lines::Many && matches!(c, '\n' | '\t');
    let found = value
        .chars()
        .enumerate()
        .find(|&(_, c)| (c.is_control() && !allowed(c)) || is_bidi_control(c));
    if let Some((at, c)) = found {
        let rule = match lines {
            Lines::One => "must be one line of plain text without control characters",
            Lines::Many => {
                "must be plain text without control characters other than line breaks and tabs"
            }
        };
        let kind = if is_bidi_control(c) {
            ", an invisible text-direction control,"
        } else {
            ""
        };
        return Err(ValidationError::new(
            field,
            format!(
                "{rule} (found U+{:04X}{kind} at character {})",
                u32::from(c),
                at + 1
            ),
        ));
    }
    Ok(value.trim().to_owned())
}

/// Checks that a time range ends after it starts.
pub fn check_range(start: &Moment, end: &Moment) -> Result<(), ValidationError> {
    if end.timestamp() <= start.timestamp() {
        return Err(ValidationError::rule(
            "end",
            format!("must be after start ({start})"),
        ));
    }
    Ok(())
}

/// Deserializes a field that is present (possibly `null`) into `Some(value)`, so patches
/// can tell "leave as is" (absent) from "clear it" (`null`).
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Replaces the content of an Automerge text (a note's body, a plan's notes) with `new`.
///
/// For ASCII text this is one splice of what lies between the common start and the common
/// end of the old and new text, so a partner's concurrent edit of another part merges
/// character by character. It costs time in proportion to the text, whatever the edit: a
/// character-level diff (`autosurgeon::Text::update`) took minutes on 10,000 characters
/// rewritten, holding up every other write. `autosurgeon::Text` counts its splices in
/// bytes while the documents count text in code points, so for other text a splice would
/// land at the wrong place: such text is written as a new value, and a concurrent edit of
/// it by the partner is lost to the later of the two.
pub fn update_text(text: &mut autosurgeon::Text, new: &str) {
    let old = text.as_str();
    if old == new {
        return;
    }
    if !(old.is_ascii() && new.is_ascii()) {
        *text = autosurgeon::Text::with_value(new);
        return;
    }
    let (old_bytes, new_bytes) = (old.as_bytes(), new.as_bytes());
    let start = old_bytes
        .iter()
        .zip(new_bytes)
        .take_while(|(a, b)| a == b)
        .count();
    let end = old_bytes[start..]
        .iter()
        .rev()
        .zip(new_bytes[start..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let removed = old.len() - start - end;
    let inserted = new[start..new.len() - end].to_owned();
    text.splice(start, removed as isize, inserted);
}

/// Reads a whole number as JSON Schema's `integer` means it: `4` or `4.0`, never `4.5`.
/// (serde would refuse `4.0` for an integer type, so a client following the schema
/// could be refused.)
pub fn whole_number<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    use serde::de::{Error, Unexpected};
    let number = serde_json::Number::deserialize(d)?;
    let whole = match (number.as_i64(), number.as_f64()) {
        (Some(n), _) => n,
        (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => f as i64,
        (None, Some(f)) => {
            return Err(D::Error::invalid_type(
                Unexpected::Float(f),
                &"a whole number",
            ));
        }
        (None, None) => return Err(D::Error::custom("not a number")),
    };
    T::try_from(whole)
        .map_err(|_| D::Error::invalid_value(Unexpected::Signed(whole), &"a whole number in range"))
}

/// [`whole_number`] for an optional field (`null` is none).
pub fn optional_whole_number<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole_number")] i64);
    Option::<Whole>::deserialize(d)?
        .map(|Whole(n)| {
            T::try_from(n).map_err(|_| {
                serde::de::Error::invalid_value(
                    serde::de::Unexpected::Signed(n),
                    &"a whole number in range",
                )
            })
        })
        .transpose()
}

/// Serializes Automerge text as a plain JSON string.
pub fn text_as_str<S: serde::Serializer>(
    text: &autosurgeon::Text,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(text.as_str())
}

/// Reads Automerge text from a plain JSON string.
pub fn text_from_str<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<autosurgeon::Text, D::Error> {
    let s = <String as serde::Deserialize>::deserialize(d)?;
    Ok(autosurgeon::Text::with_value(s))
}

#[cfg(test)]
mod tests {
    use proptest::strategy::Strategy;

    use super::*;

    #[derive(autosurgeon::Hydrate, autosurgeon::Reconcile)]
    struct Body {
        text: autosurgeon::Text,
    }

    /// `body`'s text written with [`update_text`] in `doc`, as an edit through the API is.
    fn rewrite(doc: &mut automerge::AutoCommit, to: &str) {
        let mut body: Body = autosurgeon::hydrate(doc).unwrap();
        update_text(&mut body.text, to);
        autosurgeon::reconcile(doc, &body).unwrap();
    }

    #[test]
    fn text_edits_on_both_laptops_merge_and_a_long_rewrite_is_one_splice() {
        let mut doc = automerge::AutoCommit::new();
        let start = Body {
            text: autosurgeon::Text::with_value("Picnic by the river, bring bread"),
        };
        autosurgeon::reconcile(&mut doc, &start).unwrap();
        let mut other = doc.fork();
        rewrite(&mut doc, "Picnic by the lake, bring bread");
        rewrite(&mut other, "Picnic by the river, bring bread and cheese");
        doc.merge(&mut other).unwrap();
        let merged: Body = autosurgeon::hydrate(&doc).unwrap();
        assert_eq!(
            merged.text.as_str(),
            "Picnic by the lake, bring bread and cheese"
        );

        // Every character different, 10,000 of them: one splice, in time proportional to
        // the text (the character diff this replaced took minutes here).
        rewrite(&mut doc, &"0".repeat(10_000));
        rewrite(&mut doc, &"01".repeat(5_000));
        rewrite(&mut doc, &"10".repeat(5_000));
        let body: Body = autosurgeon::hydrate(&doc).unwrap();
        assert_eq!(body.text.as_str(), "10".repeat(5_000));
    }

    proptest::proptest! {
        /// Accepted text is trimmed, non-empty and within bounds; everything else is
        /// refused naming the field. Never a panic, whatever the characters.
        #[test]
        fn required_text_accepts_exactly_the_valid(raw in "\\PC{0,40}", max in 1usize..30) {
            let trimmed = raw.trim();
            match required_text("title", &raw, max) {
                Ok(text) => {
                    proptest::prop_assert_eq!(text.as_str(), trimmed);
                    proptest::prop_assert!(!text.is_empty() && raw.chars().count() <= max);
                }
                Err(e) => {
                    proptest::prop_assert_eq!(e.field.as_str(), "title");
                    proptest::prop_assert!(trimmed.is_empty() || raw.chars().count() > max);
                }
            }
        }
    }

    /// Characters a terminal obeys or that reorder text, mixed into ordinary ones.
    fn any_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            proptest::prop_oneof![
                proptest::char::range('\0', '\u{a0}'),
                proptest::char::range('\u{2060}', '\u{2070}'),
                proptest::char::range('\u{2020}', '\u{2030}'),
                proptest::char::any(),
            ],
            0..30,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    fn plain(c: char, lines: Lines) -> bool {
        let kept = lines == Lines::Many && matches!(c, '\n' | '\t');
        kept || !(c.is_control() || is_bidi_control(c))
    }

    proptest::proptest! {
        /// One-line text is accepted exactly when it holds no control character (line
        /// breaks and tabs included, even around it) and no bidi control; then it is
        /// stored trimmed.
        #[test]
        fn one_line_text_holds_no_control_characters(raw in any_text()) {
            match bounded_text("label", &raw, 100) {
                Ok(text) => {
                    proptest::prop_assert_eq!(text.as_str(), raw.trim());
                    proptest::prop_assert!(raw.chars().all(|c| plain(c, Lines::One)));
                }
                Err(e) => {
                    proptest::prop_assert_eq!(e.field.as_str(), "label");
                    proptest::prop_assert!(!raw.chars().all(|c| plain(c, Lines::One)));
                }
            }
        }

        /// Multi-line text may keep `\n` and `\t` (and `\r\n`, as `\n`), nothing else
        /// a terminal obeys.
        #[test]
        fn multiline_text_keeps_only_line_breaks_and_tabs(raw in any_text()) {
            let normalised = raw.replace("\r\n", "\n");
            let trimmed = normalised.trim();
            match bounded_multiline_text("notes", &raw, 100) {
                Ok(text) => {
                    proptest::prop_assert_eq!(text.as_str(), trimmed);
                    proptest::prop_assert!(text.chars().all(|c| plain(c, Lines::Many)));
                }
                Err(e) => {
                    proptest::prop_assert_eq!(e.field.as_str(), "notes");
                    proptest::prop_assert!(!normalised.chars().all(|c| plain(c, Lines::Many)));
                }
            }
        }
    }

    /// One of the four text checks.
    type TextCheck = fn(&str, &str, usize) -> Result<String, ValidationError>;

    /// The document's pattern and length for a text rule, as the Rust regex crate reads
    /// it (`\z` for the end: the same meaning as `$` in ECMA 262 without flags).
    fn accepted_by_schema(lines: Lines, required: bool, max: usize, value: &str) -> bool {
        let pattern = text_pattern(lines, required);
        let pattern = format!("{}\\z", pattern.strip_suffix('$').unwrap());
        let regex = regex::Regex::new(&pattern).unwrap();
        regex.is_match(value) && value.chars().count() <= max
    }

    proptest::proptest! {
        /// What the OpenAPI schema of each text rule allows is exactly what its check
        /// accepts, so a client that follows the document is never refused for a text,
        /// and one that does not always is.
        #[test]
        fn the_text_schemas_accept_exactly_what_the_checks_accept(
            raw in proptest::prop_oneof![
                any_text(),
                "[ \t\r\n\u{a0}\u{2003}\u{3000}ab]{0,12}",
            ],
            max in 1usize..20,
        ) {
            let cases: [(Lines, bool, TextCheck); 4] = [
                (Lines::One, true, required_text),
                (Lines::One, false, bounded_text),
                (Lines::Many, true, required_multiline_text),
                (Lines::Many, false, bounded_multiline_text),
            ];
            for (lines, required, check) in cases {
                proptest::prop_assert_eq!(
                    accepted_by_schema(lines, required, max, &raw),
                    check("field", &raw, max).is_ok(),
                    "{:?} required={} max={} {:?}", lines, required, max, raw
                );
            }
        }
    }

    #[test]
    fn a_text_schema_states_its_length_and_pattern() {
        let schema = serde_json::to_value(required_text_schema::<200>()).unwrap();
        assert_eq!(schema["type"], "string");
        assert_eq!(schema["minLength"], 1);
        assert_eq!(schema["maxLength"], 200);
        assert_eq!(schema["pattern"], text_pattern(Lines::One, true));
        let schema = serde_json::to_value(bounded_multiline_text_or_null_schema::<9>()).unwrap();
        assert_eq!(schema["type"], serde_json::json!(["string", "null"]));
        assert!(schema.get("minLength").is_none());
    }

    #[test]
    fn control_characters_are_refused_in_plain_words() {
        let e = required_text("title", "Dinner\u{1b}]0;pwned\u{7}", 100).unwrap_err();
        assert_eq!(e.field, "title");
        assert_eq!(
            e.to_string(),
            "title: must be one line of plain text without control characters \
             (found U+001B at character 7)"
        );
        let e = bounded_text("place", "Luigi's\u{202e}", 100).unwrap_err();
        assert!(
            e.problem
                .contains("U+202E, an invisible text-direction control,"),
            "{e}"
        );
        assert_eq!(
            required_text("title", "two\nlines", 100).unwrap_err().field,
            "title"
        );
        let e = bounded_multiline_text("notes", "over\rwritten", 100).unwrap_err();
        assert!(e.problem.contains("other than line breaks and tabs"), "{e}");
        assert_eq!(
            bounded_multiline_text("notes", "first\r\n\tsecond", 100).unwrap(),
            "first\n\tsecond"
        );
        assert_eq!(
            required_text("title", "Ł – 夜 🎉 עברית", 100).unwrap(),
            "Ł – 夜 🎉 עברית"
        );
        assert_eq!(
            required_multiline_text("body", " \n ", 100)
                .unwrap_err()
                .problem,
            "must not be empty"
        );
    }

    #[test]
    fn text_rules_name_the_field() {
        assert_eq!(required_text("title", "  hi ", 10).unwrap(), "hi");
        let e = required_text("title", "   ", 10).unwrap_err();
        assert_eq!(e.field, "title");
        let e = bounded_text("place", &"é".repeat(11), 10).unwrap_err();
        assert!(e.problem.contains("11 characters"), "{e}");
    }
}
