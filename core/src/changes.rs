//! Change tracking, and the narrow API that sync builds on. Every stored document row carries
//! a sequence number taken from one store-wide counter and bumped whenever the document
//! changes, here or by a received change; "what changed since N" is then a scan of the
//! `documents_by_seq` index. Every write of a document goes through [`record`], so its chunks,
//! its projection and its sequence number move together in one transaction.

use crate::chunks::{self, LoadedDoc};
use crate::document::{self, DocId, DocKind};
use crate::error::{Error, Result};
use crate::observer::ChangedDocument;
use crate::projection;
use crate::store::{Inner, Store};
use crate::structure::check_structure;
use automerge::transaction::CommitOptions;
use automerge::{AutoCommit, ChangeHash};
use rusqlite::{params, Connection};

/// A document and the sequence number of its latest change in this store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSeq {
    pub id: DocId,
    pub kind: DocKind,
    pub seq: u64,
}

/// Automerge bytes (a whole document, or change chunks) received for one document.
#[derive(Debug, Clone)]
pub struct ReceivedChanges {
    pub id: DocId,
    pub kind: DocKind,
    pub bytes: Vec<u8>,
}

/// Writes a document's unsaved changes, bumps its sequence number and refreshes its
/// projection, inside the caller's transaction. Returns the new sequence number, or `None`
/// if the document had nothing new (so nothing was written and no number was spent).
pub(crate) fn record(
    conn: &Connection,
    id: &DocId,
    kind: DocKind,
    loaded: &mut LoadedDoc,
) -> Result<Option<u64>> {
    if !loaded.has_unsaved() {
        return Ok(None);
    }
    let seq: i64 = conn
        .prepare_cached(
            "UPDATE store_meta SET value = value + 1 WHERE name = 'last_seq' RETURNING value",
        )?
        .query_row([], |row| row.get(0))?;
    chunks::persist(conn, id, loaded)?;
    chunks::write_row(conn, id, kind, seq, loaded)?;
    match kind {
        DocKind::Submission => projection::refresh(conn, id, &loaded.doc, now_ms())?,
        DocKind::Review => projection::refresh_review_state(conn, id, &loaded.doc)?,
        DocKind::Form => {}
    }
    Ok(Some(seq as u64))
}

/// Refuses bytes that are not entirely automerge chunks. (`load_incremental` alone would
/// apply the chunks that parse and silently skip the rest.) Cost: one extra parse.
fn check_whole(received: &ReceivedChanges) -> Result<()> {
    let strict = automerge::LoadOptions::new()
        .on_partial_load(automerge::OnPartialLoad::Error)
        .verification_mode(automerge::VerificationMode::DontCheck);
    match automerge::Automerge::load_with_options(&received.bytes, strict) {
        Ok(_) => Ok(()),
        Err(error) => Err(Error::InvalidDocument(format!(
            "for {}: {error}",
            received.id
        ))),
    }
}

