//! Merging received automerge changes into a stored document. Loading costs time linear in the
//! document's history; hub documents are one submission each, so this stays small.

use automerge::Automerge;

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

/// Applies `changes` (a saved document or concatenated change chunks) to `stored`.
pub fn merge(stored: Option<&[u8]>, changes: &[u8]) -> Result<Merged, String> {
    let mut doc = match stored {
        Some(bytes) => {
            Automerge::load(bytes).map_err(|e| format!("the stored document does not load: {e}"))?
        }
        None => Automerge::new(),
    };
    let before = heads_of(&doc);
    doc.load_incremental(changes)
        .map_err(|e| format!("not automerge changes: {e}"))?;
    let heads = heads_of(&doc);
    if heads.is_empty() {
        return Err("no changes: an empty document".into());
    }
    let changed = heads != before;
    Ok(Merged {
        bytes: doc.save(),
        heads,
        changed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ReadDoc, ROOT};

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
        let first = merge(None, &base.save()).unwrap();
        let second = merge(Some(&first.bytes), &other.save()).unwrap();
        assert!(first.changed && second.changed);
        let merged = Automerge::load(&second.bytes).unwrap();
        assert!(
            merged.get(ROOT, "a").unwrap().is_some() && merged.get(ROOT, "b").unwrap().is_some()
        );
        let again = merge(Some(&second.bytes), &other.save()).unwrap();
        assert!(!again.changed);
        assert_eq!(again.heads, second.heads);
    }

    #[test]
    fn garbage_and_empty_documents_are_refused() {
        assert!(merge(None, b"not automerge").is_err());
        assert!(merge(None, &Automerge::new().save()).is_err());
    }
}
