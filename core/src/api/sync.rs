//! The store as sync sees it: `impl minga_sync::DocumentStore for Store`. Received documents go
//! through the store's one received-changes path (`store::receive`, the checks every caller's
//! received changes pass) and then the same write path as local edits, so chunks, projection
//! and sequence number move together, and one sync step (documents, shared heads, cursor) is
//! one SQLite transaction.

use crate::api::attachments::{chunk_outcome, AttachmentState};
use crate::document::{document_has_conflicts, DocId, DocKind};
use crate::error::Result;
use crate::storage::chunks::{self, DocCache};
use crate::storage::documents::{self, kind_and_heads, DocumentSeq};
use crate::storage::observer::ChangedDocument;
use crate::storage::{attachments, peers, signatures, store_meta};
use crate::store::receive::{receive, AdmitAll, Changes, Outcome, Refusal};
use crate::store::sign::Receiver;
use crate::store::{Inner, Store};
use automerge::{Automerge, ChangeHash};
use minga_sync::signatures::{SignaturePool, SignedChange};
use minga_sync::{
    ApplyOutcome, ChangedDoc, ChunkOutcome, Commit, ContentHash, DocId as SyncId, DocumentStore,
    Epoch, IncomingDoc, PeerCursor, PeerId, Seq, StoreError,
};
use rusqlite::Connection;

impl DocumentStore for Store {
    /// Cost: one range scan of `documents_by_seq`; nothing is decoded.
    fn changed_since(&self, after: Seq, limit: usize) -> Result<Vec<ChangedDoc>, StoreError> {
        documents::changed_after(&self.lock().conn, after, limit).map_err(StoreError::new)
    }

    fn max_seq(&self) -> Result<Seq, StoreError> {
        self.last_seq().map_err(StoreError::new)
    }

    /// Cost: one primary-key lookup; the document is not decoded. An id that is not a
    /// canonical UUID names no document here.
    fn doc_heads(&self, id: &SyncId) -> Result<Option<(DocKind, Vec<ChangeHash>)>, StoreError> {
        let Ok(id) = DocId::try_from(id) else {
            return Ok(None);
        };
        kind_and_heads(&self.lock().conn, &id).map_err(StoreError::new)
    }

    /// Cost: a copy of the decoded document (decoding it first if it is not in memory).
    fn load(&self, id: &SyncId) -> Result<Option<Automerge>, StoreError> {
        let Ok(id) = DocId::try_from(id) else {
            return Ok(None);
        };
        let mut inner = self.lock();
        let Inner {
            conn, cache, actor, ..
        } = &mut *inner;
        let loaded = cache
            .get_or_load(conn, &id, actor)
            .map_err(StoreError::new)?;
        Ok(loaded.map(|loaded| loaded.doc.document().clone()))
    }

    /// The stored chunks as they are (a snapshot and its increments). Cost: one index range
    /// scan, no decoding and no encoding.
    fn export(&self, id: &SyncId) -> Result<Option<Vec<u8>>, StoreError> {
        let Ok(id) = DocId::try_from(id) else {
            return Ok(None);
        };
        let inner = self.lock();
        let exported = (|| {
            if kind_and_heads(&inner.conn, &id)?.is_none() {
                return Ok(None);
            }
            chunks::stored_bytes(&inner.conn, &id).map(Some)
        })();
        exported.map_err(StoreError::new)
    }

    /// Cost: one lookup per change of `only`, or one index range scan for the document's.
    fn signatures(
        &self,
        id: &SyncId,
        only: Option<&[ChangeHash]>,
    ) -> Result<Vec<SignedChange>, StoreError> {
        let Ok(id) = DocId::try_from(id) else {
            return Ok(Vec::new());
        };
        signatures::of_document(&self.lock().conn, &id, only).map_err(StoreError::new)
    }

    /// One SQLite transaction (one fsync) for the whole step.
    fn commit(&self, commit: Commit) -> Result<Vec<ApplyOutcome>, StoreError> {
        self.commit_sync(commit).map_err(StoreError::new)
    }

    /// Cost: one insert-or-ignore and one lookup in `store_meta`.
    fn epoch(&self) -> Result<Epoch, StoreError> {
        store_meta::epoch(&self.lock().conn).map_err(StoreError::new)
    }

    fn peer_epoch(&self, peer: &PeerId) -> Result<Option<Epoch>, StoreError> {
        store_meta::peer_epoch(&self.lock().conn, peer).map_err(StoreError::new)
    }

    fn peer_cursor(&self, peer: &PeerId) -> Result<PeerCursor, StoreError> {
        peers::cursor(&self.lock().conn, peer).map_err(StoreError::new)
    }

