//! Finds conflicts in a document: a key or list slot holding concurrent values, which automerge
//! keeps side by side and Minga shows a supervisor to settle.

use automerge::{Automerge, ObjId, ObjType, ReadDoc, ValueRef, ROOT};

/// Deeper nesting than any form produces; beyond it the walk stops rather than recurse forever.
const MAX_DEPTH: usize = 32;

/// Whether any key or list slot of the document holds more than one value. Costs one walk over
/// the document's current state, reading automerge's own conflict flag on each slot.
pub fn has_conflicts(doc: &Automerge) -> bool {
    object_has_conflicts(doc, &ROOT, ObjType::Map, 0)
}

fn object_has_conflicts(doc: &Automerge, obj: &ObjId, kind: ObjType, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let inside = |value: ValueRef<'_>, id: ObjId| match value {
        ValueRef::Object(kind) => object_has_conflicts(doc, &id, kind, depth + 1),
        ValueRef::Scalar(_) => false,
    };
    match kind {
        ObjType::Map | ObjType::Table => doc
            .map_range(obj, ..)
            .any(|item| item.conflict || inside(item.value.clone(), item.id())),
        ObjType::List => doc
            .list_range(obj, ..)
            .any(|item| item.conflict || inside(item.value.clone(), item.id())),
        ObjType::Text => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    #[test]
    fn concurrent_answers_to_one_question_are_a_conflict() {
        let mut base = Automerge::new();
        base.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "q1", "a")?;
            tx.put_object(ROOT, "answers", ObjType::Map)?;
            Ok(())
        })
        .unwrap();
        let answers = base.get(ROOT, "answers").unwrap().unwrap().1;
        let mut left = base.fork();
        let mut right = base.fork();
        left.transact::<_, _, automerge::AutomergeError>(|tx| tx.put(&answers, "age", 30))
            .unwrap();
        right
            .transact::<_, _, automerge::AutomergeError>(|tx| tx.put(&answers, "name", "x"))
            .unwrap();
        let mut merged = left.clone();
        merged.merge(&mut right.clone()).unwrap();
        assert!(!has_conflicts(&merged), "different keys merge cleanly");
        right
            .transact::<_, _, automerge::AutomergeError>(|tx| tx.put(&answers, "age", 31))
            .unwrap();
        merged.merge(&mut right).unwrap();
        assert!(has_conflicts(&merged));
        merged
            .transact::<_, _, automerge::AutomergeError>(|tx| tx.put(&answers, "other", 1))
            .unwrap();
        assert_eq!(merged.get_heads().len(), 1);
        assert!(
            has_conflicts(&merged),
            "a later edit elsewhere leaves it in place"
        );
    }
}
