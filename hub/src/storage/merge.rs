//! Merging received automerge changes into a stored document. Loading costs time linear in the
//! document's history; hub documents are one submission each, so this stays small.

use super::WriteRefusal;
use automerge::{Automerge, ChangeHash};

/// A document after a merge.
pub struct Merged {
    pub bytes: Vec<u8>,
    /// Heads as lowercase hex change hashes, sorted.
    pub heads: Vec<String>,
    /// Whether the merge added anything to what was stored.
    pub changed: bool,
}

fn heads_of(doc: &Automerge) -> Vec<String> {
    let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    heads.sort();
    heads
}

/// Applies `changes` (a saved document or concatenated change chunks) to `stored`, the
/// document `id`, and gives the document as it would be, with the heads it had before, to
/// `read` before anything is saved: a refusal there is the merge's answer, anything else is
/// returned beside the merge (what the projection keeps of it). Cost: loading `stored`,
/// applying `changes`, `read`, and a save when `read` passes.
pub fn merge<T>(
    id: &str,
    stored: Option<&[u8]>,
    changes: &[u8],
    read: impl FnOnce(&Automerge, &[ChangeHash]) -> Result<T, WriteRefusal>,
) -> Result<(Merged, T), WriteRefusal> {
    let mut doc = match stored {
        Some(bytes) => Automerge::load(bytes).map_err(|e| WriteRefusal::StoredUnreadable {
            id: id.into(),
            reason: e.to_string(),
        })?,
        None => Automerge::new(),
    };
    let before_hashes = doc.get_heads();
    let before = heads_of(&doc);
    doc.load_incremental(changes)
        .map_err(|e| WriteRefusal::NotAutomerge {
            id: id.into(),
            reason: e.to_string(),
        })?;
    let heads = heads_of(&doc);
    if heads.is_empty() {
        return Err(WriteRefusal::Empty { id: id.into() });
    }
    let read = read(&doc, &before_hashes)?;
    let changed = heads != before;
    let merged = Merged {
        bytes: doc.save(),
        heads,
        changed,
    };
    Ok((merged, read))
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ReadDoc, ROOT};

    fn merge_unchecked(stored: Option<&[u8]>, changes: &[u8]) -> Result<Merged, WriteRefusal> {
        merge("d", stored, changes, |_, _| Ok(())).map(|(merged, ())| merged)
    }

    fn doc_with(key: &str, value: &str) -> Automerge {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        tx.put(ROOT, key, value).unwrap();
        tx.commit();
        doc
    }

    #[test]
    fn concurrent_edits_merge_and_a_repeat_changes_nothing() {
        let base = doc_with("a", "1");
        let mut other = base.fork();
        let mut tx = other.transaction();
        tx.put(ROOT, "b", "2").unwrap();
        tx.commit();
        let first = merge_unchecked(None, &base.save()).unwrap();
        let second = merge_unchecked(Some(&first.bytes), &other.save()).unwrap();
        assert!(first.changed && second.changed);
        let merged = Automerge::load(&second.bytes).unwrap();
        assert!(
            merged.get(ROOT, "a").unwrap().is_some() && merged.get(ROOT, "b").unwrap().is_some()
        );
        let again = merge_unchecked(Some(&second.bytes), &other.save()).unwrap();
        assert!(!again.changed);
        assert_eq!(again.heads, second.heads);
    }

    #[test]
    fn garbage_and_empty_documents_are_refused() {
        assert!(matches!(
            merge_unchecked(None, b"not automerge"),
            Err(WriteRefusal::NotAutomerge { .. })
        ));
        assert!(matches!(
            merge_unchecked(None, &Automerge::new().save()),
            Err(WriteRefusal::Empty { .. })
        ));
    }

    #[test]
    fn a_refused_check_is_the_merges_answer() {
        let doc = doc_with("a", "1");
        let refusal = WriteRefusal::FormsArePublished { id: "d".into() };
        let checked = merge("d", None, &doc.save(), |merged, _| {
            assert!(
                merged.get(ROOT, "a").unwrap().is_some(),
                "the merged document"
            );
            Err::<(), _>(refusal.clone())
        });
        assert_eq!(checked.err(), Some(refusal));
    }

    #[test]
    fn what_is_read_sees_the_heads_before_the_merge() {
        let base = doc_with("a", "1");
        let mut next = base.fork();
        let mut tx = next.transaction();
        tx.put(ROOT, "a", "2").unwrap();
        tx.commit();
        let (_, before) = merge("d", Some(&base.save()), &next.save(), |_, before| {
            Ok(before.to_vec())
        })
        .unwrap();
        assert_eq!(before, base.get_heads());
    }
}
