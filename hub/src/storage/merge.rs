//! Merging received automerge changes into a stored document. Loading costs time linear in the
//! document's history; hub documents are one submission each, so this stays small.

use super::WriteRefusal;
use automerge::{Automerge, ChangeHash};

/// A document after a merge.
pub struct Merged {
    pub bytes: Vec<u8>,
    /// The change hashes of the document's heads, sorted.
    pub heads: Vec<ChangeHash>,
    /// Whether the merge added anything to what was stored.
    pub changed: bool,
}

fn heads_of(doc: &Automerge) -> Vec<ChangeHash> {
    let mut heads = doc.get_heads();
    heads.sort();
    heads
}

/// Applies `changes` (a saved document or concatenated change chunks) to `stored`, the
/// document `id`, and gives the document as it would be, with the heads it had before, to
/// `read` before anything is saved: a refusal there is the merge's answer, anything else is
/// returned beside the merge (what the projection keeps of it). `decoded`, the document
/// `changes` load to when they are a whole saved document, stands for the merge of a document
/// not stored yet: nothing is decoded or saved again, and `changes` are what is stored.
/// Cost: loading `stored`, applying `changes`, `read`, and a save when `read` passes; only
/// `read` and a copy of `changes` for a new document with `decoded`.
pub fn merge<T>(
    id: &str,
    stored: Option<&[u8]>,
    changes: &[u8],
    decoded: Option<&Automerge>,
    read: impl FnOnce(&Automerge, &[ChangeHash]) -> Result<T, WriteRefusal>,
) -> Result<(Merged, T), WriteRefusal> {
    if let (None, Some(doc)) = (stored, decoded) {
        return finish(id, doc, &[], read, |_| changes.to_vec());
    }
    let mut doc = match stored {
        Some(bytes) => Automerge::load(bytes).map_err(|e| WriteRefusal::StoredUnreadable {
            id: id.into(),
            reason: e.to_string(),
        })?,
        None => Automerge::new(),
    };
    let before = doc.get_heads();
    doc.load_incremental(changes)
        .map_err(|e| WriteRefusal::NotAutomerge {
            id: id.into(),
            reason: e.to_string(),
        })?;
    finish(id, &doc, &before, read, Automerge::save)
}

/// The merge's answer for `doc`, the document as the merge left it from the heads `before`:
/// refused when empty or when `read` refuses, else saved by `save`.
fn finish<T>(
    id: &str,
    doc: &Automerge,
    before: &[ChangeHash],
    read: impl FnOnce(&Automerge, &[ChangeHash]) -> Result<T, WriteRefusal>,
    save: impl FnOnce(&Automerge) -> Vec<u8>,
) -> Result<(Merged, T), WriteRefusal> {
    let heads = heads_of(doc);
    if heads.is_empty() {
        return Err(WriteRefusal::Empty { id: id.into() });
    }
    let read = read(doc, before)?;
    let mut before = before.to_vec();
    before.sort();
    let changed = heads != before;
    let merged = Merged {
        bytes: save(doc),
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
        merge("d", stored, changes, None, |_, _| Ok(())).map(|(merged, ())| merged)
    }

    fn doc_with(key: &str, value: &str) -> Automerge {
        edited(&Automerge::new(), key, value)
    }

    /// A fork of `base` with `key` set to `value`.
    fn edited(base: &Automerge, key: &str, value: &str) -> Automerge {
        let mut doc = base.fork();
        let mut tx = doc.transaction();
        tx.put(ROOT, key, value).unwrap();
        tx.commit();
        doc
    }

    #[test]
    fn concurrent_edits_merge_and_a_repeat_changes_nothing() {
        let base = doc_with("a", "1");
        let other = edited(&base, "b", "2");
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
        let checked = merge("d", None, &doc.save(), None, |merged, _| {
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
        let next = edited(&base, "a", "2");
        let (_, before) = merge("d", Some(&base.save()), &next.save(), None, |_, before| {
            Ok(before.to_vec())
        })
        .unwrap();
        assert_eq!(before, base.get_heads());
    }

    #[test]
    fn a_new_document_already_decoded_is_stored_as_sent() {
        let doc = doc_with("a", "1");
        let sent = doc.save();
        let decoded = Automerge::load(&sent).unwrap();
        let (merged, before) = merge("d", None, &sent, Some(&decoded), |read, before| {
            assert!(
                read.get(ROOT, "a").unwrap().is_some(),
                "the decoded document"
            );
            Ok(before.to_vec())
        })
        .unwrap();
        assert_eq!(merged.bytes, sent);
        assert!(merged.changed && before.is_empty());
        assert_eq!(merged.heads, merge_unchecked(None, &sent).unwrap().heads);
    }

    #[test]
    fn a_decoded_document_is_merged_into_a_stored_one() {
        let base = doc_with("a", "1");
        let stored = edited(&base, "c", "3");
        let other = edited(&base, "b", "2");
        let sent = other.save();
        let decoded = Automerge::load(&sent).unwrap();
        let (merged, ()) = merge("d", Some(&stored.save()), &sent, Some(&decoded), |_, _| {
            Ok(())
        })
        .unwrap();
        let merged = Automerge::load(&merged.bytes).unwrap();
        assert!(["a", "b", "c"]
            .iter()
            .all(|key| merged.get(ROOT, *key).unwrap().is_some()));
    }
}
