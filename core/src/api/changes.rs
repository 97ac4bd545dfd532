//! Change tracking, and the narrow API that sync builds on. Every stored document row carries
//! a sequence number taken from one store-wide counter and bumped whenever the document
//! changes, here or by a received change; "what changed since N" is then a scan of the
//! `documents_by_seq` index. Every write goes through the store's write path
//! (`store::write::record`), so chunks, projection and sequence number move together in one
//! transaction.

use crate::document::{DocId, DocKind};
use crate::error::{Error, Result};
use crate::storage::documents::DocumentSeq;
use crate::storage::observer::ChangedDocument;
use crate::storage::{signatures, store_meta};
use crate::store::receive::{receive, AdmitAll, Changes, Outcome};
use crate::store::Store;
use automerge::AutoCommit;
use minga_sync::signatures::{SignaturePool, SignedChange};

/// Automerge bytes (a whole document, or change chunks) received for one document, with the
/// signatures of its keyed changes ([`Store::change_signatures`] gives them where it was made).
#[derive(Debug, Clone)]
pub struct ReceivedChanges {
    pub id: DocId,
    pub kind: DocKind,
    pub bytes: Vec<u8>,
    pub signatures: Vec<SignedChange>,
}

/// The sync-facing view of the store. Sync (initiator and responder) stands on these calls
/// alone; apps use the submission API instead.
impl Store {
    /// The highest sequence number handed out so far (0 for an empty store).
    pub fn last_seq(&self) -> Result<u64> {
        store_meta::last_seq(&self.lock().conn)
    }

    /// The signatures of document `id`'s keyed changes, to send with its bytes (see
    /// [`ReceivedChanges`]). Cost: one index range scan.
    pub fn change_signatures(&self, id: &DocId) -> Result<Vec<SignedChange>> {
        signatures::of_document(&self.lock().conn, id, None)
    }

    /// A document's whole history as compact automerge bytes (what `Automerge.load` reads).
    /// Cost: a full save of the document.
    pub fn document_bytes(&self, id: &DocId) -> Result<Vec<u8>> {
        self.lock().read(id, |doc| Ok(doc.save()))
    }

    /// Applies received bytes to their documents (creating the ones not stored yet) in one
    /// transaction: chunks, projections and sequence numbers of the whole batch commit
    /// together or not at all. Returns the documents that changed; bytes already known change
    /// nothing. Every document passes the store's received-changes checks (`store::receive`):
    /// one that fails any of them fails the whole batch, as [`Error::Malformed`] when it would
    /// not be shaped as its kind and id say ([`crate::check_structure`]), [`Error::InvalidDocument`]
    /// otherwise. Batch what a sync round brings: one transaction (one fsync) per batch.
    pub fn apply_changes(&self, batch: &[ReceivedChanges]) -> Result<Vec<DocumentSeq>> {
        let touched: Vec<DocId> = batch.iter().map(|received| received.id).collect();
        let signed: SignaturePool = batch
            .iter()
            .flat_map(|received| received.signatures.iter().copied())
            .collect();
        self.lock().write_documents(&touched, |tx, cache, me| {
            let mut changed = Vec::new();
            for received in batch {
                let document = (&received.id, received.kind);
                let bytes = (Changes::Bytes(&received.bytes), &signed);
                match receive(tx, cache, me, document, bytes, &AdmitAll)? {
                    Outcome::Applied { seq, .. } => changed.extend(seq.map(|seq| DocumentSeq {
                        id: received.id,
                        kind: received.kind,
                        seq,
                    })),
                    Outcome::Refused(refusal) => {
                        return Err(refusal.into_error(&received.id, received.kind))
                    }
                }
            }
            let told = changed.iter().map(|doc| ChangedDocument {
                doc: doc.clone(),
                by_sync: true,
            });
            let told = told.collect();
            Ok((changed, told))
        })
    }

