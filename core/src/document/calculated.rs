//! Which answers of a submission are stored calculations: the map `calculated` at the
//! document's root, `{ <answer key>: true }` (keys as `types` has them, one flat map for the
//! whole submission, repeats included), written once per key by the session that first stores
//! the calculation. Any automerge reader reads the values under `answers` as any answer; this
//! map says which of them the form computes, so that the store and the hub, which read
//! documents without their form, never count or show a calculation as a conflict nor list it
//! in a change's answers: two devices that stored a calculation from different answers merge
//! into a conflict of the calculation too, which the next session that opens the submission
//! settles by writing the value the merged answers give.

use crate::error::Result;
use crate::fields::{map_at, object_at};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ReadDoc, ROOT};
use std::collections::HashSet;

/// The root map's key.
pub(crate) const CALCULATED: &str = "calculated";

/// Marks the answer key `name` as a stored calculation, unless it is already marked.
pub(crate) fn mark(doc: &mut AutoCommit, name: &str) -> Result<()> {
    let map = map_at(doc, &ROOT, CALCULATED)?;
    if doc.get(&map, name)?.is_none() {
        doc.put(&map, name, true)?;
    }
    Ok(())
}

/// The answer keys marked as stored calculations. Cost: one range read of the map.
pub(crate) fn keys<D: ReadDoc>(doc: &D) -> HashSet<String> {
    let Some(map) = object_at(doc, &ROOT, CALCULATED) else {
        return HashSet::new();
    };
    doc.keys(&map).collect()
}