    fn shared_heads(
        &self,
        peer: &PeerId,
        id: &SyncId,
    ) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        peers::shared_heads(&self.lock().conn, peer, id).map_err(StoreError::new)
    }

    /// Counts only what `Store::conflicts` shows: see [`document_has_conflicts`].
    /// Cost: a scan of the attachment references (`storage::attachments::wanted`).
    fn attachments_wanted(&self, limit: usize) -> Result<Vec<(ContentHash, u64)>, StoreError> {
        attachments::wanted(&self.lock().conn, limit).map_err(StoreError::new)
    }

    fn attachment_referrers(
        &self,
        hash: &ContentHash,
    ) -> Result<Vec<(SyncId, DocKind)>, StoreError> {
        let referrers = attachments::referrers(&self.lock().conn, hash).map_err(StoreError::new)?;
        Ok(referrers
            .into_iter()
            .map(|(id, kind)| (id.into(), kind))
            .collect())
    }

    fn attachment_size(&self, hash: &ContentHash) -> Result<Option<u64>, StoreError> {
        match self.attachment_state(hash).map_err(StoreError::new)? {
            AttachmentState::Present { size } => Ok(Some(size)),
            _ => Ok(None),
        }
    }

    fn attachment_chunk(
        &self,
        hash: &ContentHash,
        index: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Store::attachment_chunk(self, hash, index).map_err(StoreError::new)
    }

    fn receive_attachment_chunk(
        &self,
        hash: &ContentHash,
        size: u64,
        index: u64,
        bytes: &[u8],
    ) -> Result<ChunkOutcome, StoreError> {
        chunk_outcome(Store::receive_attachment_chunk(
            self, hash, size, index, bytes,
        ))
    }

    fn has_conflicts(&self, kind: DocKind, doc: &Automerge) -> bool {
        document_has_conflicts(kind, doc)
    }
}

impl Store {
    /// Writes a sync step in one transaction; on failure nothing is written and the documents
    /// it touched are dropped from memory, so memory never runs ahead of disk.
    fn commit_sync(&self, commit: Commit) -> Result<Vec<ApplyOutcome>> {
        let touched: Vec<DocId> = commit
            .docs
            .iter()
            .filter_map(|incoming| DocId::try_from(&incoming.id).ok())
            .collect();
        let signed = &commit.signatures;
        self.lock().write_documents(&touched, |tx, cache, me| {
            let mut outcomes = Vec::with_capacity(commit.docs.len());
            let mut changed = Vec::new();
            for incoming in commit.docs {
                let received = (incoming, signed);
                outcomes.push(apply_incoming(tx, cache, me, received, &mut changed)?);
            }
            if let Some(epoch) = commit.reset_peer {
                peers::reset(tx, &commit.peer, epoch)?;
            }
            peers::replace_shared_heads(tx, &commit.peer, &commit.shared_heads)?;
            if let Some(cursor) = commit.cursor {
                peers::set_cursor(tx, &commit.peer, cursor)?;
            }
            Ok((outcomes, changed))
        })
    }
}

/// Applies one received document inside the step's transaction, through the store's one
/// received-changes path (`store::receive`; the sync layer applied its peer's policy already).
/// A refusal (an id that is not a document id, another kind, bad bytes, a wrong shape)
/// changes nothing, in memory or on disk; `Err` is a storage failure.
fn apply_incoming(
    tx: &Connection,
    cache: &mut DocCache,
    me: Receiver<'_>,
    (incoming, signed): (IncomingDoc, &SignaturePool),
    changed: &mut Vec<ChangedDocument>,
) -> Result<ApplyOutcome> {
    let id = match DocId::try_from(&incoming.id) {
        Ok(id) => id,
        Err(error) => {
            return Ok(ApplyOutcome::Invalid {
                reason: error.to_string(),
            })
        }
    };
    // A document the sync layer loaded whole has had its hashes checked there.
    let changes = match incoming.loaded {
        Some(_) => Changes::Verified(&incoming.changes),
        None => Changes::Bytes(&incoming.changes),
    };
    let document = (&id, incoming.kind);
    let outcome = receive(tx, cache, me, document, (changes, signed), &AdmitAll)?;
    Ok(match outcome {
        Outcome::Applied { seq, heads } => {
            changed.extend(seq.map(|seq| ChangedDocument {
                doc: DocumentSeq {
                    id,
                    kind: incoming.kind,
                    seq,
                },
                by_sync: true,
            }));
            ApplyOutcome::Applied { heads }
        }
        Outcome::Refused(Refusal::KindMismatch { stored }) => ApplyOutcome::KindMismatch { stored },
        Outcome::Refused(Refusal::Invalid(error)) => ApplyOutcome::Invalid {
            reason: error.to_string(),
        },
    })
}