    /// Runs `update` on the decoded document `id` (an empty one if it is not stored yet) and
    /// records whatever changes it made, in one transaction, through the received-changes
    /// checks (`store::receive`: a document stored with another kind, or left not shaped as its
    /// kind and id say, is refused and nothing is written). For a sync protocol's
    /// `receive_sync_message`, and for reading a document's state to build a message (a call
    /// that changes nothing writes nothing).
    pub fn update_document<R>(
        &self,
        id: &DocId,
        kind: DocKind,
        update: impl FnOnce(&mut AutoCommit) -> Result<R>,
    ) -> Result<R> {
        let (mut update, mut result) = (Some(update), None);
        let mut edit = |doc: &mut AutoCommit| {
            let update = update.take().expect("an edit runs once");
            result = Some(update(doc)?);
            Ok(())
        };
        self.lock().write_documents(&[*id], |tx, cache, me| {
            let edit = (Changes::Edit(&mut edit), &SignaturePool::default());
            match receive(tx, cache, me, (id, kind), edit, &AdmitAll)? {
                Outcome::Applied { seq, .. } => {
                    let told = seq.map(|seq| ChangedDocument::local(*id, kind, seq));
                    Ok(((), told.into_iter().collect()))
                }
                Outcome::Refused(refusal) => Err(refusal.into_error(id, kind)),
            }
        })?;
        result.ok_or_else(|| Error::InvalidArgument(format!("{id} was not updated")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{AnswerPath, FormRef};
    use crate::test_support::{plain_store, stored_heads};
    use minga_forms::Value;
    use minga_sync::DocumentStore;

    fn store(dir: &tempfile::TempDir, name: &str) -> Store {
        plain_store(dir, name, name, "ana")
    }

    #[test]
    fn every_change_takes_a_higher_seq_and_changed_since_scans_from_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir, "a.db");
        let first = store.create_submission(&FormRef::new("f", "1")).unwrap();
        let second = store.create_submission(&FormRef::new("f", "1")).unwrap();
        let after_creation = store.last_seq().unwrap();
        assert_eq!(after_creation, 2);
        store
            .set_answer(&first, &AnswerPath::new("q"), &Value::Integer(1))
            .unwrap();
        let changed = store.changed_since(after_creation, 10).unwrap();
        assert_eq!(
            changed
                .iter()
                .map(|c| (c.doc.id.clone(), c.doc.seq))
                .collect::<Vec<_>>(),
            vec![(first.into(), 3)]
        );
        let all = store.changed_since(0, 10).unwrap();
        assert_eq!(
            all.iter().map(|c| c.doc.id.clone()).collect::<Vec<_>>(),
            vec![second.into(), first.into()]
        );
        assert_eq!(
            store.changed_since(0, 1).unwrap().len(),
            1,
            "the limit holds"
        );
    }

    #[test]
    fn received_bytes_apply_in_one_batch_and_known_bytes_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (store(&dir, "a.db"), store(&dir, "b.db"));
        let ids: Vec<DocId> = (0..3)
            .map(|_| a.create_submission(&FormRef::new("f", "1")).unwrap())
            .collect();
        a.set_answer(&ids[0], &AnswerPath::new("q"), &Value::Text("x".into()))
            .unwrap();
        let batch: Vec<ReceivedChanges> = ids
            .iter()
            .map(|id| ReceivedChanges {
                id: *id,
                kind: DocKind::Submission,
                bytes: a.document_bytes(id).unwrap(),
                signatures: a.change_signatures(id).unwrap(),
            })
            .collect();
        let applied = b.apply_changes(&batch).unwrap();
        assert_eq!(applied.len(), 3);
        assert_eq!(b.last_seq().unwrap(), 3);
        for id in &ids {
            assert_eq!(stored_heads(&b, id), stored_heads(&a, id));
        }
        assert_eq!(
            b.answers(&ids[0]).unwrap().value("q"),
            Some(&Value::Text("x".into()))
        );
        assert!(b.apply_changes(&batch).unwrap().is_empty(), "nothing new");
        assert_eq!(b.last_seq().unwrap(), 3);

        let garbage = ReceivedChanges {
            id: ids[1],
            kind: DocKind::Submission,
            bytes: vec![1, 2, 3],
            signatures: Vec::new(),
        };
        assert!(matches!(
            b.apply_changes(&[batch[0].clone(), garbage]),
            Err(Error::InvalidDocument(_))
        ));
        assert_eq!(b.last_seq().unwrap(), 3, "a failed batch commits nothing");
        let half = batch[1].bytes.len() / 2;
        let truncated = ReceivedChanges {
            bytes: batch[1].bytes[..half].to_vec(),
            ..batch[1].clone()
        };
        assert!(matches!(
            b.apply_changes(&[truncated]),
            Err(Error::InvalidDocument(_))
        ));
    }

    #[test]
    fn a_batch_with_a_document_not_shaped_as_its_id_says_is_refused_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (store(&dir, "a.db"), store(&dir, "b.db"));
        let id = a.create_submission(&FormRef::new("f", "1")).unwrap();
        let good = ReceivedChanges {
            id,
            kind: DocKind::Submission,
            bytes: a.document_bytes(&id).unwrap(),
            signatures: a.change_signatures(&id).unwrap(),
        };
        let under_its_review_id = ReceivedChanges {
            id: crate::review_id(&id),
            ..good.clone()
        };
        let under_another_id = ReceivedChanges {
            id: a.create_submission(&FormRef::new("f", "1")).unwrap(),
            ..good.clone()
        };
        for bad in [under_its_review_id, under_another_id] {
            assert!(matches!(
                b.apply_changes(&[good.clone(), bad]),
                Err(Error::Malformed(_))
            ));
            assert_eq!(b.last_seq().unwrap(), 0, "a refused batch commits nothing");
        }
    }

    #[test]
    fn update_document_records_what_it_changed() {
        use automerge::transaction::Transactable;
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir, "a.db");
        let id = store.create_submission(&FormRef::new("f", "1")).unwrap();
        let seq = store.last_seq().unwrap();
        let heads = store
            .update_document(&id, DocKind::Submission, |doc| Ok(doc.get_heads()))
            .unwrap();
        assert_eq!(store.last_seq().unwrap(), seq, "reading writes nothing");
        assert_eq!(heads, stored_heads(&store, &id));
        store
            .update_document(&id, DocKind::Submission, |doc| {
                doc.put(automerge::ROOT, "status", "complete")?;
                doc.commit();
                Ok(())
            })
            .unwrap();
        assert_eq!(store.last_seq().unwrap(), seq + 1);
        assert_eq!(
            store.submission(&id).unwrap().status,
            crate::document::Status::Complete
        );
    }
}
