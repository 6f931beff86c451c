//! [`MapReads`]: a document read the way hydration reads it, each map once.
//!
//! autosurgeon hydrates a struct one field at a time, and every `get` seeks through the
//! whole document to the object and key. With 5,000 plans (about five years of use) that
//! was 660 ms for one listing, the bulk of a status or an inbox. One pass over each map
//! (`map_range`) answers every `get` of its keys from memory instead: about five times
//! faster, with the same answers, since `map_range` yields each key's winning value just
//! as `get` does.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::RangeBounds;

use automerge::iter::{ListRange, MapRange};
use automerge::{AutomergeError, ChangeHash, ObjId, ObjType, Prop, Value};
use autosurgeon::ReadDoc;

/// Each key of a map with its winning value and that value's id.
type Entries = HashMap<String, (Value<'static>, ObjId)>;

/// A read-only view of `doc` for one hydration: `get` of a map key is answered from one
/// pass over that map, made the first time any of its keys is asked for; everything else
/// is read from `doc` itself. It must not outlive a change to `doc`, which the borrow
/// ensures.
pub(crate) struct MapReads<'a, D> {
    doc: &'a D,
    maps: RefCell<HashMap<ObjId, Option<Entries>>>,
}

impl<'a, D: ReadDoc> MapReads<'a, D> {
    pub(crate) fn new(doc: &'a D) -> Self {
        Self {
            doc,
            maps: RefCell::new(HashMap::new()),
        }
    }

    /// The winning value of `key` in the map `obj`, or `None` (outer) when `obj` is not a
    /// map and the document must answer.
    fn cached(&self, obj: &ObjId, key: &str) -> Option<Option<(Value<'static>, ObjId)>> {
        let mut maps = self.maps.borrow_mut();
        let entries = maps.entry(obj.clone()).or_insert_with(|| {
            matches!(
                self.doc.object_type(obj),
                Some(ObjType::Map | ObjType::Table)
            )
            .then(|| {
                self.doc
                    .map_range(obj, ..)
                    .map(|item| {
                        let id = item.id();
                        (item.key.into_owned(), (item.value.into_value(), id))
                    })
                    .collect()
            })
        });
        entries.as_ref().map(|entries| entries.get(key).cloned())
    }
}

impl<D: ReadDoc> ReadDoc for MapReads<'_, D> {
    type Parents<'b>
        = D::Parents<'b>
    where
        Self: 'b;

    fn get<P: Into<Prop>>(
        &self,
        obj: &ObjId,
        prop: P,
    ) -> Result<Option<(Value<'_>, ObjId)>, AutomergeError> {
        let prop = prop.into();
        if let Prop::Map(key) = &prop
            && let Some(found) = self.cached(obj, key)
        {
            return Ok(found);
        }
        self.doc.get(obj, prop)
    }

    fn get_heads(&self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    fn object_type<O: AsRef<ObjId>>(&self, obj: O) -> Option<ObjType> {
        self.doc.object_type(obj)
    }

    fn map_range<'b, O, R>(&'b self, obj: O, range: R) -> MapRange<'b>
    where
        R: RangeBounds<String> + 'b,
        O: AsRef<ObjId>,
        R: RangeBounds<String>,
    {
        self.doc.map_range(obj, range)
    }

    fn list_range<O: AsRef<ObjId>, R: RangeBounds<usize>>(
        &self,
        obj: O,
        range: R,
    ) -> ListRange<'_> {
        self.doc.list_range(obj, range)
    }

    fn length<O: AsRef<ObjId>>(&self, obj: O) -> usize {
        self.doc.length(obj)
    }

    fn text<O: AsRef<ObjId>>(&self, obj: O) -> Result<String, AutomergeError> {
        self.doc.text(obj)
    }

    fn parents<O: AsRef<ObjId>>(&self, obj: O) -> Result<Self::Parents<'_>, AutomergeError> {
        self.doc.parents(obj)
    }

    fn is_empty(&self) -> bool {
        self.doc.is_empty()
    }
}
