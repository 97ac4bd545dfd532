//! Finds conflicts in a document: a key or list slot holding concurrent values, which automerge
//! keeps side by side and Minga shows a supervisor to settle.

use automerge::{Automerge, ObjId, ObjType, ReadDoc, Value, ROOT};

/// Deeper nesting than any form produces; beyond it the walk stops rather than recurse forever.
const MAX_DEPTH: usize = 32;

/// Whether any key or list slot of the document holds more than one value. Costs one walk over
/// the document's current state.
pub fn has_conflicts(doc: &Automerge) -> bool {
    if doc.get_heads().len() < 2 {
        return false; // one head: every change is ordered, so nothing is concurrent
    }
    object_has_conflicts(doc, ROOT, ObjType::Map, 0)
}

fn object_has_conflicts(doc: &Automerge, obj: ObjId, kind: ObjType, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match kind {
        ObjType::Map | ObjType::Table => doc
            .keys(&obj)
            .any(|key| slot_has_conflicts(doc, doc.get_all(&obj, key.as_str()), depth)),
        ObjType::List => (0..doc.length(&obj))
            .any(|index| slot_has_conflicts(doc, doc.get_all(&obj, index), depth)),
        ObjType::Text => false,
    }
}

fn slot_has_conflicts(
    doc: &Automerge,
    values: Result<Vec<(Value<'_>, ObjId)>, automerge::AutomergeError>,
    depth: usize,
) -> bool {
    let Ok(values) = values else {
        return false;
    };
    if values.len() > 1 {
        return true;
    }
    values.into_iter().any(|(value, id)| match value {
        Value::Object(kind) => object_has_conflicts(doc, id, kind, depth + 1),
        Value::Scalar(_) => false,
    })
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
    }
}