/// The rows of documents whose sequence number is above `after`, in sequence order, at most
/// `limit`, with their heads as stored. Cost: one range scan of `documents_by_seq`.
pub(crate) fn changed_rows(
    conn: &Connection,
    after: u64,
    limit: usize,
) -> Result<Vec<(DocumentSeq, Vec<ChangeHash>)>> {
    let mut statement = conn.prepare_cached(
        "SELECT doc_id, kind, seq, heads FROM documents WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // A sequence number beyond what SQLite holds is beyond every row.
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let rows = statement.query_map(params![after, limit], |row| {
        Ok((
            row.get::<_, Vec<u8>>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, i64>(2)?,
            row.get::<_, Vec<u8>>(3)?,
        ))
    })?;
    rows.map(|row| {
        let (id, kind, seq, heads) = row?;
        let changed = DocumentSeq {
            id: DocId::from_bytes(&id)?,
            kind: document::kind_from_code(kind)?,
            seq: seq as u64,
        };
        Ok((changed, chunks::decode_heads(&heads)?))
    })
    .collect()
}

/// Milliseconds since the epoch, as the projection and `meta` record times.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Inner {
    /// Runs `read` on the decoded document `id` (loading it if needed). Nothing is written.
    pub(crate) fn read<R>(
        &mut self,
        id: &DocId,
        read: impl FnOnce(&mut AutoCommit) -> Result<R>,
    ) -> Result<R> {
        let loaded = self
            .cache
            .get_or_load(&self.conn, id, &self.actor)?
            .ok_or_else(|| Error::NotFound { id: id.to_string() })?;
        read(&mut loaded.doc)
    }

    /// Runs `edit` on the document `id` as one automerge change by this store's identity, and
    /// writes it durably before returning. If `edit` fails nothing is changed; if the write
    /// fails, the document is dropped from memory so that memory never runs ahead of disk.
    pub(crate) fn edit<R>(
        &mut self,
        id: &DocId,
        kind: DocKind,
        edit: impl FnOnce(&mut AutoCommit) -> Result<R>,
    ) -> Result<R> {
        let Inner {
            conn,
            cache,
            identity,
            actor,
            committed,
        } = self;
        let loaded = cache
            .get_or_load(conn, id, actor)?
            .ok_or_else(|| Error::NotFound { id: id.to_string() })?;
        let edited = document::record_author(&mut loaded.doc, actor, identity)
            .and_then(|()| edit(&mut loaded.doc));
        let result = match edited {
            Ok(result) => result,
            Err(error) => {
                loaded.doc.rollback();
                return Err(error);
            }
        };
        loaded
            .doc
            .commit_with(CommitOptions::default().with_time(chrono::Utc::now().timestamp()));
        match write_in_transaction(conn, |tx| record(tx, id, kind, loaded)) {
            Ok(seq) => {
                committed.extend(seq.map(|seq| ChangedDocument::local(*id, kind, seq)));
                Ok(result)
            }
            Err(error) => {
                cache.evict(id);
                Err(error)
            }
        }
    }

    /// Stores a new document, built (uncommitted) by this store's actor, as its first change.
    pub(crate) fn insert_new(
        &mut self,
        id: DocId,
        kind: DocKind,
        mut doc: AutoCommit,
    ) -> Result<()> {
        doc.commit_with(CommitOptions::default().with_time(chrono::Utc::now().timestamp()));
        let mut loaded = LoadedDoc::new_unsaved(doc);
        let seq = write_in_transaction(&mut self.conn, |tx| record(tx, &id, kind, &mut loaded))?;
        self.cache.insert(id, loaded);
        self.committed
            .extend(seq.map(|seq| ChangedDocument::local(id, kind, seq)));
        Ok(())
    }
}

fn write_in_transaction<R>(
    conn: &mut Connection,
    write: impl FnOnce(&Connection) -> Result<R>,
) -> Result<R> {
    let tx = conn.transaction()?;
    let result = write(&tx)?;
    tx.commit()?;
    Ok(result)
}

/// The sync-facing view of the store. Sync (initiator and responder) stands on these calls
/// alone; apps use the submission API instead.
impl Store {
    /// The highest sequence number handed out so far (0 for an empty store).
    pub fn last_seq(&self) -> Result<u64> {
        let inner = self.lock();
        let seq: i64 = inner.conn.query_row(
            "SELECT value FROM store_meta WHERE name = 'last_seq'",
            [],
            |row| row.get(0),
        )?;
        Ok(seq as u64)
    }

    /// Documents whose latest change has a sequence number above `seq`, in sequence order, at
    /// most `limit` of them. Page with the last returned `seq`. Cost: one index range scan.
    pub fn changed_since(&self, seq: u64, limit: usize) -> Result<Vec<DocumentSeq>> {
        let rows = changed_rows(&self.lock().conn, seq, limit)?;
        Ok(rows.into_iter().map(|(changed, _heads)| changed).collect())
    }

    /// A document's current heads, read from its row without decoding it.
    pub fn document_heads(&self, id: &DocId) -> Result<Vec<ChangeHash>> {
        let inner = self.lock();
        let heads: Vec<u8> = inner
            .conn
            .prepare_cached("SELECT heads FROM documents WHERE doc_id = ?1")?
            .query_row([id.as_bytes()], |row| row.get(0))
            .map_err(|error| match error {
                rusqlite::Error::QueryReturnedNoRows => Error::NotFound { id: id.to_string() },
                other => other.into(),
            })?;
        chunks::decode_heads(&heads)
    }

    /// A document's whole history as compact automerge bytes (what `Automerge.load` reads).
    /// Cost: a full save of the document.
    pub fn document_bytes(&self, id: &DocId) -> Result<Vec<u8>> {
        self.lock().read(id, |doc| Ok(doc.save()))
    }

    /// Applies received bytes to their documents (creating the ones not stored yet) in one
    /// transaction: chunks, projections and sequence numbers of the whole batch commit
    /// together or not at all. Returns the documents that changed; bytes already known change
    /// nothing. A document that would not be shaped as its kind and id say
    /// ([`crate::check_structure`]) fails the batch with [`Error::Malformed`]. Batch what a sync
    /// round brings: one transaction (one fsync) per batch.
    pub fn apply_changes(&self, batch: &[ReceivedChanges]) -> Result<Vec<DocumentSeq>> {
        let mut inner = self.lock();
        let Inner {
            conn,
            cache,
            actor,
            committed,
            ..
        } = &mut *inner;
        let applied = (|| {
            let tx = conn.transaction()?;
            let mut changed = Vec::new();
            for received in batch {
                let loaded = match cache.get_or_load(&tx, &received.id, actor)? {
                    Some(loaded) => loaded,
                    None => {
                        let mut doc = AutoCommit::new();
                        doc.set_actor(actor.clone());
                        cache.insert(received.id, LoadedDoc::new_unsaved(doc));
                        cache
                            .get_or_load(&tx, &received.id, actor)?
                            .expect("inserted just above")
                    }
                };
                check_whole(received)?;
                loaded
                    .doc
                    .load_incremental(&received.bytes)
                    .map_err(|error| {
                        Error::InvalidDocument(format!("for {}: {error}", received.id))
                    })?;
                check_structure(&received.id.to_string(), received.kind, &loaded.doc)?;
                if let Some(seq) = record(&tx, &received.id, received.kind, loaded)? {
                    changed.push(DocumentSeq {
                        id: received.id,
                        kind: received.kind,
                        seq,
                    });
                }
            }
            tx.commit()?;
            Ok(changed)
        })();
        match &applied {
            Ok(changed) => committed.extend(changed.iter().map(|doc| ChangedDocument {
                id: doc.id,
                kind: doc.kind,
                seq: doc.seq,
                by_sync: true,
            })),
            Err(_) => {
                for received in batch {
                    cache.evict(&received.id);
                }
            }
        }
        applied
    }

    /// Runs `update` on the decoded document `id` (an empty one if it is not stored yet) and
    /// records whatever changes it made, in one transaction. For sync's
    /// `receive_sync_message`, and for reading a document's state to build a message (a call
    /// that changes nothing writes nothing).
    pub fn update_document<R>(
        &self,
        id: &DocId,
        kind: DocKind,
        update: impl FnOnce(&mut AutoCommit) -> Result<R>,
    ) -> Result<R> {
        let mut inner = self.lock();
        let Inner {
            conn,
            cache,
            actor,
            committed,
            ..
        } = &mut *inner;
        if cache.get_or_load(conn, id, actor)?.is_none() {
            let mut doc = AutoCommit::new();
            doc.set_actor(actor.clone());
            cache.insert(*id, LoadedDoc::new_unsaved(doc));
        }
        let loaded = cache
            .get_or_load(conn, id, actor)?
            .expect("present just above");
        let written = update(&mut loaded.doc).and_then(|result| {
            let seq = write_in_transaction(conn, |tx| record(tx, id, kind, loaded))?;
            committed.extend(seq.map(|seq| ChangedDocument::local(*id, kind, seq)));
            Ok(result)
        });
        if written.is_err() {
            cache.evict(id);
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{AnswerPath, FormRef};
    use crate::test_support::plain_store;
    use minga_forms::Value;

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
            changed.iter().map(|c| (c.id, c.seq)).collect::<Vec<_>>(),
            vec![(first, 3)]
        );
        let all = store.changed_since(0, 10).unwrap();
        assert_eq!(
            all.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![second, first]
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
            })
            .collect();
        let applied = b.apply_changes(&batch).unwrap();
        assert_eq!(applied.len(), 3);
        assert_eq!(b.last_seq().unwrap(), 3);
        for id in &ids {
            assert_eq!(b.document_heads(id).unwrap(), a.document_heads(id).unwrap());
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
        assert_eq!(heads, store.document_heads(&id).unwrap());
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
